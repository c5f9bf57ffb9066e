"""How CloudWatch decides a metric alarm's state from its data points (pure logic, no moto, no threads).

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html ("Evaluating an
alarm", "How alarm state is evaluated when data is missing"). The evaluation range is EvaluationPeriods + 2 periods
ending with the period that holds ``now``: data timestamps are real, so the newest (still filling) period counts —
that is what lets a test drive a 10-second alarm into ALARM and back within seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OPERATORS = {
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
EXTRA_PERIODS = 2


@dataclass
class Point:
    """One evaluated data point: the period's start, its value and how many samples made it."""

    timestamp: float
    value: float
    sample_count: float = 1.0


@dataclass
class Outcome:
    """The state an evaluation reached (None: keep the current state) with AWS's reason and reason data."""

    state: str | None
    reason: str = ""
    reason_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rule:
    """The parts of an alarm the evaluation needs."""

    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str = "missing"
    statistic: str | None = None


def window(period: int, evaluation_periods: int, now: float) -> tuple[float, float, list[float]]:
    """(start, end, period starts) of the evaluation range: EvaluationPeriods + 2 periods ending at ``now``."""
    newest = math.floor(now / period) * period
    count = evaluation_periods + EXTRA_PERIODS
    starts = [newest - (count - 1 - i) * period for i in range(count)]
    return starts[0], newest + period, starts


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d/%m/%y %H:%M:%S")


def iso_millis(ts: float) -> str:
    """AWS's reason-data time format, e.g. 2019-10-02T17:04:40.985+0000."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def decide(rule: Rule, slots: list[float], points: dict[float, Point], current: str, now: float) -> Outcome:
    """The alarm's next state from the data points found in the evaluation range ``slots`` (oldest first)."""
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    breaches = OPERATORS[rule.comparison][1]
    real = [points[t] for t in slots if t in points]
    filled = 0
    if len(real) >= n:
        evaluated = real[-n:]
    else:
        evaluated = real
        filled = n - len(real)
    breaching = [p for p in evaluated if breaches(p.value, rule.threshold)]
    ok = [p for p in evaluated if not breaches(p.value, rule.threshold)]
    n_breach = len(breaching)
    treat = rule.treat_missing or "missing"
    if filled and treat == "breaching":
        n_breach += filled
    if filled and treat in ("missing", "ignore") and n_breach < m and not ok:
        # Every real point breaches but fewer than M of them. AWS's table: still ALARM when the newest N periods
        # are all empty and only older breaching points remain ("X - - - -"), else it cannot decide.
        recent = set(slots[-n:])
        if real and treat == "missing" and not any(p.timestamp in recent for p in real):
            return Outcome("ALARM", _threshold_reason(rule, breaching, n, m, current, "ALARM"),
                           _reason_data(rule, real[-n:], now))
        if treat == "ignore":
            return Outcome(None)
        missing = len(slots) - len(real)
        return Outcome(
            "INSUFFICIENT_DATA",
            f"Insufficient Data: {_plural(missing, 'datapoint')} {'was' if missing == 1 else 'were'} unknown.",
            _insufficient_reason_data(rule, slots, points, now),
        )
    new_state = "ALARM" if n_breach >= m else "OK"
    shown = breaching if new_state == "ALARM" else ok
    if not real:
        treated = "Breaching" if treat == "breaching" else "NonBreaching"
        reason = (f"Threshold Crossed: no datapoints were received for {_plural(filled, 'period')} and "
                  f"{_plural(filled, 'missing datapoint')} {'was' if filled == 1 else 'were'} treated as "
                  f"[{treated}].")
    else:
        extra = filled if new_state == "ALARM" and treat == "breaching" else 0
        reason = _threshold_reason(rule, shown, n, m, current, new_state, extra)
    return Outcome(new_state, reason, _reason_data(rule, real[-n:] if real else [], now))


def _threshold_reason(rule: Rule, shown: list[Point], n: int, m: int, current: str, new_state: str,
                      extra: int = 0) -> str:
    """AWS's "Threshold Crossed: k out of the last n datapoints [v (dd/mm/yy HH:MM:SS)] was ..." reason."""
    word = OPERATORS[rule.comparison][0]
    count = len(shown) + extra
    listed = ", ".join(f"{float(p.value)!r} ({_fmt_time(p.timestamp)})" for p in reversed(shown))
    verb = "was" if count == 1 else "were"
    negation = "" if new_state == "ALARM" else "not "
    minimum = _plural(m if new_state == "ALARM" else 1, "datapoint")
    return (f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] {verb} {negation}{word} the "
            f"threshold ({float(rule.threshold)!r}) (minimum {minimum} for {current} -> {new_state} transition).")


def _reason_data(rule: Rule, points: list[Point], now: float) -> dict[str, Any]:
    data: dict[str, Any] = {"version": "1.0", "queryDate": iso_millis(now)}
    if points:
        data["startDate"] = iso_millis(points[0].timestamp)
    if rule.statistic:
        data["statistic"] = rule.statistic
    data["period"] = rule.period
    data["recentDatapoints"] = [float(p.value) for p in points]
    data["threshold"] = float(rule.threshold)
    data["evaluatedDatapoints"] = [
        {"timestamp": iso_millis(p.timestamp), "sampleCount": float(p.sample_count), "value": float(p.value)}
        for p in reversed(points)
    ]
    return data


def _insufficient_reason_data(rule: Rule, slots: list[float], points: dict[float, Point], now: float,
                              ) -> dict[str, Any]:
    """Reason data of an INSUFFICIENT_DATA evaluation: every period of the range, a bare timestamp where missing."""
    data = _reason_data(rule, [], now)
    data["recentDatapoints"] = [float(points[t].value) for t in slots if t in points]
    data["evaluatedDatapoints"] = [
        {"timestamp": iso_millis(t), "sampleCount": float(points[t].sample_count), "value": float(points[t].value)}
        if t in points else {"timestamp": iso_millis(t)}
        for t in reversed(slots)
    ]
    return data


def reason_data_json(data: dict[str, Any]) -> str:
    """Reason data as AWS serialises it (compact JSON)."""
    return json.dumps(data, separators=(",", ":"))
