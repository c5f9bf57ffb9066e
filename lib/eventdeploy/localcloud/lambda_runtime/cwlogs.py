"""The function's CloudWatch Logs records: START/END/REPORT around the handler's output, written into moto."""

from __future__ import annotations

import math
import time
from typing import Any

from eventdeploy.localcloud.lambda_runtime.spec import FunctionSpec
from eventdeploy.localcloud.lambda_runtime.worker import Outcome

# LogType=Tail returns at most the last 4 KB of the invocation's log (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
TAIL_BYTES = 4096


def report_line(spec: FunctionSpec, outcome: Outcome) -> str:
    """Lambda's REPORT record (tab-separated fields as the platform writes them)."""
    init = outcome.init_duration_ms
    # Since August 2025 Lambda bills the init phase of on-demand functions too.
    billed = math.ceil(outcome.duration_ms + (init or 0.0))
    fields = [
        f"REPORT RequestId: {outcome.request_id}",
        f"Duration: {outcome.duration_ms:.2f} ms",
        f"Billed Duration: {max(1, billed)} ms",
        f"Memory Size: {spec.memory_mb} MB",
        f"Max Memory Used: {outcome.max_memory_mb} MB",
    ]
    if init is not None:
        fields.append(f"Init Duration: {init:.2f} ms")
    if outcome.status == "timeout":
        fields.append("Status: timeout")
    elif outcome.status in ("exit", "init_error"):
        fields.append("Status: error")
        fields.append(f"Error Type: {outcome.error_type}")
    return "\t".join(fields) + "\t"


def records(spec: FunctionSpec, outcome: Outcome, started_ms: int) -> list[dict[str, Any]]:
    """The log events of one invocation, in order, as CloudWatch Logs stores them."""
    ended_ms = max(started_ms, int(time.time() * 1000))
    events = [{"timestamp": started_ms, "message": f"START RequestId: {outcome.request_id} Version: {spec.version}"}]
    events += [{"timestamp": ended_ms, "message": line} for line in outcome.lines]
    events.append({"timestamp": ended_ms, "message": f"END RequestId: {outcome.request_id}"})
    events.append({"timestamp": ended_ms, "message": report_line(spec, outcome)})
    return events


def tail(events: list[dict[str, Any]]) -> bytes:
    """The last 4 KB of the invocation's log text (what ``LogType=Tail`` returns, before base64)."""
    text = "".join(e["message"] + "\n" for e in events).encode("utf-8")
    return text[-TAIL_BYTES:]


def write(account_id: str, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """Append ``events`` to ``group``/``stream`` in moto's logs backend, creating both if missing."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    backend.ensure_log_group(group)
    backend.ensure_log_stream(group, stream)
    backend.put_log_events(group, stream, events)
