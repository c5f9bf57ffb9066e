"""Conformance: CloudWatch statistics, percentiles, metric math and alarm evaluation on the local cloud."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

Aws = Callable[..., Any]


def _minute_ago(minutes: int = 0) -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=minutes)


def _ns() -> str:
    return f"Test/{uuid.uuid4().hex[:10]}"


def test_percentiles_of_one_to_hundred(aws: Aws) -> None:
    """p50/p90/p99/p99.9 of 1..100 published as raw values are nearest-rank values.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
    """
    cw = aws("cloudwatch")
    ns, t0 = _ns(), _minute_ago(5)
    values = list(range(1, 101))
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Values": [float(v) for v in values[:50]], "Timestamp": t0, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Values": [float(v) for v in values[50:]], "Timestamp": t0, "Unit": "Milliseconds"},
    ])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", StartTime=t0, EndTime=t0 + timedelta(minutes=1),
                                   Period=60, ExtendedStatistics=["p50", "p90", "p99", "p99.9", "p100", "tm90",
                                                                  "TM(10%:90%)"])
    [dp] = out["Datapoints"]
    ext = dp["ExtendedStatistics"]
    assert (ext["p50"], ext["p90"], ext["p99"], ext["p99.9"], ext["p100"]) == (50.0, 90.0, 99.0, 100.0, 100.0)
    assert ext["tm90"] == pytest.approx(45.5)  # mean of 1..90
    assert ext["TM(10%:90%)"] == pytest.approx(50.5)  # mean of 11..90
    assert dp["Timestamp"] == t0 and dp["Unit"] == "Milliseconds"
    basic = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", StartTime=t0,
                                     EndTime=t0 + timedelta(minutes=1), Period=60,
                                     Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    [b] = basic["Datapoints"]
    assert (b["SampleCount"], b["Sum"], b["Average"], b["Minimum"], b["Maximum"]) == (100.0, 5050.0, 50.5, 1.0, 100.0)


def test_statistics_bucket_on_aligned_periods_and_filter_units(aws: Aws) -> None:
    """Periods start at the rounded StartTime; EndTime is exclusive; Unit filters; statistic sets add up.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
    """
    cw = aws("cloudwatch")
    ns, t0 = _ns(), _minute_ago(10)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Jobs", "Value": 1.0, "Timestamp": t0 + timedelta(seconds=5), "Unit": "Count"},
        {"MetricName": "Jobs", "Value": 3.0, "Timestamp": t0 + timedelta(minutes=4), "Unit": "Count"},
        {"MetricName": "Jobs", "Value": 7.0, "Timestamp": t0 + timedelta(minutes=6), "Unit": "Count"},
        {"MetricName": "Jobs", "Value": 100.0, "Timestamp": t0 + timedelta(minutes=6), "Unit": "Seconds"},
        {"MetricName": "Jobs", "StatisticValues": {"SampleCount": 4, "Sum": 20, "Minimum": 2, "Maximum": 8},
         "Timestamp": t0 + timedelta(minutes=7), "Unit": "Count"},
    ])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Jobs", StartTime=t0 + timedelta(seconds=30),
                                   EndTime=t0 + timedelta(minutes=10), Period=300, Statistics=["Sum", "SampleCount",
                                                                                                "Maximum"],
                                   Unit="Count")
    points = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    # StartTime 00:30 rounds down to the minute, so the first 5-minute period holds the datum at 00:05.
    assert [p["Timestamp"] for p in points] == [t0, t0 + timedelta(minutes=5)]
    assert [(p["Sum"], p["SampleCount"], p["Maximum"]) for p in points] == [(4.0, 2.0, 3.0), (27.0, 5.0, 8.0)]
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.get_metric_statistics(Namespace=ns, MetricName="Jobs", StartTime=t0, EndTime=t0 + timedelta(minutes=5),
                                 Period=45, Statistics=["Sum"])
    assert "Period" in str(err.value)
    # A statistic set with Minimum != Maximum has no percentiles (AWS needs raw values for them).
    pct = cw.get_metric_statistics(Namespace=ns, MetricName="Jobs", StartTime=t0 + timedelta(minutes=7),
                                   EndTime=t0 + timedelta(minutes=8), Period=60, ExtendedStatistics=["p50"])
    assert pct["Datapoints"][0]["ExtendedStatistics"] == {} or "p50" not in pct["Datapoints"][0].get(
        "ExtendedStatistics", {})


def _stat(ident: str, ns: str, name: str, stat: str = "Sum", period: int = 60, **extra: Any) -> dict[str, Any]:
    return {"Id": ident, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name}, "Period": period,
                                        "Stat": stat}, **extra}


def test_metric_data_math_fill_ratio_and_order(aws: Aws) -> None:
    """MetricStat with p99, ratio m1/m2*100, FILL over gaps, SUM/AVG/MIN/MAX of arrays, RATE, DIFF, METRICS().

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    """
    cw = aws("cloudwatch")
    ns, t0 = _ns(), _minute_ago(10)
    minutes = [t0 + timedelta(minutes=i) for i in range(5)]
    data = []
    for i, ts in enumerate(minutes):
        data.append({"MetricName": "Requests", "Value": 10.0 * (i + 1), "Timestamp": ts})
        if i in (1, 3):  # errors are sparse: only in minutes 1 and 3
            data.append({"MetricName": "Errors", "Value": float(i), "Timestamp": ts})
    data.append({"MetricName": "Latency", "Values": [float(v) for v in range(1, 101)], "Timestamp": minutes[0]})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    out = cw.get_metric_data(
        StartTime=t0, EndTime=t0 + timedelta(minutes=5),
        MetricDataQueries=[
            _stat("errors", ns, "Errors", ReturnData=False),
            _stat("requests", ns, "Requests", ReturnData=False),
            {"Id": "rate_pct", "Expression": "errors/requests*100", "Label": "Error rate"},
            {"Id": "filled", "Expression": "FILL(errors, 0)"},
            {"Id": "total", "Expression": "SUM([errors, requests])"},
            {"Id": "avg", "Expression": "AVG(METRICS())"},
            {"Id": "mx", "Expression": "MAX([errors, requests])"},
            {"Id": "dif", "Expression": "DIFF(requests)"},
            {"Id": "rps", "Expression": "RATE(requests)"},
            {"Id": "centred", "Expression": "requests - AVG(requests)"},
        ],
        ScanBy="TimestampAscending",
    )
    res = {r["Id"]: r for r in out["MetricDataResults"]}
    assert "errors" not in res and "requests" not in res, "ReturnData false hides a query"
    assert all(r["StatusCode"] == "Complete" for r in res.values())
    assert res["rate_pct"]["Label"] == "Error rate"
    assert res["rate_pct"]["Timestamps"] == minutes
    assert res["rate_pct"]["Values"] == pytest.approx([0.0, 5.0, 0.0, 7.5, 0.0])
    assert res["filled"]["Timestamps"] == minutes and res["filled"]["Values"] == [0.0, 1.0, 0.0, 3.0, 0.0]
    assert res["total"]["Values"] == [10.0, 21.0, 30.0, 43.0, 50.0]
    assert res["avg"]["Values"] == pytest.approx([5.0, 10.5, 15.0, 21.5, 25.0])
    assert res["mx"]["Values"] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert res["dif"]["Timestamps"] == minutes[1:] and res["dif"]["Values"] == [10.0] * 4
    assert res["rps"]["Values"] == pytest.approx([10.0 / 60] * 4)
    assert res["centred"]["Values"] == [-20.0, -10.0, 0.0, 10.0, 20.0]
    p99 = cw.get_metric_data(StartTime=t0, EndTime=t0 + timedelta(minutes=5), MetricDataQueries=[
        _stat("p99", ns, "Latency", stat="p99", Label="p99 latency"),
        {"Id": "all", "Expression": "METRICS()", "Label": "x"}])["MetricDataResults"]
    assert p99[0]["Values"] == [99.0] and p99[0]["Label"] == "p99 latency"
    assert p99[1]["Id"] == "all" and p99[1]["Values"] == [99.0], "METRICS() holds the request's metrics"

    desc = cw.get_metric_data(StartTime=t0, EndTime=t0 + timedelta(minutes=5),
                              MetricDataQueries=[_stat("requests", ns, "Requests")])
    [r] = desc["MetricDataResults"]
    assert r["Timestamps"] == list(reversed(minutes)), "TimestampDescending is the default order"
    assert r["Values"] == [50.0, 40.0, 30.0, 20.0, 10.0] and r["Label"] == "Requests"

    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.get_metric_data(StartTime=t0, EndTime=t0 + timedelta(minutes=5),
                           MetricDataQueries=[_stat("m1", ns, "Requests"), {"Id": "e1", "Expression": "m1 + nope"}])
    assert "nope" in str(err.value)


def test_in_process_publish_is_visible_to_every_api(aws: Aws, localcloud: Any) -> None:
    """Data the local cloud's services publish in-process shows in ListMetrics and both statistics APIs.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html
    """
    import urllib.error
    import urllib.request

    cw = aws("cloudwatch")
    fn = f"fn-{uuid.uuid4().hex[:8]}"
    # The server publishes AWS/Lambda metrics itself only when a function runs; publish through the real hook.
    body = json.dumps({"namespace": "AWS/Lambda", "name": "Invocations", "value": 1,
                       "dimensions": {"FunctionName": fn}, "count": 3}).encode()
    req = urllib.request.Request(f"{localcloud.endpoint}/_localcloud/cloudwatch/publish", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["published"] == 3
    listed = cw.list_metrics(Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": fn}])["Metrics"]
    assert listed == [{"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                       "Dimensions": [{"Name": "FunctionName", "Value": fn}]}]
    now = datetime.now(UTC)
    stats = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Invocations",
                                     Dimensions=[{"Name": "FunctionName", "Value": fn}],
                                     StartTime=now - timedelta(minutes=3), EndTime=now + timedelta(minutes=1),
                                     Period=60, Statistics=["Sum"])
    assert sum(d["Sum"] for d in stats["Datapoints"]) == 3.0
    data = cw.get_metric_data(StartTime=now - timedelta(minutes=3), EndTime=now + timedelta(minutes=1),
                              MetricDataQueries=[{"Id": "m1", "MetricStat": {"Metric": {
                                  "Namespace": "AWS/Lambda", "MetricName": "Invocations",
                                  "Dimensions": [{"Name": "FunctionName", "Value": fn}]},
                                  "Period": 60, "Stat": "SampleCount"}}])
    assert sum(data["MetricDataResults"][0]["Values"]) == 3.0
    with urllib.request.urlopen(f"{localcloud.endpoint}/_localcloud/cloudwatch/stats", timeout=10) as resp:
        totals = json.loads(resp.read())
    assert totals["series"] >= 1 and totals["points"] >= 1
    bad = urllib.request.Request(f"{localcloud.endpoint}/_localcloud/cloudwatch/publish", method="POST",
                                 data=json.dumps({"namespace": "X", "name": "Y"}).encode())
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=10)
    assert err.value.code == 400 and "value" in err.value.read().decode()


def _tap(aws: Aws, alarm_prefix: str) -> str:
    """An SQS queue that receives this test's CloudWatch Alarm State Change events from the default bus."""
    sqs, events = aws("sqs"), aws("events")
    name = f"cw-tap-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [{"prefix": alarm_prefix}]}}))
    events.put_targets(Rule=name, Targets=[{"Id": "tap", "Arn": arn}])
    return url


def _wait_state(cw: Any, name: str, state: str, timeout: float = 25.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if alarm["StateValue"] == state:
            return alarm
        time.sleep(0.1)
    raise AssertionError(f"alarm {name} never reached {state}; last {alarm['StateValue']}: {alarm['StateReason']}")


def _drain_events(sqs: Any, url: str, want: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for msg in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(msg["Body"]))
    return got


def test_alarm_goes_ok_alarm_ok_with_history_event_and_sns(aws: Aws) -> None:
    """A 10-second high-resolution alarm moves INSUFFICIENT_DATA -> OK -> ALARM -> OK, recorded and announced.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html
    """
    cw, sqs, sns = aws("cloudwatch"), aws("sqs"), aws("sns")
    prefix = f"cw-alarm-{uuid.uuid4().hex[:8]}"
    name = f"{prefix}-latency"
    tap = _tap(aws, prefix)
    topic = sns.create_topic(Name=f"{prefix}-topic")["TopicArn"]
    sub_url = sqs.create_queue(QueueName=f"{prefix}-sub")["QueueUrl"]
    sub_arn = sqs.get_queue_attributes(QueueUrl=sub_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn, Attributes={"RawMessageDelivery": "true"})
    ns = _ns()
    cw.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Latency", Statistic="Average", Period=10,
                        EvaluationPeriods=2, DatapointsToAlarm=1, Threshold=50.0,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                        AlarmActions=[topic], AlarmDescription="latency too high")
    [created] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert created["StateValue"] in ("INSUFFICIENT_DATA", "OK")
    _wait_state(cw, name, "OK")  # no data, treated as not breaching

    t = datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Latency", "Value": 100.0, "Timestamp": t,
                                                  "StorageResolution": 1}])
    alarm = _wait_state(cw, name, "ALARM")
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 out of the last 2 datapoints [100.0 (")
    assert "was greater than the threshold (50.0)" in alarm["StateReason"]
    reason_data = json.loads(alarm["StateReasonData"])
    assert reason_data["recentDatapoints"] == [100.0] and reason_data["threshold"] == 50.0
    assert reason_data["statistic"] == "Average" and reason_data["period"] == 10

    # More low samples in the same 10-second period bring its Average under the threshold.
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Latency", "Values": [0.0] * 9, "Timestamp": t,
                                                  "StorageResolution": 1}])
    ok = _wait_state(cw, name, "OK")
    assert "was not greater than the threshold (50.0)" in ok["StateReason"] or "treated as" in ok["StateReason"]

    hist = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    summaries = [h["HistorySummary"] for h in reversed(hist)]
    assert summaries[-3:] == ["Alarm updated from INSUFFICIENT_DATA to OK", "Alarm updated from OK to ALARM",
                              "Alarm updated from ALARM to OK"]
    assert json.loads(hist[1]["HistoryData"])["newState"]["stateValue"] == "ALARM"

    # Neither EventBridge delivery nor a standard queue promises order: order by the state change's own time.
    events = sorted(_drain_events(sqs, tap, 3), key=lambda e: e["detail"]["state"]["timestamp"])
    transitions = [(e["detail"]["previousState"]["value"], e["detail"]["state"]["value"]) for e in events]
    assert transitions == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK")]
    first_alarm = events[1]
    assert first_alarm["source"] == "aws.cloudwatch" and first_alarm["resources"] == [alarm["AlarmArn"]]
    metric = first_alarm["detail"]["configuration"]["metrics"][0]["metricStat"]
    assert metric == {"metric": {"dimensions": {}, "name": "Latency", "namespace": ns}, "period": 10,
                      "stat": "Average"}
    assert first_alarm["detail"]["configuration"]["description"] == "latency too high"

    notes = _drain_events(sqs, sub_url, 1)
    assert notes and notes[0]["NewStateValue"] == "ALARM" and notes[0]["AlarmName"] == name
    assert notes[0]["OldStateValue"] == "OK" and notes[0]["Trigger"]["Threshold"] == 50.0


def test_set_alarm_state_and_math_alarm(aws: Aws) -> None:
    """SetAlarmState changes state until the next evaluation; a metric-math alarm evaluates its expression.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    """
    cw = aws("cloudwatch")
    ns = _ns()
    name = f"cw-math-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(
        AlarmName=name, EvaluationPeriods=1, Threshold=10.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        Metrics=[
            {"Id": "e", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors"}, "Period": 10,
                                       "Stat": "Sum"}, "ReturnData": False},
            {"Id": "r", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Requests"}, "Period": 10,
                                       "Stat": "Sum"}, "ReturnData": False},
            {"Id": "pct", "Expression": "e/r*100", "Label": "error %", "ReturnData": True},
        ])
    _wait_state(cw, name, "INSUFFICIENT_DATA")
    t = datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Errors", "Value": 3.0, "Timestamp": t, "StorageResolution": 1},
        {"MetricName": "Requests", "Value": 20.0, "Timestamp": t, "StorageResolution": 1},
    ])
    _wait_state(cw, name, "ALARM")  # 15 % >= 10 %
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="testing the page")
    # The evaluator may already have put it back, so read the transition from the history, not describe_alarms.
    _wait_state(cw, name, "ALARM")  # the next evaluation puts it back
    hist = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate",
                                     ScanBy="TimestampAscending")["AlarmHistoryItems"]
    steps = [(json.loads(h["HistoryData"])["newState"]["stateValue"],
              json.loads(h["HistoryData"])["newState"]["stateReason"]) for h in hist]
    assert steps[-2] == ("OK", "testing the page") and steps[-1][0] == "ALARM"


def test_alarm_validation(aws: Aws) -> None:
    """PutMetricAlarm rejects a bad Period, DatapointsToAlarm above EvaluationPeriods, two ReturnData results.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    """
    cw = aws("cloudwatch")
    base = {"AlarmName": f"bad-{uuid.uuid4().hex[:6]}", "Namespace": "X", "MetricName": "Y", "Statistic": "Sum",
            "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.put_metric_alarm(**base, Period=45, EvaluationPeriods=1)
    assert "45" in str(err.value)
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.put_metric_alarm(**base, Period=60, EvaluationPeriods=2, DatapointsToAlarm=3)
    assert "DatapointsToAlarm" in str(err.value)
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.put_metric_alarm(AlarmName=base["AlarmName"], EvaluationPeriods=1, Threshold=1.0,
                            ComparisonOperator="GreaterThanThreshold", Metrics=[
                                {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "X", "MetricName": "Y"},
                                                            "Period": 60, "Stat": "Sum"}},
                                {"Id": "e1", "Expression": "m1 * 2"}])
    assert "ReturnData" in str(err.value)


def test_put_metric_data_limits_and_recently_active(aws: Aws) -> None:
    """PutMetricData refuses old timestamps and AWS/ namespaces, stores EntityMetricData; RecentlyActive=PT3H filters.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html
    """
    cw = aws("cloudwatch")
    ns = _ns()
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Old", "Value": 1.0,
                                                      "Timestamp": datetime.now(UTC) - timedelta(days=15)}])
    assert "two weeks" in str(err.value)
    with pytest.raises(cw.exceptions.ClientError):
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "Invocations", "Value": 1.0}])
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Stale", "Value": 1.0, "Timestamp": datetime.now(UTC) - timedelta(hours=5)},
        {"MetricName": "Fresh", "Value": 1.0, "Dimensions": [{"Name": "Stage", "Value": "prod"}]},
    ])
    cw.put_metric_data(Namespace=ns, EntityMetricData=[{
        "Entity": {"KeyAttributes": {"Type": "Service", "Name": "checkout", "Environment": "local"}},
        "MetricData": [{"MetricName": "Entity", "Value": 2.0}]}])
    every = {m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]}
    active = cw.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"]
    assert every == {"Stale", "Fresh", "Entity"}
    assert {m["MetricName"] for m in active} == {"Fresh", "Entity"}
    assert {"Namespace": ns, "MetricName": "Fresh", "Dimensions": [{"Name": "Stage", "Value": "prod"}]} in active


def test_trimmed_mean_alarm(aws: Aws) -> None:
    """An alarm on ExtendedStatistic tm90 ignores the top 10 % outliers that would trip an Average alarm.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
    """
    cw = aws("cloudwatch")
    ns = _ns()
    base = {"Namespace": ns, "MetricName": "Latency", "Period": 10, "EvaluationPeriods": 1, "Threshold": 100.0,
            "ComparisonOperator": "GreaterThanThreshold"}
    trimmed, average = f"cw-tm-{uuid.uuid4().hex[:8]}", f"cw-avg-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(AlarmName=trimmed, ExtendedStatistic="tm90", **base)
    cw.put_metric_alarm(AlarmName=average, Statistic="Average", **base)
    [a] = cw.describe_alarms(AlarmNames=[trimmed])["MetricAlarms"]
    assert a["ExtendedStatistic"] == "tm90" and a["StateValue"] == "INSUFFICIENT_DATA"
    assert a["StateReason"] == "Unchecked: Initial alarm creation"
    # 90 fast requests and 10 pathological ones in the current 10-second period.
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Latency", "Values": [20.0, 5000.0],
                                                  "Counts": [90.0, 10.0], "StorageResolution": 1}])
    _wait_state(cw, average, "ALARM")
    _wait_state(cw, trimmed, "OK")


def test_lambda_alarm_action_gets_documented_payload(aws: Aws) -> None:
    """A Lambda alarm action needs CloudWatch's resource policy, then gets the documented payload asynchronously.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions-Lambda.html
    """
    import io
    import textwrap
    import zipfile

    sqs = aws("sqs")
    tag = uuid.uuid4().hex[:8]
    queue_url = sqs.create_queue(QueueName=f"cw-lambda-{tag}")["QueueUrl"]
    role = aws("iam").create_role(RoleName=f"cw-lambda-{tag}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", textwrap.dedent("""
            import json, os, boto3
            def handler(event, context):
                sqs = boto3.client("sqs")
                sqs.send_message(QueueUrl=os.environ["TAP"], MessageBody=json.dumps(event))
        """))
    fn = aws("lambda").create_function(FunctionName=f"cw-action-{tag}", Runtime="python3.11", Role=role,
                                       Handler="app.handler", Code={"ZipFile": buf.getvalue()},
                                       Environment={"Variables": {"TAP": queue_url}})["FunctionArn"]
    cw = aws("cloudwatch")
    name = f"cw-lambda-{tag}"

    def drill(alarm: str) -> None:
        cw.put_metric_alarm(AlarmName=alarm, Namespace=_ns(), MetricName="Errors", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
                            AlarmActions=[fn])
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="drill")

    # Without a resource policy for CloudWatch's principal the invoke is refused (and recorded as failed).
    unauthorized = f"cw-lambda-noperm-{tag}"
    drill(unauthorized)
    failed: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not failed and time.monotonic() < deadline:
        failed = cw.describe_alarm_history(AlarmName=unauthorized, HistoryItemType="Action")["AlarmHistoryItems"]
        time.sleep(0.05)
    assert failed and failed[0]["HistorySummary"] == f"Failed to execute action {fn}"
    assert "not authorized" in json.loads(failed[0]["HistoryData"])["error"]
    aws("lambda").add_permission(FunctionName=fn, StatementId="alarms", Action="lambda:InvokeFunction",
                                 Principal="lambda.alarms.cloudwatch.amazonaws.com",
                                 SourceArn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")
    drill(name)
    [event] = _drain_events(sqs, queue_url, 1, timeout=40.0)
    assert event["source"] == "aws.cloudwatch" and event["alarmArn"].endswith(f":alarm:{name}")
    assert event["accountId"] == "123456789012" and event["region"] == "us-east-1"
    assert event["alarmData"]["state"]["value"] == "ALARM" and event["alarmData"]["state"]["reason"] == "drill"
    assert event["alarmData"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["stat"] == "Sum"
    deadline = time.monotonic() + 10
    actions: list[dict[str, Any]] = []
    while not actions and time.monotonic() < deadline:
        actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
        time.sleep(0.05)
    assert actions and actions[0]["HistorySummary"] == f"Successfully executed action {fn}"


def test_composite_alarm_follows_its_rule(aws: Aws) -> None:
    """A composite alarm is ALARM while its rule holds, else OK; DescribeAlarms by type, children, parents, pages.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
    """
    cw = aws("cloudwatch")
    tag = uuid.uuid4().hex[:8]
    errors, latency, deploying = f"errors-{tag}", f"latency-{tag}", f"deploying-{tag}"

    def child(name: str, missing: str) -> None:
        # Without data, TreatMissingData alone decides: breaching holds a child in ALARM, notBreaching in OK.
        cw.put_metric_alarm(AlarmName=name, Namespace=f"Test/{tag}", MetricName=name, Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                            TreatMissingData=missing)

    child(errors, "breaching")
    child(latency, "notBreaching")
    child(deploying, "breaching")
    parent = f"rollback-{tag}"
    rule = f'(ALARM("{errors}") OR ALARM({latency})) AND NOT ALARM({deploying})'
    cw.put_composite_alarm(AlarmName=parent, AlarmRule=rule, AlarmDescription="roll back")
    assert all(a["AlarmName"] != parent for a in cw.describe_alarms()["MetricAlarms"])
    assert cw.describe_alarms(AlarmNames=[parent])["CompositeAlarms"] == []

    def parent_state() -> dict[str, Any]:
        [c] = cw.describe_alarms(AlarmNames=[parent], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        return c

    def wait_parent(state: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while (c := parent_state())["StateValue"] != state and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c["StateValue"] == state, c
        return c

    assert parent_state()["AlarmRule"] == rule
    wait_parent("OK")  # errors is ALARM but the deployment alarm suppresses the rule
    child(deploying, "notBreaching")  # the deployment ends
    fired = wait_parent("ALARM")
    assert errors in fired["StateReason"] or errors in fired["StateReasonData"]
    children = cw.describe_alarms(ChildrenOfAlarmName=parent)
    assert sorted(a["AlarmName"] for a in children["MetricAlarms"]) == sorted([errors, latency, deploying])
    parents = cw.describe_alarms(ParentsOfAlarmName=errors)
    assert [a["AlarmName"] for a in parents["CompositeAlarms"]] == [parent]
    first = cw.describe_alarms(AlarmNames=[errors, latency, deploying], MaxRecords=2)
    rest = cw.describe_alarms(AlarmNames=[errors, latency, deploying], MaxRecords=2, NextToken=first["NextToken"])
    assert len(first["MetricAlarms"]) == 2 and len(rest["MetricAlarms"]) == 1 and "NextToken" not in rest
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.put_composite_alarm(AlarmName=f"bad-{tag}", AlarmRule="ALARM(no-such-alarm-xyz)")
    assert "no-such-alarm-xyz" in str(err.value)
    hist = cw.describe_alarm_history(AlarmName=parent, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert hist[0]["AlarmType"] == "CompositeAlarm"


def test_get_metric_data_pages_by_max_datapoints(aws: Aws) -> None:
    """MaxDatapoints cuts the answer into pages linked by NextToken; the cut result says PartialData.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
    """
    cw = aws("cloudwatch")
    ns, t0 = _ns(), _minute_ago(10)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": name, "Value": float(i), "Timestamp": t0 + timedelta(minutes=i)}
        for name in ("A", "B") for i in range(5)])
    kwargs: dict[str, Any] = {"StartTime": t0, "EndTime": t0 + timedelta(minutes=5), "ScanBy": "TimestampAscending",
                              "MaxDatapoints": 3,
                              "MetricDataQueries": [_stat("a", ns, "A"), _stat("b", ns, "B")]}
    first = cw.get_metric_data(**kwargs)
    assert [(r["Id"], r["Values"], r["StatusCode"]) for r in first["MetricDataResults"]] == [
        ("a", [0.0, 1.0, 2.0], "PartialData")]
    second = cw.get_metric_data(**kwargs, NextToken=first["NextToken"])
    assert [(r["Id"], r["Values"]) for r in second["MetricDataResults"]] == [("a", [3.0, 4.0]), ("b", [0.0])]
    third = cw.get_metric_data(**kwargs, NextToken=second["NextToken"])
    assert [(r["Id"], r["Values"]) for r in third["MetricDataResults"]] == [("b", [1.0, 2.0, 3.0])]
    last = cw.get_metric_data(**kwargs, NextToken=third["NextToken"])
    assert [(r["Id"], r["Values"]) for r in last["MetricDataResults"]] == [("b", [4.0])] and "NextToken" not in last
    everything = [r for page in cw.get_paginator("get_metric_data").paginate(**kwargs)
                  for r in page["MetricDataResults"]]
    assert sum(len(r["Values"]) for r in everything) == 10


def test_metrics_insights_query_groups_orders_and_limits(aws: Aws) -> None:
    """SELECT SUM(...) FROM SCHEMA(...) WHERE ... GROUP BY ... ORDER BY MAX() DESC LIMIT n, and math over it.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html
    """
    cw = aws("cloudwatch")
    ns, t0 = _ns(), _minute_ago(5)
    data = []
    for fn, values in (("alpha", [1.0, 2.0]), ("beta", [10.0, 20.0]), ("gamma", [5.0, 5.0])):
        for i, v in enumerate(values):
            data.append({"MetricName": "Errors", "Value": v, "Timestamp": t0 + timedelta(minutes=i),
                         "Dimensions": [{"Name": "FunctionName", "Value": fn}, {"Name": "Stage", "Value": "prod"}]})
    data.append({"MetricName": "Errors", "Value": 100.0, "Timestamp": t0,
                 "Dimensions": [{"Name": "FunctionName", "Value": "alpha"}]})  # other schema: excluded
    data.append({"MetricName": "Errors", "Value": 7.0, "Timestamp": t0,
                 "Dimensions": [{"Name": "FunctionName", "Value": "delta"}, {"Name": "Stage", "Value": "dev"}]})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    query = (f'SELECT SUM(Errors) FROM SCHEMA("{ns}", FunctionName, Stage) WHERE Stage = \'prod\' '
             "GROUP BY FunctionName ORDER BY MAX() DESC LIMIT 2")
    out = cw.get_metric_data(StartTime=t0, EndTime=t0 + timedelta(minutes=2), ScanBy="TimestampAscending",
                             MetricDataQueries=[{"Id": "q", "Expression": query, "Period": 60},
                                                {"Id": "total", "Expression": "SUM(q)", "Label": "top two"}])
    res = [(r["Id"], r["Label"], r["Values"]) for r in out["MetricDataResults"]]
    assert res == [("q", "beta", [10.0, 20.0]), ("q", "gamma", [5.0, 5.0]), ("total", "top two", [15.0, 25.0])]
    whole = cw.get_metric_data(StartTime=t0, EndTime=t0 + timedelta(minutes=2), MetricDataQueries=[
        {"Id": "all", "Expression": f'SELECT AVG(Errors) FROM "{ns}"', "Period": 120}])["MetricDataResults"]
    assert [(r["Id"], r["Values"]) for r in whole] == [("all", [pytest.approx(150.0 / 8)])]
    with pytest.raises(cw.exceptions.ClientError) as err:
        cw.get_metric_data(StartTime=t0, EndTime=t0 + timedelta(minutes=2), MetricDataQueries=[
            {"Id": "bad", "Expression": f'SELECT MEDIAN(Errors) FROM "{ns}"', "Period": 60}])
    assert "MEDIAN" in str(err.value)


def test_cloudformation_stack_creates_evaluates_and_deletes_alarms(aws: Aws) -> None:
    """AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm in a stack: Ref is the name, GetAtt Arn the ARN.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-compositealarm.html
    """
    cfn, cw = aws("cloudformation"), aws("cloudwatch")
    tag = uuid.uuid4().hex[:8]
    template = {
        "Resources": {
            "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "AlarmName": f"stack-errors-{tag}", "Namespace": f"Test/{tag}", "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": "fn"}], "Statistic": "Sum", "Period": 60,
                "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "breaching"}},
            "Rollback": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {
                "AlarmName": f"stack-rollback-{tag}", "AlarmRule": {"Fn::Sub": "ALARM(${Errors})"}}},
        },
        "Outputs": {"Name": {"Value": {"Ref": "Errors"}}, "Arn": {"Value": {"Fn::GetAtt": ["Errors", "Arn"]}}},
    }
    stack = f"alarms-{tag}"

    def settled(final: str) -> dict[str, Any]:
        # Stack operations run asynchronously, as on AWS: poll for the final status.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
            if not found["StackStatus"].endswith("_IN_PROGRESS"):
                break
            time.sleep(0.1)
        assert found["StackStatus"] == final, found
        return found

    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in settled("CREATE_COMPLETE")["Outputs"]}
    assert outputs["Name"] == f"stack-errors-{tag}"
    assert outputs["Arn"] == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:stack-errors-{tag}"
    _wait_state(cw, f"stack-errors-{tag}", "ALARM")  # no data, treated as breaching
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        [parent] = cw.describe_alarms(AlarmNames=[f"stack-rollback-{tag}"],
                                      AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        if parent["StateValue"] == "ALARM":
            break
        time.sleep(0.1)
    assert parent["StateValue"] == "ALARM" and parent["AlarmRule"] == f"ALARM(stack-errors-{tag})"
    stack = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]  # a deleted stack is found by id only
    cfn.delete_stack(StackName=stack)
    settled("DELETE_COMPLETE")
    gone = cw.describe_alarms(AlarmNamePrefix="stack-", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert not [a for a in gone["MetricAlarms"] + gone["CompositeAlarms"] if tag in a["AlarmName"]]


def test_describe_alarms_for_metric_matches_dimensions_and_statistic(aws: Aws) -> None:
    """DescribeAlarmsForMetric returns only alarms on exactly that metric, dimensions, statistic and period.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmsForMetric.html
    """
    cw = aws("cloudwatch")
    ns, tag = _ns(), uuid.uuid4().hex[:8]
    base = {"Namespace": ns, "MetricName": "Errors", "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold", "Period": 60}
    cw.put_metric_alarm(AlarmName=f"a-{tag}", Statistic="Sum", Dimensions=[{"Name": "Fn", "Value": "a"}], **base)
    cw.put_metric_alarm(AlarmName=f"b-{tag}", Statistic="Sum", Dimensions=[{"Name": "Fn", "Value": "b"}], **base)
    cw.put_metric_alarm(AlarmName=f"c-{tag}", Statistic="Maximum", Dimensions=[{"Name": "Fn", "Value": "a"}], **base)
    found = cw.describe_alarms_for_metric(Namespace=ns, MetricName="Errors", Dimensions=[{"Name": "Fn", "Value": "a"}],
                                          Statistic="Sum")["MetricAlarms"]
    assert [a["AlarmName"] for a in found] == [f"a-{tag}"]
    both = cw.describe_alarms_for_metric(Namespace=ns, MetricName="Errors",
                                         Dimensions=[{"Name": "Fn", "Value": "a"}])["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in both) == [f"a-{tag}", f"c-{tag}"]


def test_configuration_change_events_for_create_update_delete(aws: Aws) -> None:
    """Creating, updating and deleting an alarm each put a CloudWatch Alarm Configuration Change event.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    """
    sqs, events, cw = aws("sqs"), aws("events"), aws("cloudwatch")
    tag = uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=f"cw-config-{tag}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"cw-config-{tag}", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm Configuration Change"],
        "detail": {"alarmName": [f"cfg-{tag}"]}}))
    events.put_targets(Rule=f"cw-config-{tag}", Targets=[{"Id": "tap", "Arn": arn}])
    base = {"AlarmName": f"cfg-{tag}", "Namespace": _ns(), "MetricName": "Errors", "Statistic": "Sum",
            "Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold"}
    cw.put_metric_alarm(**base, Threshold=70.0)
    cw.put_metric_alarm(**base, Threshold=80.0)
    cw.delete_alarms(AlarmNames=[f"cfg-{tag}"])
    # Delivery order is not promised, so index the events by their operation.
    got = {e["detail"]["operation"]: e for e in _drain_events(sqs, url, 3)}
    assert sorted(got) == ["create", "delete", "update"]
    create, update = got["create"], got["update"]
    assert create["resources"] == [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:cfg-{tag}"]
    assert create["detail"]["state"]["value"] == "INSUFFICIENT_DATA"
    config = update["detail"]["configuration"]
    assert (config["threshold"], update["detail"]["previousConfiguration"]["threshold"]) == (80.0, 70.0)
    assert config["comparisonOperator"] == "GreaterThanThreshold" and config["evaluationPeriods"] == 1
    assert config["metrics"][0]["metricStat"]["metric"]["name"] == "Errors"
    assert config["alarmActions"] == [] and config["actionsEnabled"] is True
