"""Observation: read what the pipeline did (taps, logs, executions, the ledger) into tidy DataFrames."""

from __future__ import annotations

import json
import time
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
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
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
