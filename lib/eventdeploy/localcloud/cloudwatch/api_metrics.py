"""CloudWatch's metric API on the indexed store: PutMetricData, GetMetricStatistics, GetMetricData, ListMetrics.

Backend methods replace moto's (the store supersedes moto's single list of data, so they cannot delegate to it);
the ``response_*`` functions replace moto's response methods where moto drops a documented parameter.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from eventdeploy.localcloud.cloudwatch import metricdata, query
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.errors import moto_exceptions as _exc
from eventdeploy.localcloud.cloudwatch.mathexpr import MathError
from eventdeploy.localcloud.cloudwatch.store import dim_key, epoch, region_store, stored_timestamp
from eventdeploy.localcloud.cloudwatch.timegrid import InvalidPeriod, check_period, round_start

MAX_METRICS_PER_PUT = 1000
MAX_VALUES = 150
VALUE_LIMIT = 2.0 ** 360
TWO_WEEKS = 14 * 86400
TWO_HOURS = 2 * 3600
LIST_PAGE = 500
# Continuations of ListMetrics and GetMetricData pages, by NextToken (single use, as AWS's tokens are).
_pages: dict[str, list[dict[str, Any]]] = {}


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
