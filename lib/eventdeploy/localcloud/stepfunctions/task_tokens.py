"""A task token whose task is over answers TaskTimedOut, as AWS documents for SendTaskSuccess/Failure/Heartbeat.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html : TaskTimedOut
"The task token has either expired or the task associated with the token has already been closed".
moto accepted a late outcome for a task that had timed out, and answered InvalidToken once the execution ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _wrap_integration_pattern(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _eval_integration_pattern(self: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout

        token = (env.states.context_object.context_object_data.get("Task") or {}).get("Token")
        try:
            return previous(self, env, *args, **kwargs)
        finally:
            endpoint = env.callback_pool_manager.get(token) if token else None
            if endpoint is not None and endpoint.get_outcome() is None:
                # Timed out, missed its heartbeat or was stopped: later outcomes are for a closed task.
                endpoint.report(CallbackConsumerTimeout())

    return _eval_integration_pattern


def _closed_token(backend: Any, token: str) -> bool:
    """Whether ``token`` belongs to a task of an execution of ``backend`` that is no longer running."""
    for machine in backend.state_machines:
        for execution in machine.executions:
            env = getattr(getattr(execution, "exec_worker", None), "env", None)
            if env is not None and env.callback_pool_manager.get(token) is not None:
                return execution.status != "RUNNING"
    return False


def _wrap_send(previous: Callable[..., Any]) -> Callable[..., Any]:
    def send(self: Any, task_token: str, *args: Any, **kwargs: Any) -> Any:
        """Send the task outcome; a closed task's token is TaskTimedOut."""
        from moto.stepfunctions.parser.api import InvalidToken, TaskTimedOut

        try:
            return previous(self, task_token, *args, **kwargs)
        except InvalidToken:
            if _closed_token(self, task_token):
                raise TaskTimedOut(f"Task Timed Out: 'Provided task does not exist anymore' ({task_token})") from None
            raise

    return send


def install() -> None:
    """Answer TaskTimedOut for tokens of closed tasks."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    StateTaskServiceCallback._eval_integration_pattern = _wrap_integration_pattern(
        StateTaskServiceCallback._eval_integration_pattern)
    for name in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
        setattr(StepFunctionsParserBackend, name, _wrap_send(getattr(StepFunctionsParserBackend, name)))
