"""Observation: read what the pipeline did (taps, logs, executions, the ledger) into tidy DataFrames."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd


def drain_queue(sqs: Any, queue_url: str, expect: int | None = None, timeout_s: float = 30.0,
                quiet_s: float = 1.0) -> pd.DataFrame:
    """Receive and delete messages until ``expect`` arrived (or ``quiet_s`` of silence after the first), or timeout.

    One row per message: ``body`` (parsed JSON if it is JSON), ``sent_ms``, ``receive_count``, ``attributes``.
    """
    rows: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    while time.monotonic() < deadline:
        batch = _receive_once(sqs, queue_url, wait_s=1)
        rows += batch.to_dict("records")
        if not batch.empty:
            last = time.monotonic()
        if expect is not None and len(rows) >= expect:
            break
        if expect is None and rows and time.monotonic() - last > quiet_s:
            break
    return pd.DataFrame(rows, columns=["message_id", "body", "sent_ms", "receive_count", "attributes"])


def log_events(logs: Any, group: str, start_ms: int = 0, pattern: str = "", limit: int = 200) -> pd.DataFrame:
    """Log events of ``group`` since ``start_ms`` (optionally filtered), oldest first."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if pattern:
        kwargs["filterPattern"] = pattern
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            rows += [{"time_ms": e["timestamp"], "stream": e["logStreamName"], "message": e["message"].rstrip()}
                     for e in page.get("events", [])]
            if len(rows) >= limit:
                break
    except logs.exceptions.ResourceNotFoundException:
        pass
    frame = pd.DataFrame(rows[:limit], columns=["time_ms", "stream", "message"])
    return frame.sort_values("time_ms", kind="stable").reset_index(drop=True)


def wait_execution(sfn: Any, execution_arn: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Wait until an execution leaves RUNNING; return its description."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = sfn.describe_execution(executionArn=execution_arn)
        if found["status"] != "RUNNING":
            return dict(found)
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_arn} still RUNNING after {timeout_s:.0f} s")
        time.sleep(0.2)


def execution_states(sfn: Any, execution_arn: str) -> pd.DataFrame:
    """One row per state the execution entered: name, type, start, end, seconds, outcome (from its history)."""
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    rows: list[dict[str, Any]] = []
    open_states: dict[str, dict[str, Any]] = {}
    for e in events:
        kind = e["type"]
        if kind.endswith("StateEntered"):
            name = e["stateEnteredEventDetails"]["name"]
            open_states[name] = {"state": name, "type": kind.removesuffix("StateEntered"), "start": e["timestamp"],
                                 "end": None, "outcome": "running"}
            rows.append(open_states[name])
        elif kind.endswith("StateExited"):
            name = e["stateExitedEventDetails"]["name"]
            if name in open_states:
                open_states[name]["end"] = e["timestamp"]
                if open_states[name]["outcome"] == "running":
                    open_states[name]["outcome"] = "ok"
        elif kind.endswith("Failed") or kind.endswith("TimedOut"):
            for row in reversed(rows):
                if row["end"] is None:
                    row["outcome"] = kind
                    break
        elif kind in ("ExecutionFailed", "ExecutionSucceeded", "ExecutionAborted", "ExecutionTimedOut"):
            for row in rows:
                if row["end"] is None:
                    row["end"] = e["timestamp"]
    frame = pd.DataFrame(rows, columns=["state", "type", "start", "end", "outcome"])
    if frame.empty:
        return frame.assign(seconds=pd.Series(dtype=float))
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    frame["seconds"] = (frame["end"] - frame["start"]).dt.total_seconds()
    return frame


def ledger(dynamodb: Any, table: str, deployment_id: str | None = None) -> pd.DataFrame:
    """Ledger rows (one per deployment stage) as plain values, oldest first."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    items: list[dict[str, Any]] = []
    if deployment_id:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table, KeyConditionExpression="deployment_id = :d",
            ExpressionAttributeValues={":d": {"S": deployment_id}})
    else:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
    for page in pages:
        items += [{k: des.deserialize(v) for k, v in item.items()} for item in page.get("Items", [])]
    frame = pd.DataFrame(items)
    if frame.empty:
        return pd.DataFrame(columns=["deployment_id", "stage", "at"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


# --- Measurement: collectors into tidy frames, reconciliation, latency ---------------------------------------------

# The order a deployment moves through; a stage later in the list never happens before an earlier one.
STAGES = ["sent", "accepted", "delivered", "lambda_started", "handled", "sm_started", "execution_requested",
          "validated", "built", "deployed", "promoted", "rolled_back", "sm_stopped"]
SM_FAILED = ("FAILED", "TIMED_OUT", "ABORTED")
HANDLER_STAGE_PREFIXES = ("stack_", "violation")  # rows the stack and compliance handlers write per event


def _plain(value: dict[str, Any]) -> Any:
    """One DynamoDB-JSON attribute value as a plain value (the common types fast; the rest by boto3)."""
    (kind, raw), = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer().deserialize(value)


def items_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    """DynamoDB-JSON items (as Scan returns them) as a DataFrame of plain values."""
    return pd.DataFrame([{k: _plain(v) for k, v in item.items()} for item in items])


def scan_table(dynamodb: Any, table: str, segments: int = 4) -> pd.DataFrame:
    """Every item of ``table`` through a parallel Scan (``segments`` at once), as plain values."""
    from concurrent.futures import ThreadPoolExecutor

    def segment(n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table, "Segment": n, "TotalSegments": segments}
        while True:
            page = dynamodb.scan(**kwargs)
            out += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    with ThreadPoolExecutor(max_workers=segments) as pool:
        parts = list(pool.map(segment, range(segments)))
    return items_frame([item for part in parts for item in part])


def ledger_stages(rows: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows as (deployment_id, stage, at_ms, trace_id, event_id, error); stack/compliance rows become
    'handled'; ``error`` is what a rolled-back deployment caught."""
    columns = ["deployment_id", "stage", "at_ms", "trace_id", "event_id", "error"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame({"deployment_id": rows["deployment_id"], "stage": rows["stage"]})
    at = pd.to_datetime(rows["at"], utc=True, format="ISO8601")
    out["at_ms"] = (at - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    for col in ("trace_id", "event_id", "error"):
        out[col] = rows[col] if col in rows else None
    handled = out["stage"].str.startswith(HANDLER_STAGE_PREFIXES)
    out.loc[handled, "stage"] = "handled"
    return out[columns].reset_index(drop=True)


def executions(sfn: Any, state_machine_arn: str) -> pd.DataFrame:
    """Every execution of a state machine: name (the deployment id), status, start_ms, stop_ms."""
    rows = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        for e in page["executions"]:
            stop = e.get("stopDate")
            rows.append({"deployment_id": e["name"], "execution_arn": e["executionArn"], "status": e["status"],
                         "start_ms": int(e["startDate"].timestamp() * 1000),
                         "stop_ms": int(stop.timestamp() * 1000) if stop else None})
    out = pd.DataFrame(rows, columns=["deployment_id", "execution_arn", "status", "start_ms", "stop_ms"])
    out["stop_ms"] = out["stop_ms"].astype("Int64")
    return out


def execution_histories(sfn: Any, execution_arns: list[str]) -> pd.DataFrame:
    """The states each execution went through (``execution_states``), one frame with an ``execution_arn`` column."""
    frames = [execution_states(sfn, arn).assign(execution_arn=arn) for arn in execution_arns]
    if not frames:
        return pd.DataFrame(columns=["execution_arn", "state", "type", "start", "end", "outcome", "seconds"])
    return pd.concat(frames, ignore_index=True)


def _detail(event: Any) -> dict[str, Any]:
    return event.get("detail") if isinstance(event, dict) and isinstance(event.get("detail"), dict) else {}


def tap_records(drained: pd.DataFrame) -> pd.DataFrame:
    """Tap messages (``{"rule", "event"}``) as (event_id, trace_id, rule, delivered_ms)."""
    rows = []
    for body, sent in zip(drained["body"], drained["sent_ms"], strict=True):
        event = body.get("event") if isinstance(body, dict) else None
        if isinstance(event, dict):
            rows.append({"event_id": event.get("id"), "trace_id": _detail(event).get("trace-id"),
                         "rule": body.get("rule"), "delivered_ms": int(sent)})
    return pd.DataFrame(rows, columns=["event_id", "trace_id", "rule", "delivered_ms"])


def dlq_records(drained: pd.DataFrame, queue: str) -> pd.DataFrame:
    """EventBridge dead letters (the event, with ERROR_CODE/ERROR_MESSAGE/RETRY_ATTEMPTS/RULE_ARN/TARGET_ARN)."""
    rows = []
    for body, sent, attrs in zip(drained["body"], drained["sent_ms"], drained["attributes"], strict=True):
        event = body if isinstance(body, dict) else {}
        rows.append({"event_id": event.get("id"), "trace_id": _detail(event).get("trace-id"), "queue": queue,
                     "error_code": attrs.get("ERROR_CODE"), "error_message": attrs.get("ERROR_MESSAGE"),
                     "retry_attempts": int(attrs.get("RETRY_ATTEMPTS") or 0), "rule_arn": attrs.get("RULE_ARN"),
                     "target_arn": attrs.get("TARGET_ARN"), "at_ms": int(sent)})
    return pd.DataFrame(rows, columns=["event_id", "trace_id", "queue", "error_code", "error_message",
                                       "retry_attempts", "rule_arn", "target_arn", "at_ms"])


def on_failure_records(drained: pd.DataFrame) -> pd.DataFrame:
    """Lambda OnFailure invocation records: the event, the function, why it gave up, after how many attempts."""
    rows = []
    for body, sent in zip(drained["body"], drained["sent_ms"], strict=True):
        record = body if isinstance(body, dict) else {}
        context = record.get("requestContext") or {}
        response = record.get("responsePayload") if isinstance(record.get("responsePayload"), dict) else {}
        event = record.get("requestPayload") if isinstance(record.get("requestPayload"), dict) else {}
        rows.append({"event_id": event.get("id"), "trace_id": _detail(event).get("trace-id"),
                     "function": str(context.get("functionArn", "")).split(":function:")[-1].split(":")[0],
                     "condition": context.get("condition"), "invoke_count": int(context.get("approximateInvokeCount")
                                                                                or 0),
                     "error_code": response.get("errorType") or context.get("condition"),
                     "error_message": response.get("errorMessage"), "at_ms": int(sent)})
    return pd.DataFrame(rows, columns=["event_id", "trace_id", "function", "condition", "invoke_count",
                                       "error_code", "error_message", "at_ms"])


def metrics(cloudwatch: Any, queries: list[dict[str, Any]], start: Any, end: Any, period_s: int = 60) -> pd.DataFrame:
    """CloudWatch metrics through GetMetricData, tidy (time, namespace, metric, dimensions, stat, value).

    Each query is ``{"namespace", "metric", "dimensions": {name: value}, "stat"}``. Sparse metrics have no datapoint
    for a period with no data: every period between ``start`` and ``end`` is filled with 0.
    """
    if not queries:
        return pd.DataFrame(columns=["time", "namespace", "metric", "dimensions", "stat", "value"])
    data = []
    for n, q in enumerate(queries):
        data.append({"Id": f"m{n}", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": q["namespace"], "MetricName": q["metric"],
                       "Dimensions": [{"Name": k, "Value": v} for k, v in q.get("dimensions", {}).items()]},
            "Period": period_s, "Stat": q.get("stat", "Sum")}})
    found: dict[str, dict[pd.Timestamp, float]] = {d["Id"]: {} for d in data}
    for chunk in range(0, len(data), 500):
        for page in cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=data[chunk:chunk + 500], StartTime=start, EndTime=end, ScanBy="TimestampAscending"):
            for result in page["MetricDataResults"]:
                for t, v in zip(result["Timestamps"], result["Values"], strict=True):
                    found[result["Id"]][pd.Timestamp(t).tz_convert("UTC")] = float(v)
    grid = pd.date_range(pd.Timestamp(start).tz_convert("UTC").floor(f"{period_s}s"),
                         pd.Timestamp(end).tz_convert("UTC"), freq=f"{period_s}s")
    frames = []
    for n, q in enumerate(queries):
        series = pd.Series(found[f"m{n}"], dtype=float)
        filled = series.reindex(grid.union(series.index), fill_value=0.0)
        frames.append(pd.DataFrame({"time": filled.index, "namespace": q["namespace"], "metric": q["metric"],
                                    "dimensions": ",".join(f"{k}={v}" for k, v in q.get("dimensions", {}).items()),
                                    "stat": q.get("stat", "Sum"), "value": filled.values}))
    return pd.concat(frames, ignore_index=True)


def _first_deployment(stages: pd.DataFrame) -> dict[str, str]:
    """event id → the deployment its handler recorded (the earliest, if a retry recorded more)."""
    rows = stages[stages["event_id"].notna()].sort_values("at_ms", kind="stable")
    return dict(zip(rows["event_id"], rows["deployment_id"], strict=True)) if len(rows) else {}


def _deployment_outcome(stages: set[str], status: str | None) -> str | None:
    """completed / failed / None (still running) for one ledger deployment."""
    if "handled" in stages:
        return "completed"
    if "rolled_back" in stages or status in SM_FAILED:
        return "failed"
    if "promoted" in stages or status == "SUCCEEDED":
        return "completed"
    return None


def reconcile(injected: pd.DataFrame, stages: pd.DataFrame, execs: pd.DataFrame, tap: pd.DataFrame,
              dlq: pd.DataFrame, on_failure: pd.DataFrame) -> pd.DataFrame:
    """Every injected event's one outcome: completed, failed (where), filtered, rejected, deduplicated, in flight.

    Evidence: the ledger (and the execution it started), the tap (the only consumer of events no handler takes),
    the rules' DLQs and the Lambda OnFailure destination. ``problem`` names an event found in none of them
    ("found in none": lost) or in two ("found in two": e.g. completed and dead-lettered). Duplicates of a push
    that another event of the same repository+digest carried through are "deduplicated", not failures.
    """
    by_deployment = _sets(stages, "deployment_id", "stage")
    caught = {d: e for d, e in zip(stages["deployment_id"], stages.get("error", [None] * len(stages)), strict=True)
              if isinstance(e, str) and e}
    deployments: dict[str, set[str]] = {}
    for event_id, dep in stages[stages["event_id"].notna()][["event_id", "deployment_id"]].itertuples(index=False):
        deployments.setdefault(event_id, set()).add(dep)
    status = dict(zip(execs["deployment_id"], execs["status"], strict=True))
    tap_rules = _sets(tap, "event_id", "rule")
    dead = _records(dlq)
    gave_up = _records(on_failure)
    rows = []
    for ev in injected.itertuples(index=False):
        row = {"trace_id": ev.trace_id, "event_id": ev.event_id, "variant": ev.variant, "role": ev.role,
               "route": ev.route, "expected": ev.expected, "dedup_key": ev.dedup_key, "attempts": ev.attempts,
               "deployment_id": None, "outcome": None, "where": None, "error_code": None, "terminals": 0,
               "in_flight": False, "invoke_count": 0, "delivery_retries": 0}
        rows.append(row)
        if ev.fate != "accepted":
            row.update(outcome="rejected", where="PutEvents", error_code=ev.error_code)
            continue
        terminals: list[tuple[str, str, str | None]] = []
        for dep in sorted(deployments.get(ev.event_id, ())):
            row["deployment_id"] = row["deployment_id"] or dep
            outcome = _deployment_outcome(by_deployment.get(dep, set()), status.get(dep))
            if outcome is None:
                row["in_flight"] = True
            else:
                where = "ledger" if "handled" in by_deployment.get(dep, set()) else "state_machine"
                code = (caught.get(dep) or status.get(dep)) if outcome == "failed" else None
                terminals.append((outcome, where, code))
        if ev.event_id in dead:
            terminals += [("failed", f"dlq:{d['queue']}", d["error_code"]) for d in dead[ev.event_id]]
            row["delivery_retries"] = max(d["retry_attempts"] for d in dead[ev.event_id])
        if ev.event_id in gave_up:
            terminals += [("failed", f"on_failure:{f['function']}", f["error_code"]) for f in gave_up[ev.event_id]]
            row["invoke_count"] = max(f["invoke_count"] for f in gave_up[ev.event_id])
        rules = tap_rules.get(ev.event_id, set())
        if ev.route in ("tap", None):
            terminals += [("completed", "tap", None) for _ in sorted(rules)]
        elif rules:
            row["in_flight"] = True  # delivered, the handler's outcome not written yet
        row["terminals"] = len(terminals)
        if terminals:
            failed = [t for t in terminals if t[0] == "failed"]
            outcome, where, code = (failed or terminals)[0]
            row.update(outcome=outcome, where=where, error_code=code, in_flight=False)
    _resolve_duplicates(rows)
    out = pd.DataFrame(rows)
    out["problem"] = None
    out.loc[out["terminals"] > 1, "problem"] = "found in two"
    lost = out["outcome"].isna() & ~out["in_flight"]
    filtered = lost & out["route"].isna()
    out.loc[filtered, ["outcome", "where"]] = ["filtered", "no rule matched"]
    out.loc[out["outcome"].isna() & out["in_flight"], "outcome"] = "in_flight"
    missing = out["outcome"].isna()
    out.loc[missing, ["outcome", "problem"]] = ["unaccounted", "found in none"]
    out["as_expected"] = out["outcome"] == out["expected"]
    in_group = out["dedup_key"].notna() & out["role"].isin(["normal", "duplicate"])
    out.loc[in_group, "as_expected"] = out.loc[in_group, "outcome"].isin(["completed", "deduplicated"])
    return out


def _sets(frame: pd.DataFrame, key: str, value: str) -> dict[Any, set[Any]]:
    """key → the set of values (a plain loop: pandas' per-group Python aggregation is far slower)."""
    out: dict[Any, set[Any]] = {}
    if len(frame):
        for k, v in zip(frame[key], frame[value], strict=True):
            out.setdefault(k, set()).add(v)
    return out


def _records(frame: pd.DataFrame) -> dict[Any, list[dict[str, Any]]]:
    """event id → its rows as dicts."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(row["event_id"], []).append(row)
    return out


def _resolve_duplicates(rows: list[dict[str, Any]]) -> None:
    """Within a repository+digest group, members without evidence of their own were deduplicated by another."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row["dedup_key"], str) and row["role"] != "poison" and row["outcome"] != "rejected":
            groups.setdefault(row["dedup_key"], []).append(row)
    for members in groups.values():
        carried = [m for m in members if m["terminals"] > 0 or (m["in_flight"] and isinstance(m["deployment_id"], str))]
        if len(members) < 2 or not carried:
            continue
        for m in members:
            if m["terminals"] == 0 and not isinstance(m["deployment_id"], str):
                m.update(outcome="deduplicated", where=f"same push as {carried[0]['trace_id']}", in_flight=False)


def reconciliation_counts(reconciled: pd.DataFrame) -> dict[str, Any]:
    """Counts by outcome, the events found in none or in two, and how many ended as the scenario expected."""
    return {"events": int(len(reconciled)),
            "by_outcome": {str(k): int(v) for k, v in reconciled["outcome"].value_counts().items()},
            "found_in_none": int((reconciled["problem"] == "found in none").sum()),
            "found_in_two": int((reconciled["problem"] == "found in two").sum()),
            "as_expected": int(reconciled["as_expected"].sum())}


def stage_times(injected: pd.DataFrame, stages: pd.DataFrame, execs: pd.DataFrame, tap: pd.DataFrame) -> pd.DataFrame:
    """Each accepted event's stages, tidy: trace_id, variant, stage, at_ms, since_sent_ms, step_ms.

    ``step_ms`` is the time since the event's previous stage (in ``STAGES`` order): where the time went.
    Client stamps (sent, accepted) and the pipeline's clocks are compared directly: on AWS, mind clock skew.
    """
    ok = injected[injected["fate"] == "accepted"][["trace_id", "event_id", "variant", "sent_ms", "accepted_ms"]]
    parts = [ok.assign(stage="sent", at_ms=ok["sent_ms"]), ok.assign(stage="accepted", at_ms=ok["accepted_ms"])]
    if len(tap):
        first = tap.groupby("event_id")["delivered_ms"].min().rename("at_ms").reset_index()
        parts.append(ok.merge(first, on="event_id").assign(stage="delivered"))
    dep = _first_deployment(stages)
    if dep:
        link = ok.assign(deployment_id=ok["event_id"].map(dep)).dropna(subset=["deployment_id"])
        parts.append(link.merge(stages[["deployment_id", "stage", "at_ms"]], on="deployment_id"))
        if len(execs):
            sm = link.merge(execs[["deployment_id", "start_ms", "stop_ms"]], on="deployment_id")
            parts.append(sm.assign(stage="sm_started", at_ms=sm["start_ms"]))
            parts.append(sm.assign(stage="sm_stopped", at_ms=sm["stop_ms"]))
    cols = ["trace_id", "variant", "stage", "at_ms", "sent_ms"]
    out = pd.concat([p[cols] for p in parts], ignore_index=True).dropna(subset=["at_ms"])
    out = out[out["stage"].isin(STAGES)].drop_duplicates(["trace_id", "stage"])
    out["order"] = out["stage"].map({s: i for i, s in enumerate(STAGES)})
    out = out.sort_values(["trace_id", "order"], kind="stable").reset_index(drop=True)
    out["at_ms"] = out["at_ms"].astype("int64")
    out["since_sent_ms"] = out["at_ms"] - out["sent_ms"].astype("int64")
    out["step_ms"] = out.groupby("trace_id")["at_ms"].diff().fillna(0).astype("int64")
    return out.drop(columns=["order", "sent_ms"])


def latency_stats(times: pd.DataFrame) -> pd.DataFrame:
    """Per stage (time since sent, and the step into it) and end to end: count, p50, p90, p99, max in ms."""
    def stats(values: pd.Series) -> dict[str, float]:
        q = values.quantile([0.5, 0.9, 0.99])
        return {"count": int(values.count()), "p50_ms": float(q[0.5]), "p90_ms": float(q[0.9]),
                "p99_ms": float(q[0.99]), "max_ms": float(values.max())}

    rows = []
    for stage in [s for s in STAGES if s != "sent" and s in set(times["stage"])]:
        chosen = times[times["stage"] == stage]
        rows.append({"stage": stage, **stats(chosen["since_sent_ms"]),
                     "step_p50_ms": float(chosen["step_ms"].median()),
                     "step_p99_ms": float(chosen["step_ms"].quantile(0.99))})
    if len(times):
        end = times.groupby("trace_id")["since_sent_ms"].max()
        rows.append({"stage": "end_to_end", **stats(end), "step_p50_ms": float("nan"), "step_p99_ms": float("nan")})
    return pd.DataFrame(rows, columns=["stage", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms", "step_p50_ms",
                                       "step_p99_ms"])


def throughput(series: dict[str, pd.Series], bin_s: float = 1.0) -> pd.DataFrame:
    """Events per bin for each named series of epoch-ms stamps: (second since the first stamp, series, per_s)."""
    stamps = [s.dropna().astype("int64") for s in series.values() if len(s.dropna())]
    if not stamps:
        return pd.DataFrame(columns=["second", "series", "per_s"])
    t0 = min(int(s.min()) for s in stamps)
    t1 = max(int(s.max()) for s in stamps)
    bins = int((t1 - t0) / 1000 // bin_s) + 1
    frames = []
    for name, values in series.items():
        idx = ((values.dropna().astype("int64") - t0) / 1000 // bin_s).astype(int)
        counts = idx.value_counts().reindex(range(bins), fill_value=0).sort_index()
        frames.append(pd.DataFrame({"second": counts.index * bin_s, "series": name, "per_s": counts.values / bin_s}))
    return pd.concat(frames, ignore_index=True)


def receive_all(sqs: Any, queue_url: str, max_calls: int = 1000) -> pd.DataFrame:
    """Receive and delete what a queue holds now, without long polling (stops at the first empty answer)."""
    frames = []
    for _ in range(max_calls):
        batch = _receive_once(sqs, queue_url)
        if batch.empty:
            break
        frames.append(batch)
    if not frames:
        return pd.DataFrame(columns=["message_id", "body", "sent_ms", "receive_count", "attributes"])
    return pd.concat(frames, ignore_index=True)


def _receive_once(sqs: Any, queue_url: str, wait_s: int = 0) -> pd.DataFrame:
    """One ReceiveMessage (up to 10, long-polling ``wait_s``), parsed into rows and deleted from the queue."""
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
                                 AttributeNames=["All"], MessageAttributeNames=["All"])
    messages = answer.get("Messages", [])
    rows = []
    for m in messages:
        try:
            body: Any = json.loads(m["Body"])
        except ValueError:
            body = m["Body"]
        rows.append({"message_id": m["MessageId"], "body": body,
                     "sent_ms": int(m.get("Attributes", {}).get("SentTimestamp", 0)),
                     "receive_count": int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                     "attributes": {k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()}})
    if messages:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return pd.DataFrame(rows, columns=["message_id", "body", "sent_ms", "receive_count", "attributes"])


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages in a queue, visible or in flight (SQS's approximate counts)."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def running_executions(sfn: Any, state_machine_arn: str) -> int:
    """How many executions of a state machine are RUNNING."""
    return sum(len(page["executions"]) for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, statusFilter="RUNNING"))


def table_count(dynamodb: Any, table: str) -> int:
    """Items in a table now (a counting Scan: exact, unlike DescribeTable's 6-hourly ItemCount)."""
    return sum(page.get("Count", 0) for page in dynamodb.get_paginator("scan").paginate(TableName=table,
                                                                                         Select="COUNT"))


@dataclass
class Watch:
    """What watching the pipeline settle saw: the tap's messages, queue depths over time, and how it ended."""

    tap: pd.DataFrame
    depths: pd.DataFrame
    settled: bool
    waited_s: float


def watch_pipeline(sqs: Any, tap_url: str, queues: dict[str, str], sfn: Any, state_machine_arn: str,
                   dynamodb: Any, ledger_table: str, expect_delivered: set[str], timeout_s: float = 120.0,
                   interval_s: float = 1.0, quiet_s: float = 5.0) -> Watch:
    """Drain the tap and sample ``queues`` (name → url) until the pipeline settles, or ``timeout_s``.

    Settled: every event id in ``expect_delivered`` reached the tap, no execution is RUNNING, and the queue
    depths and the ledger's size did not change for ``quiet_s`` (longer than the Lambda retry backoff as scaled).
    """
    start = time.monotonic()
    tapped: list[pd.DataFrame] = []
    delivered: set[str] = set()
    depth_rows: list[dict[str, Any]] = []
    last_vector: tuple[int, ...] | None = None
    stable_since = start
    while True:
        batch = receive_all(sqs, tap_url)
        if len(batch):
            tapped.append(batch)
            delivered |= set(tap_records(batch)["event_id"].dropna())
        now = time.monotonic()
        depths = {name: queue_depth(sqs, url) for name, url in queues.items()}
        running = running_executions(sfn, state_machine_arn)
        rows = table_count(dynamodb, ledger_table)
        depth_rows += [{"t_s": now - start, "queue": name, "depth": d} for name, d in depths.items()]
        depth_rows.append({"t_s": now - start, "queue": "running executions", "depth": running})
        vector = (*depths.values(), running, rows, len(delivered))
        if vector != last_vector:
            last_vector, stable_since = vector, now
        settled = expect_delivered <= delivered and running == 0 and now - stable_since >= quiet_s
        if settled or now - start >= timeout_s:
            tap = pd.concat(tapped, ignore_index=True) if tapped else receive_all(sqs, tap_url, max_calls=0)
            return Watch(tap=tap, depths=pd.DataFrame(depth_rows), settled=settled, waited_s=now - start)
        time.sleep(interval_s)
