"""Wire the store, statistics, metric math and alarms into moto's CloudWatch backend and responses.

Replaced (the store supersedes moto's single list of data, so these cannot delegate to moto's versions):
``CloudWatchBackend.put_metric_data`` (still runs moto's validation), ``get_metric_statistics``,
``get_metric_data``, ``list_metrics`` and the ``GetMetricStatistics`` / ``ListMetrics`` / ``GetMetricData``
/ ``PutMetricData`` responses (moto drops ExtendedStatistics, RecentlyActive, MaxDatapoints, NextToken and
EntityMetricData).
Wrapped, calling the previous implementation: ``put_metric_alarm``, ``delete_alarms``, ``Alarm.update_state``.
Added: the ``DescribeAlarmHistory`` and ``PutCompositeAlarm`` actions, which moto lacks; ``DescribeAlarms`` and
``DescribeAlarmsForMetric`` are answered here so their documented filters and paging behave as AWS's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventdeploy.localcloud.cloudwatch import composite, history, metricdata, notify, query
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.evaluation import OPERATORS, TREATMENTS
from eventdeploy.localcloud.cloudwatch.mathexpr import MathError
from eventdeploy.localcloud.cloudwatch.store import dim_key, epoch, region_store, stored_timestamp
from eventdeploy.localcloud.cloudwatch.timegrid import InvalidPeriod, check_period, round_start

ALARM_PERIODS = (10, 20, 30)
MAX_METRICS_PER_PUT = 1000
MAX_VALUES = 150
VALUE_LIMIT = 2.0 ** 360
TWO_WEEKS = 14 * 86400
TWO_HOURS = 2 * 3600
LIST_PAGE = 500
_ORIGINALS: dict[str, Callable[..., Any]] = {}
# Continuations of ListMetrics and GetMetricData pages, by NextToken (single use, as AWS's tokens are).
_pages: dict[str, list[dict[str, Any]]] = {}


def _exc() -> Any:
    from moto.cloudwatch import exceptions

    return exceptions


def ingest(account_id: str, region: str, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """Store PutMetricData's already-validated MetricData members."""
    store = region_store(account_id, region)
    now = time.time()
    for member in metric_data:
        resolution = int(member.get("StorageResolution") or 60)
        ts = stored_timestamp(epoch(member.get("Timestamp"), now), resolution)
        unit = str(member.get("Unit") or "None")
        series = store.series(namespace, member["MetricName"], dim_key(member.get("Dimensions")))
        if member.get("Values"):
            counts = member.get("Counts") or [1.0] * len(member["Values"])
            for value, count in zip(member["Values"], counts, strict=True):
                v, c = float(value), float(count)
                series.add((ts, v * c, c, v, v, unit))
        elif member.get("StatisticValues"):
            sv = member["StatisticValues"]
            series.add((ts, float(sv["Sum"]), float(sv["SampleCount"]), float(sv["Minimum"]),
                        float(sv["Maximum"]), unit))
        else:
            v = float(member.get("Value", 0.0))
            series.add((ts, v, 1.0, v, v, unit))


def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """PutMetricData into the indexed store (after moto's validation of each member)."""
    if not namespace:
        raise _exc().InvalidParameterValue("The parameter Namespace is required.")
    if namespace.startswith("AWS/"):
        raise _exc().InvalidParameterValue(
            f"The value {namespace} for parameter Namespace is invalid: namespaces starting with AWS/ are "
            "reserved for AWS services.")
    if len(metric_data) > MAX_METRICS_PER_PUT:
        raise _exc().InvalidParameterValue(
            f"The collection MetricData must not have a size greater than {MAX_METRICS_PER_PUT} "
            f"(got {len(metric_data)}); split the data over several PutMetricData calls.")
    now = time.time()
    for i, metric in enumerate(metric_data):
        self._validate_parameters_put_metric_data(metric, i + 1)
        _validate_datum(metric, i + 1, now)
    ingest(self.account_id, self.region_name, namespace, metric_data)


def _validate_datum(metric: dict[str, Any], n: int, now: float) -> None:
    """AWS's limits on one MetricData member that moto does not check."""
    exc = _exc()
    res = metric.get("StorageResolution")
    if res is not None and int(res) not in (1, 60):
        raise exc.InvalidParameterValue(
            f"The value {res} for parameter MetricData.member.{n}.StorageResolution is invalid: "
            "use 1 (high resolution) or 60 (standard).")
    values = list(metric.get("Values") or [])
    if "Value" in metric:
        values.append(metric["Value"])
    if len(metric.get("Values") or []) > MAX_VALUES:
        raise exc.InvalidParameterValue(
            f"The collection MetricData.member.{n}.Values must not have more than {MAX_VALUES} values "
            f"(got {len(metric['Values'])}).")
    for value in values:
        v = float(value)
        if math.isinf(v) or math.isnan(v) or abs(v) > VALUE_LIMIT:
            raise exc.InvalidParameterValue(
                f"The value {value} for parameter MetricData.member.{n}.Value is invalid: values must be finite "
                "and within -2^360 to 2^360.")
    ts = metric.get("Timestamp")
    if ts is not None:
        t = epoch(ts, now)
        if t < now - TWO_WEEKS or t > now + TWO_HOURS:
            raise exc.InvalidParameterValue(
                f"The parameter MetricData.member.{n}.Timestamp ({ts}) must be no more than two weeks in the past "
                "and no more than two hours in the future.")


def _period(period: Any, field: str = "Period") -> int:
    try:
        return check_period(period, field)
    except InvalidPeriod as exc:
        raise _exc().InvalidParameterValue(str(exc)) from None


def get_metric_statistics(
    self: Any, namespace: str, metric_name: str, start_time: datetime, end_time: datetime, period: int,
    stats: list[str], dimensions: list[dict[str, str]], unit: str | None = None,
    extended_statistics: list[str] | None = None,
) -> list[dict[str, Any]]:
    """GetMetricStatistics from the store, with ExtendedStatistics and AWS's period alignment."""
    exc = _exc()
    extended_statistics = list(extended_statistics or [])
    if not stats and not extended_statistics:
        raise exc.InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics")
    if stats and extended_statistics:
        raise exc.InvalidParameterCombination(
            "The parameters Statistics and ExtendedStatistics are mutually exclusive; specify only one.")
    for s in stats:
        if s not in st.BASIC:
            raise exc.InvalidParameterValue(
                f"The value {s} for parameter Statistics is not one of {', '.join(st.BASIC)}.")
    for s in extended_statistics:
        try:
            if not st.parse_stat(s).extended:
                raise st.InvalidStatistic(f"{s} belongs in Statistics, not ExtendedStatistics")
        except st.InvalidStatistic as err:
            raise exc.InvalidParameterValue(
                f"The value {s} for parameter ExtendedStatistics is invalid: {err}") from None
    p = _period(period)
    now = time.time()
    start, end = epoch(start_time, now), epoch(end_time, now)
    if start >= end:
        raise exc.InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    store = region_store(self.account_id, self.region_name)
    try:
        return query.metric_statistics(store, namespace, metric_name, dimensions, round_start(start, p, now), end,
                                       p, stats, extended_statistics, unit)
    except query.TooManyDatapoints as err:
        raise exc.InvalidParameterCombination(str(err)) from None


def get_metric_data(
    self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime,
    scan_by: str = "TimestampDescending",
) -> list[dict[str, Any]]:
    """GetMetricData from the store: MetricStat (any statistic), metric math, ReturnData, Label, ScanBy."""
    exc = _exc()
    now = time.time()
    if not queries:
        raise exc.ValidationError("The parameter MetricDataQueries is required and must not be empty.")
    try:
        return metricdata.get_metric_data(region_store(self.account_id, self.region_name), queries,
                                          epoch(start_time, now), epoch(end_time, now), now, scan_by)
    except InvalidPeriod as err:
        raise exc.InvalidParameterValue(str(err)) from None
    except st.InvalidStatistic as err:
        raise exc.InvalidParameterValue(str(err)) from None
    except (MathError, metricdata.InvalidQuery) as err:
        raise exc.ValidationError(str(err)) from None


def list_metrics(
    self: Any, next_token: str | None, namespace: str, metric_name: str, dimensions: list[dict[str, str]],
    recently_active: str | None = None,
) -> tuple[str | None, list[dict[str, Any]]]:
    """ListMetrics from the store's index (500 per page), filtered by namespace, name, dimensions, activity."""
    if recently_active not in (None, "", "PT3H"):
        raise _exc().InvalidParameterValue(
            f"The value {recently_active} for parameter RecentlyActive is invalid: PT3H is the only valid value.")
    active_since = time.time() - 3 * 3600 if recently_active else None
    if next_token:
        if next_token not in _pages:
            raise _exc().InvalidParameterValue("Request parameter NextToken is invalid")
        return _page(_pages.pop(next_token))
    wanted = [(d.get("Name"), d.get("Value")) for d in dimensions or []]
    found = []
    for series in region_store(self.account_id, self.region_name).all_series():
        if namespace and series.namespace != namespace:
            continue
        if metric_name and series.name != metric_name:
            continue
        have = dict(series.dims)
        if any(n not in have or (v is not None and have[n] != v) for n, v in wanted):
            continue
        if active_since is not None and series.newest() < active_since:
            continue
        found.append({"Namespace": series.namespace, "MetricName": series.name,
                      "Dimensions": [{"Name": k, "Value": v} for k, v in series.dims]})
    return _page(found)


def _page(metrics: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    if len(metrics) <= LIST_PAGE:
        return None, metrics
    from moto.moto_api._internal import mock_random

    token = str(mock_random.uuid4())
    _pages[token] = metrics[LIST_PAGE:]
    return token, metrics[:LIST_PAGE]


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
    ext = kwargs.get("extended_statistic")
    if ext and not ext.startswith("p"):
        # moto accepts only pNN; AWS also takes tm90, IQM, PR(n:m)... (validated above), so hand moto a stand-in.
        kwargs["extended_statistic"] = "p50"
    alarm = _ORIGINALS["put_metric_alarm"](self, *args, **kwargs)
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
    return alarm


def delete_alarms(self: Any, alarm_names: list[str]) -> None:
    """DeleteAlarms, recording AWS's ConfigurationUpdate history item for each deleted alarm."""
    doomed = [self.alarms[n] for n in alarm_names if n in self.alarms]
    _ORIGINALS["delete_alarms"](self, alarm_names)
    when = history.now_dt()
    for alarm in doomed:
        history.add_history(self.account_id, self.region_name, history.history_item(
            alarm, "ConfigurationUpdate", f'Alarm "{alarm.name}" deleted',
            {"type": "Delete", "version": "1.0", "alarmName": alarm.name}, when))


def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
    """Alarm.update_state (evaluator and SetAlarmState): on a real change, history, event and actions."""
    old = {"value": self.state_value, "reason": self.state_reason, "reason_data": self.state_reason_data,
           "timestamp": getattr(self, "state_updated_timestamp", None)}
    _ORIGINALS["update_state"](self, reason, reason_data, state_value)
    when = history.now_dt()
    self.state_updated_timestamp = when
    if old["value"] == state_value:
        return
    self.state_transitioned_timestamp = when
    parts = self.alarm_arn.split(":")
    notify.on_state_change(parts[4], parts[3], self, old, when)


def response_get_metric_statistics(self: Any) -> Any:
    """GetMetricStatistics response that passes ExtendedStatistics through (moto drops it)."""
    from moto.core.responses import ActionResult

    name = self._get_param("MetricName")
    datapoints = self.cloudwatch_backend.get_metric_statistics(
        self._get_param("Namespace"), name, self._get_param("StartTime"), self._get_param("EndTime"),
        self._get_param("Period"), self._get_param("Statistics", []), self._get_param("Dimensions", []),
        unit=self._get_param("Unit"), extended_statistics=self._get_param("ExtendedStatistics", []),
    )
    return ActionResult({"Label": name, "Datapoints": datapoints})


def response_put_metric_data(self: Any) -> Any:
    """PutMetricData response that also stores EntityMetricData's metrics (moto reads MetricData only)."""
    from moto.core.responses import EmptyResult

    metric_data = list(self._get_param("MetricData", []) or [])
    for entity in self._get_param("EntityMetricData", []) or []:
        # The entity links telemetry in the console; the data points are ordinary metric data.
        metric_data.extend(entity.get("MetricData") or [])
    if not metric_data:
        raise _exc().InvalidParameterValue("PutMetricData needs MetricData or EntityMetricData with data points.")
    self.cloudwatch_backend.put_metric_data(self._get_param("Namespace"), metric_data)
    return EmptyResult()


def response_get_metric_data(self: Any) -> Any:
    """GetMetricData response with MaxDatapoints / NextToken paging (moto ignores both)."""
    from moto.core.responses import ActionResult

    exc = _exc()
    params = self._get_params()
    token = params.get("NextToken")
    max_points = int(params.get("MaxDatapoints") or metricdata.DEFAULT_MAX_DATAPOINTS)
    if max_points < 1:
        raise exc.InvalidParameterValue(f"The value {max_points} for parameter MaxDatapoints must be at least 1.")
    if token:
        if token not in _pages:
            raise exc.InvalidParameterValue(f"The NextToken {token!r} is invalid or was already used.")
        results = _pages.pop(token)
    else:
        results = self.cloudwatch_backend.get_metric_data(
            queries=params.get("MetricDataQueries", []), start_time=params["StartTime"], end_time=params["EndTime"],
            scan_by=params.get("ScanBy") or "TimestampDescending")
    page, rest = metricdata.paginate(results, max_points)
    out: dict[str, Any] = {"MetricDataResults": page, "Messages": []}
    if rest:
        from moto.moto_api._internal import mock_random

        next_token = str(mock_random.uuid4())
        _pages[next_token] = rest
        out["NextToken"] = next_token
    return ActionResult(out)


def response_list_metrics(self: Any) -> Any:
    """ListMetrics response that passes RecentlyActive through (moto drops it)."""
    from moto.core.responses import ActionResult

    next_token, metrics = self.cloudwatch_backend.list_metrics(
        self._get_param("NextToken"), self._get_param("Namespace"), self._get_param("MetricName"),
        self._get_params().get("Dimensions", []), recently_active=self._get_param("RecentlyActive"))
    return ActionResult({"Metrics": metrics, "NextToken": next_token})


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


def install() -> None:
    """Patch moto's CloudWatch (idempotent)."""
    from moto.cloudwatch.models import Alarm, CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    if _ORIGINALS:
        return
    from eventdeploy.localcloud.cloudwatch import cfn

    cfn.install()
    _ORIGINALS["put_metric_alarm"] = CloudWatchBackend.put_metric_alarm
    _ORIGINALS["delete_alarms"] = CloudWatchBackend.delete_alarms
    _ORIGINALS["update_state"] = Alarm.update_state
    CloudWatchBackend.put_metric_data = put_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign,assignment]
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.list_metrics = list_metrics  # type: ignore[method-assign,assignment]
    CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]
    CloudWatchBackend.delete_alarms = delete_alarms  # type: ignore[method-assign]
    Alarm.update_state = update_state  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_statistics = response_get_metric_statistics  # type: ignore[method-assign]
    CloudWatchResponse.list_metrics = response_list_metrics  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_data = response_get_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.put_metric_data = response_put_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarm_history = response_describe_alarm_history  # type: ignore[attr-defined]
    CloudWatchResponse.put_composite_alarm = response_put_composite_alarm  # type: ignore[attr-defined]
    CloudWatchResponse.describe_alarms = response_describe_alarms  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarms_for_metric = response_describe_alarms_for_metric  # type: ignore[method-assign]
