"""The Lambda runtime service: runs invocations on warm workers, writes their logs and metrics, queues async ones."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

from eventdeploy.localcloud.lambda_runtime import credentials, cwlogs, lambda_metrics
from eventdeploy.localcloud.lambda_runtime.background import Background
from eventdeploy.localcloud.lambda_runtime.concurrency import Limiter, Throttled
from eventdeploy.localcloud.lambda_runtime.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    TooManyRequestsException,
)
from eventdeploy.localcloud.lambda_runtime.pool import WorkerPool
from eventdeploy.localcloud.lambda_runtime.settings import RuntimeSettings
from eventdeploy.localcloud.lambda_runtime.spec import FunctionSpec, spec_of
from eventdeploy.localcloud.lambda_runtime.worker import Outcome

log = logging.getLogger("eventdeploy.localcloud.lambda")

# Invoke payload limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024

# Carries the invocation's request id to the response renderer, which makes it the x-amzn-RequestId header.
REQUEST_ID_HEADER = "x-eventdeploy-lambda-request-id"


@dataclass
class Request:
    """One invocation as the service received it."""

    request_id: str
    payload: bytes
    invoked_arn: str
    qualifier: str | None
    client_context: str | None = None
    trace_id: str | None = None


def header(headers: Any, name: str) -> str | None:
    """Case-insensitive header lookup over werkzeug headers or the plain dicts moto's own callers pass."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        for key, val in headers.items():
            if key.lower() == lowered:
                return str(val)
    return None if value is None else str(value)


def normalise_payload(body: Any) -> bytes:
    """The invocation payload as JSON bytes (``{}`` when empty); raises InvalidRequestContentException if not JSON."""
    if body is None or body == "" or body == b"":
        return b"{}"
    raw = body if isinstance(body, bytes) else (json.dumps(body) if not isinstance(body, str) else body).encode()
    try:
        json.loads(raw)
    except ValueError as exc:
        raise InvalidRequestContentException(str(exc)) from exc
    return raw


def request_id() -> str:
    """A fresh version-4 UUID; from ``random`` because ``uuid4``'s urandom call costs ~40 us here, per invocation."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def trace_id() -> str:
    """An X-Ray trace header (``_X_AMZN_TRACE_ID``) for one invocation, not sampled: no X-Ray daemon runs here."""
    return f"Root=1-{int(time.time()):08x}-{random.getrandbits(96):024x};Parent={random.getrandbits(64):016x};Sampled=0"


def reserved_concurrency(fn: Any) -> int | None:
    """The function's reserved concurrency (moto keeps it on the $LATEST model), None when unreserved."""
    value = getattr(fn, "reserved_concurrency", None)
    if value is None or value == "":
        return None
    return int(value)


class LambdaRuntime:
    """Everything the patched moto ``invoke`` delegates to."""

    def __init__(self, settings: RuntimeSettings, state_dir: Path, endpoint: str) -> None:
        self.settings = settings
        self.limiter = Limiter(settings)
        self.pool = WorkerPool(settings, state_dir, endpoint)
        self.background = Background("lambda-telemetry")
        from eventdeploy.localcloud.lambda_runtime.async_invoke import AsyncQueue

        self.async_queue = AsyncQueue(self, settings.async_threads)
        self._stopping = threading.Event()
        threading.Thread(target=self._reap, name="lambda-idle-reaper", daemon=True).start()

    def _reap(self) -> None:
        interval = min(30.0, self.settings.idle_timeout_s / 2)
        while not self._stopping.wait(interval):
            try:
                self.pool.reap_idle(self.settings.idle_timeout_s)
            except Exception:  # the reaper must keep running
                log.exception("reaping idle Lambda workers failed")

    # -- concurrency ------------------------------------------------------------------------
    def _latest(self, spec: FunctionSpec) -> Any:
        from moto.awslambda.utils import get_backend

        return get_backend(spec.account_id, spec.region).get_function(spec.name)

    def _reserved_elsewhere(self, spec: FunctionSpec) -> int:
        from moto.awslambda.utils import get_backend

        total = 0
        for other in get_backend(spec.account_id, spec.region).list_functions():
            if other.function_name != spec.name:
                total += reserved_concurrency(other) or 0
        return total

    # -- one invocation ---------------------------------------------------------------------
    def run(self, fn: Any, spec: FunctionSpec, request: Request) -> tuple[Outcome, list[dict[str, Any]]]:
        """Run ``request`` on a worker; raises Throttled when no concurrency is free."""
        dims = lambda_metrics.dimension_sets(spec.name, request.qualifier, spec.version)
        reserved = reserved_concurrency(self._latest(spec))
        try:
            slot, running = self.limiter.acquire(spec.account_id, spec.region, spec.name, reserved,
                                                 self._reserved_elsewhere(spec) if reserved is None else 0)
        except Throttled:
            self.background.submit(lambda: lambda_metrics.publish(
                spec.account_id, spec.region, "Throttles", 1, "Count", dims, account_level=True))
            raise
        started_ms = int(time.time() * 1000)
        try:
            worker = self.pool.acquire(spec, fn)
            try:
                outcome = worker.invoke(request.request_id, request.payload, request.invoked_arn,
                                        request.client_context, request.trace_id)
            finally:
                self.pool.release(worker)
        finally:
            self.limiter.release(slot)
        events = cwlogs.records(spec, outcome, started_ms)
        stream = worker.log_stream

        def telemetry() -> None:
            cwlogs.write(spec.account_id, spec.region, spec.log_group, stream, events)
            a, r = spec.account_id, spec.region
            lambda_metrics.publish(a, r, "Invocations", 1, "Count", dims, account_level=True)
            lambda_metrics.publish(a, r, "Errors", 0 if outcome.status == "success" else 1, "Count", dims,
                                   account_level=True)
            lambda_metrics.publish(a, r, "Duration", round(outcome.duration_ms, 3), "Milliseconds", dims,
                                   account_level=True)
            lambda_metrics.publish(a, r, "ConcurrentExecutions", running, "Count", dims[:1], account_level=True)

        self.background.submit(telemetry)
        return outcome, events

    # -- the Invoke API ---------------------------------------------------------------------
    def invoke(self, fn: Any, body: Any, headers: Any, response_headers: dict[str, Any],
               qualifier: str | None) -> bytes:
        """What ``lambda.invoke`` answers for moto's function model ``fn``."""
        spec = spec_of(fn)
        invocation_type = header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise LambdaClientError("InvalidParameterValueException",
                                    f"InvocationType {invocation_type!r} is not one of RequestResponse, Event, DryRun")
        payload = normalise_payload(body)
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            raise RequestTooLargeException(limit)
        arn = spec.unqualified_arn + (f":{qualifier}" if qualifier else "")
        rid = request_id()
        response_headers[REQUEST_ID_HEADER] = rid
        if invocation_type == "DryRun":
            return b""
        # Lambda passes ClientContext to synchronous invocations only.
        client_context = header(headers, "X-Amz-Client-Context") if invocation_type == "RequestResponse" else None
        if client_context:
            try:
                client_context = base64.b64decode(client_context, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise LambdaClientError("InvalidParameterValueException",
                                        "ClientContext must be base64-encoded UTF-8 JSON") from exc
        request = Request(rid, payload, arn, qualifier, client_context, trace_id())
        if invocation_type == "Event":
            self.async_queue.enqueue(spec, request)
            return b""
        try:
            outcome, events = self.run(fn, spec, request)
        except Throttled as exc:
            raise TooManyRequestsException(exc.reason) from None
        response_headers["x-amz-executed-version"] = spec.version
        if outcome.function_error:
            response_headers["x-amz-function-error"] = outcome.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(cwlogs.tail(events)).decode()
        return outcome.payload

    # -- lifecycle --------------------------------------------------------------------------
    def reset(self) -> None:
        """Stop every worker and forget queued events, counts and cached sessions."""
        self.async_queue.clear()
        self.pool.stop_all()
        self.background.clear()
        self.limiter.clear()
        credentials.clear()

    def shutdown(self) -> None:
        """Stop the workers and background threads for good."""
        self._stopping.set()
        self.async_queue.stop()
        self.pool.stop_all()
        self.background.stop()

    def status(self) -> dict[str, Any]:
        """Worker, queue and limit figures for the admin route."""
        return {"workers": self.pool.stats(), "async": self.async_queue.stats(),
                "account_concurrency": self.settings.account_concurrency,
                "account_overrides": dict(self.settings.account_overrides),
                "max_workers": self.settings.max_workers}
