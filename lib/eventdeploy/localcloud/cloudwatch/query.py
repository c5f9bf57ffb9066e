"""GetMetricStatistics and the MetricStat part of GetMetricData, answered from the indexed store.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html and
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.store import Entry, RegionStore, dim_key
from eventdeploy.localcloud.cloudwatch.timegrid import bucket_index, bucket_starts, period_serves

MAX_STATISTICS_DATAPOINTS = 1440


class TooManyDatapoints(ValueError):
    """The request spans more periods than GetMetricStatistics returns."""


def to_datetime(ts: float) -> datetime:
    """A timezone-aware UTC datetime for an epoch timestamp."""
    return datetime.fromtimestamp(ts, UTC)


def bucketed(
    store: RegionStore, namespace: str, name: str, dimensions: Any, start: float, end: float, period: int,
    unit: str | None,
) -> list[tuple[float, list[Entry]]]:
    """(period start, entries) for every period on the grid from ``start`` that holds data, oldest first."""
    series = store.find(namespace, name, dim_key(dimensions))
    if series is None or not period_serves(start, period, time.time()):
        return []
    out: list[tuple[float, list[Entry]]] = []
    current = -1
    for entry in series.between(start, end):
        if unit and entry[5] != unit:
            continue
        idx = bucket_index(entry[0], start, period)
        if idx != current:
            out.append((start + idx * period, []))
            current = idx
        out[-1][1].append(entry)
    return out


def _unit_of(entries: Sequence[Entry]) -> str:
    return entries[-1][5] if entries else "None"


def metric_statistics(
    store: RegionStore, namespace: str, name: str, dimensions: Any, start: float, end: float, period: int,
    statistics: Sequence[str], extended: Sequence[str], unit: str | None,
) -> list[dict[str, Any]]:
    """Datapoints as GetMetricStatistics returns them (oldest first), one per period that holds data."""
    requested = len(bucket_starts(start, end, period))
    if requested > MAX_STATISTICS_DATAPOINTS:
        raise TooManyDatapoints(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_STATISTICS_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, "
            "or decreasing the time range."
        )
    ext = [st.parse_stat(name) for name in extended]
    datapoints = []
    for bucket, entries in bucketed(store, namespace, name, dimensions, start, end, period, unit):
        agg = st.aggregate(entries)
        point: dict[str, Any] = {"Timestamp": to_datetime(bucket), "Unit": unit or _unit_of(entries)}
        for stat in statistics:
            point[stat] = st.basic(stat, agg)
        if ext:
            values = st.raw_values(entries)
            found: dict[str, float] = {}
            if values:
                for stat_ in ext:
                    value = st.extended(stat_, values)
                    if value is not None:
                        found[stat_.name] = value
            point["ExtendedStatistics"] = found
        datapoints.append(point)
    return datapoints


def stat_series(
    store: RegionStore, metric: dict[str, Any], stat: st.Stat, start: float, end: float, period: int,
    unit: str | None,
) -> tuple[list[float], list[float], list[int]]:
    """(timestamps, values, sample counts) of one MetricStat, oldest first, periods without a value left out."""
    timestamps: list[float] = []
    values: list[float] = []
    counts: list[int] = []
    buckets = bucketed(store, metric["Namespace"], metric["MetricName"], metric.get("Dimensions"), start, end,
                       period, unit)
    for bucket, entries in buckets:
        value = st.compute(stat, entries)
        if value is None:
            continue
        timestamps.append(bucket)
        values.append(value)
        counts.append(int(st.aggregate(entries)[0]))
    return timestamps, values, counts
