"""Extension: EventBridge archives record at ingest and replays run in the background (see ``events.archive``)."""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud.extensions import ExtensionContext

# After the delivery engine (50): archives subscribe to its ingest hook and replay through its ``deliver``.
ORDER = 60


def install(ctx: ExtensionContext) -> None:
    """Patch moto's archive and replay operations onto the archive book and wire it to the delivery engine."""
    from moto.events import models
    from moto.events.exceptions import (
        IllegalStatusException,
        InvalidEventPatternException,
        ResourceAlreadyExistsException,
        ResourceNotFoundException,
        ValidationException,
    )

    from eventdeploy.localcloud.events import archive as arch
    from eventdeploy.localcloud.events import engine
    from eventdeploy.localcloud.events.patterns import InvalidEventPattern, compile_pattern

    book = arch.ArchiveBook(engine.deliver)
    engine.subscribe_ingest(book.record)

    def key_of(archive: Any) -> arch.ArchiveKey:
        account = archive.arn.split(":")[4]
        return arch.ArchiveKey(account, archive.region, archive.name)

    def retention_of(archive: Any) -> int:
        return int(archive.retention or 0)

    def check_pattern(archive_arn: str, pattern: str | None) -> None:
        try:
            book.set_pattern(archive_arn, pattern)
        except InvalidEventPattern as exc:
            raise InvalidEventPatternException(str(exc)) from exc

    def check_retention(retention: Any) -> None:
        if retention is not None and (not isinstance(retention, int) or retention < 0):
            raise ValidationException(
                f"1 validation error detected: Value '{retention}' at 'retentionDays' failed to satisfy "
                "constraint: Member must have value greater than or equal to 0")

    def create_archive(self: Any, name: str, source_arn: str, description: str, event_pattern: str,
                       retention: str) -> Any:
        try:
            arch.validate_name(name, "archiveName", 48)
        except ValueError as exc:
            raise ValidationException(str(exc)) from exc
        check_retention(retention)
        bus = self._get_event_bus(source_arn)
        if name in self.archives:
            raise ResourceAlreadyExistsException(f"Archive {name} already exists.")
        try:
            # Before moto's model parses it: the rejection must be AWS's InvalidEventPatternException.
            if event_pattern:
                compile_pattern(event_pattern)
        except InvalidEventPattern as exc:
            raise InvalidEventPatternException(str(exc)) from exc
        archive = models.Archive(self.account_id, self.region_name, name, source_arn, description,
                                 event_pattern, retention)
        check_pattern(archive.arn, event_pattern)
        managed_pattern = json.loads(event_pattern) if event_pattern else {}
        managed_pattern["replay-name"] = [{"exists": False}]
        archive.rule = self.put_rule(f"Events-Archive-{name}", event_pattern=json.dumps(managed_pattern),
                                     event_bus_arn=bus.name, managed_by=arch.MANAGED_BY)
        self.archives[name] = archive
        return archive

    previous_update = models.EventsBackend.update_archive

    def update_archive(self: Any, name: str, description: str, event_pattern: str, retention: str) -> Any:
        archive = self.archives.get(name)
        if archive is None:
            raise ResourceNotFoundException(f"Archive {name} does not exist.")
        check_retention(retention)
        if event_pattern:
            check_pattern(archive.arn, event_pattern)
        return previous_update(self, name, description, event_pattern, retention)

    previous_delete = models.EventsBackend.delete_archive

    def delete_archive(self: Any, name: str) -> None:
        archive = self.archives.get(name)
        previous_delete(self, name)
        if archive is not None:
            book.drop(key_of(archive), archive.arn)

    previous_archive_short = models.Archive.describe_short

    def archive_short(self: Any) -> dict[str, Any]:
        result = previous_archive_short(self)
        result["EventCount"], result["SizeBytes"] = book.totals(key_of(self), retention_of(self))
        return result

    previous_start = models.EventsBackend.start_replay

    def start_replay(self: Any, name: str, description: str, source_arn: str, start_time: Any, end_time: Any,
                     destination: dict[str, Any]) -> dict[str, Any]:
        try:
            arch.validate_name(name, "replayName", 64)
            start, end = arch.as_epoch(start_time, "EventStartTime"), arch.as_epoch(end_time, "EventEndTime")
            arch.rule_names_from_arns((destination or {}).get("FilterArns"))
        except ValueError as exc:
            raise ValidationException(str(exc)) from exc
        if start >= end:
            raise ValidationException(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
        return previous_start(self, name, description, source_arn, start, end, destination)

    def replay_events(self: Any, archive: Any) -> None:
        # moto replays synchronously inside StartReplay; AWS runs it in the background.
        book.start_replay(self, key_of(archive), retention_of(archive), archive.event_bus_name)

    previous_replay_short = models.Replay.describe_short

    def replay_short(self: Any) -> dict[str, Any]:
        result = previous_replay_short(self)
        last = getattr(self, "event_last_replayed_time", None)
        if last is not None:
            result["EventLastReplayedTime"] = last
        reason = getattr(self, "state_reason", None)
        if reason:
            result["StateReason"] = reason
        return result

    def cancel_replay(self: Any, name: str) -> dict[str, str]:
        replay = self._get_replay(name)
        if replay.state not in (models.ReplayState.STARTING, models.ReplayState.RUNNING):
            raise IllegalStatusException(f"Replay {name} is not in a valid state for this operation.")
        replay.state = models.ReplayState.CANCELLING
        book.cancel(replay.arn)
        return {"ReplayArn": replay.arn, "State": models.ReplayState.CANCELLING.value}

    previous_list_replays = models.EventsBackend.list_replays

    def list_replays(self: Any, name_prefix: str, source_arn: str, state: str) -> list[dict[str, Any]]:
        if not state:
            return previous_list_replays(self, name_prefix, source_arn, state)
        # moto validates the filter but then compares its enum to the string, so a State filter matched nothing.
        previous_list_replays(self, None, None, state)
        return [r.describe_short() for r in self.replays.values() if r.state.value == state]

    models.EventsBackend.list_replays = list_replays
    models.EventsBackend.create_archive = create_archive
    models.EventsBackend.update_archive = update_archive
    models.EventsBackend.delete_archive = delete_archive
    models.EventsBackend.start_replay = start_replay
    models.EventsBackend.cancel_replay = cancel_replay
    models.Archive.describe_short = archive_short
    models.Replay.replay_events = replay_events
    models.Replay.describe_short = replay_short

    ctx.on_reset(book.clear)
    ctx.on_shutdown(book.clear)
