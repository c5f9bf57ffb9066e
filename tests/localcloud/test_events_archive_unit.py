"""Unit checks of the archive book's pure logic: event times, rule ARNs, retention, replay windows."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from eventdeploy.localcloud.events import archive as arch


def test_event_epoch_reads_iso_times_with_and_without_millis() -> None:
    """Event ``time`` is ISO 8601 UTC (seconds or milliseconds); unreadable values fall back."""
    assert arch.event_epoch({"time": "2026-01-02T03:04:05Z"}, 0) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert arch.event_epoch({"time": "2026-01-02T03:04:05.250Z"}, 0) == pytest.approx(
        datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC).timestamp())
    assert arch.event_epoch({"time": "yesterday"}, 42.0) == 42.0
    assert arch.event_epoch({}, 7.0) == 7.0


def test_as_epoch_names_the_bad_parameter() -> None:
    """A timestamp that is not one says which parameter it was."""
    assert arch.as_epoch(12.5, "EventStartTime") == 12.5
    assert arch.as_epoch("2026-01-02T00:00:00Z", "EventStartTime") == datetime(2026, 1, 2, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="EventEndTime"):
        arch.as_epoch("soon", "EventEndTime")


def test_rule_names_from_default_and_custom_bus_arns() -> None:
    """Rule ARNs are ``rule/<name>`` on the default bus and ``rule/<bus>/<name>`` on custom buses."""
    assert arch.rule_names_from_arns(None) is None
    assert arch.rule_names_from_arns([
        "arn:aws:events:us-east-1:123456789012:rule/plain",
        "arn:aws:events:us-east-1:123456789012:rule/my-bus/custom",
    ]) == ["plain", "custom"]
    with pytest.raises(ValueError, match="FilterArns"):
        arch.rule_names_from_arns(["arn:aws:sqs:us-east-1:123456789012:queue"])


def test_names_follow_aws_pattern_and_length() -> None:
    """Archive names: [.-_A-Za-z0-9]+, at most 48 characters."""
    arch.validate_name("ok.name-1_x", "archiveName", 48)
    for bad in ("", "has space", "x" * 49, "slash/no"):
        with pytest.raises(ValueError, match="archiveName"):
            arch.validate_name(bad, "archiveName", 48)


class _Replay:
    """Stands in for moto's Replay model: the attributes the worker reads and writes."""

    def __init__(self, name: str, start: float, end: float, filter_arns: list[str] | None = None) -> None:
        self.name = name
        self.arn = f"arn:aws:events:us-east-1:123456789012:replay/{name}"
        self.event_start_time = start
        self.event_end_time = end
        self.destination: dict[str, Any] = {"Arn": "bus", "FilterArns": filter_arns} if filter_arns else {"Arn": "b"}
        self.state: Any = None
        self.end_time: float | None = None


def _book_with_events(times: list[float]) -> tuple[arch.ArchiveBook, arch.ArchiveKey, list[Any]]:
    delivered: list[Any] = []
    done = threading.Event()

    def deliver(account: str, region: str, bus: str, event: dict[str, Any], rules: list[str] | None) -> None:
        delivered.append((bus, event, rules))
        done.set()

    book = arch.ArchiveBook(deliver)
    key = arch.ArchiveKey("123456789012", "us-east-1", "a")
    for n, when in enumerate(times):
        text = json.dumps({"id": str(n), "n": n})
        book._events.setdefault(key.tuple(), []).append(arch.Stored(when, text, len(text)))
    return book, key, delivered


def test_retention_drops_events_older_than_the_period() -> None:
    """RetentionDays keeps only events whose time is within the period; 0 keeps all."""
    now = time.time()
    book, key, _ = _book_with_events([now - 3 * 86400, now - 3600, now])
    assert book.totals(key, 0)[0] == 3
    assert book.totals(key, 1)[0] == 2
    assert [e.when for e in book.retained(key, 1)] == [now - 3600, now]


def test_long_replay_runs_at_most_the_running_cap() -> None:
    """A replay over many minutes shortens its per-minute pause so RUNNING stays under MAX_RUNNING_SECONDS."""
    book, key, delivered = _book_with_events([60.0 * m for m in range(500)])
    replay = _Replay("long", 0.0, 60.0 * 500)
    original = (arch.STARTING_SECONDS, arch.MAX_RUNNING_SECONDS)
    arch.STARTING_SECONDS, arch.MAX_RUNNING_SECONDS = 0.0, 0.5
    started = time.monotonic()
    try:
        book.start_replay(replay, key, 0, "bus")
        while (replay.state is None or replay.state.value not in ("COMPLETED", "FAILED")) and \
                time.monotonic() - started < 10:
            time.sleep(0.01)
    finally:
        arch.STARTING_SECONDS, arch.MAX_RUNNING_SECONDS = original
    assert replay.state.value == "COMPLETED"
    assert len(delivered) == 500
    # 499 pauses of 1 s each would take minutes; capped, the whole replay takes about half a second.
    assert time.monotonic() - started < 5


def test_replay_delivers_only_window_in_time_order_with_replay_name() -> None:
    """A replay delivers [start, end) in event-time order, each event tagged with replay-name, then completes."""
    book, key, delivered = _book_with_events([300.0, 100.0, 200.0, 400.0])
    replay = _Replay("r1", 100.0, 400.0, ["arn:aws:events:us-east-1:123456789012:rule/bus/only"])
    original = (arch.STARTING_SECONDS, arch.MINUTE_PAUSE_SECONDS)
    arch.STARTING_SECONDS, arch.MINUTE_PAUSE_SECONDS = 0.0, 0.0
    try:
        book.start_replay(replay, key, 0, "bus")
        deadline = time.monotonic() + 5
        while (replay.state is None or replay.state.value not in ("COMPLETED", "FAILED")) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        arch.STARTING_SECONDS, arch.MINUTE_PAUSE_SECONDS = original
    assert replay.state.value == "COMPLETED"
    assert [event["n"] for _, event, _ in delivered] == [1, 2, 0]
    assert {event["replay-name"] for _, event, _ in delivered} == {"r1"}
    assert {tuple(rules) for _, _, rules in delivered} == {("only",)}
    assert replay.event_last_replayed_time == 300.0
