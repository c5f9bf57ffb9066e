"""Deliver asynchronous invocation records to OnSuccess/OnFailure destinations, as Lambda does.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud import internal

SUCCESS_DETAIL_TYPE = "Lambda Function Invocation Result - Success"
FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"


def _parsed(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def invocation_record(request_id: str, function_arn: str, condition: str, attempts: int, request_payload: bytes,
                      executed_version: str | None, function_error: str | None,
                      response_payload: bytes | None) -> dict[str, Any]:
    """The invocation record (``version`` 1.0) with request and, if the function ran, response context."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _parsed(request_payload),
    }
    if executed_version is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
        if function_error:
            response["functionError"] = function_error
        record["responseContext"] = response
        record["responsePayload"] = _parsed(response_payload or b"null")
    return record


def deliver(destination_arn: str, record: dict[str, Any], success: bool, function_arn: str) -> None:
    """Send ``record`` to the SQS queue, SNS topic, Lambda function or EventBridge bus ``destination_arn``."""
    parts = destination_arn.split(":")
    if len(parts) < 6:
        raise ValueError(f"destination {destination_arn!r} is not an ARN")
    service, region, account = parts[2], parts[3], parts[4]
    body = json.dumps(record)
    if service == "sqs":
        sqs = internal.client("sqs", account, region)
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=body)
    elif service == "sns":
        internal.client("sns", account, region).publish(TopicArn=destination_arn, Message=body)
    elif service == "lambda":
        internal.client("lambda", account, region).invoke(FunctionName=destination_arn, InvocationType="Event",
                                                          Payload=body.encode())
    elif service == "events":
        resp = internal.client("events", account, region).put_events(Entries=[{
            "Source": "lambda",
            "DetailType": SUCCESS_DETAIL_TYPE if success else FAILURE_DETAIL_TYPE,
            "Detail": body,
            "Resources": [destination_arn, function_arn],
            "EventBusName": destination_arn,
        }])
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge rejected the record: {resp['Entries']}")
    else:
        raise ValueError(f"destination service {service!r} of {destination_arn} is not supported "
                         "(use an SQS queue, SNS topic, Lambda function or EventBridge bus)")
