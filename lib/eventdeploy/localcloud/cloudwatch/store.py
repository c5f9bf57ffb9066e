"""In-memory metric store: one append-only series per (account, region, namespace, name, dimensions).

Publishing is O(1) (a dict lookup and a list append); queries find a metric's series by key and cut the time range
with a binary search, so neither cost grows with the number of other metrics or of data points outside the range.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

# One stored datum: (timestamp epoch s, sum, sample count, minimum, maximum, unit). A raw value v is (t, v, 1, v, v, u);
# a statistic set keeps its aggregates. Tuples keep the hot path allocation-cheap.
Entry = tuple[float, float, float, float, float, str]
DimKey = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, DimKey]

STANDARD_RESOLUTION = 60


def _ts_key(entry: Entry) -> float:
    return entry[0]


class Series:
    """The data points of one metric (namespace, name, exact dimension set), kept sortable by timestamp."""

    __slots__ = ("namespace", "name", "dims", "points", "ordered", "lock", "last_ts")

    def __init__(self, namespace: str, name: str, dims: DimKey) -> None:
        self.namespace = namespace
        self.name = name
        self.dims = dims
        self.points: list[Entry] = []
        self.ordered = True
        self.lock = threading.Lock()
        self.last_ts = float("-inf")

    def add(self, entry: Entry) -> None:
        """Append one entry; out-of-order timestamps only mark the series for a sort at the next read."""
        with self.lock:
            points = self.points
            if points:
                last = points[-1]
                # The same value again in the same (minute- or second-granular) timestamp becomes a weight on the
                # last entry: counters published per event stay one entry per period, percentiles stay exact.
                if (last[0] == entry[0] and last[3] == last[4] == entry[3] == entry[4]
                        and last[5] == entry[5]):
                    points[-1] = (last[0], last[1] + entry[1], last[2] + entry[2], last[3], last[4], last[5])
                    return
            if entry[0] < self.last_ts:
                self.ordered = False
            else:
                self.last_ts = entry[0]
            self.points.append(entry)

    def between(self, start: float, end: float) -> list[Entry]:
        """Entries with ``start <= timestamp < end``, oldest first."""
        with self.lock:
            if not self.ordered:
                self.points.sort(key=_ts_key)
                self.ordered = True
                self.last_ts = self.points[-1][0] if self.points else float("-inf")
            lo = bisect.bisect_left(self.points, start, key=_ts_key)
            hi = bisect.bisect_left(self.points, end, lo=lo, key=_ts_key)
            return self.points[lo:hi]

    def newest(self) -> float:
        """Timestamp of the newest entry (-inf when empty)."""
        return self.last_ts

    def __len__(self) -> int:
        return len(self.points)


@dataclass
class RegionStore:
    """Every series of one account in one region, indexed by (namespace, name) then by dimensions."""

    by_metric: dict[tuple[str, str], dict[DimKey, Series]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def series(self, namespace: str, name: str, dims: DimKey) -> Series:
        """The series for this exact metric, created on first use."""
        by_dims = self.by_metric.get((namespace, name))
        if by_dims is not None:
            found = by_dims.get(dims)
            if found is not None:
                return found
        with self.lock:
            by_dims = self.by_metric.setdefault((namespace, name), {})
            return by_dims.setdefault(dims, Series(namespace, name, dims))

    def find(self, namespace: str, name: str, dims: DimKey) -> Series | None:
        """The series for this exact metric, or None when nothing was ever published to it."""
        by_dims = self.by_metric.get((namespace, name))
        return None if by_dims is None else by_dims.get(dims)

    def all_series(self) -> Iterator[Series]:
        """Every series, in creation order per metric."""
        with self.lock:
            groups = [list(d.values()) for d in self.by_metric.values()]
        for group in groups:
            yield from group


_stores: dict[tuple[str, str], RegionStore] = {}
_stores_lock = threading.Lock()


def region_store(account_id: str, region: str) -> RegionStore:
    """The store of ``account_id`` in ``region`` (created on first use)."""
    key = (account_id, region)
    found = _stores.get(key)
    if found is not None:
        return found
    with _stores_lock:
        return _stores.setdefault(key, RegionStore())


def reset() -> None:
    """Forget every datum of every account (the local cloud's reset)."""
    with _stores_lock:
        _stores.clear()


def totals() -> dict[str, int]:
    """How many series and stored entries the whole store holds (for the admin route and benchmarks)."""
    with _stores_lock:
        stores = list(_stores.values())
    series = points = 0
    for rs in stores:
        for s in rs.all_series():
            series += 1
            points += len(s)
    return {"series": series, "points": points}


def dim_key(dimensions: dict[str, str] | Iterable[dict[str, str]] | None) -> DimKey:
    """Canonical, order-independent key of a dimension set given as a dict or as [{Name, Value}, ...]."""
    if not dimensions:
        return ()
    if isinstance(dimensions, dict):
        return tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))
    return tuple(sorted((str(d["Name"]), str(d["Value"])) for d in dimensions))


def epoch(ts: datetime | float | int | None, default: float) -> float:
    """Seconds since the epoch for a datetime (naive means UTC, as moto and botocore produce) or a number."""
    if ts is None:
        return default
    if isinstance(ts, (int, float)):
        return float(ts)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def stored_timestamp(ts: float, storage_resolution: int) -> float:
    """Timestamp as CloudWatch keeps it: standard-resolution data has one-minute granularity, high-resolution 1 s."""
    if storage_resolution == 1:
        return float(int(ts))
    return float(int(ts // STANDARD_RESOLUTION) * STANDARD_RESOLUTION)
