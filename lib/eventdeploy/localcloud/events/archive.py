"""EventBridge archives and replays, on top of the delivery engine's ingest hook and ``deliver``.

An archive records every event accepted on its bus that matches its optional pattern (replayed events never:
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html). EventBridge creates a
managed rule per archive (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive-delete.html); ours
exists for listing and is removed with the archive, but carries no target: recording happens at ingest, so the
delivery engine never tries to "deliver" to a pseudo target.

A replay re-delivers the archived events whose event time lies in ``[EventStartTime, EventEndTime)`` to the rules
named by ``Destination.FilterArns`` (all of the bus's rules if none), each with ``replay-name`` added, one minute of
event time after another (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html),
moving ``STARTING → RUNNING → COMPLETED`` (or ``CANCELLING → CANCELLED``) on a background thread. Emulator waits
between those steps go through ``clock`` so tests run them at the server's time scale.

Retention (``RetentionDays``, 0 = forever) is applied to the event time when counting, listing and replaying.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventdeploy.localcloud import clock
from eventdeploy.localcloud.events.patterns import CompiledPattern, compile_pattern

log = logging.getLogger("eventdeploy.localcloud.events.archive")

MANAGED_BY = "prod.vhs.events.aws.internal"
NAME_RE = re.compile(r"^[\.\-_A-Za-z0-9]+$")
# Emulated seconds a replay spends STARTING, and between two minutes of event time while RUNNING; a long replay
# shortens the pause so that RUNNING lasts at most MAX_RUNNING_SECONDS (runbooks run at time scale 1).
STARTING_SECONDS = 2.0
MINUTE_PAUSE_SECONDS = 1.0
MAX_RUNNING_SECONDS = 60.0
DAY_SECONDS = 86_400.0

Deliver = Callable[[str, str, str, dict[str, Any], "list[str] | None"], None]


def event_epoch(event: dict[str, Any], default: float) -> float:
    """The event's ``time`` as epoch seconds (``default`` if absent or unreadable)."""
    value = event.get("time")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return default
    return default


def as_epoch(value: Any, what: str) -> float:
    """A request timestamp (epoch number, ISO string or datetime) as epoch seconds; ValueError names ``what``."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
    raise ValueError(f"Parameter {what} is not valid: {value!r} is not a timestamp")


@dataclass(frozen=True)
class Stored:
    """One archived event: its event time, its JSON text and that text's size in bytes."""

    when: float
    text: str
    size: int


@dataclass
class ArchiveKey:
    """Where an archive lives."""

    account: str
    region: str
    name: str

    def tuple(self) -> tuple[str, str, str]:
        """Hashable form."""
        return (self.account, self.region, self.name)


def rule_names_from_arns(arns: list[str] | None) -> list[str] | None:
    """Rule names from rule ARNs (``rule/name`` or ``rule/bus/name``); None when no filter was given."""
    if not arns:
        return None
    names = []
    for arn in arns:
        resource = str(arn).split(":", 5)[-1]
        if not resource.startswith("rule/"):
            raise ValueError(f"Parameter Destination.FilterArns is not valid: {arn!r} is not a rule ARN")
        names.append(resource.rsplit("/", 1)[-1])
    return names


class ArchiveBook:
    """Every archive's recorded events in this process, and the replays running over them."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str, str], list[Stored]] = {}
        self._patterns: dict[str, CompiledPattern | None] = {}
        self._runs: dict[str, ReplayRun] = {}

    # ---- archives ----------------------------------------------------------------------------------------------

    def set_pattern(self, archive_arn: str, pattern_text: str | None) -> None:
        """Validate and remember the archive's pattern; InvalidEventPattern if AWS would reject it."""
        compiled = compile_pattern(pattern_text) if pattern_text else None
        with self._lock:
            self._patterns[archive_arn] = compiled

    def record(self, account: str, region: str, bus_name: str, event: dict[str, Any]) -> None:
        """Ingest hook: add ``event`` to every enabled archive of ``bus_name`` whose pattern it matches."""
        if "replay-name" in event:
            return
        from moto.events.models import events_backends

        archives = events_backends[account][region].archives
        if not archives:
            return
        stored: Stored | None = None
        for archive in list(archives.values()):
            if archive.event_bus_name != bus_name or archive.state != "ENABLED":
                continue
            pattern = self._patterns.get(archive.arn)
            if pattern is not None and not pattern.matches(event):
                continue
            if stored is None:
                text = json.dumps(event, separators=(",", ":"), default=str)
                stored = Stored(event_epoch(event, time.time()), text, len(text.encode()))
            with self._lock:
                self._events.setdefault((account, region, archive.name), []).append(stored)

    def retained(self, key: ArchiveKey, retention_days: int, now: float | None = None) -> list[Stored]:
        """The archive's events still inside its retention period, oldest first; expired ones are dropped."""
        now = time.time() if now is None else now
        with self._lock:
            events = self._events.get(key.tuple(), [])
            if retention_days and events:
                horizon = now - int(retention_days) * DAY_SECONDS
                kept = [e for e in events if e.when >= horizon]
                if len(kept) != len(events):
                    self._events[key.tuple()] = kept
                events = kept
            return list(events)

    def totals(self, key: ArchiveKey, retention_days: int) -> tuple[int, int]:
        """(EventCount, SizeBytes) of the archive."""
        events = self.retained(key, retention_days)
        return len(events), sum(e.size for e in events)

    def drop(self, key: ArchiveKey, archive_arn: str) -> None:
        """Forget a deleted archive's events and pattern."""
        with self._lock:
            self._events.pop(key.tuple(), None)
            self._patterns.pop(archive_arn, None)

    # ---- replays -----------------------------------------------------------------------------------------------

    def start_replay(self, replay: Any, key: ArchiveKey, retention_days: int, bus_name: str) -> None:
        """Run ``replay`` (moto's Replay model, state STARTING) on a background thread."""
        start = as_epoch(replay.event_start_time, "EventStartTime")
        end = as_epoch(replay.event_end_time, "EventEndTime")
        rules = rule_names_from_arns((replay.destination or {}).get("FilterArns"))
        events = [e for e in self.retained(key, retention_days) if start <= e.when < end]
        run = ReplayRun(replay, key, bus_name, start, events, rules, self._deliver)
        with self._lock:
            self._runs[replay.arn] = run
        run.start()

    def cancel(self, replay_arn: str) -> None:
        """Ask a running replay to stop."""
        with self._lock:
            run = self._runs.get(replay_arn)
        if run is not None:
            run.cancel()

    def clear(self) -> None:
        """Stop every replay and forget every archive (reset/shutdown)."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
            self._events.clear()
            self._patterns.clear()
        for run in runs:
            run.cancel()
        for run in runs:
            run.join(timeout=5)


@dataclass
class ReplayRun:
    """One replay's worker: STARTING, then each minute of event time delivered in turn, then COMPLETED."""

    replay: Any
    key: ArchiveKey
    bus_name: str
    range_start: float
    events: list[Stored]
    rule_names: list[str] | None
    deliver: Deliver
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin replaying."""
        self.thread = threading.Thread(target=self._run, name=f"replay-{self.replay.name}", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        """Stop after the event being delivered now."""
        self.stop.set()

    def join(self, timeout: float) -> None:
        """Wait for the worker to end."""
        if self.thread is not None:
            self.thread.join(timeout)

    def _wait(self, emulated_seconds: float) -> bool:
        """Wait emulated time; True if cancelled meanwhile."""
        return self.stop.wait(clock.scaled(emulated_seconds))

    def _set(self, state_name: str) -> None:
        from moto.events.models import ReplayState

        self.replay.state = ReplayState[state_name]

    def _finish(self, state_name: str) -> None:
        self._set(state_name)
        self.replay.end_time = time.time()

    def _run(self) -> None:
        try:
            if self._wait(STARTING_SECONDS):
                self._finish("CANCELLED")
                return
            self._set("RUNNING")
            ordered = sorted(self.events, key=lambda e: e.when)
            minutes = {int((e.when - self.range_start) // 60) for e in ordered}
            pause = min(MINUTE_PAUSE_SECONDS, MAX_RUNNING_SECONDS / max(1, len(minutes) - 1))
            for index, stored in enumerate(ordered):
                if self.stop.is_set():
                    self._finish("CANCELLED")
                    return
                event = json.loads(stored.text)
                event["replay-name"] = self.replay.name
                self.deliver(self.key.account, self.key.region, self.bus_name, event, self.rule_names)
                self.replay.event_last_replayed_time = stored.when
                following = ordered[index + 1] if index + 1 < len(ordered) else None
                minute_now = int((stored.when - self.range_start) // 60)
                if following is not None and int((following.when - self.range_start) // 60) != minute_now:
                    if self._wait(pause):
                        self._finish("CANCELLED")
                        return
            self._finish("CANCELLED" if self.stop.is_set() else "COMPLETED")
        except Exception as exc:  # a replay that cannot continue is FAILED, as AWS reports it
            log.exception("replay %s failed", self.replay.name)
            self.replay.state_reason = f"{type(exc).__name__}: {exc}"
            self._finish("FAILED")


def validate_name(name: Any, what: str, max_length: int) -> None:
    """Raise ValueError with AWS's wording unless ``name`` fits ``[.\\-_A-Za-z0-9]+`` and ``max_length``."""
    if not isinstance(name, str) or not name or len(name) > max_length or not NAME_RE.match(name):
        raise ValueError(
            f"1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: Member must "
            f"satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and {max_length}"
        )
