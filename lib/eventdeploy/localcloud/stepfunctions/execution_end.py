"""Stopped and timed-out executions end as AWS reports them.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html : the execution is
ABORTED with the request's ``error``/``cause``; a state machine's ``TimeoutSeconds`` makes it TIMED_OUT with an
``ExecutionTimedOut`` history event. In moto, the task still out (e.g. waiting for a task token) kept running,
and its later failure overwrote the ABORTED/TIMED_OUT program state with FAILED.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any


def close_history(env: Any, final_event_type: str) -> None:
    """After a stop or timeout only the execution's closing event is recorded, not the interrupted task's failure."""
    manager = getattr(env, "event_manager", None)
    if manager is not None:
        manager._eventdeploy_closing_with = final_event_type


def _wrap_add_event(previous: Callable[..., Any]) -> Callable[..., Any]:
    def add_event(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        """Record the event unless the execution is closing with another one."""
        closing_with = getattr(self, "_eventdeploy_closing_with", None)
        if closing_with is not None and getattr(event_type, "value", event_type) != closing_with:
            return -1
        return previous(self, context, event_type, *args, **kwargs)

    return add_event


def interrupt_callbacks(env: Any) -> None:
    """Wake every task waiting for a task token or heartbeat of ``env``'s execution, so it can end."""
    pool = getattr(getattr(env, "callback_pool_manager", None), "_pool", None) or {}
    for endpoint in list(pool.values()):
        endpoint.interrupt_all()


def _wrap_set_error(previous: Callable[..., Any]) -> Callable[..., Any]:
    def set_error(self: Any, error: Any) -> None:
        """Fail the program unless it was already stopped or timed out."""
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped, ProgramTimedOut

        # An interrupted task's failure must not turn a stopped or timed-out execution into a failed one.
        if isinstance(self._program_state, (ProgramStopped, ProgramTimedOut)):
            return
        previous(self, error)

    return set_error


def _wrap_program_eval(previous: Callable[..., Any]) -> Callable[..., Any]:
    def eval(self: Any, env: Any) -> None:  # noqa: A001 - moto's method name
        """Run the program; on timeout close its history and wake its waiting tasks."""
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramTimedOut

        previous(self, env)
        if isinstance(env.program_state(), ProgramTimedOut):
            close_history(env, "ExecutionTimedOut")
            interrupt_callbacks(env)

    return eval


def _response_stop_execution(self: Any) -> Any:
    """StopExecution with the request's error and cause (moto drops both)."""
    from moto.core.responses import ActionResult

    arn = self._get_param("executionArn")
    execution = self.stepfunction_backend.describe_execution(arn)
    if not hasattr(execution, "exec_worker"):
        self.stepfunction_backend.stop_execution(arn)
    else:
        execution.stop(stop_date=datetime.datetime.now(tz=datetime.UTC),
                       error=self._get_param("error"), cause=self._get_param("cause"))
    return ActionResult({"stopDate": execution.stop_date})


def install() -> None:
    """Keep ABORTED and TIMED_OUT executions so, and let their waiting tasks end."""
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.responses import StepFunctionResponse

    Environment.set_error = _wrap_set_error(Environment.set_error)
    Program.eval = _wrap_program_eval(Program.eval)
    EventManager.add_event = _wrap_add_event(EventManager.add_event)
    StepFunctionResponse.stop_execution = _response_stop_execution
