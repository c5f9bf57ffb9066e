"""EventBridge archives and replays through boto3 against the local cloud."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError


@dataclass
class Bus:
    """A fresh bus with a rule that copies matching events into a tap queue."""

    name: str
    arn: str
    rule_arn: str
    queue_url: str
    source: str


def _bus(aws: Callable[..., Any], tag: str = "") -> Bus:
    events, sqs = aws("events"), aws("sqs")
    suffix = uuid.uuid4().hex[:10]
    name = f"arch-{tag}{suffix}"
    arn = events.create_event_bus(Name=name)["EventBusArn"]
    queue_url = sqs.create_queue(QueueName=f"tap-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = f"test.archive.{suffix}"
    rule_arn = events.put_rule(Name=f"tap-{suffix}", EventBusName=name,
                               EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    events.put_targets(Rule=f"tap-{suffix}", EventBusName=name, Targets=[{"Id": "tap", "Arn": queue_arn}])
    return Bus(name, arn, rule_arn, queue_url, source)


def _put(aws: Callable[..., Any], bus: Bus, detail: dict[str, Any], when: datetime | None = None) -> None:
    entry: dict[str, Any] = {"Source": bus.source, "DetailType": "archived", "Detail": json.dumps(detail),
                             "EventBusName": bus.name}
    if when is not None:
        entry["Time"] = when
    resp = aws("events").put_events(Entries=[entry])
    assert resp["FailedEntryCount"] == 0, resp


def _drain(aws: Callable[..., Any], bus: Bus, want: int, deadline_s: float = 15.0) -> list[dict[str, Any]]:
    sqs = aws("sqs")
    got: list[dict[str, Any]] = []
    end = time.monotonic() + deadline_s
    while len(got) < want and time.monotonic() < end:
        msgs = sqs.receive_message(QueueUrl=bus.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", [])
        for m in msgs:
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=bus.queue_url, ReceiptHandle=m["ReceiptHandle"])
    return got


def _archive_count(aws: Callable[..., Any], name: str, want: int, deadline_s: float = 10.0) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while True:
        described = aws("events").describe_archive(ArchiveName=name)
        if described["EventCount"] >= want or time.monotonic() > end:
            return described
        time.sleep(0.05)


def _wait_state(events: Any, name: str, states: set[str], deadline_s: float = 20.0) -> list[str]:
    seen: list[str] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        state = events.describe_replay(ReplayName=name)["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in states:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"replay {name} never reached {states}; saw {seen}")


def test_archive_records_matching_events_with_count_and_size(aws: Callable[..., Any]) -> None:
    """An archive with a pattern records only matching events accepted on its bus; DescribeArchive counts them.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeArchive.html
    """
    events = aws("events")
    bus = _bus(aws)
    name = f"a-{uuid.uuid4().hex[:10]}"
    created = events.create_archive(ArchiveName=name, EventSourceArn=bus.arn,
                                    EventPattern=json.dumps({"detail": {"keep": [True]}}))
    assert created["State"] == "ENABLED"
    assert created["ArchiveArn"].endswith(f":archive/{name}")
    for keep in (True, False, True):
        _put(aws, bus, {"keep": keep})
    described = _archive_count(aws, name, 2)
    assert described["EventCount"] == 2
    assert described["SizeBytes"] > 0
    assert described["EventSourceArn"] == bus.arn
    # EventBridge made a managed rule for the archive, and removes it with the archive.
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=bus.name)["Rules"]}
    assert f"Events-Archive-{name}" in rules
    assert rules[f"Events-Archive-{name}"].get("ManagedBy")
    listed = [a for a in events.list_archives(EventSourceArn=bus.arn)["Archives"] if a["ArchiveName"] == name]
    assert listed[0]["EventCount"] == 2
    events.delete_archive(ArchiveName=name)
    assert f"Events-Archive-{name}" not in {r["Name"] for r in events.list_rules(EventBusName=bus.name)["Rules"]}
    with pytest.raises(ClientError) as err:
        events.describe_archive(ArchiveName=name)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_archive_rejects_invalid_pattern_and_name(aws: Callable[..., Any]) -> None:
    """CreateArchive rejects an invalid event pattern and a name outside [.-_A-Za-z0-9]{1,48}.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html
    """
    events = aws("events")
    bus = _bus(aws)
    with pytest.raises(ClientError) as err:
        events.create_archive(ArchiveName=f"bad-{uuid.uuid4().hex[:8]}", EventSourceArn=bus.arn,
                              EventPattern=json.dumps({"source": "not-an-array"}))
    assert err.value.response["Error"]["Code"] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as err:
        events.create_archive(ArchiveName="has space", EventSourceArn=bus.arn)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    name = f"dup-{uuid.uuid4().hex[:8]}"
    events.create_archive(ArchiveName=name, EventSourceArn=bus.arn)
    with pytest.raises(ClientError) as err:
        events.create_archive(ArchiveName=name, EventSourceArn=bus.arn)
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"


def test_update_archive_pattern_changes_what_is_recorded(aws: Callable[..., Any]) -> None:
    """UpdateArchive's new EventPattern applies to events accepted afterwards; an invalid one is rejected.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateArchive.html
    """
    events = aws("events")
    bus = _bus(aws)
    name = f"u-{uuid.uuid4().hex[:8]}"
    events.create_archive(ArchiveName=name, EventSourceArn=bus.arn, EventPattern=json.dumps({"detail": {"k": ["a"]}}))
    _put(aws, bus, {"k": "a"})
    _put(aws, bus, {"k": "b"})
    assert _archive_count(aws, name, 1)["EventCount"] == 1
    events.update_archive(ArchiveName=name, EventPattern=json.dumps({"detail": {"k": ["b"]}}))
    _put(aws, bus, {"k": "a"})
    _put(aws, bus, {"k": "b"})
    assert _archive_count(aws, name, 2)["EventCount"] == 2
    with pytest.raises(ClientError) as err:
        events.update_archive(ArchiveName=name, EventPattern="{not json")
    assert err.value.response["Error"]["Code"] == "InvalidEventPatternException"


def test_retention_days_drop_old_events_from_count(aws: Callable[..., Any]) -> None:
    """Events older than RetentionDays (by event time) are no longer counted; 0 keeps them forever.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html
    """
    events = aws("events")
    bus = _bus(aws)
    short, forever = f"r1-{uuid.uuid4().hex[:8]}", f"r0-{uuid.uuid4().hex[:8]}"
    events.create_archive(ArchiveName=short, EventSourceArn=bus.arn, RetentionDays=1)
    events.create_archive(ArchiveName=forever, EventSourceArn=bus.arn, RetentionDays=0)
    _put(aws, bus, {"age": "old"}, when=datetime.now(UTC) - timedelta(days=3))
    _put(aws, bus, {"age": "new"})
    assert _archive_count(aws, forever, 2)["EventCount"] == 2
    assert events.describe_archive(ArchiveName=short)["EventCount"] == 1
    assert events.describe_archive(ArchiveName=short)["RetentionDays"] == 1


def test_replay_redelivers_time_window_to_filtered_rules_with_replay_name(aws: Callable[..., Any]) -> None:
    """StartReplay re-delivers archived events in [start, end) to the FilterArns rules, adding replay-name.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html
    """
    events = aws("events")
    bus = _bus(aws)
    archive = f"w-{uuid.uuid4().hex[:8]}"
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus.arn)["ArchiveArn"]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for minute in (0, 1, 2, 10):
        _put(aws, bus, {"minute": minute}, when=base + timedelta(minutes=minute))
    assert len(_drain(aws, bus, 4)) == 4
    assert _archive_count(aws, archive, 4)["EventCount"] == 4

    replay = f"rp-{uuid.uuid4().hex[:8]}"
    started = events.start_replay(ReplayName=replay, EventSourceArn=archive_arn,
                                  EventStartTime=base, EventEndTime=base + timedelta(minutes=10),
                                  Destination={"Arn": bus.arn, "FilterArns": [bus.rule_arn]})
    assert started["State"] == "STARTING"
    _wait_state(events, replay, {"COMPLETED"})
    replayed = _drain(aws, bus, 3)
    assert sorted(e["detail"]["minute"] for e in replayed) == [0, 1, 2]
    assert {e["replay-name"] for e in replayed} == {replay}
    described = events.describe_replay(ReplayName=replay)
    assert described["EventLastReplayedTime"] == base + timedelta(minutes=2)
    assert described["ReplayEndTime"] >= described["ReplayStartTime"]
    assert described["Destination"]["FilterArns"] == [bus.rule_arn]
    # Replayed events are not archived again.
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 4
    # Nothing beyond the window arrives (the minute-10 event is outside [start, end)).
    assert _drain(aws, bus, 1, deadline_s=1.5) == []


def test_replay_to_other_rule_only_skips_tap(aws: Callable[..., Any]) -> None:
    """With FilterArns naming another rule, the tap rule receives nothing from the replay.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ReplayDestination.html
    """
    events, sqs = aws("events"), aws("sqs")
    bus = _bus(aws)
    other_url = sqs.create_queue(QueueName=f"other-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    other_rule = events.put_rule(Name=f"other-{uuid.uuid4().hex[:8]}", EventBusName=bus.name,
                                 EventPattern=json.dumps({"source": [bus.source]}))["RuleArn"]
    events.put_targets(Rule=other_rule.rsplit("/", 1)[-1], EventBusName=bus.name,
                       Targets=[{"Id": "o", "Arn": other_arn}])
    archive_arn = events.create_archive(ArchiveName=f"o-{uuid.uuid4().hex[:8]}", EventSourceArn=bus.arn)["ArchiveArn"]
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    _put(aws, bus, {"x": 1}, when=when)
    assert len(_drain(aws, bus, 1)) == 1
    replay = f"ro-{uuid.uuid4().hex[:8]}"
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=when - timedelta(minutes=1),
                        EventEndTime=when + timedelta(minutes=1),
                        Destination={"Arn": bus.arn, "FilterArns": [other_rule]})
    _wait_state(events, replay, {"COMPLETED"})
    end = time.monotonic() + 10
    bodies: list[dict[str, Any]] = []
    while not any(b.get("replay-name") == replay for b in bodies) and time.monotonic() < end:
        bodies += [json.loads(m["Body"]) for m in sqs.receive_message(
            QueueUrl=other_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
    assert any(b.get("replay-name") == replay for b in bodies)
    assert _drain(aws, bus, 1, deadline_s=1.5) == []


def test_replay_rejects_bad_window_and_completed_cancel(aws: Callable[..., Any]) -> None:
    """StartReplay needs EventStartTime before EventEndTime; a completed replay cannot be cancelled and is
    listed under its state.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CancelReplay.html
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListReplays.html
    """
    events = aws("events")
    bus = _bus(aws)
    archive_arn = events.create_archive(ArchiveName=f"c-{uuid.uuid4().hex[:8]}", EventSourceArn=bus.arn)["ArchiveArn"]
    now = datetime.now(UTC)
    with pytest.raises(ClientError) as err:
        events.start_replay(ReplayName=f"bad-{uuid.uuid4().hex[:8]}", EventSourceArn=archive_arn,
                            EventStartTime=now, EventEndTime=now - timedelta(minutes=1), Destination={"Arn": bus.arn})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    replay = f"done-{uuid.uuid4().hex[:8]}"
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=now - timedelta(minutes=5),
                        EventEndTime=now, Destination={"Arn": bus.arn})
    _wait_state(events, replay, {"COMPLETED"})
    with pytest.raises(ClientError) as err:
        events.cancel_replay(ReplayName=replay)
    assert err.value.response["Error"]["Code"] == "IllegalStatusException"
    completed = {r["ReplayName"] for r in events.list_replays(State="COMPLETED")["Replays"]}
    assert replay in completed
    assert replay not in {r["ReplayName"] for r in events.list_replays(State="RUNNING")["Replays"]}


def _spread_archive(aws: Callable[..., Any], minutes: int) -> tuple[Bus, str, datetime]:
    """A bus whose archive holds one event per minute over ``minutes`` minutes, put before the tap rule existed."""
    events = aws("events")
    suffix = uuid.uuid4().hex[:10]
    name = f"arch-spread-{suffix}"
    arn = events.create_event_bus(Name=name)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=f"sp-{suffix}", EventSourceArn=arn)["ArchiveArn"]
    source = f"test.archive.{suffix}"
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    for first in range(0, minutes, 10):
        events.put_events(Entries=[
            {"Source": source, "DetailType": "archived", "Detail": json.dumps({"minute": m}), "EventBusName": name,
             "Time": base + timedelta(minutes=m)} for m in range(first, min(first + 10, minutes))])
    assert _archive_count(aws, f"sp-{suffix}", minutes)["EventCount"] == minutes
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName=f"tap-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arn = events.put_rule(Name=f"tap-{suffix}", EventBusName=name,
                               EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    events.put_targets(Rule=f"tap-{suffix}", EventBusName=name, Targets=[{"Id": "tap", "Arn": queue_arn}])
    return Bus(name, arn, rule_arn, queue_url, source), archive_arn, base


def test_replay_walks_starting_running_completed(aws: Callable[..., Any]) -> None:
    """A replay is STARTING, then RUNNING minute of event time by minute, then COMPLETED.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html
    """
    events = aws("events")
    # At the tests' time scale 150 minutes of event time keep the replay RUNNING for ~0.6 s (60 emulated s).
    bus, archive_arn, base = _spread_archive(aws, 150)
    replay = f"st-{uuid.uuid4().hex[:8]}"
    started = events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=base,
                                  EventEndTime=base + timedelta(minutes=150), Destination={"Arn": bus.arn})
    seen = ["STARTING"] if started["State"] == "STARTING" else [started["State"]]
    for state in _wait_state(events, replay, {"COMPLETED", "FAILED"}):
        if state != seen[-1]:
            seen.append(state)
    assert seen == ["STARTING", "RUNNING", "COMPLETED"]
    assert len(_drain(aws, bus, 150)) == 150


def test_cancel_replay_stops_delivery(aws: Callable[..., Any]) -> None:
    """CancelReplay answers CANCELLING; the replay ends CANCELLED and delivers nothing more.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CancelReplay.html
    """
    events = aws("events")
    bus, archive_arn, base = _spread_archive(aws, 150)
    replay = f"cx-{uuid.uuid4().hex[:8]}"
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=base,
                        EventEndTime=base + timedelta(minutes=150), Destination={"Arn": bus.arn})
    _wait_state(events, replay, {"RUNNING", "COMPLETED"})
    assert events.cancel_replay(ReplayName=replay)["State"] == "CANCELLING"
    _wait_state(events, replay, {"CANCELLED"})
    delivered = _drain(aws, bus, 150, deadline_s=2.0)
    assert len(delivered) < 150
    assert _drain(aws, bus, 1, deadline_s=1.0) == []
