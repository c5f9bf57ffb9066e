"""An image was pushed to ECR: validate, record it in the ledger, start the deployment state machine.

Idempotent: Powertools idempotency (DynamoDB persistence) keyed on repository + digest, so a duplicate delivery
of the same push starts nothing new and returns the first result.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from .common import SYNTHETIC_PREFIX, InvalidEvent, client, logger, record_stage, trace_id
from .naming import execution_name

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("IDEMPOTENCY_TABLE", "idempotency"))
config = IdempotencyConfig(event_key_jmespath='["repository", "digest"]', expires_after_seconds=24 * 3600,
                           raise_on_no_idempotency_key=True)


def parse(event: dict[str, Any]) -> dict[str, Any]:
    """The push this event reports, or InvalidEvent naming what is wrong."""
    if event.get("source") not in ("aws.ecr", SYNTHETIC_PREFIX + "aws.ecr") or event.get("detail-type") != "ECR Image Action":
        raise InvalidEvent(f"not an ECR Image Action event: source={event.get('source')!r}")
    detail = event.get("detail") or {}
    if detail.get("action-type") != "PUSH" or detail.get("result") != "SUCCESS":
        raise InvalidEvent(f"not a successful push: {detail.get('action-type')}/{detail.get('result')}")
    repository, digest, tag = detail.get("repository-name"), detail.get("image-digest"), detail.get("image-tag")
    if not repository or not isinstance(digest, str) or not DIGEST.match(digest):
        raise InvalidEvent(f"missing repository-name or malformed image-digest {digest!r}")
    # Injected (synthetic) events rehearse the path through the state machine without building or deploying,
    # unless they ask for the full pipeline.
    rehearsal = str(event.get("source", "")).startswith(SYNTHETIC_PREFIX) and not detail.get("full-pipeline")
    return {"repository": repository, "digest": digest, "tag": tag or "", "event_id": event.get("id", ""),
            "account": event.get("account", ""), "region": event.get("region", ""), "time": event.get("time", ""),
            "rehearsal": rehearsal}


@idempotent_function(data_keyword_argument="push", persistence_store=persistence, config=config)
def start_deployment(push: dict[str, Any]) -> dict[str, Any]:
    """Record the push and start the state machine; runs once per repository + digest."""
    name = execution_name(push["repository"], push["digest"])
    record_stage(name, "lambda_started", repository=push["repository"], digest=push["digest"], tag=push["tag"],
                 event_id=push["event_id"], trace_id=push["trace_id"], event_time=push["time"])
    sfn = client("stepfunctions")
    payload = json.dumps({"deployment_id": name, **push})
    try:
        started = sfn.start_execution(stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=name, input=payload)
        arn = started["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        # A retry after the first attempt started it: the name is deterministic, so it is the same deployment.
        arn = f"{os.environ['STATE_MACHINE_ARN'].replace(':stateMachine:', ':execution:')}:{name}"
    record_stage(name, "execution_requested", execution_arn=arn, trace_id=push["trace_id"])
    logger.info("deployment started", extra={"deployment_id": name, "execution_arn": arn})
    return {"deployment_id": name, "execution_arn": arn}


@logger.inject_lambda_context(correlation_id_path="id")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point: one ECR Image Action event."""
    config.register_lambda_context(context)
    push = parse(event) | {"trace_id": trace_id(event)}
    logger.append_keys(trace_id=push["trace_id"], event_id=push["event_id"])
    return start_deployment(push=push)
