"""Step Functions' own waits run in emulated time (``clock``): Wait states, Retry backoff, ``.sync`` polling.

Task ``TimeoutSeconds``/``HeartbeatSeconds`` and the state machine's ``TimeoutSeconds`` stay in real time:
they bound real work (handler code, builds, a human sending a task token), which is never scaled.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from eventdeploy.localcloud import clock

# A .sync poll at time scale 0.01 would otherwise hammer the polled service every 5 ms.
MIN_REAL_POLL_SECONDS = 0.02


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
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


def install() -> None:
    """Route the interpreter's emulator waits through ``clock``."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    retrier_decl.time = _time_module_with(_scaled_sleep)
    state_task_service_callback.time = _time_module_with(_scaled_poll_sleep)
    # Replaced, not wrapped: moto's version re-waits whole seconds of real time, which cannot be scaled.
    WaitFunction._wait_interval = _wait_interval
