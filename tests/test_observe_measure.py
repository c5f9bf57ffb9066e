"""Measurement: reconciliation on hand-built evidence (lost, doubled, deduplicated…), stage latency, throughput."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from eventdeploy import inject, observe

T0 = 1_760_000_000_000


def _injected(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = {"variant": "ecr-release-push", "role": "normal", "route": "image-pushed", "expected": "completed",
            "source": "s", "detail_type": "d", "dedup_key": None, "bad_reason": None, "size_bytes": 1, "offset_s": 0,
            "batch": 0, "sent_ms": T0, "accepted_ms": T0 + 5, "attempts": 1, "fate": "accepted", "error_code": None,
            "error_message": None}
    out = pd.DataFrame([{**base, **r} for r in rows], columns=inject.FRAME_COLUMNS)
    out["event_id"] = "id-" + out["trace_id"]
    return out


def _ledger(rows: list[tuple[str, str, int, str | None]]) -> pd.DataFrame:
    """(deployment_id, stage, ms after T0, event_id) → ledger rows as the table holds them (ISO 'at')."""
    raw = pd.DataFrame([{"deployment_id": d, "stage": s, "event_id": e, "trace_id": None,
                         "error": "InvalidDeployment" if s == "rolled_back" else None,
                         "at": pd.Timestamp(T0 + ms, unit="ms", tz="UTC").isoformat(timespec="milliseconds")}
                        for d, s, ms, e in rows])
    return observe.ledger_stages(raw)


def _drained(bodies: list[Any], sent: list[int], attrs: list[dict[str, str]] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"message_id": [str(i) for i in range(len(bodies))], "body": bodies, "sent_ms": sent,
                         "receive_count": 1, "attributes": attrs or [{} for _ in bodies]})


def _tap(pairs: list[tuple[str, str, int]]) -> pd.DataFrame:
    return observe.tap_records(_drained([{"rule": r, "event": {"id": e, "detail": {}}} for e, r, _ in pairs],
                                        [T0 + ms for _, _, ms in pairs]))


@pytest.fixture
def world() -> dict[str, pd.DataFrame]:
    """Twelve events, one of each fate the reconciliation must tell apart."""
    injected = _injected([
        {"trace_id": "ok"},                                                      # completed by the state machine
        {"trace_id": "dup", "role": "duplicate", "expected": "deduplicated", "dedup_key": "k1"},
        {"trace_id": "orig", "dedup_key": "k1"},
        {"trace_id": "poison", "role": "poison", "expected": "failed"},          # OnFailure destination
        {"trace_id": "sm-fail"},                                                 # state machine failed
        {"trace_id": "tap-only", "variant": "pipeline-failed", "route": "tap"},  # its only consumer is the tap
        {"trace_id": "dead", "variant": "pipeline-failed", "route": "tap"},      # dead-lettered
        {"trace_id": "filtered", "variant": "ecr-dev-push", "route": None, "expected": "filtered"},
        {"trace_id": "bad", "role": "bad", "expected": "rejected", "fate": "rejected", "event_id": None,
         "accepted_ms": None, "error_code": "InvalidArgument"},
        {"trace_id": "lost"},                                                    # in no evidence at all
        {"trace_id": "twice"},                                                   # completed AND dead-lettered
        {"trace_id": "running"},                                                 # delivered, execution RUNNING
        {"trace_id": "stack", "variant": "stack-failed", "route": "stack-failed"},
    ])
    injected.loc[injected["trace_id"] == "bad", "event_id"] = None
    stages = _ledger([
        ("dep-ok", "lambda_started", 40, "id-ok"), ("dep-ok", "execution_requested", 60, None),
        ("dep-ok", "validated", 90, None), ("dep-ok", "promoted", 130, None),
        ("dep-k1", "lambda_started", 50, "id-dup"), ("dep-k1", "promoted", 150, None),
        ("dep-sm", "lambda_started", 45, "id-sm-fail"), ("dep-sm", "rolled_back", 300, None),
        ("dep-twice", "lambda_started", 45, "id-twice"), ("dep-twice", "promoted", 200, None),
        ("dep-run", "lambda_started", 45, "id-running"),
        ("stack-x", "stack_rollback_complete", 70, "id-stack"),
    ])
    execs = pd.DataFrame([
        {"deployment_id": "dep-ok", "execution_arn": "a1", "status": "SUCCEEDED", "start_ms": T0 + 55,
         "stop_ms": T0 + 140},
        {"deployment_id": "dep-k1", "execution_arn": "a2", "status": "SUCCEEDED", "start_ms": T0 + 70,
         "stop_ms": T0 + 160},
        {"deployment_id": "dep-sm", "execution_arn": "a3", "status": "FAILED", "start_ms": T0 + 70,
         "stop_ms": T0 + 310},
        {"deployment_id": "dep-run", "execution_arn": "a4", "status": "RUNNING", "start_ms": T0 + 70,
         "stop_ms": None},
    ])
    execs["stop_ms"] = execs["stop_ms"].astype("Int64")
    tap = _tap([("id-ok", "r-ecr", 20), ("id-dup", "r-ecr", 21), ("id-orig", "r-ecr", 22), ("id-poison", "r-ecr", 23),
                ("id-tap-only", "r-pipe", 30), ("id-running", "r-ecr", 25), ("id-twice", "r-ecr", 24)])
    dlq = observe.dlq_records(_drained(
        [{"id": "id-dead", "detail": {"trace-id": "dead"}}, {"id": "id-twice", "detail": {}}], [T0 + 900, T0 + 950],
        [{"ERROR_CODE": "SQS.AccessDenied", "RETRY_ATTEMPTS": "3"}, {"ERROR_CODE": "Throttled",
                                                                     "RETRY_ATTEMPTS": "1"}]), "rule-dlq")
    on_failure = observe.on_failure_records(_drained([{
        "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:evd-image-pushed:$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"id": "id-poison", "detail": {"trace-id": "poison"}},
        "responsePayload": {"errorType": "InvalidEvent", "errorMessage": "malformed image-digest"}}], [T0 + 5000]))
    return {"injected": injected, "stages": stages, "execs": execs, "tap": tap, "dlq": dlq, "on_failure": on_failure}


def test_every_event_ends_in_exactly_one_outcome(world: dict[str, pd.DataFrame]) -> None:
    rec = observe.reconcile(**world).set_index("trace_id")
    assert rec.loc["ok", ["outcome", "where"]].tolist() == ["completed", "state_machine"]
    # The duplicate won the race: its twin (sent first) is the one that was deduplicated.
    assert rec.loc["dup", "outcome"] == "completed" and rec.loc["orig", "outcome"] == "deduplicated"
    assert rec.loc["orig", "where"] == "same push as dup" and rec.loc["orig", "as_expected"]
    assert rec.loc["poison", ["outcome", "where", "error_code", "invoke_count"]].tolist() == [
        "failed", "on_failure:evd-image-pushed", "InvalidEvent", 3]
    assert rec.loc["sm-fail", ["outcome", "where", "error_code"]].tolist() == ["failed", "state_machine",
                                                                                    "InvalidDeployment"]
    assert rec.loc["tap-only", ["outcome", "where"]].tolist() == ["completed", "tap"]
    assert rec.loc["dead", ["outcome", "where", "error_code", "delivery_retries"]].tolist() == [
        "failed", "dlq:rule-dlq", "SQS.AccessDenied", 3]
    assert rec.loc["filtered", ["outcome", "where"]].tolist() == ["filtered", "no rule matched"]
    assert rec.loc["bad", ["outcome", "error_code"]].tolist() == ["rejected", "InvalidArgument"]
    assert rec.loc["running", "outcome"] == "in_flight" and rec.loc["running", "problem"] is None
    assert rec.loc["stack", ["outcome", "where"]].tolist() == ["completed", "ledger"]


def test_lost_and_doubled_events_are_reported(world: dict[str, pd.DataFrame]) -> None:
    rec = observe.reconcile(**world).set_index("trace_id")
    assert rec.loc["lost", ["outcome", "problem"]].tolist() == ["unaccounted", "found in none"]
    assert rec.loc["twice", "problem"] == "found in two" and rec.loc["twice", "terminals"] == 2
    assert rec.loc["twice", "outcome"] == "failed"  # the failure is what a reader must see
    counts = observe.reconciliation_counts(rec.reset_index())
    assert counts["found_in_none"] == 1 and counts["found_in_two"] == 1
    assert sum(counts["by_outcome"].values()) == counts["events"] == 13
    assert counts["by_outcome"] == {"completed": 4, "failed": 4, "deduplicated": 1, "filtered": 1, "rejected": 1,
                                    "unaccounted": 1, "in_flight": 1}
    assert not rec.loc["lost", "as_expected"] and rec.loc["ok", "as_expected"] and rec.loc["bad", "as_expected"]


def test_stage_times_follow_each_event_through_the_pipeline(world: dict[str, pd.DataFrame]) -> None:
    times = observe.stage_times(world["injected"], world["stages"], world["execs"], world["tap"])
    ok = times[times["trace_id"] == "ok"].set_index("stage")
    assert list(ok.index) == ["sent", "accepted", "delivered", "lambda_started", "sm_started",
                              "execution_requested", "validated", "promoted", "sm_stopped"]
    assert ok["since_sent_ms"].tolist() == [0, 5, 20, 40, 55, 60, 90, 130, 140]
    assert ok["step_ms"].tolist() == [0, 5, 15, 20, 15, 5, 30, 40, 10]
    assert "bad" not in set(times["trace_id"])  # rejected events never entered the pipeline
    running = times[times["trace_id"] == "running"]
    assert "sm_stopped" not in set(running["stage"])
    stats = observe.latency_stats(times).set_index("stage")
    assert stats.loc["promoted", "count"] == 3 and stats.loc["promoted", "max_ms"] == 200
    assert stats.loc["end_to_end", "max_ms"] == 310  # the failed execution's stop is its end
    assert stats.loc["delivered", "p50_ms"] == pytest.approx(times[times["stage"] == "delivered"]
                                                             ["since_sent_ms"].median())
    assert (stats["p50_ms"] <= stats["p90_ms"]).all() and (stats["p90_ms"] <= stats["p99_ms"]).all()
    assert (stats["p99_ms"] <= stats["max_ms"]).all()


def test_throughput_counts_per_second_with_empty_seconds_as_zero() -> None:
    sent = pd.Series([T0, T0 + 100, T0 + 900, T0 + 3500])
    done = pd.Series([T0 + 1200, T0 + 1300])
    out = observe.throughput({"sent": sent, "done": done})
    table = out.pivot(index="second", columns="series", values="per_s")
    assert table["sent"].tolist() == [3, 0, 0, 1] and table["done"].tolist() == [0, 2, 0, 0]
    half = observe.throughput({"sent": sent}, bin_s=0.5)
    assert half["per_s"].tolist()[:2] == [4.0, 2.0]


def test_items_frame_reads_dynamodb_json() -> None:
    frame = observe.items_frame([{"deployment_id": {"S": "d"}, "at_ms": {"N": "12"}, "x": {"N": "1.5"},
                                  "ok": {"BOOL": True}, "none": {"NULL": True}, "tags": {"SS": ["a"]}}])
    assert frame.iloc[0].to_dict() == {"deployment_id": "d", "at_ms": 12, "x": 1.5, "ok": True, "none": None,
                                       "tags": {"a"}}


def test_ledger_stages_names_handler_rows_handled() -> None:
    raw = pd.DataFrame([{"deployment_id": "stack-a", "stage": "stack_rollback_complete", "at": "2026-01-01T00:00:00Z",
                         "event_id": "e1", "trace_id": "t1"},
                        {"deployment_id": "compliance-b", "stage": "violation", "at": "2026-01-01T00:00:01.5Z",
                         "event_id": "e2", "trace_id": "t2"}])
    out = observe.ledger_stages(raw)
    assert out["stage"].tolist() == ["handled", "handled"]
    assert out["at_ms"].tolist() == [1767225600000, 1767225601500]


def test_flow_counts_each_injected_event_once_per_series(world: dict[str, pd.DataFrame]) -> None:
    """Delivered counts only injected events (not what handlers put on the bus); failed joins all three places."""
    from eventdeploy import loadtest

    extra = _tap([("id-handler-put-this", "r-rollback", 40)])
    evidence = loadtest.Evidence(stages=world["stages"], executions=world["execs"],
                                 tap=pd.concat([world["tap"], extra], ignore_index=True),
                                 dead_letters=world["dlq"], on_failure=world["on_failure"])
    rec = observe.reconcile(world["injected"], world["stages"], world["execs"], evidence.tap, world["dlq"],
                            world["on_failure"])
    times = observe.stage_times(world["injected"], world["stages"], world["execs"], evidence.tap)
    rates = loadtest.rates(loadtest.flow(world["injected"], evidence, rec, times))
    assert rates["sent"]["events"] == 13
    assert rates["delivered"]["events"] == 7
    assert rates["completed"]["events"] == 4  # ok, dup, tap-only, stack
    assert rates["failed"]["events"] == 4  # poison (OnFailure), sm-fail (rolled back), dead and twice (DLQ)
