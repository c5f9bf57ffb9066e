"""Lambda's asynchronous invocation queue: retries, event age, throttling backoff and destinations.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.awslambda.exceptions import LambdaClientError

from eventdeploy.localcloud import clock
from eventdeploy.localcloud.lambda_runtime import dead_letter, destinations, lambda_metrics
from eventdeploy.localcloud.lambda_runtime.concurrency import Throttled
from eventdeploy.localcloud.lambda_runtime.spec import FunctionSpec, spec_of
from eventdeploy.localcloud.lambda_runtime.worker import Outcome

if TYPE_CHECKING:
    from eventdeploy.localcloud.lambda_runtime.service import LambdaRuntime, Request

log = logging.getLogger("eventdeploy.localcloud.lambda")

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_AGE_S = 21600
# Waits before the 2nd and 3rd attempt after a function error (emulated seconds).
RETRY_DELAYS_S = (60.0, 120.0)
THROTTLE_MAX_DELAY_S = 300.0


@dataclass
class AsyncEvent:
    """An event in the queue, with what happened to it so far."""

    account_id: str
    region: str
    name: str
    request: Request
    received: float
    generation: int
    attempts: int = 0
    throttles: int = 0
    last: Outcome | None = None
    last_version: str | None = None


class AsyncQueue:
    """Accepts events at once (202) and runs them on background threads."""

    def __init__(self, runtime: LambdaRuntime, threads: int) -> None:
        self.runtime = runtime
        self._ready: queue.Queue[AsyncEvent | None] = queue.Queue()
        self._delayed: list[tuple[float, int, AsyncEvent]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._generation = 0
        self._stopped = False
        self._in_flight = 0
        self._threads = [threading.Thread(target=self._dispatch, name=f"lambda-async-{i}", daemon=True)
                         for i in range(threads)]
        self._threads.append(threading.Thread(target=self._schedule, name="lambda-async-timer", daemon=True))
        for thread in self._threads:
            thread.start()

    def enqueue(self, spec: FunctionSpec, request: Request) -> None:
        """Accept an ``InvocationType=Event`` request."""
        event = AsyncEvent(spec.account_id, spec.region, spec.name, request, time.monotonic(), self._generation)
        dims = lambda_metrics.dimension_sets(spec.name, request.qualifier, spec.version)
        self.runtime.background.submit(lambda: lambda_metrics.publish(
            spec.account_id, spec.region, "AsyncEventsReceived", 1, "Count", dims))
        self._ready.put(event)

    def _later(self, event: AsyncEvent, emulated_s: float) -> None:
        with self._cv:
            heapq.heappush(self._delayed, (time.monotonic() + clock.scaled(emulated_s), next(self._seq), event))
            self._cv.notify()

    def _schedule(self) -> None:
        with self._cv:
            while not self._stopped:
                if not self._delayed:
                    self._cv.wait()
                    continue
                due = self._delayed[0][0]
                now = time.monotonic()
                if due <= now:
                    self._ready.put(heapq.heappop(self._delayed)[2])
                else:
                    self._cv.wait(due - now)

    def _dispatch(self) -> None:
        while True:
            event = self._ready.get()
            if event is None:
                return
            if event.generation != self._generation:
                continue
            with self._cv:
                self._in_flight += 1
            try:
                self._process(event)
            except Exception:  # a broken event must not kill the dispatcher thread
                log.exception("async invocation %s failed inside the runtime", event.request.request_id)
            finally:
                with self._cv:
                    self._in_flight -= 1

    def _function(self, event: AsyncEvent) -> Any:
        from moto.awslambda.utils import get_backend

        return get_backend(event.account_id, event.region).get_function(event.name, event.request.qualifier)

    def _process(self, event: AsyncEvent) -> None:
        try:
            fn = self._function(event)
            latest = self._function_latest(event)
            spec = spec_of(fn)
        except LambdaClientError as exc:
            log.warning("dropping async event %s: %s", event.request.request_id, exc)
            return
        config = latest.event_invoke_config[-1].config if latest.event_invoke_config else {}
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_S))
        dims = lambda_metrics.dimension_sets(spec.name, event.request.qualifier, spec.version)
        age_s = clock.emulated_elapsed(time.monotonic() - event.received)
        if age_s >= max_age:
            self._finish(event, spec, config, "EventAgeExceeded", dims)
            return
        self.runtime.background.submit(lambda: lambda_metrics.publish(
            spec.account_id, spec.region, "AsyncEventAge", round(age_s * 1000.0), "Milliseconds", dims))
        try:
            outcome, _ = self.runtime.run(fn, spec, event.request)
        except Exception as exc:
            # Throttles and system errors (the runtime could not start the function) go back to the queue with
            # exponential backoff until the event is too old; they are not function errors.
            if not isinstance(exc, Throttled):
                log.warning("async invocation %s could not run, retrying: %s", event.request.request_id, exc)
            event.throttles += 1
            self._later(event, min(THROTTLE_MAX_DELAY_S, 2.0 ** (event.throttles - 1)))
            return
        if event.generation != self._generation:
            return
        event.attempts += 1
        event.last, event.last_version = outcome, spec.version
        if outcome.status == "success":
            self._finish(event, spec, config, "Success", dims)
        elif event.attempts > max_retries:
            self._finish(event, spec, config, "RetriesExhausted", dims)
        else:
            self._later(event, RETRY_DELAYS_S[min(event.attempts, len(RETRY_DELAYS_S)) - 1])

    def _function_latest(self, event: AsyncEvent) -> Any:
        from moto.awslambda.utils import get_backend

        return get_backend(event.account_id, event.region).get_function(event.name)

    def _finish(self, event: AsyncEvent, spec: FunctionSpec, config: dict[str, Any], condition: str,
                dims: list[dict[str, str]]) -> None:
        success = condition == "Success"
        if not success:
            self.runtime.background.submit(lambda: lambda_metrics.publish(
                spec.account_id, spec.region, "AsyncEventsDropped", 1, "Count", dims))
            self._dead_letter(event, spec, condition, dims)
        target = (config.get("DestinationConfig") or {}).get("OnSuccess" if success else "OnFailure") or {}
        destination = target.get("Destination")
        if not destination:
            return
        version = event.last_version or spec.version
        function_arn = f"{spec.unqualified_arn}:{version}"
        last = event.last
        record = destinations.invocation_record(
            event.request.request_id, function_arn, condition, event.attempts, event.request.payload,
            event.last_version, last.function_error if last else None, last.payload if last else None)
        try:
            destinations.deliver(destination, record, success, function_arn)
        except Exception as exc:  # AWS counts the failure in a metric; the event is gone either way
            log.warning("could not deliver the %s record of %s to %s: %s", condition,
                        event.request.request_id, destination, exc)
            self.runtime.background.submit(lambda: lambda_metrics.publish(
                spec.account_id, spec.region, "DestinationDeliveryFailures", 1, "Count", dims))

    def _dead_letter(self, event: AsyncEvent, spec: FunctionSpec, condition: str,
                     dims: list[dict[str, str]]) -> None:
        target = dead_letter.target_of(self._function_latest(event))
        if not target:
            return
        last = event.last
        message = dead_letter.error_message_of(last.payload) if last else f"Event discarded: {condition}"
        try:
            dead_letter.send(target, event.request.payload, event.request.request_id, 200, message)
        except Exception as exc:  # AWS reports it as DeadLetterErrors; the event is gone either way
            log.warning("could not send %s to the dead-letter target %s: %s", event.request.request_id, target, exc)
            self.runtime.background.submit(lambda: lambda_metrics.publish(
                spec.account_id, spec.region, "DeadLetterErrors", 1, "Count", dims))

    def clear(self) -> None:
        """Forget every queued and delayed event (reset); events being run are discarded when they finish."""
        with self._cv:
            self._generation += 1
            self._delayed.clear()
        while True:
            try:
                self._ready.get_nowait()
            except queue.Empty:
                break

    def stop(self) -> None:
        """End the dispatcher and timer threads."""
        self.clear()
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
        for _ in self._threads:
            self._ready.put(None)

    def stats(self) -> dict[str, int]:
        """Queued, delayed and running event counts."""
        with self._cv:
            return {"ready": self._ready.qsize(), "delayed": len(self._delayed), "running": self._in_flight}
