"""Execution status changes become ``Step Functions Execution Status Change`` events and AWS/States metrics.

https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html : Standard workflows send
an event to the account's default bus on every status change (RUNNING, SUCCEEDED, FAILED, TIMED_OUT,
ABORTED); dates are epoch milliseconds, absent values are null.
https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html : ExecutionsStarted,
ExecutionsSucceeded, ExecutionsFailed, ExecutionsAborted, ExecutionsTimedOut, ExecutionTime (ms).
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud.stepfunctions.event_dispatch import dispatcher
from eventdeploy.localcloud.stepfunctions.execution_end import close_history, interrupt_callbacks
from eventdeploy.localcloud.stepfunctions.executions import is_express_type
from eventdeploy.localcloud.stepfunctions.json_values import to_json_value

log = logging.getLogger("eventdeploy.localcloud.stepfunctions")

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
_STATUS_METRIC = {
    "RUNNING": "ExecutionsStarted",
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}

# Status already announced per execution, so a stop announced at once is not announced again at the end.
_announced: dict[str, set[str]] = {}
_lock = threading.Lock()


def epoch_millis(value: datetime.datetime | None) -> int | None:
    """``value`` as epoch milliseconds (the event's date format), None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return int(value.timestamp() * 1000)


def _status(execution: Any) -> str:
    status = execution.exec_status
    return getattr(status, "value", status)


def status_detail(execution: Any) -> dict[str, Any]:
    """The event's ``detail`` for ``execution`` in its current status."""
    status = _status(execution)
    output = None
    if status == "SUCCEEDED":
        output = json.dumps(to_json_value(execution.output), separators=(",", ":"))
    input_text = json.dumps(to_json_value(execution.input_data), separators=(",", ":"))
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": epoch_millis(execution.start_date),
        "stopDate": epoch_millis(execution.stop_date) if status in TERMINAL else None,
        "input": input_text,
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": execution.error if status in TERMINAL else None,
        "cause": execution.cause if status in TERMINAL else None,
    }


def _is_standard(execution: Any) -> bool:
    return not is_express_type(getattr(execution, "sm_type", "STANDARD"))


def announce(execution: Any) -> None:
    """Emit the status-change event and metrics for ``execution``'s current status, once per status."""
    status = _status(execution)
    with _lock:
        seen = _announced.setdefault(execution.exec_arn, set())
        if status in seen or (status in TERMINAL and seen & set(TERMINAL)):
            return
        seen.add(status)
    _publish_metrics(execution, status)
    if not _is_standard(execution):
        return
    # The detail is taken now, in this status; the sending happens in order on the dispatcher's thread.
    dispatcher.submit(execution.account_id, execution.region_name, SOURCE, DETAIL_TYPE, status_detail(execution),
                      [execution.exec_arn])


def _publish_metrics(execution: Any, status: str) -> None:
    from eventdeploy.localcloud import metrics

    dims = {"StateMachineArn": execution.state_machine_arn}
    try:
        metrics.publish(execution.account_id, execution.region_name, "AWS/States", _STATUS_METRIC[status], 1,
                        "Count", dims)
        if status in TERMINAL and execution.stop_date is not None:
            elapsed = (execution.stop_date - execution.start_date).total_seconds() * 1000
            metrics.publish(execution.account_id, execution.region_name, "AWS/States", "ExecutionTime",
                            max(0.0, elapsed), "Milliseconds", dims)
    except Exception:
        log.exception("could not publish AWS/States metrics for %s", execution.exec_arn)


def _wrap_start(previous: Callable[..., Any]) -> Callable[..., Any]:
    def start(self: Any) -> None:
        # Announce RUNNING before the worker can reach a terminal status, so events arrive in order.
        """Announce RUNNING, then start the execution's worker."""
        from moto.stepfunctions.parser.api import ExecutionStatus

        self.exec_status = ExecutionStatus.RUNNING
        announce(self)
        previous(self)

    return start


def _wrap_reflect(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _reflect_execution_status(self: Any) -> None:
        execution = self.execution
        stopped_at = getattr(execution, "_eventdeploy_stop_date", None)
        previous(self)
        if stopped_at is not None:
            # StopExecution already answered ABORTED; whatever the interrupted task did afterwards is moot.
            from moto.stepfunctions.parser.api import ExecutionStatus

            execution.exec_status = ExecutionStatus.ABORTED
            execution.stop_date = stopped_at
            execution.error, execution.cause = execution._eventdeploy_stop_reason
        announce(execution)

    return _reflect_execution_status


def _wrap_stop(previous: Callable[..., Any]) -> Callable[..., Any]:
    def stop(self: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        """Stop, then report ABORTED at once and wake the execution's waiting tasks."""
        from moto.stepfunctions.parser.api import ExecutionStatus

        was_running = _status(self) == "RUNNING"
        previous(self, stop_date, error, cause)
        if not was_running:
            return
        # AWS reports ABORTED as soon as StopExecution answers, even if a task is still out.
        self._eventdeploy_stop_date = stop_date
        self._eventdeploy_stop_reason = (error or None, cause or None)
        self.stop_date = stop_date
        self.exec_status = ExecutionStatus.ABORTED
        self.error = error or None
        self.cause = cause or None
        env = getattr(self.exec_worker, "env", None)
        close_history(env, "ExecutionAborted")
        interrupt_callbacks(env)
        announce(self)

    return stop


def clear() -> None:
    """Forget announced statuses and drop unsent events (on reset)."""
    dispatcher.discard_pending()
    with _lock:
        _announced.clear()


def install() -> None:
    """Announce every execution status change of moto's interpreter."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

    Execution.start = _wrap_start(Execution.start)
    Execution.stop = _wrap_stop(Execution.stop)
    BaseExecutionWorkerCommunication._reflect_execution_status = _wrap_reflect(
        BaseExecutionWorkerCommunication._reflect_execution_status)
