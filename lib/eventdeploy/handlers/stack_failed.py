"""A CloudFormation stack failed or rolled back: record it and ask the orchestrator for a rollback."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .common import SYNTHETIC_PREFIX, InvalidEvent, client, logger, record_stage, trace_id

ROLLBACK_SOURCE = "eventdeploy.orchestrator"
ROLLBACK_DETAIL_TYPE = "Deployment Rollback Requested"


@logger.inject_lambda_context(correlation_id_path="id")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point: one CloudFormation Stack Status Change event for a failed status."""
    if event.get("source") not in ("aws.cloudformation", SYNTHETIC_PREFIX + "aws.cloudformation"):
        raise InvalidEvent(f"not a CloudFormation event: source={event.get('source')!r}")
    detail = event.get("detail") or {}
    stack_id = detail.get("stack-id")
    status = (detail.get("status-details") or {}).get("status")
    if not stack_id or not status:
        raise InvalidEvent("missing stack-id or status-details.status")
    stack_name = stack_id.split(":stack/", 1)[-1].split("/", 1)[0]
    trace = trace_id(event)
    logger.append_keys(trace_id=trace, stack=stack_name)
    reason = (detail.get("status-details") or {}).get("status-reason", "")
    record_stage(f"stack-{stack_name}", f"stack_{status.lower()}", stack_id=stack_id, reason=reason,
                 event_id=event.get("id"), trace_id=trace)
    answer = client("events").put_events(Entries=[{
        "Source": ROLLBACK_SOURCE, "DetailType": ROLLBACK_DETAIL_TYPE, "Resources": [stack_id],
        "EventBusName": os.environ.get("EVENT_BUS_NAME", "default"),
        "Detail": json.dumps({"deployment-id": f"stack-{stack_name}", "stack-id": stack_id, "status": status,
                              "reason": reason, "trace-id": trace, "cause-event-id": event.get("id")}),
    }])
    if answer.get("FailedEntryCount"):
        # Raising makes Lambda retry the event (async retries), rather than losing the rollback request.
        raise RuntimeError(f"PutEvents refused the rollback request: {answer['Entries']}")
    logger.info("rollback requested", extra={"status": status})
    return {"rollback_requested": stack_name, "status": status}
