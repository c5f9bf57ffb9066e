"""Dead-letter queues of asynchronous invocation (``DeadLetterConfig``), which moto neither stores nor uses.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq: a discarded
event's payload goes to the SQS queue or SNS topic with attributes RequestID, ErrorCode and ErrorMessage.
"""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud import internal

# ErrorMessage carries at most the first 1 KB of the error.
_MESSAGE_LIMIT = 1024


def install() -> None:
    """Make moto keep ``DeadLetterConfig`` on functions and return it in their configuration."""
    from moto.awslambda.models import LambdaFunction

    previous_init = LambdaFunction.__init__
    previous_update = LambdaFunction.update_configuration
    previous_get = LambdaFunction.get_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
        previous_init(self, account_id, spec, region, version)
        self.dead_letter_config = (spec.get("DeadLetterConfig") or {}).get("TargetArn") or None

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = (config_updates.get("DeadLetterConfig") or {}).get("TargetArn") or None
        return previous_update(self, config_updates)  # type: ignore[no-any-return]

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = previous_get(self, on_create)
        target = getattr(self, "dead_letter_config", None)
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]


def target_of(fn: Any) -> str | None:
    """The function's dead-letter queue or topic ARN, if it has one."""
    return getattr(fn, "dead_letter_config", None)


def send(target_arn: str, payload: bytes, request_id: str, error_code: int, error_message: str) -> None:
    """Send the discarded event to the SQS queue or SNS topic ``target_arn``."""
    parts = target_arn.split(":")
    if len(parts) < 6:
        raise ValueError(f"DeadLetterConfig TargetArn {target_arn!r} is not an ARN")
    service, region, account = parts[2], parts[3], parts[4]
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
        "ErrorMessage": {"DataType": "String", "StringValue": error_message[:_MESSAGE_LIMIT] or "-"},
    }
    body = payload.decode("utf-8", errors="replace")
    if service == "sqs":
        sqs = internal.client("sqs", account, region)
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    elif service == "sns":
        internal.client("sns", account, region).publish(TopicArn=target_arn, Message=body,
                                                        MessageAttributes=attributes)
    else:
        raise ValueError(f"DeadLetterConfig TargetArn {target_arn} must be an SQS queue or SNS topic")


def error_message_of(payload: bytes | None) -> str:
    """The errorMessage of a function error payload (the whole payload if it is not Lambda's error object)."""
    if not payload:
        return ""
    try:
        parsed = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return json.dumps(parsed)
