"""State data stays JSON: timestamps that service integrations return become numbers, as on AWS's wire.

AWS's JSON-protocol services (CodeBuild, DynamoDB, Lambda, Step Functions, ...) send timestamps as epoch
seconds, and Step Functions passes the service's JSON on; boto3 hands moto's interpreter ``datetime`` objects
instead, which later break every JSON rendering (DescribeExecution answered 500).
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable
from typing import Any


def epoch_seconds(value: datetime.datetime | datetime.date) -> float | int:
    """``value`` as epoch seconds, millisecond precision, as JSON-protocol AWS APIs send timestamps."""
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    whole = calendar.timegm(value.utctimetuple())
    millis = value.microsecond // 1000
    return whole + millis / 1000 if millis else whole


def to_json_value(value: Any) -> Any:
    """``value`` with every datetime replaced by epoch seconds and bytes decoded (a new structure)."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return epoch_seconds(value)
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without keys whose value is None (AWS omits absent members)."""
    return {k: v for k, v in body.items() if v is not None}


def _wrap_after_eval_execution(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _after_eval_execution(self: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        if env.stack:
            env.stack[-1] = to_json_value(env.stack[-1])
        return previous(self, env, *args, **kwargs)

    return _after_eval_execution


def _compact(previous: Callable[..., Any]) -> Callable[..., Any]:
    def to_json_str(obj: Any, separators: tuple[str, str] | None = None) -> str:
        """moto's JSON rendering without spaces."""
        return previous(obj, separators=separators or (",", ":"))

    return to_json_str


def install() -> None:
    """Make every service task's result JSON before it reaches the state's output; render JSON compactly."""
    import sys

    from moto.stepfunctions.parser import models  # noqa: F401 - loads the whole interpreter before patching
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.utils import encoding

    StateTaskService._after_eval_execution = _wrap_after_eval_execution(StateTaskService._after_eval_execution)
    # Step Functions serialises JSON without spaces (message bodies, history parameters/inputs); moto's helper
    # adds them. Every interpreter module imported the helper by name, so each reference is replaced.
    original = encoding.to_json_str
    compact = _compact(original)
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions") and getattr(module, "to_json_str", None) is original:
            module.to_json_str = compact
