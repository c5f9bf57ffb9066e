"""Period validation and the time grid CloudWatch aligns data points to.

Spec (GetMetricStatistics / GetMetricData, StartTime and Period):
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
"""

from __future__ import annotations

HIGH_RES_PERIODS = (1, 5, 10, 20, 30)
DAY = 86400.0


class InvalidPeriod(ValueError):
    """A Period CloudWatch rejects."""


def check_period(period: object, field: str = "Period") -> int:
    """``period`` as an int if it is 1, 5, 10, 20, 30 or a multiple of 60; else raise naming the value."""
    try:
        p = int(period)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidPeriod(f"The parameter {field} must be a number of seconds, got {period!r}.") from None
    if p <= 0 or (p not in HIGH_RES_PERIODS and p % 60):
        raise InvalidPeriod(
            f"The parameter {field} must be 1, 5, 10, 20, 30 or a multiple of 60 (got {p})."
        )
    return p


def round_start(start: float, period: int, now: float) -> float:
    """StartTime as CloudWatch rounds it: to the period's division of a minute for 1-30 s periods, else by age."""
    if period < 60:
        return float(int(start // period) * period)
    age = now - start
    unit = 60 if age < 15 * DAY else 300 if age < 63 * DAY else 3600
    return float(int(start // unit) * unit)


def bucket_starts(start: float, end: float, period: int) -> list[float]:
    """Start of every period from the (already rounded) ``start`` up to the exclusive ``end``."""
    out = []
    t = start
    while t < end:
        out.append(t)
        t += period
    return out


def bucket_index(ts: float, start: float, period: int) -> int:
    """Index of the period that holds ``ts`` on a grid beginning at ``start``."""
    return int((ts - start) // period)


def period_serves(start: float, period: int, now: float) -> bool:
    """Whether data that old is kept at this period: finer periods than the retention allows return no data.

    Sub-minute data lives 3 hours, 1-minute data 15 days, 5-minute data 63 days, then hourly (API reference, Period).
    """
    age = now - start
    if age <= 3 * 3600:
        return True
    needed = 60 if age < 15 * DAY else 300 if age < 63 * DAY else 3600
    return period % needed == 0
