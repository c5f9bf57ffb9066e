"""Lambda task failures named as Step Functions names them, so Retry/Catch match as on AWS.

https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html :
a handler's exception surfaces as its ``errorType``; service failures as ``Lambda.<ErrorCode>``
(``Lambda.ServiceException``, ``Lambda.TooManyRequestsException``, ...); failures of the SDK call itself as
``Lambda.SdkClientException``; unhandled errors (timeouts, out of memory, no error type) as ``Lambda.Unknown``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

UNKNOWN = "Lambda.Unknown"
SDK_CLIENT = "Lambda.SdkClientException"
AWS_LAMBDA = "Lambda.AWSLambdaException"

# errorTypes Lambda's platform (not the handler) reports when the invocation died: AWS calls these unhandled.
_PLATFORM_ERROR_TYPES = frozenset({"Sandbox.Timedout", "Runtime.ExitError", "Runtime.OutOfMemory", "Runtime.Unknown"})


def function_error_name(payload: str) -> str:
    """Error name for a function error whose response payload is ``payload`` (the cause is the payload)."""
    try:
        body = json.loads(payload)
    except (TypeError, ValueError):
        return UNKNOWN
    if not isinstance(body, dict):
        return UNKNOWN
    error_type = body.get("errorType")
    message = str(body.get("errorMessage") or "")
    if not error_type or not isinstance(error_type, str):
        return UNKNOWN
    if error_type in _PLATFORM_ERROR_TYPES or "Task timed out after" in message:
        return UNKNOWN
    return error_type


def client_error_name(response: dict[str, Any]) -> str:
    """Error name for a Lambda API error response (``Lambda.<Code>``; an unnamed 5xx is AWSLambdaException)."""
    code = (response.get("Error") or {}).get("Code")
    if code:
        return f"Lambda.{code}"
    return AWS_LAMBDA


def client_error_cause(response: dict[str, Any]) -> str:
    """The cause text AWS puts on a Lambda API error: the message plus the service's response details."""
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    details = "; ".join([
        "Service: AWSLambda",
        f"Status Code: {meta.get('HTTPStatusCode')}",
        f"Error Code: {error.get('Code')}",
        f"Request ID: {meta.get('RequestId')}",
        "Proxy: null",
    ])
    return f"{error.get('Message')} ({details})"


def _classify(ex: Exception) -> tuple[str, str] | None:
    """(error, cause) for an exception raised while invoking Lambda, or None if it is not Lambda's."""
    from botocore.exceptions import BotoCoreError, ClientError
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils import (
        LambdaFunctionErrorException,
    )

    if isinstance(ex, LambdaFunctionErrorException):
        return function_error_name(ex.payload), ex.payload
    if isinstance(ex, ClientError):
        return client_error_name(ex.response), client_error_cause(ex.response)
    if isinstance(ex, BotoCoreError):
        return SDK_CLIENT, f"{type(ex).__name__}: {ex}"
    return None


def _wrap(previous: Callable[..., Any], details: Callable[[Any, str, str], tuple[Any, Any]]) -> Callable[..., Any]:
    """A ``_from_error`` that names Lambda's failures as AWS does; ``details`` gives (event type, event details)."""

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
            CustomErrorName,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent

        found = _classify(ex)
        if found is None:
            return previous(self, env, ex)
        error, cause = found
        event_type, event_details = details(self, error, cause)
        return FailureEvent(env=env, error_name=CustomErrorName(error), event_type=event_type,
                            event_details=event_details)

    return _from_error


def _legacy_details(self: Any, error: str, cause: str) -> tuple[Any, Any]:
    """``arn:aws:lambda:...:function:x`` tasks: failures are LambdaFunctionFailed history events."""
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return HistoryEventType.LambdaFunctionFailed, EventDetails(
        lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause))


def _optimised_details(self: Any, error: str, cause: str) -> tuple[Any, Any]:
    """``arn:aws:states:::lambda:invoke`` tasks: failures are TaskFailed history events."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return HistoryEventType.TaskFailed, EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
        error=error, cause=cause, resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type()))


def install() -> None:
    """Name Lambda task failures as AWS does for both Lambda task forms."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
        StateTaskLambda,
    )

    StateTaskLambda._from_error = _wrap(StateTaskLambda._from_error, _legacy_details)
    StateTaskServiceLambda._from_error = _wrap(StateTaskServiceLambda._from_error, _optimised_details)
