"""``lambda:invoke`` results carry the SDK metadata AWS documents next to Payload and StatusCode.

https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html : the task result holds
``ExecutedVersion``, ``Payload``, ``SdkHttpMetadata`` (``AllHttpHeaders``, ``HttpHeaders``, ``HttpStatusCode``),
``SdkResponseMetadata`` (``RequestId``) and ``StatusCode``; moto keeps only the InvocationResponse members.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# Header names as AWS's Java SDK reports them (botocore lowercases every header).
_HEADER_NAMES = {
    "x-amzn-requestid": "x-amzn-RequestId",
    "x-amz-executed-version": "X-Amz-Executed-Version",
    "x-amzn-trace-id": "X-Amzn-Trace-Id",
    "x-amz-function-error": "X-Amz-Function-Error",
    "x-amz-log-result": "X-Amz-Log-Result",
}

_local = threading.local()


def header_name(name: str) -> str:
    """``name`` in the casing AWS's SDK metadata shows (``content-type`` → ``Content-Type``)."""
    lowered = name.lower()
    return _HEADER_NAMES.get(lowered) or "-".join(part.capitalize() for part in lowered.split("-"))


def sdk_metadata(response_metadata: dict[str, Any]) -> dict[str, Any]:
    """SdkHttpMetadata and SdkResponseMetadata built from botocore's ResponseMetadata."""
    headers = {header_name(k): str(v) for k, v in (response_metadata.get("HTTPHeaders") or {}).items()}
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": response_metadata.get("HTTPStatusCode"),
        },
        "SdkResponseMetadata": {"RequestId": response_metadata.get("RequestId")},
    }


def _wrap_invoke(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _invoke_lambda_function(parameters: dict, region: str, state_credentials: Any) -> Any:
        response = previous(parameters=parameters, region=region, state_credentials=state_credentials)
        _local.metadata = sdk_metadata(response.get("ResponseMetadata") or {})
        return response

    return _invoke_lambda_function


def _wrap_integration(previous: Callable[..., Any]) -> Callable[..., Any]:
    def execute_lambda_function_integration(env: Any, parameters: dict, region: str, state_credentials: Any) -> None:
        """Invoke, then add the SDK metadata to the result."""
        _local.metadata = None
        previous(env=env, parameters=parameters, region=region, state_credentials=state_credentials)
        metadata = _local.metadata
        if metadata and env.stack and isinstance(env.stack[-1], dict):
            env.stack[-1].update(metadata)

    return execute_lambda_function_integration


def install() -> None:
    """Add the SDK metadata to every Lambda invocation's task result."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    lambda_eval_utils._invoke_lambda_function = _wrap_invoke(lambda_eval_utils._invoke_lambda_function)
    lambda_eval_utils.execute_lambda_function_integration = _wrap_integration(
        lambda_eval_utils.execute_lambda_function_integration)
