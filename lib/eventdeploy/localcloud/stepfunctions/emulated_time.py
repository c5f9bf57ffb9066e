"""Step Functions' own waits run in emulated time (``clock``): Wait states, Retry backoff, ``.sync`` polling.

Task ``TimeoutSeconds``/``HeartbeatSeconds`` stay in real time: they bound real work (handler code, builds,
a human sending a task token), which is never scaled. The state machine's ``TimeoutSeconds`` bounds both, so
it is measured on the execution's emulated clock: real time, plus the emulated time its scaled waits stood
for (concurrent waits of Parallel/Map branches overlap, so only the time in which any of them waits counts).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from eventdeploy.localcloud import clock

# A .sync poll at time scale 0.01 would otherwise hammer the polled service every 5 ms.
MIN_REAL_POLL_SECONDS = 0.02
# How often (real seconds) a state machine's TimeoutSeconds is checked against the emulated clock.
TIMEOUT_CHECK_SECONDS = 0.05

_lock = threading.Lock()
_tokens = itertools.count()


class ExecutionClock:
    """Emulated seconds an execution's scaled waits stood for beyond their real duration.

    While at least one of its waits is in progress, the execution's clock runs at 1 / time scale; concurrent waits
    (Parallel branches, Map iterations) overlap in emulated time as they do in real time, so only the union of the
    waiting intervals counts, not their sum."""

    def __init__(self) -> None:
        self.credit = 0.0
        self.waiting: dict[int, float] = {}  # wait token -> real start (monotonic)
        self.since: float | None = None  # real start of the current stretch in which some wait is in progress

    def begin(self) -> int:
        """Mark the start of a scaled wait; returns its token for ``end``."""
        token = next(_tokens)
        with _lock:
            now = time.monotonic()
            if not self.waiting:
                self.since = now
            self.waiting[token] = now
        return token

    def end(self, token: int) -> None:
        """Mark the end of a scaled wait; the stretch of waiting is credited when the last wait in it ends."""
        with _lock:
            if self.waiting.pop(token, None) is not None and not self.waiting and self.since is not None:
                self.credit += _extra(time.monotonic() - self.since)
                self.since = None

    def extra(self) -> float:
        """Emulated seconds beyond real time so far, including the stretch of waiting still in progress."""
        now = time.monotonic()
        with _lock:
            running = _extra(now - self.since) if self.waiting and self.since is not None else 0.0
            return self.credit + running


def _extra(real_seconds: float) -> float:
    return max(0.0, clock.emulated_elapsed(real_seconds) - real_seconds)


def execution_clock(env: Any) -> ExecutionClock:
    """The emulated clock of ``env``'s execution (frames share their execution's details object)."""
    details = env.aws_execution_details
    found = getattr(details, "_eventdeploy_clock", None)
    if found is None:
        with _lock:
            found = getattr(details, "_eventdeploy_clock", None)
            if found is None:
                found = ExecutionClock()
                details._eventdeploy_clock = found
    return found


def _scaled_sleep(seconds: float) -> None:
    clock.sleep(seconds)


def _scaled_poll_sleep(seconds: float) -> None:
    time.sleep(max(clock.scaled(seconds), MIN_REAL_POLL_SECONDS))


def _time_module_with(sleep: Any) -> SimpleNamespace:
    """A stand-in for the ``time`` module whose ``sleep`` is ``sleep``; everything else is the real module's."""
    names = {name: getattr(time, name) for name in dir(time) if not name.startswith("__")}
    names["sleep"] = sleep
    return SimpleNamespace(**names)


def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
    """Wait ``wait_seconds`` of emulated time, ending early when the execution stops."""
    deadline = time.monotonic() + clock.scaled(float(wait_seconds))
    token = execution_clock(env).begin()
    try:
        while env.is_running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            env.program_state_event.wait(remaining)
    finally:
        execution_clock(env).end(token)


def _wrap_retrier(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _eval_body(self: Any, env: Any) -> None:
        # The backoff sleep is the only wait in a retrier's evaluation.
        token = execution_clock(env).begin()
        try:
            previous(self, env)
        finally:
            execution_clock(env).end(token)

    return _eval_body


def _wrap_program_eval(previous: Callable[..., Any]) -> Callable[..., Any]:
    def eval(self: Any, env: Any) -> None:  # noqa: A001 - moto's method name
        """Run the program, timing it out on the execution's emulated clock."""
        from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
        from moto.stepfunctions.parser.utils import TMP_THREADS

        timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
        if timeout is None or clock.scale() == 1.0:
            previous(self, env)
            return
        env.next_state_name = self.start_at.start_at_name
        worker = threading.Thread(target=EvalComponent.eval, args=(self, env), daemon=True)
        TMP_THREADS.append(worker)
        began = time.monotonic()
        worker.start()
        emulated = execution_clock(env)
        while worker.is_alive():
            remaining = timeout - (time.monotonic() - began) - emulated.extra()
            if remaining <= 0:
                env.set_timed_out()
                return
            worker.join(min(TIMEOUT_CHECK_SECONDS, remaining))

    return eval


def install() -> None:
    """Route the interpreter's emulator waits through ``clock`` and time executions on their emulated clock."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    retrier_decl.time = _time_module_with(_scaled_sleep)
    retrier_decl.RetrierDecl._eval_body = _wrap_retrier(retrier_decl.RetrierDecl._eval_body)
    state_task_service_callback.time = _time_module_with(_scaled_poll_sleep)
    # Replaced, not wrapped: moto's version re-waits whole seconds of real time, which cannot be scaled.
    WaitFunction._wait_interval = _wait_interval
    Program.eval = _wrap_program_eval(Program.eval)
