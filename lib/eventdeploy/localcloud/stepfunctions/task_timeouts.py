"""A missed ``HeartbeatSeconds`` is ``States.HeartbeatTimeout``, not ``States.Timeout``.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html : States.HeartbeatTimeout
"A Task state failed to send a heartbeat for a period longer than the HeartbeatSeconds value".
moto's interpreter raises its heartbeat error as a TimeoutError and names every TimeoutError States.Timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"


def _wrap_from_error(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        from moto.stepfunctions.parser.api import HistoryEventType, TaskTimedOutEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
            StatesErrorName,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
            StatesErrorNameType,
        )
        from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        if not isinstance(ex, HeartbeatTimeoutError):
            return previous(self, env, ex)
        details = TaskTimedOutEventDetails(error=HEARTBEAT_TIMEOUT)
        if hasattr(self, "_get_sfn_resource"):
            details["resource"] = self._get_sfn_resource()
            details["resourceType"] = self._get_sfn_resource_type()
        return FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesHeartbeatTimeout),
            event_type=HistoryEventType.TaskTimedOut,
            event_details=EventDetails(taskTimedOutEventDetails=details),
        )

    return _from_error


def install() -> None:
    """Name heartbeat timeouts of every Task state as AWS does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask

    StateTask._from_error = _wrap_from_error(StateTask._from_error)
