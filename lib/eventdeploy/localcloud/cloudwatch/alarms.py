"""Metric and composite alarm evaluation against the store, on moto's Alarm models.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html (evaluation);
composite alarms: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud.cloudwatch import composite, metricdata, query
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.evaluation import (
    Outcome,
    Point,
    Rule,
    decide,
    iso_millis,
    reason_data_json,
    window,
)
from eventdeploy.localcloud.cloudwatch.store import region_store


def _alarm_points(account_id: str, region: str, alarm: Any, start: float, end: float, now: float,
                  ) -> tuple[int, dict[float, Point], str | None]:
    """(period, points by period start, statistic name) of what the alarm watches within [start, end)."""
    store = region_store(account_id, region)
    if alarm.metric_data_queries:
        queries = []
        period = 60
        for q in alarm.metric_data_queries:
            d: dict[str, Any] = {"Id": q.id, "ReturnData": q.return_data}
            if q.label:
                d["Label"] = q.label
            if q.expression:
                d["Expression"] = q.expression
            if q.period:
                d["Period"] = int(q.period)
            if q.metric_stat is not None:
                ms = q.metric_stat
                period = int(ms.period)
                d["MetricStat"] = {"Metric": {"Namespace": ms.metric.namespace, "MetricName": ms.metric.metric_name,
                                              "Dimensions": [{"Name": x.name, "Value": x.value}
                                                             for x in ms.metric.dimensions]},
                                   "Period": period, "Stat": ms.stat, "Unit": ms.unit}
            queries.append(d)
        series = metricdata.evaluate(store, queries, start, end, now)
        chosen = [q for q in alarm.metric_data_queries if metricdata.is_true(q.return_data)]
        target = chosen[0].id if chosen else alarm.metric_data_queries[-1].id
        ts = series[target][0]
        return period, {t: Point(t, v) for t, v in ts.points.items()}, None
    stat_name = alarm.extended_statistic or alarm.statistic
    stat = st.parse_stat(stat_name)
    metric = {"Namespace": alarm.namespace, "MetricName": alarm.metric_name,
              "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions]}
    period = int(alarm.period)
    stamps, values, counts = query.stat_series(store, metric, stat, start, end, period, alarm.unit)
    return period, {t: Point(t, v, c) for t, v, c in zip(stamps, values, counts, strict=True)}, stat_name


def _low_sample(alarm: Any, points: dict[float, Point]) -> bool:
    """True when EvaluateLowSampleCountPercentile=ignore applies (too few samples for the percentile)."""
    if (alarm.evaluate_low_sample_count_percentile or "") != "ignore" or not alarm.extended_statistic:
        return False
    stat = st.parse_stat(alarm.extended_statistic)
    if stat.kind != "p":
        return False
    p = (stat.upper or 0.0) / 100.0
    need = 10 / (1 - p) if p >= 0.5 and p < 1 else (10 / p if 0 < p < 0.5 else 0)
    return any(pt.sample_count < need for pt in points.values())


def alarm_period(alarm: Any) -> int:
    """The period the alarm's data points have."""
    if alarm.metric_data_queries:
        for q in alarm.metric_data_queries:
            if q.metric_stat is not None:
                return int(q.metric_stat.period)
            if q.period:
                return int(q.period)
    return int(alarm.period or 60)


def evaluate_alarm(account_id: str, region: str, alarm: Any, now: float | None = None) -> Outcome:
    """Evaluate one metric alarm now and return the state it should be in (None: unchanged)."""
    now = time.time() if now is None else now
    period = alarm_period(alarm)
    n = int(alarm.evaluation_periods)
    start, end, slots = window(period, n, now)
    _, points, stat_name = _alarm_points(account_id, region, alarm, start, end, now)
    if _low_sample(alarm, points):
        return Outcome(None)
    rule = Rule(period=period, evaluation_periods=n, datapoints_to_alarm=int(alarm.datapoints_to_alarm or n),
                threshold=float(alarm.threshold), comparison=alarm.comparison_operator,
                treat_missing=alarm.treat_missing_data or "missing", statistic=stat_name)
    return decide(rule, slots, points, alarm.state_value, now)


def apply(alarm: Any, outcome: Outcome) -> bool:
    """Move the alarm to the outcome's state if it differs; True when the state changed."""
    if outcome.state is None or outcome.state == alarm.state_value:
        return False
    alarm.update_state(outcome.reason, reason_data_json(outcome.reason_data), outcome.state)
    return True


def _changed_at(alarm: Any) -> datetime | None:
    """When the alarm last changed state, as an aware UTC datetime (moto keeps naive UTC ones)."""
    when = getattr(alarm, "state_transitioned_timestamp", None) or alarm.state_updated_timestamp
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def evaluate_composite(alarms_by_name: dict[str, Any], alarm: Any) -> Outcome:
    """ALARM when the composite alarm's rule holds, else OK; reason names the latest child transition."""
    node = composite.parse(alarm.rule)
    find = composite.lookup(alarms_by_name)

    def state_of(ref: str) -> str | None:
        child = find(ref)
        return None if child is None else child.state_value

    state = "ALARM" if composite.holds(node, state_of) else "OK"
    if state == alarm.state_value:
        return Outcome(None)
    children = [c for c in (find(ref) for ref in composite.referenced(node)) if c is not None]
    if not children:
        truth = "TRUE" if state == "ALARM" else "FALSE"
        return Outcome(state, f"The alarm rule {alarm.rule} is {truth}", {"triggeringAlarms": []})
    epoch = datetime.fromtimestamp(0, UTC)
    latest = max(children, key=lambda c: _changed_at(c) or epoch)
    when = _changed_at(latest) or epoch
    reason = (f"{latest.alarm_arn} transitioned to {latest.state_value} at "
              f"{when.strftime('%A %d %B, %Y %H:%M:%S UTC')}")
    data = {"triggeringAlarms": [
        {"arn": c.alarm_arn, "state": {"value": c.state_value,
                                       "timestamp": iso_millis((_changed_at(c) or epoch).timestamp())}}
        for c in children]}
    return Outcome(state, reason, data)
