"""GetMetricData: MetricStat queries and metric math expressions over one time range.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html and
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eventdeploy.localcloud.cloudwatch import insights, mathexpr
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.query import stat_series, to_datetime
from eventdeploy.localcloud.cloudwatch.store import RegionStore
from eventdeploy.localcloud.cloudwatch.timegrid import bucket_starts, check_period, round_start

_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


class InvalidQuery(ValueError):
    """A MetricDataQuery CloudWatch would reject."""


def is_true(value: Any) -> bool:
    """ReturnData's truth: omitted (None) means true, as do true and "true"."""
    if isinstance(value, str):
        return value.lower() != "false"
    return value is None or bool(value)


def validate(queries: Sequence[dict[str, Any]]) -> None:
    """Reject duplicate or malformed Ids and queries with neither or both of MetricStat and Expression."""
    seen: set[str] = set()
    insights_ids: list[str] = []
    for n, q in enumerate(queries, start=1):
        ident = q.get("Id") or ""
        if not _ID.match(ident):
            raise InvalidQuery(
                f"The value {ident!r} for parameter MetricDataQueries.member.{n}.Id is invalid: it must start "
                "with a lowercase letter and contain only letters, numbers and underscores."
            )
        if ident in seen:
            raise InvalidQuery(f"The value {ident!r} for parameter MetricDataQueries.member.{n}.Id is not unique.")
        seen.add(ident)
        has_stat, has_expr = "MetricStat" in q, "Expression" in q
        if has_stat == has_expr:
            raise InvalidQuery(
                f"MetricDataQueries.member.{n} ({ident}) must specify exactly one of MetricStat and Expression."
            )
        if is_insights(q):
            if "Period" not in q:
                raise InvalidQuery(f"MetricDataQueries.member.{n} ({ident}) is a Metrics Insights query and needs "
                                   "a Period.")
            insights_ids.append(ident)
    if len(insights_ids) > 1:
        raise InvalidQuery(f"A GetMetricData request can hold only one Metrics Insights query, got "
                           f"{len(insights_ids)} ({', '.join(insights_ids)}).")


def is_insights(query: dict[str, Any]) -> bool:
    """True for a Metrics Insights (SELECT ...) expression."""
    return str(query.get("Expression", "")).lstrip().upper().startswith("SELECT")


def evaluate(
    store: RegionStore, queries: Sequence[dict[str, Any]], start: float, end: float, now: float,
) -> dict[str, list[mathexpr.TS]]:
    """Every query's time series by Id (an expression may yield several), computed on AWS's period grid."""
    validate(queries)
    metrics: dict[str, mathexpr.TS] = {}
    expressions: dict[str, str] = {}
    selected: dict[str, list[mathexpr.TS]] = {}
    periods: list[int] = []
    for q in queries:
        if "MetricStat" in q:
            ms = q["MetricStat"]
            period = check_period(ms.get("Period"), f"MetricStat.Period of query {q['Id']}")
            stat = st.parse_stat(str(ms.get("Stat")))
            grid_start = round_start(start, period, now)
            stamps, values, _ = stat_series(store, ms["Metric"], stat, grid_start, end, period, ms.get("Unit"))
            label = q.get("Label") or ms["Metric"]["MetricName"]
            grid = bucket_starts(grid_start, end, period)
            metrics[q["Id"]] = mathexpr.TS(dict(zip(stamps, values, strict=True)), period, label, grid)
            periods.append(period)
        elif is_insights(q):
            period = check_period(q.get("Period"), f"Period of query {q['Id']}")
            try:
                parsed = insights.parse(str(q["Expression"]))
            except insights.InvalidInsightsQuery as err:
                raise InvalidQuery(str(err)) from None
            found = insights.run(store, parsed, round_start(start, period, now), end, period, q.get("Label"))
            selected[q["Id"]] = [ts if ts.label else mathexpr.TS(ts.points, ts.period, q["Id"], ts.grid)
                                 for ts in found]
        else:
            expressions[q["Id"]] = str(q["Expression"])

    default_period = periods[0] if periods else 60

    def grid_for(period: int) -> list[float]:
        return bucket_starts(round_start(start, period, now), end, period)

    ctx = mathexpr.Context(metrics=metrics, expressions=expressions, grid_for=grid_for)
    ctx.cache.update(selected)  # math may use an Insights query's array of time series by its Id
    out: dict[str, list[mathexpr.TS]] = {}
    for q in queries:
        ident = q["Id"]
        if ident in metrics:
            out[ident] = [metrics[ident]]
            continue
        if ident in selected:
            out[ident] = selected[ident]
            continue
        value = ctx.resolve(ident)
        if isinstance(value, float) and not periods:
            raise mathexpr.MathError(f"The expression {q['Expression']!r} refers to no metric")
        series = mathexpr.result_series(value, q["Expression"])
        label = q.get("Label")
        named = []
        for ts in series:
            if not ts.grid:
                ts.grid = grid_for(ts.period or default_period)
            if len(series) > 1:
                name = " ".join(p for p in (label, ts.label) if p) or ident
            else:
                name = label if label is not None else ident
            named.append(mathexpr.TS(ts.points, ts.period, name, ts.grid))
        out[ident] = named
    return out


def get_metric_data(
    store: RegionStore, queries: Sequence[dict[str, Any]], start: float, end: float, now: float,
    scan_by: str | None = None,
) -> list[dict[str, Any]]:
    """MetricDataResults as AWS returns them: one per returned query (ReturnData not false), in request order."""
    if start >= end:
        raise InvalidQuery("The parameter StartTime must be less than the parameter EndTime.")
    order = scan_by or "TimestampDescending"
    if order not in ("TimestampDescending", "TimestampAscending"):
        raise InvalidQuery(f"ScanBy must be TimestampDescending or TimestampAscending, got {order!r}.")
    series = evaluate(store, queries, start, end, now)
    results = []
    for q in queries:
        if not is_true(q.get("ReturnData", True)):
            continue
        for ts in series[q["Id"]]:
            items = ts.sorted_items()
            if order == "TimestampDescending":
                items.reverse()
            results.append({
                "Id": q["Id"],
                "Label": ts.label,
                "Timestamps": [to_datetime(t) for t, _ in items],
                "Values": [v for _, v in items],
                "StatusCode": "Complete",
                "Messages": [],
            })
    return results


DEFAULT_MAX_DATAPOINTS = 100_800


def paginate(results: list[dict[str, Any]], max_datapoints: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(this page, the rest): at most ``max_datapoints`` values, a cut result marked PartialData."""
    page: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    room = max_datapoints
    for r in results:
        if rest:
            rest.append(r)
            continue
        n = len(r["Values"])
        if n <= room:
            page.append(r)
            room -= n
            continue
        page.append({**r, "Timestamps": r["Timestamps"][:room], "Values": r["Values"][:room],
                     "StatusCode": "PartialData"})
        rest.append({**r, "Timestamps": r["Timestamps"][room:], "Values": r["Values"][room:]})
        room = 0
    return page, rest
