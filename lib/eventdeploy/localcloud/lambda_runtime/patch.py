"""Wire the runtime into moto: ``invoke`` runs real code; event-invoke configs and deletes behave as on AWS.

Every wrapped method keeps the previous implementation and calls it, so other wraps survive in any install order.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from eventdeploy.localcloud.lambda_runtime import dead_letter
from eventdeploy.localcloud.lambda_runtime.errors import TooManyRequestsException
from eventdeploy.localcloud.lambda_runtime.service import REQUEST_ID_HEADER, LambdaRuntime

_local = threading.local()
_ACCOUNT = re.compile(r"^\d{12}$")


def qualifier_of(function_name: str, qualifier: str | None) -> str | None:
    """The qualifier of an Invoke call: explicit, or the one embedded in a (partial) ARN or ``name:qualifier``."""
    if qualifier:
        return qualifier
    parts = function_name.split(":")
    if function_name.startswith("arn:"):
        return parts[7] if len(parts) >= 8 and parts[7] else None
    if len(parts) >= 3 and _ACCOUNT.match(parts[0]) and parts[1] == "function":
        return parts[3] if len(parts) >= 4 and parts[3] else None
    if len(parts) == 2 and parts[1]:
        return parts[1]
    return None


def install(runtime: LambdaRuntime) -> None:
    """Patch moto's Lambda models and backends to use ``runtime``."""
    dead_letter.install()
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.utils import get_backend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        qualifier = getattr(_local, "qualifier", None)
        _local.qualifier = None  # only the call the backend resolved may use it
        if getattr(_local, "invoke_async", False):
            # The deprecated InvokeAsync API queues the event like InvocationType=Event.
            _local.invoke_async = False
            request_headers = {"X-Amz-Invocation-Type": "Event"}
        return runtime.invoke(self, body, request_headers, response_headers, qualifier)

    previous_backend_invoke = LambdaBackend.invoke

    def backend_invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                       response_headers: Any) -> Any:
        store = get_backend(self.account_id, self.region_name)
        if store is not self:
            # With Docker off moto keeps functions in the docker-less backend; a caller holding the other
            # backend (moto.backends.get_backend("lambda")) must still reach them.
            return store.invoke(function_name, qualifier, body, headers, response_headers)
        qualifier = qualifier or getattr(_local, "query_qualifier", None)
        _local.qualifier = qualifier_of(function_name, qualifier)
        try:
            return previous_backend_invoke(self, function_name, qualifier, body, headers, response_headers)
        finally:
            _local.qualifier = None

    def simple_backend_invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                              response_headers: Any) -> Any:
        # moto's docker-less backend answers with canned results; route it through the real invoke path instead.
        return LambdaBackend.invoke(self, function_name, qualifier, body, headers, response_headers)

    previous_put_config = LambdaBackend.put_function_event_invoke_config

    def put_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        # PutFunctionEventInvokeConfig overwrites the existing configuration (moto appended a second one).
        fn = self.get_function(function_name)
        before = list(fn.event_invoke_config)
        fn.event_invoke_config = []
        try:
            return previous_put_config(self, function_name, config)  # type: ignore[no-any-return]
        except Exception:
            fn.event_invoke_config = before
            raise

    def update_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        # UpdateFunctionEventInvokeConfig changes only the settings it names.
        fn = self.get_function(function_name)
        merged = dict(fn.event_invoke_config[-1].config) if fn.event_invoke_config else {}
        merged.update({k: v for k, v in config.items() if k != "FunctionName" and k != "Qualifier"})
        return put_event_invoke_config(self, function_name, merged)

    previous_delete = LambdaBackend.delete_function

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        previous_delete(self, function_name, qualifier)
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name.split(":")[0]
        runtime.pool.retire_function(self.account_id, self.region_name, name)

    from moto.awslambda.responses import LambdaResponse

    previous_response_invoke = LambdaResponse.invoke

    def response_invoke(self: Any) -> Any:
        # moto looks for a lowercase "qualifier" parameter; boto3 sends the Qualifier query parameter.
        _local.query_qualifier = (self.querystring.get("Qualifier") or [None])[0]
        try:
            return previous_response_invoke(self)
        finally:
            _local.query_qualifier = None

    previous_enrich = LambdaResponse._enrich_response

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        # The Invoke response's request id is the invocation's (context.aws_request_id), not a random one.
        headers, body = previous_enrich(headers, body)
        invocation_id = headers.pop(REQUEST_ID_HEADER, None)
        if invocation_id:
            headers["x-amzn-requestid"] = invocation_id
        return headers, body

    previous_invoke_async = LambdaResponse.invoke_async

    def response_invoke_async(self: Any) -> Any:
        _local.invoke_async = True
        try:
            return previous_invoke_async(self)
        finally:
            _local.invoke_async = False

    LambdaResponse.invoke = response_invoke  # type: ignore[method-assign]
    LambdaResponse.invoke_async = response_invoke_async  # type: ignore[method-assign]
    LambdaResponse._enrich_response = staticmethod(enrich_response)  # type: ignore[method-assign,assignment]
    previous_send_sqs = LambdaBackend._send_sqs_message

    def send_sqs_message(self: Any, function_arn: str, message: Any, queue_arn: str) -> bool:
        # An event source mapping that finds no concurrency leaves the message on the queue (it must not
        # turn the producer's SendMessage into a 429).
        try:
            return previous_send_sqs(self, function_arn, message, queue_arn)  # type: ignore[no-any-return]
        except TooManyRequestsException:
            return False

    LambdaBackend._send_sqs_message = send_sqs_message  # type: ignore[method-assign]
    LambdaFunction.invoke = function_invoke  # type: ignore[method-assign]
    LambdaBackend.invoke = backend_invoke  # type: ignore[method-assign]
    LambdaSimpleBackend.invoke = simple_backend_invoke  # type: ignore[method-assign]
    LambdaBackend.put_function_event_invoke_config = put_event_invoke_config  # type: ignore[method-assign]
    LambdaBackend.update_function_event_invoke_config = update_event_invoke_config  # type: ignore[method-assign]
    LambdaBackend.delete_function = delete_function  # type: ignore[method-assign]
