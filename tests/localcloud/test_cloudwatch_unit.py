"""Unit checks of the local CloudWatch's pure logic: alarm decisions, statistics, metric math, publish cost."""

from __future__ import annotations

import time
import uuid

import pytest

from eventdeploy.localcloud import metrics
from eventdeploy.localcloud.cloudwatch import mathexpr, metricdata, statistics, store
from eventdeploy.localcloud.cloudwatch.evaluation import Point, Rule, decide

# Rows of the two tables in "How alarm state is evaluated when data is missing": (points oldest first, M, N,
# expected state for missing, ignore, breaching, notBreaching). None = keep the current state.
ALARM_TABLE = [
    ("0-X-X", 3, 3, "OK", "OK", "OK", "OK"),
    ("0----", 3, 3, "OK", "OK", "OK", "OK"),
    ("-----", 3, 3, "INSUFFICIENT_DATA", None, "ALARM", "OK"),
    ("0XX-X", 3, 3, "ALARM", "ALARM", "ALARM", "ALARM"),
    ("----X", 3, 3, "INSUFFICIENT_DATA", None, "ALARM", "OK"),
    ("X----", 3, 3, "ALARM", None, "ALARM", "OK"),
    ("0-X-X", 2, 3, "ALARM", "ALARM", "ALARM", "ALARM"),
    ("00X0X", 2, 3, "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0-X--", 2, 3, "OK", "OK", "ALARM", "OK"),
    ("----0", 2, 3, "OK", "OK", "ALARM", "OK"),
    ("----X", 2, 3, "INSUFFICIENT_DATA", None, "ALARM", "OK"),
]


@pytest.mark.parametrize("row", ALARM_TABLE, ids=[f"{r[0]}-{r[1]}of{r[2]}" for r in ALARM_TABLE])
def test_missing_data_table(row: tuple) -> None:
    """Every row of AWS's missing-data tables, for each TreatMissingData setting.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data
    """
    pattern, m, n, *expected = row
    slots = [1000.0 + 60 * i for i in range(len(pattern))]
    points = {t: Point(t, 10.0 if c == "X" else 0.0) for t, c in zip(slots, pattern, strict=True) if c != "-"}
    for treat, want in zip(("missing", "ignore", "breaching", "notBreaching"), expected, strict=True):
        rule = Rule(period=60, evaluation_periods=n, datapoints_to_alarm=m, threshold=5.0,
                    comparison="GreaterThanThreshold", treat_missing=treat, statistic="Maximum")
        got = decide(rule, slots, points, "OK", now=slots[-1] + 30).state
        assert got == want, f"{pattern} {m}/{n} treat={treat}: got {got}, AWS documents {want}"


def test_reason_text_matches_aws_format() -> None:
    """StateReason reads like AWS's: values, dd/mm/yy times, threshold and the minimum for the transition.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
    """
    rule = Rule(60, 1, 1, 50.0, "GreaterThanThreshold", "missing", "Average")
    t = 1570035540.0  # 2019-10-02T16:59:00Z
    out = decide(rule, [t - 120, t - 60, t], {t: Point(t, 99.50160229693434)}, "OK", t + 100)
    assert out.state == "ALARM"
    assert out.reason == ("Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434 (02/10/19 16:59:00)] "
                          "was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).")
    assert out.reason_data["startDate"] == "2019-10-02T16:59:00.000+0000"
    assert out.reason_data["recentDatapoints"] == [99.50160229693434]


def _entries(values: list[float]) -> list[store.Entry]:
    return [(0.0, v, 1.0, v, v, "None") for v in values]


def test_extended_statistics_on_one_to_hundred() -> None:
    """Percentile, trimmed/winsorized means, percentile rank, trimmed count/sum and IQM of 1..100.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
    """
    data = _entries([float(v) for v in range(100, 0, -1)])

    def stat(name: str) -> float | None:
        return statistics.compute(statistics.parse_stat(name), data)

    assert [stat("p50"), stat("p90"), stat("p99"), stat("p0"), stat("p100")] == [50.0, 90.0, 99.0, 1.0, 100.0]
    assert stat("TM(10%:90%)") == pytest.approx(50.5)
    assert stat("IQM") == pytest.approx(50.5)  # 26..75
    assert stat("tm90") == pytest.approx(45.5)
    assert stat("TM(150:1000)") is None  # nothing in range
    assert stat("TM(10:20)") == pytest.approx(15.5)  # 11..20: above 10, at most 20
    assert stat("PR(:30)") == pytest.approx(30.0)
    assert stat("TC(10:20)") == 10.0 and stat("TS(10:20)") == sum(range(11, 21))
    assert stat("wm90") == pytest.approx((sum(range(1, 91)) + 10 * 90) / 100)
    assert stat("Average") == 50.5 and stat("SampleCount") == 100.0


def test_percentiles_need_raw_non_negative_values() -> None:
    """Statistic sets count for percentiles only with Minimum == Maximum; negative values disable them.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
    """
    p50 = statistics.parse_stat("p50")
    assert statistics.compute(p50, [(0.0, 20.0, 4.0, 5.0, 5.0, "None")]) == 5.0
    assert statistics.compute(p50, [(0.0, 20.0, 4.0, 2.0, 8.0, "None")]) is None
    assert statistics.compute(p50, _entries([1.0, -1.0])) is None
    with pytest.raises(statistics.InvalidStatistic, match="p101"):
        statistics.parse_stat("p101")
    with pytest.raises(statistics.InvalidStatistic, match="Median"):
        statistics.parse_stat("Median")


def _ctx(**series: dict[float, float]) -> mathexpr.Context:
    grid = [0.0, 60.0, 120.0, 180.0]
    metrics = {k: mathexpr.TS(v, 60, k, grid) for k, v in series.items()}
    return mathexpr.Context(metrics=metrics, expressions={}, grid_for=lambda p: grid)


def _run(expr: str, ctx: mathexpr.Context) -> mathexpr.Value:
    return mathexpr.evaluate(mathexpr.parse(expr), ctx)


def test_math_comparison_if_and_fill_modes() -> None:
    """Comparisons treat a missing value as 0; IF follows the documented table; FILL REPEAT and LINEAR.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    """
    ctx = _ctx(metric1={0.0: 30.0, 60.0: 20.0, 120.0: 0.0, 180.0: 0.0}, metric2={0.0: 20.0, 120.0: 20.0})
    assert list(_run("(metric1 < metric2)", ctx).points.values()) == [0.0, 0.0, 1.0, 0.0]
    assert list(_run("metric1 > 15 AND metric2 > 15", ctx).points.values()) == [1.0, 0.0, 0.0, 0.0]
    ctx = _ctx(m1={0.0: 1, 60.0: 1, 120.0: 0, 180.0: 0}, m2={0.0: 30, 120.0: 0, 180.0: 0},
               m3={0.0: 0, 60.0: 0, 120.0: 20})
    assert _run("IF(m1, m2, m3)", ctx).points == {0.0: 30, 60.0: 0.0, 120.0: 20}
    assert _run("IF(m1, 5, m3)", ctx).points == {0.0: 5.0, 60.0: 5.0, 120.0: 20}
    ctx = _ctx(s={0.0: 1.0, 180.0: 4.0})
    assert list(_run("FILL(s, REPEAT)", ctx).points.values()) == [1.0, 1.0, 1.0, 4.0]
    assert list(_run("FILL(s, LINEAR)", ctx).points.values()) == [1.0, 2.0, 3.0, 4.0]
    assert list(_run("FILL(s, MAX(s))", ctx).points.values()) == [1.0, 4.0, 4.0, 4.0]


def test_math_errors_name_the_problem() -> None:
    """Unknown ids, unknown functions, scalar final results and cycles are rejected with a clear message."""
    with pytest.raises(mathexpr.MathError, match="nope"):
        _run("m1 + nope", _ctx(m1={0.0: 1.0}))
    with pytest.raises(mathexpr.MathError, match="ANOMALY_DETECTION_BAND"):
        _run("ANOMALY_DETECTION_BAND(m1)", _ctx(m1={0.0: 1.0}))
    with pytest.raises(mathexpr.MathError, match="scalar"):
        mathexpr.result_series(_run("SUM(m1)", _ctx(m1={0.0: 1.0})), "SUM(m1)")
    rs = store.RegionStore()
    with pytest.raises(mathexpr.MathError, match="Circular"):
        metricdata.evaluate(rs, [{"Id": "a", "Expression": "b + 1"}, {"Id": "b", "Expression": "a * 2"}],
                            0.0, 600.0, 600.0)
    with pytest.raises(metricdata.InvalidQuery, match="lowercase"):
        metricdata.validate([{"Id": "M1", "Expression": "1"}])


def _publish_rate(account: str, n: int) -> float:
    """Seconds per publish call over one batch of ``n`` calls."""
    began = time.perf_counter()
    for i in range(n):
        metrics.publish(account, "us-east-1", "AWS/Lambda", "Duration", float(i), "Milliseconds",
                        {"FunctionName": f"f{i % 10}"})
    return (time.perf_counter() - began) / n


def test_publish_cost_does_not_grow_with_stored_points() -> None:
    """Publishing into a region that holds 300,000 points costs about what it costs into an empty one.

    The two regions are measured in alternation, best of 7 each, so load on the machine hits both alike.
    """
    empty_account = f"8{uuid.uuid4().int % 10**11:011d}"
    full_account = f"9{uuid.uuid4().int % 10**11:011d}"
    rs = store.region_store(full_account, "us-east-1")
    series = rs.series("AWS/Lambda", "Duration", store.dim_key({"FunctionName": "f0"}))
    now = time.time()
    for i in range(300_000):
        series.add((now - i * 0.001, float(i), 1.0, float(i), float(i), "Milliseconds"))
    for j in range(2000):
        rs.series("Other", f"m{j}", ())
    empty = full = float("inf")
    for _ in range(7):
        empty = min(empty, _publish_rate(empty_account, 2000))
        full = min(full, _publish_rate(full_account, 2000))
    ratio = full / empty
    print(f"publish: {empty * 1e6:.2f} us empty, {full * 1e6:.2f} us with 300k points, ratio {ratio:.2f}")
    assert ratio < 3.0, f"publish got {ratio:.1f}x slower with 300k stored points ({empty:.2e}s -> {full:.2e}s)"
    # A query cuts the time range by binary search, so it reads only the points it returns.
    began = time.perf_counter()
    assert len(series.between(now - 1.0, now + 1.0)) >= 1000
    assert time.perf_counter() - began < 0.5


def test_repeated_values_share_one_entry_and_keep_exact_statistics() -> None:
    """A counter published once per event stays one stored entry per minute; statistics are unchanged."""
    rs = store.RegionStore()
    series = rs.series("AWS/Events", "Invocations", store.dim_key({"RuleName": "r"}))
    for _ in range(1000):
        series.add((600.0, 1.0, 1.0, 1.0, 1.0, "Count"))
    series.add((600.0, 5.0, 1.0, 5.0, 5.0, "Count"))
    series.add((660.0, 1.0, 1.0, 1.0, 1.0, "Count"))
    assert len(series) == 3
    entries = series.between(600.0, 660.0)
    assert statistics.compute(statistics.parse_stat("SampleCount"), entries) == 1001.0
    assert statistics.compute(statistics.parse_stat("Sum"), entries) == 1005.0
    assert statistics.compute(statistics.parse_stat("p99"), entries) == 1.0
    assert statistics.compute(statistics.parse_stat("p100"), entries) == 5.0


def test_old_data_is_served_only_at_coarse_enough_periods() -> None:
    """Older than 3 hours needs a multiple of 60 s, older than 15 days of 300 s, older than 63 days of 3600 s.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html (Period)
    """
    from eventdeploy.localcloud.cloudwatch.timegrid import period_serves

    now = 10_000_000_000.0
    assert period_serves(now - 3600, 10, now)
    assert not period_serves(now - 4 * 3600, 10, now) and period_serves(now - 4 * 3600, 120, now)
    assert not period_serves(now - 20 * 86400, 60, now) and period_serves(now - 20 * 86400, 600, now)
    assert not period_serves(now - 70 * 86400, 300, now) and period_serves(now - 70 * 86400, 3600, now)


def test_insufficient_data_reason_lists_every_unknown_period() -> None:
    """INSUFFICIENT_DATA says how many datapoints were unknown and lists each period's timestamp (newest first).

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions-Lambda.html (payload example)
    """
    rule = Rule(60, 3, 3, 5.0, "GreaterThanThreshold", "missing", "Average")
    slots = [1_690_000_020.0 + 60 * i for i in range(5)]
    out = decide(rule, slots, {}, "OK", slots[-1] + 10)
    assert out.state == "INSUFFICIENT_DATA" and out.reason == "Insufficient Data: 5 datapoints were unknown."
    assert out.reason_data["recentDatapoints"] == []
    assert out.reason_data["evaluatedDatapoints"][0] == {"timestamp": "2023-07-22T04:31:00.000+0000"}
    assert len(out.reason_data["evaluatedDatapoints"]) == 5


def test_alarm_history_keeps_two_weeks() -> None:
    """Items older than two weeks are dropped when new ones arrive.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    """
    from datetime import UTC, datetime, timedelta

    from eventdeploy.localcloud.cloudwatch import history

    account = f"7{uuid.uuid4().int % 10**11:011d}"
    now = datetime.now(UTC)

    class _Alarm:
        name, rule = "a", None

    history.add_history(account, "us-east-1", history.history_item(_Alarm(), "StateUpdate", "old", {},
                                                                   now - timedelta(days=15)))
    history.add_history(account, "us-east-1", history.history_item(_Alarm(), "StateUpdate", "new", {}, now))
    assert [i["HistorySummary"] for i in history.history(account, "us-east-1")] == ["new"]


def test_lambda_action_policy_needs_cloudwatch_principal_and_matching_source() -> None:
    """Only a policy for lambda.alarms.cloudwatch.amazonaws.com whose conditions match the alarm lets it invoke.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions-Lambda.html
    """
    from eventdeploy.localcloud.cloudwatch.action_policy import allows_alarm

    arn = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:high-errors"

    def policy(principal: object, condition: dict | None = None, effect: str = "Allow") -> dict:
        st = {"Effect": effect, "Principal": principal, "Action": "lambda:InvokeFunction"}
        if condition:
            st["Condition"] = condition
        return {"Statement": [st]}

    svc = {"Service": "lambda.alarms.cloudwatch.amazonaws.com"}
    assert allows_alarm(policy(svc), arn, "111122223333")
    assert allows_alarm(policy(svc, {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudwatch:*:*:alarm:high-*"}}), arn,
                        "111122223333")
    assert not allows_alarm(policy(svc, {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudwatch:*:*:alarm:low-*"}}),
                            arn, "111122223333")
    assert not allows_alarm(policy(svc, {"StringEquals": {"AWS:SourceAccount": "999999999999"}}), arn,
                            "111122223333")
    assert not allows_alarm(policy({"Service": "events.amazonaws.com"}), arn, "111122223333")
    assert not allows_alarm(None, arn, "111122223333")
