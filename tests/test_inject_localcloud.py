"""The injector and collectors against the local cloud: a bus, one rule → an SQS tap, real PutEvents answers."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from eventdeploy import inject, observe, patterns

ACCOUNT, REGION = "123456789012", "us-east-1"
TAP_TEMPLATE = '{"rule": "<aws.events.rule-name>", "event": <aws.events.event.json>}'


def _tapped_bus(aws: Any, prefix: str) -> tuple[str, str]:
    """A bus whose one rule (pipeline-failed) delivers to an SQS tap; returns (bus name, tap url)."""
    events, sqs = aws("events"), aws("sqs")
    bus = f"{prefix}-deployments"
    events.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName=f"{prefix}-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = events.put_rule(Name=f"{prefix}-rule", EventBusName=bus,
                           EventPattern=json.dumps(patterns.pipeline_failed(f"{prefix}-").pattern))["RuleArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})})
    events.put_targets(Rule=f"{prefix}-rule", EventBusName=bus, Targets=[{
        "Id": "tap", "Arn": arn, "InputTransformer": {"InputPathsMap": {}, "InputTemplate": TAP_TEMPLATE}}])
    return bus, url


def test_injected_events_are_accepted_rejected_delivered_and_reconciled(aws: Any) -> None:
    """PutEvents accepts the good entries and refuses the three bad kinds with EventBridge's codes; the tap sees
    exactly the matching events, and reconciliation accounts for every one.
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html"""
    prefix = f"inj{uuid.uuid4().hex[:6]}"
    bus, tap_url = _tapped_bus(aws, prefix)
    scenario = inject.Scenario(events=300, rate=0, mix={"pipeline-failed": 0.7, "stack-created": 0.3},
                               duplicate_ratio=0, poison_ratio=0, bad_ratio=0.05)
    planned = inject.generate(scenario, prefix, ACCOUNT, REGION, bus)
    injected = inject.inject(aws("events"), planned, workers=4, progress=False)
    bad = injected[injected["role"] == "bad"]
    assert len(bad) >= 6 and (bad["fate"] == "rejected").all()
    codes = dict(zip(bad["bad_reason"], bad["error_code"], strict=False))
    assert codes["missing-detail-type"] == "InvalidArgument" and codes["oversize"] == "InvalidArgument"
    assert codes["unknown-bus"] in ("ResourceNotFoundException", "NotFoundException")
    good = injected[injected["role"] != "bad"]
    assert (good["fate"] == "accepted").all() and good["event_id"].is_unique
    routed = good[good["route"] == "tap"]

    deadline = time.monotonic() + 30
    drained = []
    seen: set[str] = set()
    while time.monotonic() < deadline and not set(routed["event_id"]) <= seen:
        batch = observe.receive_all(aws("sqs"), tap_url)
        drained.append(batch)
        seen |= set(observe.tap_records(batch)["event_id"])
        time.sleep(0.2)
    tap = observe.tap_records(pd.concat(drained, ignore_index=True))
    assert set(tap["event_id"]) == set(routed["event_id"])
    assert set(tap["trace_id"]) == set(routed["trace_id"])

    empty = observe.ledger_stages(pd.DataFrame())
    no_execs = pd.DataFrame(columns=["deployment_id", "execution_arn", "status", "start_ms",
                                                       "stop_ms"])
    dead = observe.dlq_records(observe.receive_all(aws("sqs"), tap_url, max_calls=0), "none")
    failures = observe.on_failure_records(observe.receive_all(aws("sqs"), tap_url, max_calls=0))
    rec = observe.reconcile(injected, empty, no_execs, tap, dead, failures)
    counts = observe.reconciliation_counts(rec)
    assert counts["by_outcome"] == {"completed": len(routed), "filtered": len(good) - len(routed),
                                    "rejected": len(bad)}
    assert counts["found_in_none"] == counts["found_in_two"] == 0 and counts["as_expected"] == len(rec)
    times = observe.stage_times(injected, empty, no_execs, tap)
    stats = observe.latency_stats(times).set_index("stage")
    assert stats.loc["delivered", "count"] == len(routed) and stats.loc["delivered", "p50_ms"] >= 0


def test_scan_table_reads_every_row_of_a_paged_table(aws: Any) -> None:
    """A parallel Scan returns each item once across segments and 1 MB pages.
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan"""
    ddb = aws("dynamodb")
    table = f"ledger-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "deployment_id", "AttributeType": "S"},
                                           {"AttributeName": "stage", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "deployment_id", "KeyType": "HASH"},
                                {"AttributeName": "stage", "KeyType": "RANGE"}])
    for start in range(0, 1500, 25):
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {
            "deployment_id": {"S": f"d{i}"}, "stage": {"S": "validated"}, "at": {"S": "2026-01-01T00:00:00.000Z"},
            "pad": {"S": "p" * 900}}}} for i in range(start, start + 25)]})
    frame = observe.scan_table(ddb, table, segments=3)
    assert len(frame) == 1500 and frame["deployment_id"].is_unique
    assert observe.table_count(ddb, table) == 1500
    assert len(observe.ledger_stages(frame)) == 1500


def test_sparse_metrics_are_filled_with_zero(aws: Any) -> None:
    """GetMetricData returns no datapoint for an empty period; the collector fills each period with 0.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html"""
    cw = aws("cloudwatch")
    namespace = f"Inject/{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for minutes_ago, value in ((10, 3.0), (4, 5.0)):
        cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Hits", "Value": value, "Unit": "Count",
                                                             "Timestamp": now - timedelta(minutes=minutes_ago)}])
    out = observe.metrics(cw, [{"namespace": namespace, "metric": "Hits", "dimensions": {}, "stat": "Sum"}],
                          now - timedelta(minutes=12), now, period_s=60)
    series = out.set_index("time")["value"]
    assert series.sum() == 8.0 and len(series) >= 12
    assert series[now - timedelta(minutes=10)] == 3.0 and series[now - timedelta(minutes=4)] == 5.0
    assert series[now - timedelta(minutes=7)] == 0.0


def test_executions_and_their_histories_are_collected(aws: Any) -> None:
    """ListExecutions gives each execution's status, start and stop; GetExecutionHistory its states.
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html"""
    sfn, iam = aws("stepfunctions"), aws("iam")
    name = f"inj-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "states.amazonaws.com"}}]}))["Role"]["Arn"]
    machine = sfn.create_state_machine(name=name, roleArn=role, definition=json.dumps({
        "StartAt": "One", "States": {"One": {"Type": "Pass", "Next": "Two"}, "Two": {"Type": "Pass", "End": True}}}))
    arn = machine["stateMachineArn"]
    started = [sfn.start_execution(stateMachineArn=arn, name=f"dep-{n}")["executionArn"] for n in range(2)]
    deadline = time.monotonic() + 30
    while observe.running_executions(sfn, arn) and time.monotonic() < deadline:
        time.sleep(0.1)
    found = observe.executions(sfn, arn).set_index("deployment_id")
    assert set(found.index) == {"dep-0", "dep-1"} and set(found["status"]) == {"SUCCEEDED"}
    assert (found["stop_ms"] >= found["start_ms"]).all()
    histories = observe.execution_histories(sfn, started)
    assert histories.groupby("execution_arn")["state"].agg(list).to_dict() == {a: ["One", "Two"] for a in started}
    assert set(histories["outcome"]) == {"ok"}
