"""Dead-letter queue messages as EventBridge writes them.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: the body is the event; the message
attributes are RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (only when a retry
limit ended delivery) and RETRY_ATTEMPTS.
"""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud.events.targets import Arn, check_target_policy


def dlq_attributes(rule_arn: str, target_arn: str, error_code: str, error_message: str,
                   exhausted: str | None, retries: int) -> dict[str, Any]:
    """The SQS message attributes of one dead letter."""
    values = {"RULE_ARN": rule_arn, "TARGET_ARN": target_arn, "ERROR_CODE": error_code,
              "ERROR_MESSAGE": error_message[:1024]}
    if exhausted:
        values["EXHAUSTED_RETRY_CONDITION"] = exhausted
    attributes: dict[str, Any] = {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}
    attributes["RETRY_ATTEMPTS"] = {"DataType": "Number", "StringValue": str(retries)}
    return attributes


def send_dead_letter(dlq_arn: str, event: dict[str, Any], attributes: dict[str, Any], rule_arn: str) -> None:
    """SendMessage the event to the DLQ in-process; raises if the queue is gone or its policy refuses the rule."""
    from moto.sqs.models import sqs_backends

    arn = Arn.parse(dlq_arn)
    backend = sqs_backends[arn.account][arn.region]
    queue = backend.get_queue(arn.resource)
    check_target_policy(getattr(queue, "policy", None), "sqs:SendMessage", arn.text, rule_arn)
    backend.send_message(
        queue_name=arn.resource, message_body=json.dumps(event, separators=(",", ":")),
        message_attributes=attributes,
    )
