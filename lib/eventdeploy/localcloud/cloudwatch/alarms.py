"""Metric alarms on moto's models: evaluate against the store, record history, emit events, run SNS actions.

Specs: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html (evaluation),
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html (state-change event),
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html (history items).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud.cloudwatch import composite, metricdata, query
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.evaluation import (
    Outcome,
    Point,
    Rule,
    decide,
    reason_data_json,
    window,
)
from eventdeploy.localcloud.cloudwatch.store import region_store

log = logging.getLogger("eventdeploy.localcloud.cloudwatch")

# (account, region) -> history items, newest last; kept after an alarm is deleted, as AWS keeps history.
_history: dict[tuple[str, str], list[dict[str, Any]]] = {}
_history_lock = threading.Lock()

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)",
    "eu-west-2": "EU (London)", "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)", "ap-northeast-1": "Asia Pacific (Tokyo)",
}


def now_dt() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


def add_history(account_id: str, region: str, item: dict[str, Any]) -> None:
    """Append one AlarmHistoryItem."""
    with _history_lock:
        _history.setdefault((account_id, region), []).append(item)


def history(account_id: str, region: str) -> list[dict[str, Any]]:
    """Every history item of the account in the region, oldest first."""
    with _history_lock:
        return list(_history.get((account_id, region), []))


def reset() -> None:
    """Forget all alarm history."""
    with _history_lock:
        _history.clear()


def history_item(alarm: Any, kind: str, summary: str, data: dict[str, Any], when: datetime) -> dict[str, Any]:
    """An AlarmHistoryItem as DescribeAlarmHistory returns it."""
    return {
        "AlarmName": alarm.name,
        "AlarmType": "CompositeAlarm" if getattr(alarm, "rule", None) else "MetricAlarm",
        "Timestamp": when,
        "HistoryItemType": kind,
        "HistorySummary": summary,
        "HistoryData": json.dumps(data, separators=(",", ":"), default=str),
    }


def _parse_json(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _state_block(value: str, reason: str, reason_data: Any, when: datetime | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"value": value, "reason": reason}
    if reason_data:
        block["reasonData"] = reason_data
    if when is not None:
        block["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    return block


def _dims_map(dimensions: Any) -> dict[str, str]:
    out = {}
    for d in dimensions or []:
        name = getattr(d, "name", None) if not isinstance(d, dict) else d.get("Name")
        value = getattr(d, "value", None) if not isinstance(d, dict) else d.get("Value")
        out[str(name)] = str(value)
    return out


def configuration(alarm: Any) -> dict[str, Any]:
    """The ``configuration`` block of the state-change event."""
    if getattr(alarm, "rule", None):
        block: dict[str, Any] = {"alarmRule": alarm.rule}
        if alarm.description:
            block["description"] = alarm.description
        return block
    metrics: list[dict[str, Any]] = []
    if alarm.metric_data_queries:
        for q in alarm.metric_data_queries:
            entry: dict[str, Any] = {"id": q.id}
            if q.expression:
                entry["expression"] = q.expression
            if q.label:
                entry["label"] = q.label
            if q.metric_stat is not None:
                ms = q.metric_stat
                entry["metricStat"] = {
                    "metric": {"dimensions": _dims_map(ms.metric.dimensions), "name": ms.metric.metric_name,
                               "namespace": ms.metric.namespace},
                    "period": int(ms.period), "stat": ms.stat,
                }
            entry["returnData"] = metricdata._is_true(q.return_data)
            metrics.append(entry)
    else:
        metrics.append({
            "id": f"{alarm.name}-m1",
            "metricStat": {
                "metric": {"dimensions": _dims_map(alarm.dimensions), "name": alarm.metric_name,
                           "namespace": alarm.namespace},
                "period": int(alarm.period), "stat": alarm.extended_statistic or alarm.statistic,
            },
            "returnData": True,
        })
    out: dict[str, Any] = {"metrics": metrics}
    if alarm.description:
        out["description"] = alarm.description
    return out


# --------------------------------------------------------------------------------------------------------------------
# Notifications (events and actions) run on one worker so API calls and the evaluator never wait on delivery.

Notifier = Callable[[], None]
_outbox: queue.Queue[Notifier | None] = queue.Queue()
_worker: threading.Thread | None = None


def _drain() -> None:
    while True:
        job = _outbox.get()
        if job is None:
            return
        try:
            job()
        except Exception:
            log.exception("CloudWatch alarm notification failed")


def start_notifier() -> None:
    """Start the notification worker (idempotent)."""
    global _worker
    if _worker is None or not _worker.is_alive():
        _worker = threading.Thread(target=_drain, name="cloudwatch-alarm-notifier", daemon=True)
        _worker.start()


def stop_notifier() -> None:
    """Stop the notification worker after the jobs already queued."""
    global _worker
    if _worker is not None:
        _outbox.put(None)
        _worker.join(timeout=5)
        _worker = None


def on_state_change(account_id: str, region: str, alarm: Any, old: dict[str, Any], when: datetime) -> None:
    """Record history for a state change and queue its event and actions."""
    new_data = _parse_json(alarm.state_reason_data)
    old_data = _parse_json(old["reason_data"])
    data = {
        "version": "1.0",
        "oldState": {k: v for k, v in (("stateValue", old["value"]), ("stateReason", old["reason"]),
                                       ("stateReasonData", old_data)) if v},
        "newState": {k: v for k, v in (("stateValue", alarm.state_value), ("stateReason", alarm.state_reason),
                                       ("stateReasonData", new_data)) if v},
    }
    add_history(account_id, region, history_item(
        alarm, "StateUpdate", f"Alarm updated from {old['value']} to {alarm.state_value}", data, when))
    detail = {
        "alarmName": alarm.name,
        "state": _state_block(alarm.state_value, alarm.state_reason, alarm.state_reason_data, when),
        "previousState": _state_block(old["value"], old["reason"], old["reason_data"], old["timestamp"]),
        "configuration": configuration(alarm),
    }
    actions = []
    if alarm.actions_enabled:
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                   "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(alarm.state_value, []) or []
    message = sns_message(account_id, region, alarm, old["value"], when)
    arn = alarm.alarm_arn
    lambda_event = {
        "source": "aws.cloudwatch", "alarmArn": arn, "accountId": account_id,
        "time": detail["state"]["timestamp"], "region": region,
        "alarmData": {"alarmName": alarm.name, "state": detail["state"], "previousState": detail["previousState"],
                      "configuration": detail["configuration"]},
    }

    def deliver() -> None:
        from eventdeploy.localcloud.events.emit import emit_service_event

        try:
            emit_service_event(account_id, region, "aws.cloudwatch", "CloudWatch Alarm State Change", detail, [arn])
        except Exception:
            # A failed event must not cost the alarm its actions (AWS runs them independently).
            log.exception("emitting the state-change event of alarm %s failed", alarm.name)
        for action in actions:
            _run_action(account_id, region, alarm, action, message, lambda_event)

    _outbox.put(deliver)


def sns_message(account_id: str, region: str, alarm: Any, old_state: str, when: datetime) -> dict[str, Any]:
    """The JSON an alarm publishes to an SNS topic action."""
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name, "Namespace": alarm.namespace,
        "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
        "Statistic": alarm.extended_statistic or (alarm.statistic or "").upper(),
        "Unit": alarm.unit,
        "Dimensions": [{"value": v, "name": k} for k, v in _dims_map(alarm.dimensions).items()],
        "Period": alarm.period, "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator, "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    message = {
        "AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp.isoformat(),
        "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason,
        "StateChangeTime": when.isoformat(), "Region": REGION_NAMES.get(region, region), "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state, "OKActions": list(alarm.ok_actions), "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions), "Trigger": trigger,
    }
    if getattr(alarm, "rule", None):
        # A composite alarm's notification carries its rule instead of a metric trigger.
        del message["Trigger"]
        message["AlarmRule"] = alarm.rule
    return message


def _run_action(account_id: str, region: str, alarm: Any, action: str, message: dict[str, Any],
                lambda_event: dict[str, Any]) -> None:
    """Run one alarm action (SNS publish or asynchronous Lambda invoke) and record it in the history."""
    from eventdeploy.localcloud import internal

    when = now_dt()
    parts = action.split(":")
    service = parts[2] if len(parts) >= 6 else ""
    try:
        if service == "sns":
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
            internal.client("sns", parts[4], parts[3]).publish(
                TopicArn=action, Message=json.dumps(message),
                Subject=f'{alarm.state_value}: "{alarm.name}" in {REGION_NAMES.get(region, region)}'[:100],
            )
        elif service == "lambda":
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions-Lambda.html
            internal.client("lambda", parts[4], parts[3]).invoke(
                FunctionName=action, InvocationType="Event", Payload=json.dumps(lambda_event).encode())
        else:
            raise ValueError(f"the local cloud runs SNS and Lambda alarm actions, not {service or action!r}")
    except Exception as exc:
        add_history(account_id, region, history_item(
            alarm, "Action", f"Failed to execute action {action}",
            {"actionState": "Failed", "notificationResource": action, "error": str(exc)}, when))
        return
    add_history(account_id, region, history_item(
        alarm, "Action", f"Successfully executed action {action}",
        {"actionState": "Succeeded", "notificationResource": action,
         "stateUpdateTimestamp": int(when.timestamp() * 1000)}, when))


# --------------------------------------------------------------------------------------------------------------------
# Evaluation against the store


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
        chosen = [q for q in alarm.metric_data_queries if metricdata._is_true(q.return_data)]
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


def _long_time(when: Any) -> str:
    if not isinstance(when, datetime):
        return ""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%A %d %B, %Y %H:%M:%S UTC")


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

    def changed_at(c: Any) -> float:
        when = getattr(c, "state_transitioned_timestamp", None) or c.state_updated_timestamp
        return when.timestamp() if isinstance(when, datetime) else 0.0

    latest = max(children, key=changed_at)
    when = getattr(latest, "state_transitioned_timestamp", None) or latest.state_updated_timestamp
    reason = f"{latest.alarm_arn} transitioned to {latest.state_value} at {_long_time(when)}"
    data = {"triggeringAlarms": [{"arn": c.alarm_arn, "state": {
        "value": c.state_value, "timestamp": _state_block(c.state_value, "", None, _aware(
            getattr(c, "state_transitioned_timestamp", None) or c.state_updated_timestamp)).get("timestamp")}}
        for c in children]}
    return Outcome(state, reason, data)


def _aware(when: Any) -> datetime | None:
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
