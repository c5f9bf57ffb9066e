"""CloudWatch statistics over the entries of one period: the five basic ones and the extended ones.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
Percentiles use the nearest-rank definition (p50 of 1..100 is 50, p99 is 99), i.e. a value that was actually
published, never an interpolation between two values. Percentile-family statistics need raw values: a statistic set
counts only when its Minimum equals its Maximum, and any negative value makes them unavailable (as AWS documents).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from eventdeploy.localcloud.cloudwatch.store import Entry

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

_PCT = re.compile(r"^p(\d{1,3}(?:\.\d{1,10})?)$")
_SHORT = re.compile(r"^(tm|wm|tc|ts)(\d{1,3}(?:\.\d{1,10})?)$")
_RANGE = re.compile(r"^(TM|WM|TC|TS|PR)\((-?\d*(?:\.\d+)?)(%?):(-?\d*(?:\.\d+)?)(%?)\)$")


class InvalidStatistic(ValueError):
    """A statistic name CloudWatch would reject."""


@dataclass(frozen=True)
class Stat:
    """A parsed statistic: ``kind`` is a basic name, "p", or one of TM/WM/TC/TS/PR with its bounds."""

    name: str
    kind: str
    lower: float | None = None
    upper: float | None = None
    percent: bool = True

    @property
    def extended(self) -> bool:
        """True for percentile-family statistics (returned under ExtendedStatistics)."""
        return self.kind not in BASIC


def parse_stat(name: str) -> Stat:
    """Parse ``Average``, ``p99``, ``p99.9``, ``tm90``, ``TM(10%:90%)``, ``PR(:300)``, ``IQM`` ... or raise."""
    if name in BASIC:
        return Stat(name, name)
    if name == "IQM":
        return Stat(name, "TM", 25.0, 75.0, True)
    m = _PCT.match(name)
    if m:
        p = float(m.group(1))
        if p > 100:
            raise InvalidStatistic(f"percentile {name!r} must be between p0.0 and p100")
        return Stat(name, "p", None, p)
    m = _SHORT.match(name)
    if m:
        p = float(m.group(2))
        if p > 100:
            raise InvalidStatistic(f"statistic {name!r} must have a bound between 0 and 100")
        return Stat(name, m.group(1).upper(), 0.0, p, True)
    m = _RANGE.match(name)
    if m:
        kind, lo, lo_pct, hi, hi_pct = m.groups()
        lower = float(lo) if lo not in ("", "-") else None
        upper = float(hi) if hi not in ("", "-") else None
        if lower is None and upper is None:
            raise InvalidStatistic(f"statistic {name!r} needs at least one bound, e.g. TM(10%:90%)")
        if (lower is not None and upper is not None) and lo_pct != hi_pct:
            raise InvalidStatistic(f"statistic {name!r} mixes a percentage and an absolute bound")
        percent = bool(lo_pct or hi_pct)
        if kind == "PR" and percent:
            raise InvalidStatistic(f"statistic {name!r}: PR bounds are absolute values, not percentages")
        if percent and kind != "PR":
            lower = 0.0 if lower is None else lower
            upper = 100.0 if upper is None else upper
            if not 0 <= lower <= upper <= 100:
                raise InvalidStatistic(f"statistic {name!r} needs percentage bounds 0 <= lower <= upper <= 100")
        return Stat(name, kind, lower, upper, percent)
    raise InvalidStatistic(
        f"statistic {name!r} is not one of SampleCount, Average, Sum, Minimum, Maximum, pNN, tmNN, "
        "TM(a:b), WM(a:b), TC(a:b), TS(a:b), PR(a:b) or IQM"
    )


def aggregate(entries: Sequence[Entry]) -> tuple[float, float, float, float]:
    """(SampleCount, Sum, Minimum, Maximum) of a period's entries."""
    count = total = 0.0
    lo, hi = math.inf, -math.inf
    for _, s, c, mn, mx, _ in entries:
        count += c
        total += s
        if mn < lo:
            lo = mn
        if mx > hi:
            hi = mx
    return count, total, lo, hi


def basic(name: str, agg: tuple[float, float, float, float]) -> float:
    """One basic statistic from ``aggregate``'s result."""
    count, total, lo, hi = agg
    if name == "SampleCount":
        return count
    if name == "Sum":
        return total
    if name == "Minimum":
        return lo
    if name == "Maximum":
        return hi
    return total / count if count else 0.0


def raw_values(entries: Sequence[Entry]) -> list[tuple[float, float]] | None:
    """Sorted (value, weight) pairs, or None when percentiles are unavailable (statistic sets, negatives)."""
    out: list[tuple[float, float]] = []
    for _, s, c, mn, mx, _ in entries:
        if mn != mx or mn < 0 or not math.isclose(s, mn * c, rel_tol=1e-9, abs_tol=1e-9):
            return None
        out.append((mn, c))
    out.sort()
    return out


def _rank_value(values: list[tuple[float, float]], total: float, rank: float) -> float:
    """The value whose cumulative weight first reaches ``rank`` (nearest-rank)."""
    seen = 0.0
    for v, w in values:
        seen += w
        if seen >= rank - 1e-9:
            return v
    return values[-1][0]


def percentile(values: list[tuple[float, float]], p: float) -> float:
    """Nearest-rank percentile ``p`` (0..100) of weighted, sorted values."""
    total = sum(w for _, w in values)
    rank = max(1.0, math.ceil(p / 100.0 * total - 1e-9))
    return _rank_value(values, total, rank)


def _select(values: list[tuple[float, float]], stat: Stat) -> tuple[list[tuple[float, float]], float, float]:
    """The weighted values inside the statistic's bounds, plus the boundary values (for WM)."""
    total = sum(w for _, w in values)
    if stat.percent:
        lo_rank = (stat.lower or 0.0) / 100.0 * total
        hi_rank = (stat.upper if stat.upper is not None else 100.0) / 100.0 * total
        kept: list[tuple[float, float]] = []
        seen = 0.0
        for v, w in values:
            # The part of this value's weight whose ranks fall in (lo_rank, hi_rank].
            part = min(seen + w, hi_rank) - max(seen, lo_rank)
            if part > 1e-12:
                kept.append((v, part))
            seen += w
        lo_v = percentile(values, stat.lower or 0.0) if stat.lower else values[0][0]
        hi_v = percentile(values, stat.upper) if stat.upper is not None else values[-1][0]
        return kept, lo_v, hi_v
    lower = -math.inf if stat.lower is None else stat.lower
    upper = math.inf if stat.upper is None else stat.upper
    kept = [(v, w) for v, w in values if lower < v <= upper]
    return kept, lower, upper


def extended(stat: Stat, values: list[tuple[float, float]]) -> float | None:
    """Value of a percentile-family statistic over non-empty weighted values (None when nothing is in range)."""
    if stat.kind == "p":
        return percentile(values, stat.upper or 0.0)
    total = sum(w for _, w in values)
    kept, lo_v, hi_v = _select(values, stat)
    kept_n = sum(w for _, w in kept)
    kept_sum = sum(v * w for v, w in kept)
    if stat.kind == "PR":
        return 100.0 * kept_n / total if total else None
    if stat.kind == "TC":
        return kept_n
    if stat.kind == "TS":
        return kept_sum
    if stat.kind == "WM":
        clamped = sum(min(max(v, lo_v), hi_v) * w for v, w in values)
        return clamped / total if total else None
    return kept_sum / kept_n if kept_n else None


def compute(stat: Stat, entries: Sequence[Entry]) -> float | None:
    """The statistic over one period's entries; None when it cannot be computed (no data, no raw values)."""
    if not entries:
        return None
    if not stat.extended:
        return basic(stat.kind, aggregate(entries))
    values = raw_values(entries)
    if not values:
        return None
    return extended(stat, values)
