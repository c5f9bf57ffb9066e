"""Injector and collector benchmark: events/s PutEvents accepts from ``eventdeploy.inject``, and collection speed.

Run: ``.venv/bin/python benchmarks/inject.py`` (``--events N`` to change the load). It starts its own local cloud on
a free port in a temporary folder, prints one table, and stops it; nothing is written into the repository.

Phases:
1. rule → SQS: a bus whose one rule delivers every injected event to an SQS queue; the injector sends unpaced.
2. full pipeline: the runbooks' bus, rules, handlers and state machine (``ensure_*``), the default scenario mix,
   unpaced; the figure is PutEvents' acceptance while handlers and executions run in the same local cloud.
3. collection: 100,000 in-memory ledger items (DynamoDB JSON, as Scan returns them) turned into stage rows by
   ``observe.items_frame`` + ``observe.ledger_stages``; and 20,000 rows (``--scan-rows``) written to the local
   DynamoDB and read back by ``observe.scan_table`` — fewer, because the local DynamoDB's Scan is the slow part.

Targets on this machine: ≥ 2,000 events/s accepted by PutEvents; 100k rows collected in < 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from eventdeploy import inject, observe, patterns, runbook  # noqa: E402
from eventdeploy.localcloud import lifecycle  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
LEDGER_ROWS = 100_000


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rule_to_sqs(rb: runbook.Runbook, events: int, workers: int) -> dict[str, Any]:
    """Phase 1: unpaced injection into a bus whose one rule targets an SQS queue."""
    ev, sqs = rb.aws.client("events"), rb.aws.client("sqs")
    bus = "bench-bus"
    ev.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName="bench-sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ev.put_rule(Name="bench-all", EventBusName=bus,
                EventPattern=json.dumps({"source": [{"prefix": patterns.SYNTHETIC_PREFIX}]}))
    ev.put_targets(Rule="bench-all", EventBusName=bus, Targets=[{"Id": "sink", "Arn": arn}])
    scenario = inject.Scenario(events=events, rate=0, mix={"pipeline-failed": 1.0}, duplicate_ratio=0,
                               poison_ratio=0, bad_ratio=0)
    planned = inject.generate(scenario, "bench", ACCOUNT, REGION, bus)
    start = time.perf_counter()
    out = inject.inject(ev, planned, workers=workers, progress=False, pace=False)
    seconds = time.perf_counter() - start
    return _injection_row("rule → SQS", out, seconds)


def full_pipeline(rb: runbook.Runbook, events: int, workers: int) -> dict[str, Any]:
    """Phase 2: unpaced injection of the default mix into the runbooks' pipeline."""
    from eventdeploy.architecture import bus, processors, rules

    p = rb.provisioner()
    deployments = bus.ensure_event_bus(p)
    rules.ensure_rules(p, deployments["bus_arn"])
    processors.ensure_processors(p, deployments["bus_arn"])
    scenario = inject.Scenario(events=events, rate=0)
    planned = inject.generate(scenario, p.prefix, p.account_id, p.region, p.name("deployments"))
    start = time.perf_counter()
    out = inject.inject(p.client("events"), planned, workers=workers, progress=False, pace=False)
    seconds = time.perf_counter() - start
    return _injection_row("full pipeline", out, seconds)


def _injection_row(phase: str, out: Any, seconds: float) -> dict[str, Any]:
    """Accepted events/s over the sending span (first send → last acceptance), as ``inject.summary`` counts it."""
    summary = inject.summary(out)
    return {"phase": phase, "events": summary["events"], "accepted": summary["accepted"], "seconds": seconds,
            "per_s": summary["accepted_per_s"], "retried": summary["retried_entries"],
            "note": f"{summary['accepted'] / seconds:.0f}/s counting planning and the result frame"}


def _item(i: int) -> dict[str, Any]:
    stage = ("lambda_started", "execution_requested", "validated", "promoted")[i % 4]
    ms = 1_760_000_000_000 + i
    item = {"deployment_id": {"S": f"evd-app-{i // 4:016x}"}, "stage": {"S": stage},
            "at": {"S": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"},
            "at_ms": {"N": str(ms)}}
    if stage == "lambda_started":
        item |= {"event_id": {"S": f"e-{i}"}, "trace_id": {"S": f"t-{i}"}, "repository": {"S": "evd-app"},
                 "digest": {"S": "sha256:" + "0" * 64}, "tag": {"S": f"v9.{i}"}}
    return item


def _reconcile_time(events: int) -> float:
    """Seconds to reconcile ``events`` accepted events (each with a ledger deployment and a tap delivery)."""
    import pandas as pd

    planned = inject.generate(inject.Scenario(events=events, rate=0), "bench", ACCOUNT, REGION, "bench")
    fates = [inject._Fate(sent_ms=1_760_000_000_000 + i, accepted_ms=1_760_000_000_005 + i, attempts=1,
                          fate="accepted", event_id=f"e{i}") for i in range(events)]
    injected = inject.frame(planned, fates, {})
    tap = pd.DataFrame({"event_id": injected["event_id"], "trace_id": injected["trace_id"], "rule": "r",
                        "delivered_ms": injected["sent_ms"].astype("int64") + 20})
    stages = observe.ledger_stages(observe.items_frame(
        [_item(i) | {"event_id": {"S": f"e{i}"}} if i % 4 == 0 else _item(i) for i in range(events)]))
    execs = pd.DataFrame(columns=["deployment_id", "execution_arn", "status", "start_ms", "stop_ms"])
    dead = observe.dlq_records(pd.DataFrame(columns=["body", "sent_ms", "attributes"]), "none")
    failed = observe.on_failure_records(pd.DataFrame(columns=["body", "sent_ms"]))
    start = time.perf_counter()
    reconciled = observe.reconcile(injected, stages, execs, tap, dead, failed)
    observe.latency_stats(observe.stage_times(injected, stages, execs, tap))
    seconds = time.perf_counter() - start
    if len(reconciled) != events:
        raise RuntimeError(f"reconciled {len(reconciled)} of {events} events")
    return seconds


def collection(rb: runbook.Runbook, rows: int, scan_rows: int) -> list[dict[str, Any]]:
    """Phase 3: the collector over ``rows`` in-memory ledger items, and over ``scan_rows`` in the local DynamoDB."""
    ddb = rb.aws.client("dynamodb")
    table = "bench-collection-ledger"  # not "<prefix>-ledger": the pipeline phase owns that one
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "deployment_id", "AttributeType": "S"},
                                           {"AttributeName": "stage", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "deployment_id", "KeyType": "HASH"},
                                {"AttributeName": "stage", "KeyType": "RANGE"}])
    items = [_item(i) for i in range(rows)]
    start = time.perf_counter()
    memory = observe.ledger_stages(observe.items_frame(items))
    memory_s = time.perf_counter() - start
    if len(memory) != rows:
        raise RuntimeError(f"converted {len(memory)} rows of {rows}")
    reconcile_s = _reconcile_time(rows)
    items = items[:scan_rows]

    def write(start: int) -> None:
        request = {table: [{"PutRequest": {"Item": it}} for it in items[start:start + 25]]}
        while request:  # BatchWriteItem may leave items unprocessed; they must be sent again
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    loaded = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(0, len(items), 25)))
    load_s = time.perf_counter() - loaded
    start = time.perf_counter()
    frame = observe.ledger_stages(observe.scan_table(ddb, table, segments=4))
    scan_s = time.perf_counter() - start
    if len(frame) != len(items):
        raise RuntimeError(f"collected {len(frame)} rows of {len(items)}")
    return [{"phase": f"collect {rows:,} ledger rows (in memory)", "events": rows, "accepted": rows,
             "seconds": memory_s, "per_s": rows / memory_s, "retried": 0},
            {"phase": f"reconcile + stage times for {rows:,} events", "events": rows, "accepted": rows,
             "seconds": reconcile_s, "per_s": rows / reconcile_s, "retried": 0},
            {"phase": f"collect {len(items):,} rows (local DynamoDB, parallel Scan)", "events": len(items),
             "accepted": len(items), "seconds": scan_s, "per_s": len(items) / scan_s, "retried": 0,
             "note": f"writing them took {load_s:.1f} s"}]


def main() -> None:
    """Run the three phases on a private local cloud and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events for the rule → SQS phase")
    parser.add_argument("--pipeline-events", type=int, default=3_000, help="events for the full-pipeline phase")
    parser.add_argument("--workers", type=int, default=8, help="injector threads")
    parser.add_argument("--rows", type=int, default=LEDGER_ROWS, help="ledger rows to convert in memory")
    parser.add_argument("--scan-rows", type=int, default=20_000,
                        help="ledger rows to write to and scan from the local DynamoDB (its Scan is slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        status = lifecycle.start(port=free_port(), state_dir=Path(folder) / "lc", time_scale=0.05)
        os.environ["EVENTDEPLOY_ENDPOINT_URL"] = str(status.endpoint)
        try:
            rb = runbook.setup("bench_inject", {"prefix": "bench", "run_id": "bench", "time_scale": 0.05,
                                                "run_dir": str(Path(folder) / "run")})
            results = []
            for phase in (lambda: [rule_to_sqs(rb, args.events, args.workers)],
                          lambda: [full_pipeline(rb, args.pipeline_events, args.workers)],
                          lambda: collection(rb, args.rows, args.scan_rows)):
                results += phase()
                print(f"... {results[-1]['phase']}: {results[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
        finally:
            lifecycle.stop(Path(folder) / "lc")
    print(f"{'phase':<52} {'events':>8} {'accepted':>9} {'seconds':>8} {'per s':>9} {'retried':>8}")
    for r in results:
        print(f"{r['phase']:<52} {r['events']:>8} {r['accepted']:>9} {r['seconds']:>8.2f} {r['per_s']:>9.0f} "
              f"{r['retried']:>8}  {r.get('note', '')}")
    put = results[0]["per_s"]
    memory = results[2]
    print(f"\ntarget ≥ 2,000 events/s accepted (rule → SQS): {put:,.0f} → {'met' if put >= 2000 else 'NOT met'}")
    print(f"target {memory['events']:,} rows collected < 10 s (in memory): {memory['seconds']:.1f} s → "
          f"{'met' if memory['seconds'] < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
