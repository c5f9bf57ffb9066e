"""What a state change sets off: the history item, the ``CloudWatch Alarm State Change`` event, SNS/Lambda actions.

Specs: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html (event),
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions-Lambda.html (Lambda payload).
Delivery runs on one worker thread, in order, so API calls and the evaluator never wait on it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventdeploy.localcloud.cloudwatch import action_policy, metricdata
from eventdeploy.localcloud.cloudwatch.history import add_history, history_item, now_dt

log = logging.getLogger("eventdeploy.localcloud.cloudwatch")

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)",
    "eu-west-2": "EU (London)", "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)", "ap-northeast-1": "Asia Pacific (Tokyo)",
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
            entry["returnData"] = metricdata.is_true(q.return_data)
            metrics.append(entry)
    else:
        metrics.append({
            # AWS shows a generated UUID here; derive it from the ARN so it stays the same for the alarm.
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),
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


def full_configuration(alarm: Any) -> dict[str, Any]:
    """The ``configuration`` of a Configuration Change event: the alarm's settings as well as what it watches."""
    block = configuration(alarm)
    if not getattr(alarm, "rule", None):
        block.update({"evaluationPeriods": int(alarm.evaluation_periods), "threshold": alarm.threshold,
                      "comparisonOperator": alarm.comparison_operator,
                      "treatMissingData": alarm.treat_missing_data or "missing"})
        if alarm.datapoints_to_alarm:
            block["datapointsToAlarm"] = int(alarm.datapoints_to_alarm)
    updated = alarm.configuration_updated_timestamp
    block.update({"alarmName": alarm.name, "actionsEnabled": bool(alarm.actions_enabled),
                  "timestamp": _state_block("", "", None, updated)["timestamp"],
                  "okActions": list(alarm.ok_actions), "alarmActions": list(alarm.alarm_actions),
                  "insufficientDataActions": list(alarm.insufficient_data_actions)})
    return block


def on_configuration_change(account_id: str, region: str, alarm: Any, operation: str,
                            previous: dict[str, Any] | None = None) -> None:
    """Queue the ``CloudWatch Alarm Configuration Change`` event of a create, update or delete."""
    detail: dict[str, Any] = {
        "alarmName": alarm.name, "operation": operation,
        "state": {"value": alarm.state_value,
                  "timestamp": _state_block("", "", None, alarm.state_updated_timestamp)["timestamp"]},
        "configuration": full_configuration(alarm),
    }
    if previous is not None:
        detail["previousConfiguration"] = previous
    arn = alarm.alarm_arn

    def deliver() -> None:
        from eventdeploy.localcloud.events.emit import emit_service_event

        emit_service_event(account_id, region, "aws.cloudwatch", "CloudWatch Alarm Configuration Change", detail,
                           [arn])

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
            client = internal.client("lambda", parts[4], parts[3])
            try:
                policy = client.get_policy(FunctionName=action)["Policy"]
            except client.exceptions.ResourceNotFoundException:
                policy = None
            if not action_policy.allows_alarm(policy, alarm.alarm_arn, account_id):
                raise PermissionError(
                    f"CloudWatch is not authorized to invoke {action}: give the function a resource policy for "
                    f"principal {action_policy.PRINCIPAL} (aws lambda add-permission --principal "
                    f"{action_policy.PRINCIPAL} --source-arn {alarm.alarm_arn} ...)")
            client.invoke(FunctionName=action, InvocationType="Event", Payload=json.dumps(lambda_event).encode())
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
