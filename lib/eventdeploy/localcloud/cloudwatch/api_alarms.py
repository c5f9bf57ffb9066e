"""CloudWatch's alarm API on moto's models: PutMetricAlarm/DeleteAlarms/state changes (wrapping moto's), and
PutCompositeAlarm, DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory responses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud.cloudwatch import composite, history, metricdata, notify
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.errors import moto_exceptions as _exc
from eventdeploy.localcloud.cloudwatch.evaluation import OPERATORS, TREATMENTS
from eventdeploy.localcloud.cloudwatch.store import dim_key, epoch

ALARM_PERIODS = (10, 20, 30)
# moto's implementations that the wrappers below call (filled by patches.install).
ORIGINALS: dict[str, Callable[..., Any]] = {}


def _validate_alarm(kwargs: dict[str, Any]) -> None:
    exc = _exc()
    if kwargs.get("rule"):
        return
    op = kwargs.get("comparison_operator")
    if op not in OPERATORS:
        raise exc.ValidationError(
            f"Value {op!r} at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value "
            f"set: [{', '.join(OPERATORS)}] (anomaly-detection operators are not implemented locally)")
    treat = kwargs.get("treat_missing_data")
    if treat is not None and treat not in TREATMENTS:
        raise exc.ValidationError(
            f"The value {treat!r} for parameter TreatMissingData is invalid: use one of {', '.join(TREATMENTS)}.")
    if kwargs.get("threshold") is None:
        raise exc.ValidationError("Threshold is required for an alarm on a static threshold; set Threshold "
                                  "(anomaly-detection alarms with ThresholdMetricId are not implemented locally).")
    n = int(kwargs.get("evaluation_periods") or 0)
    if n < 1:
        raise exc.ValidationError("The parameter EvaluationPeriods must be at least 1.")
    m = kwargs.get("datapoints_to_alarm")
    if m is not None and not 1 <= int(m) <= n:
        raise exc.ValidationError(
            f"DatapointsToAlarm ({m}) must be between 1 and EvaluationPeriods ({n}).")
    queries = kwargs.get("metric_data_queries") or []
    if queries:
        returned = [q.id for q in queries if metricdata.is_true(q.return_data)]
        if len(returned) != 1:
            raise exc.ValidationError(
                f"Exactly one element of the Metrics list must have ReturnData set to true (found {len(returned)}: "
                f"{', '.join(returned) or 'none'}); set ReturnData false on the others.")
        if kwargs.get("metric_name") or kwargs.get("statistic") or kwargs.get("extended_statistic"):
            raise exc.ValidationError("Metrics cannot be combined with MetricName, Statistic or ExtendedStatistic.")
        try:
            metricdata.validate([{"Id": q.id, **({"Expression": q.expression} if q.expression else {}),
                                  **({"MetricStat": {}} if q.metric_stat is not None else {}),
                                  **({"Period": q.period} if q.period else {})} for q in queries])
        except metricdata.InvalidQuery as err:
            raise exc.ValidationError(str(err)) from None
        periods = {int(q.metric_stat.period) for q in queries if q.metric_stat is not None}
        periods |= {int(q.period) for q in queries if q.metric_stat is None and q.period}
        for p in periods:
            _alarm_period(p)
        period = min(periods) if periods else 60
    else:
        if not kwargs.get("metric_name") or not kwargs.get("namespace"):
            raise exc.ValidationError("A metric alarm needs MetricName and Namespace (or a Metrics list).")
        stat, ext = kwargs.get("statistic"), kwargs.get("extended_statistic")
        if bool(stat) == bool(ext):
            raise exc.ValidationError("Exactly one of Statistic and ExtendedStatistic must be specified.")
        if stat and stat not in st.BASIC:
            raise exc.ValidationError(f"The value {stat!r} for parameter Statistic is not one of "
                                      f"{', '.join(st.BASIC)}.")
        if ext:
            try:
                st.parse_stat(ext)
            except st.InvalidStatistic as err:
                raise exc.InvalidParameterValue(str(err)) from None
        period = _alarm_period(kwargs.get("period"))
    if n * period > 86400:
        raise exc.ValidationError(
            f"The evaluation period of the alarm (EvaluationPeriods {n} x Period {period} s) must not exceed 1 day.")


def _alarm_period(period: Any) -> int:
    try:
        p = int(period)
    except (TypeError, ValueError):
        raise _exc().ValidationError(f"The parameter Period is required for a metric alarm, got {period!r}.") \
            from None
    if p not in ALARM_PERIODS and (p <= 0 or p % 60):
        raise _exc().ValidationError(f"The value {p} for parameter Period is invalid: alarms accept 10, 20, 30 or a "
                                     "multiple of 60 seconds.")
    return p


def put_metric_alarm(self: Any, *args: Any, **kwargs: Any) -> Any:
    """PutMetricAlarm with AWS's validation; a new alarm starts INSUFFICIENT_DATA, an update keeps its state."""
    _validate_alarm(kwargs)
    name = kwargs.get("name", args[0] if args else None)
    previous = self.alarms.get(name)
    previous_config = notify.full_configuration(previous) if previous is not None else None
    ext = kwargs.get("extended_statistic")
    if ext and not ext.startswith("p"):
        # moto accepts only pNN; AWS also takes tm90, IQM, PR(n:m)... (validated above), so hand moto a stand-in.
        kwargs["extended_statistic"] = "p50"
    alarm = ORIGINALS["put_metric_alarm"](self, *args, **kwargs)
    alarm.extended_statistic = ext or alarm.extended_statistic
    when = history.now_dt()
    if previous is not None:
        for attr in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp",
                     "state_transitioned_timestamp"):
            if hasattr(previous, attr):
                setattr(alarm, attr, getattr(previous, attr))
        kind = "Update"
    else:
        alarm.state_value = "INSUFFICIENT_DATA"
        alarm.state_reason = "Unchecked: Initial alarm creation"
        alarm.state_reason_data = None
        alarm.state_updated_timestamp = when
        alarm.state_transitioned_timestamp = when
        kind = "Create"
    alarm.configuration_updated_timestamp = when
    history.add_history(self.account_id, self.region_name, history.history_item(
        alarm, "ConfigurationUpdate", f'Alarm "{alarm.name}" {"updated" if previous else "created"}',
        {"type": kind, "version": "1.0", "alarmName": alarm.name}, when))
    notify.on_configuration_change(self.account_id, self.region_name, alarm, kind.lower(), previous_config)
    return alarm


def delete_alarms(self: Any, alarm_names: list[str]) -> None:
    """DeleteAlarms, recording AWS's ConfigurationUpdate history item for each deleted alarm."""
    doomed = [self.alarms[n] for n in alarm_names if n in self.alarms]
    ORIGINALS["delete_alarms"](self, alarm_names)
    when = history.now_dt()
    for alarm in doomed:
        history.add_history(self.account_id, self.region_name, history.history_item(
            alarm, "ConfigurationUpdate", f'Alarm "{alarm.name}" deleted',
            {"type": "Delete", "version": "1.0", "alarmName": alarm.name}, when))
        notify.on_configuration_change(self.account_id, self.region_name, alarm, "delete")


def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
    """Alarm.update_state (evaluator and SetAlarmState): on a real change, history, event and actions."""
    old = {"value": self.state_value, "reason": self.state_reason, "reason_data": self.state_reason_data,
           "timestamp": getattr(self, "state_updated_timestamp", None)}
    ORIGINALS["update_state"](self, reason, reason_data, state_value)
    when = history.now_dt()
    self.state_updated_timestamp = when
    if old["value"] == state_value:
        return
    self.state_transitioned_timestamp = when
    parts = self.alarm_arn.split(":")
    notify.on_state_change(parts[4], parts[3], self, old, when)


def response_put_composite_alarm(self: Any) -> Any:
    """PutCompositeAlarm (moto lacks it): validate the rule and its alarms, then store it as a moto Alarm."""
    from moto.core.responses import EmptyResult

    exc = _exc()
    backend = self.cloudwatch_backend
    name, rule = self._get_param("AlarmName"), self._get_param("AlarmRule")
    if not name:
        raise exc.ValidationError("The parameter AlarmName is required.")
    try:
        node = composite.parse(rule or "")
    except composite.InvalidRule as err:
        raise exc.ValidationError(str(err)) from None
    find = composite.lookup(backend.alarms)
    missing = [ref for ref in composite.referenced(node) if find(ref) is None]
    if missing:
        raise exc.ValidationError(f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the "
                                  "alarm rule do not exist; create them first.")
    actions_enabled = self._get_param("ActionsEnabled")
    backend.put_metric_alarm(
        name=name, namespace=None, metric_name=None, comparison_operator=None, evaluation_periods=None,
        period=None, threshold=None, statistic=None, description=self._get_param("AlarmDescription"),
        dimensions=[], alarm_actions=self._get_param("AlarmActions", []), ok_actions=self._get_param("OKActions", []),
        insufficient_data_actions=self._get_param("InsufficientDataActions", []),
        actions_enabled=True if actions_enabled is None else actions_enabled in (True, "true", "True"),
        rule=rule, tags=self._get_param("Tags", []),
    )
    backend.alarms[name].alarm_rule = rule
    return EmptyResult()


def response_describe_alarms(self: Any) -> Any:
    """DescribeAlarms as documented: combined filters, AlarmTypes, Children/ParentsOfAlarmName, MaxRecords paging."""
    from moto.core.responses import ActionResult

    exc = _exc()
    backend = self.cloudwatch_backend
    names = self._get_param("AlarmNames", []) or []
    prefix = self._get_param("AlarmNamePrefix")
    action_prefix = self._get_param("ActionPrefix")
    state = self._get_param("StateValue")
    types = self._get_param("AlarmTypes", []) or ["MetricAlarm"]
    children_of, parents_of = self._get_param("ChildrenOfAlarmName"), self._get_param("ParentsOfAlarmName")
    if names and prefix:
        raise exc.InvalidParameterCombination("AlarmNames and AlarmNamePrefix cannot be specified together.")
    everything = list(backend.alarms.values())
    if children_of or parents_of:
        # These return related alarms of both kinds and combine with nothing but paging.
        types = ["MetricAlarm", "CompositeAlarm"]
        find = composite.lookup(backend.alarms)
        if children_of:
            parent = backend.alarms.get(children_of)
            refs = composite.referenced(composite.parse(parent.rule)) if parent is not None and parent.rule else []
            found = [a for a in (find(r) for r in refs) if a is not None]
        else:
            child = backend.alarms.get(parents_of)
            found = [a for a in everything if a.rule and child is not None and any(
                find(r) is child for r in composite.referenced(composite.parse(a.rule)))]
    else:
        found = []
        for alarm in everything:
            if names and alarm.name not in names:
                continue
            if prefix and not alarm.name.startswith(prefix):
                continue
            if action_prefix and not any(a.startswith(action_prefix) for a in alarm.alarm_actions):
                continue
            if state and alarm.state_value != state:
                continue
            found.append(alarm)
    found = [a for a in found if ("CompositeAlarm" if a.rule else "MetricAlarm") in types]
    max_records = int(self._get_param("MaxRecords") or 100)
    if not 1 <= max_records <= 100:
        raise exc.InvalidParameterValue(f"The value {max_records} for parameter MaxRecords must be 1 to 100.")
    offset = int(self._get_param("NextToken") or 0)
    page = found[offset:offset + max_records]
    result: dict[str, Any] = {"MetricAlarms": [a for a in page if a.rule is None],
                              "CompositeAlarms": [a for a in page if a.rule is not None]}
    if offset + max_records < len(found):
        result["NextToken"] = str(offset + max_records)
    return ActionResult(result)


def response_describe_alarms_for_metric(self: Any) -> Any:
    """DescribeAlarmsForMetric filtered by every documented field (moto matches only namespace and name)."""
    from moto.core.responses import ActionResult

    wanted_dims = dim_key(self._get_param("Dimensions", []) or [])
    checks = {"statistic": self._get_param("Statistic"), "extended_statistic": self._get_param("ExtendedStatistic"),
              "unit": self._get_param("Unit")}
    period = self._get_param("Period")
    found = []
    for alarm in list(self.cloudwatch_backend.alarms.values()):
        if alarm.rule or alarm.namespace != self._get_param("Namespace"):
            continue
        if alarm.metric_name != self._get_param("MetricName"):
            continue
        if dim_key([{"Name": d.name, "Value": d.value} for d in alarm.dimensions]) != wanted_dims:
            continue
        if any(v is not None and getattr(alarm, k) != v for k, v in checks.items()):
            continue
        if period is not None and int(alarm.period or 0) != int(period):
            continue
        found.append(alarm)
    return ActionResult({"MetricAlarms": found})


def response_describe_alarm_history(self: Any) -> Any:
    """DescribeAlarmHistory: filter by name, type, item type and dates; newest first unless ScanBy ascending."""
    from moto.core.responses import ActionResult

    backend = self.cloudwatch_backend
    name = self._get_param("AlarmName")
    types = self._get_param("AlarmTypes", []) or []
    kind = self._get_param("HistoryItemType")
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    max_records = int(self._get_param("MaxRecords") or 100)
    if not 1 <= max_records <= 100:
        raise _exc().InvalidParameterValue(f"The value {max_records} for parameter MaxRecords must be 1 to 100.")
    now = time.time()
    items = []
    for item in history.history(backend.account_id, backend.region_name):
        if name and item["AlarmName"] != name:
            continue
        if types and item["AlarmType"] not in types:
            continue
        if kind and item["HistoryItemType"] != kind:
            continue
        ts = item["Timestamp"].timestamp()
        if start and ts < epoch(start, now):
            continue
        if end and ts > epoch(end, now):
            continue
        items.append(item)
    if (self._get_param("ScanBy") or "TimestampDescending") == "TimestampDescending":
        items.reverse()
    offset = int(self._get_param("NextToken") or 0)
    page = items[offset:offset + max_records]
    result: dict[str, Any] = {"AlarmHistoryItems": page}
    if offset + max_records < len(items):
        result["NextToken"] = str(offset + max_records)
    return ActionResult(result)
