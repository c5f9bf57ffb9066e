"""Scheduled rules: ``rate()`` and ``cron()`` expressions firing in emulated time.

Spec: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html (cron fields
Minutes Hours Day-of-month Month Day-of-week Year, UTC; ``?`` in one of the day fields; rate units minute(s),
hour(s), day(s), singular for 1). A fired rule sends its targets the "Scheduled Event" from source
``aws.events`` with the rule's ARN in ``resources``. Emulated time runs ``1/time_scale`` times faster than the
wall clock, like every other emulator wait. Not supported: ``W`` and ``#`` in day fields (rejected at PutRule).
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eventdeploy.localcloud import clock

log = logging.getLogger("eventdeploy.localcloud.events")

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class InvalidSchedule(ValueError):
    """A ScheduleExpression AWS would reject."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The values a cron field allows (None for ``*``/``?``)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise InvalidSchedule(f"cron step {step_text!r} is not a positive number")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise InvalidSchedule(f"cron value {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise InvalidSchedule(f"cron value {text!r} is not a number{' or name' if names else ''}")
    return int(text)


@dataclass(frozen=True)
class Cron:
    """A parsed AWS cron expression."""

    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    last_day: bool
    months: frozenset[int] | None
    weekdays: frozenset[int] | None  # 1 = Sunday, as AWS numbers them
    years: frozenset[int] | None

    def _day_ok(self, day: datetime) -> bool:
        if self.months is not None and day.month not in self.months:
            return False
        if self.years is not None and day.year not in self.years:
            return False
        if self.last_day and day.day != calendar.monthrange(day.year, day.month)[1]:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        return self.weekdays is None or (day.isoweekday() % 7) + 1 in self.weekdays

    def next_after(self, after: datetime) -> datetime | None:
        """The first matching minute strictly after ``after`` (UTC), within five years."""
        start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        hours = sorted(self.hours) if self.hours is not None else list(range(24))
        minutes = sorted(self.minutes) if self.minutes is not None else list(range(60))
        for _ in range(366 * 5):
            if self._day_ok(day):
                for hour in hours:
                    for minute in minutes:
                        when = day.replace(hour=hour, minute=minute)
                        if when >= start:
                            return when
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class Schedule:
    """A rate (``period`` seconds) or a cron schedule."""

    period: int | None = None
    cron: Cron | None = None

    def next_after(self, after: datetime) -> datetime | None:
        """When the rule fires next after ``after``."""
        if self.period is not None:
            return after + timedelta(seconds=self.period)
        return self.cron.next_after(after) if self.cron else None


def parse_schedule(expression: str) -> Schedule:
    """Parse ``rate(...)`` or ``cron(...)``; raise InvalidSchedule as AWS's PutRule would."""
    match = _RATE.match(expression or "")
    if match:
        value, unit = int(match.group(1)), match.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise InvalidSchedule(f"{expression!r}: the value must be positive, singular unit for 1, plural above")
        return Schedule(period=value * _UNIT_SECONDS[unit.rstrip("s")])
    match = _CRON.match(expression or "")
    if not match:
        raise InvalidSchedule(f"{expression!r} is neither rate(value unit) nor cron(six fields)")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise InvalidSchedule(f"{expression!r} must have 6 fields: minutes hours day-of-month month day-of-week year")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    if any(c in dom + dow for c in "W#") or ("L" in dow and dow != "L"):
        raise InvalidSchedule(f"{expression!r}: W, # and nL are not supported by the local cloud")
    last_day = dom == "L"
    return Schedule(cron=Cron(
        _field(minutes, 0, 59), _field(hours, 0, 23), None if last_day else _field(dom, 1, 31), last_day,
        _field(month, 1, 12, _MONTHS), frozenset({7}) if dow == "L" else _field(dow, 1, 7, _DAYS),
        _field(year, 1970, 2199),
    ))


def scheduled_event(account: str, region: str, rule_arn: str, when: datetime) -> dict[str, Any]:
    """The event a scheduled rule sends its targets."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": account, "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [rule_arn], "detail": {}}


class Scheduler:
    """Fires scheduled rules of every account and region when their emulated due time comes."""

    def __init__(self, fire: Callable[[str, str, Any, dict[str, Any]], None]) -> None:
        self._fire = fire
        self._real0 = time.time()
        # rule id -> (rule, schedule, next due); holding the rule pins its id.
        self._due: dict[int, tuple[Any, Schedule, datetime]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="events-schedule", daemon=True)
        self._thread.start()

    def now(self) -> datetime:
        """Emulated wall-clock time."""
        return datetime.fromtimestamp(self._real0 + clock.emulated_elapsed(time.time() - self._real0), UTC)

    def clear(self) -> None:
        """Forget every schedule (on reset)."""
        self._due.clear()

    def stop(self) -> None:
        """Stop the scheduler thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> None:
        """Fire every rule that is due; start tracking new scheduled rules."""
        from moto.events.models import events_backends

        now = self.now()
        seen: set[int] = set()
        for account in list(events_backends.keys()):
            for region, backend in list(events_backends[account].items()):
                bus = backend.event_buses.get("default")
                if bus is None:
                    continue
                for rule in list(bus.rules.values()):
                    expression = getattr(rule, "scheduled_expression", None)
                    if not expression:
                        continue
                    seen.add(id(rule))
                    entry = self._due.get(id(rule))
                    if entry is None or entry[0] is not rule:
                        try:
                            schedule = parse_schedule(expression)
                        except InvalidSchedule as exc:
                            log.warning("rule %s has an unusable schedule: %s", rule.arn, exc)
                            continue
                        due = schedule.next_after(now)
                        if due is not None:
                            self._due[id(rule)] = (rule, schedule, due)
                        continue
                    _, schedule, due = entry
                    if due > now:
                        continue
                    if rule.state != "DISABLED":
                        self._fire(account, region, rule, scheduled_event(account, region, rule.arn, due))
                    following = schedule.next_after(max(due, now - timedelta(seconds=1)))
                    if following is None:
                        del self._due[id(rule)]
                    else:
                        self._due[id(rule)] = (rule, schedule, following)
        for key in [k for k in self._due if k not in seen]:
            del self._due[key]

    def _run(self) -> None:
        while not self._stop.wait(max(0.02, min(1.0, clock.scaled(1.0)))):
            try:
                self.tick()
            except Exception:
                log.exception("scheduled rules tick failed")
