"""Sending one rendered payload to one rule target (SQS, SNS, Logs, Lambda, Step Functions, CodeBuild, ...).

Each sender raises ``DeliveryError`` carrying the DLQ ``ERROR_CODE`` AWS documents
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html) and whether EventBridge would retry:
missing resources and missing permissions are not retried, throttling and 5xx are
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html).
Event-bus targets are handled by the engine, which owns ingest and bus policies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventdeploy.localcloud import internal
from eventdeploy.localcloud.events import policy

_NOT_FOUND = {
    "ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound",
    "NotFoundException", "StateMachineDoesNotExist", "PipelineNotFoundException", "TopicNotFound",
    "FunctionNotFound", "ResourceNotFound",
}
_NO_PERMISSION = {"AccessDenied", "AccessDeniedException", "AuthorizationError", "KMS.AccessDeniedException",
                  "UnauthorizedOperation", "NotAuthorized"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
              "ExecutionLimitExceeded", "ProvisionedThroughputExceededException", "SlowDown",
              "ConcurrentInvocationLimitExceeded", "ServiceUnavailable", "ServiceUnavailableException"}


class DeliveryError(Exception):
    """A failed target invocation: ``code`` is the DLQ ERROR_CODE, ``retriable`` whether AWS retries it."""

    def __init__(self, code: str, message: str, retriable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retriable = retriable


@dataclass(frozen=True)
class Arn:
    """The parts of a target ARN a sender needs."""

    text: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        """Split ``arn:partition:service:region:account:resource``."""
        parts = text.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn":
            raise DeliveryError("INVALID_PARAMETER", f"Target ARN {text!r} is not a valid ARN", False)
        return cls(text, parts[2], parts[3], parts[4], parts[5])


def classify(exc: BaseException) -> DeliveryError:
    """Map a moto exception or botocore ClientError to the DeliveryError EventBridge would record."""
    if isinstance(exc, DeliveryError):
        return exc
    code, status, message = _error_parts(exc)
    if code in _NOT_FOUND or code.endswith("NotFound") or code.endswith("NotFoundException") \
            or code.endswith("DoesNotExist") or status == 404:
        return DeliveryError("NO_RESOURCE", f"{code}: {message}", False)
    if code in _NO_PERMISSION or status == 403:
        return DeliveryError("NO_PERMISSIONS", f"{code}: {message}", False)
    if code in _THROTTLED or status == 429:
        return DeliveryError("THROTTLING", f"{code}: {message}", True)
    if status is None or status >= 500:
        name = "CONNECTION_FAILURE" if code in ("ConnectionError", "EndpointConnectionError") else "ERROR_FROM_TARGET"
        return DeliveryError(name, f"{code}: {message}", True)
    return DeliveryError("INVALID_PARAMETER", f"{code}: {message}", False)


def _error_parts(exc: BaseException) -> tuple[str, int | None, str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(error.get("Code", "")), status, str(error.get("Message", ""))
    error_type = getattr(exc, "error_type", None)
    if error_type is not None:  # moto's RESTError: code is the HTTP status
        return str(error_type), int(getattr(exc, "code", 400) or 400), str(getattr(exc, "message", exc))
    code = getattr(exc, "code", None)
    if isinstance(code, str):  # moto's ServiceException
        return code, 400, str(getattr(exc, "message", exc))
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name:
        return "ConnectionError", None, str(exc)
    return name, None, str(exc)


def check_target_policy(policy_text: str | None, action: str, resource_arn: str, rule_arn: str) -> None:
    """Raise NO_PERMISSIONS unless the resource policy lets EventBridge do ``action`` for ``rule_arn``.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html: SQS queues, SNS topics
    and Lambda functions admit EventBridge through their resource policy (usually with aws:SourceArn = the rule).
    A queue or function with no policy at all is let through -- more lenient than AWS, so tools that never set
    one keep working -- but a policy that exists is enforced as AWS does.
    """
    if not policy_text:
        return
    parts = rule_arn.split(":")
    context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": parts[4] if len(parts) > 4 else ""}
    if not policy.service_allowed(policy_text, "events.amazonaws.com", action, resource_arn, context):
        raise DeliveryError("NO_PERMISSIONS", f"The resource policy of {resource_arn} does not allow "
                            f"events.amazonaws.com to {action} for rule {rule_arn}", False)


def send_sqs(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """SendMessage in-process; FIFO queues get the target's MessageGroupId.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_SqsParameters.html: a FIFO queue target must
    have content-based deduplication, because EventBridge sends no deduplication id; SQS refuses the message
    otherwise, and the delivery fails for good (to the DLQ, not retried)."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[arn.account][arn.region]
    queue = backend.get_queue(arn.resource)
    check_target_policy(getattr(queue, "policy", None), "sqs:SendMessage", arn.text, rule_arn)
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    if queue.fifo_queue and str(queue.attributes.get("ContentBasedDeduplication")).lower() != "true":
        raise DeliveryError("INVALID_PARAMETER", f"SQS refused the message for {arn.text}: The queue should either "
                            "have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                            False)
    backend.send_message(queue_name=arn.resource, message_body=payload, group_id=group_id)


def send_sns(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """Publish in-process, so SNS's own subscriptions (SQS, Lambda, ...) fan out as they do on AWS."""
    from moto.sns.models import sns_backends

    backend = sns_backends[arn.account][arn.region]
    topic = backend.get_topic(arn.text)
    # Every topic has a policy (the default one admits only its owner's principals): EventBridge needs a
    # statement for events.amazonaws.com, as on AWS.
    check_target_policy(getattr(topic, "policy", None), "sns:Publish", arn.text, rule_arn)
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId") if arn.resource.endswith(".fifo") else None
    backend.publish(message=payload, arn=arn.text, group_id=group_id,
                    deduplication_id=event.get("id") if group_id else None)


def send_logs(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """Write the payload as one log event into a new stream of the target log group."""
    from moto.logs.models import logs_backends

    if not arn.resource.startswith("log-group:"):
        raise DeliveryError("INVALID_PARAMETER", f"Target {arn.text!r} is not a log group ARN", False)
    group = arn.resource[len("log-group:"):]
    if group.endswith(":*"):
        group = group[:-2]
    backend = logs_backends[arn.account][arn.region]
    stream = str(event.get("id"))
    try:
        backend.create_log_stream(group, stream)
    except Exception as exc:  # the same event delivered twice (retry) reuses its stream
        if type(exc).__name__ != "ResourceAlreadyExistsException":
            raise
    backend.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": payload}])


def send_lambda(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """Invoke asynchronously (InvocationType Event), as EventBridge does, through moto's Lambda backend.

    In-process rather than over HTTP: it is the same backend method the Invoke API reaches (so the Lambda
    runtime's patches apply), minus a serialisation round trip on the put_events → handler-start path.
    """
    from moto.awslambda.utils import get_backend

    # moto's own resolver: the docker-less (simple) backend holds the functions when docker is off.
    backend = get_backend(arn.account, arn.region)
    statements = getattr(getattr(backend.get_function(arn.text), "policy", None), "statements", None)
    if statements:
        check_target_policy(json.dumps({"Statement": statements}), "lambda:InvokeFunction", arn.text, rule_arn)
    backend.invoke(arn.text, None, payload, {"X-Amz-Invocation-Type": "Event"}, {})


def send_states(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """StartExecution with the payload as the execution input."""
    if not arn.resource.startswith("stateMachine:"):
        raise DeliveryError("INVALID_PARAMETER", f"Target {arn.text!r} is not a state machine ARN", False)
    client = internal.client("stepfunctions", arn.account, arn.region)
    client.start_execution(stateMachineArn=arn.text, input=payload)


def _start_build_params(payload: str) -> dict[str, Any]:
    # EventBridge passes a CodeBuild target's input as StartBuild parameters; the raw event has none of them.
    try:
        body = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    client = internal.client("codebuild", "000000000000", "us-east-1")
    members = client.meta.service_model.operation_model("StartBuild").input_shape.members
    return {k: v for k, v in body.items() if k in members and k != "projectName"}


def send_codebuild(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """StartBuild on the project; a JSON input's StartBuild parameters (e.g. environmentVariablesOverride) apply."""
    name = arn.resource.split("/", 1)[1] if "/" in arn.resource else arn.resource
    client = internal.client("codebuild", arn.account, arn.region)
    client.start_build(projectName=name, **_start_build_params(payload))


def send_codepipeline(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """Start the pipeline named by the ARN with AWS's EventBridge trigger (CloudWatchEvent, the rule's ARN)."""
    try:
        from eventdeploy.localcloud.codepipeline.patch import start_triggered
    except ImportError:  # CodePipeline emulation absent: the plain API still starts the pipeline
        internal.client("codepipeline", arn.account, arn.region).start_pipeline_execution(name=arn.resource)
        return
    start_triggered(arn.account, arn.region, arn.resource, "CloudWatchEvent", rule_arn)


Sender = Callable[..., None]

SENDERS: dict[str, Sender] = {
    "sqs": send_sqs,
    "sns": send_sns,
    "logs": send_logs,
    "lambda": send_lambda,
    "states": send_states,
    "codebuild": send_codebuild,
    "codepipeline": send_codepipeline,
}


def send(arn: Arn, target: dict[str, Any], payload: str, event: dict[str, Any],
             rule_arn: str = "") -> None:
    """Deliver ``payload`` to the target; raise DeliveryError on failure."""
    sender = SENDERS.get(arn.service)
    if sender is None:
        raise DeliveryError("INVALID_PARAMETER",
                            f"Target service {arn.service!r} ({arn.text}) is not supported by the local cloud", False)
    try:
        sender(arn, target, payload, event, rule_arn=rule_arn)
    except Exception as exc:
        raise classify(exc) from exc
