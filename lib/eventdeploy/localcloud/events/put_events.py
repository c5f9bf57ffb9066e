"""PutEvents as AWS does it: per-entry validation and results, then in-process ingest; never waits on delivery.

Spec: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html (at most 10 entries),
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html (per-entry error codes),
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html (how entry size is counted).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud.events import policy
from eventdeploy.localcloud.events.engine import engine

MAX_ENTRIES = 10
MAX_ENTRY_BYTES = 256 * 1024


class TooManyEntries(ValueError):
    """More than 10 entries: AWS answers ValidationException for the whole request."""


def entry_size(entry: dict[str, Any]) -> int:
    """The entry's size as EventBridge counts it (Time 14 bytes, UTF-8 of Source, DetailType, Detail, Resources)."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources") or []:
        size += len(str(resource).encode("utf-8"))
    return size


def _error(code: str, message: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": message}


def _event_time(value: Any) -> str:
    if value is None:
        when = datetime.now(UTC)
    elif isinstance(value, (int, float)):
        when = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, datetime):
        when = value.astimezone(UTC)
    else:
        try:
            when = datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_bus(name_or_arn: str | None, caller_account: str, region: str) -> tuple[str, str, str]:
    """(account, region, bus name) for an EventBusName that is a name or an ARN."""
    if not name_or_arn:
        return caller_account, region, "default"
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("event-bus/"):
            return parts[4], parts[3], parts[5][len("event-bus/"):]
    return caller_account, region, name_or_arn


def accept_entry(caller_account: str, region: str, entry: dict[str, Any], size: int | None = None) -> dict[str, str]:
    """Validate one PutEvents entry (of ``size`` bytes, if known) and ingest it; the result AWS would return."""
    from moto.events.models import events_backends

    for key in ("Source", "DetailType", "Detail"):
        if not entry.get(key):
            return _error("InvalidArgument", f"Parameter {key} is not valid. Reason: {key} is a required argument.")
    source = entry["Source"]
    if source.startswith("aws."):
        # AWS services' sources are reserved for the services themselves.
        return _error("NotAuthorizedForSourceException", "Not authorized for the source.")
    size = entry_size(entry) if size is None else size
    if size > MAX_ENTRY_BYTES:
        return _error("InvalidArgument",
                      f"Parameter Entries is not valid. Reason: the entry is {size} bytes; "
                      f"the total entry size must be at most {MAX_ENTRY_BYTES} bytes (256 KB).")
    try:
        detail = json.loads(entry["Detail"])
    except (TypeError, ValueError):
        return _error("MalformedDetail", "Detail is malformed.")
    if not isinstance(detail, dict):
        return _error("MalformedDetail", "Detail is malformed.")
    bus_account, bus_region, bus_name = resolve_bus(entry.get("EventBusName"), caller_account, region)
    bus = events_backends[bus_account][bus_region].event_buses.get(bus_name)
    bus_arn = f"arn:aws:events:{bus_region}:{bus_account}:event-bus/{bus_name}"
    if bus_account != caller_account and not policy.is_allowed(
        bus.policy if bus is not None else None, bus_arn, bus_account, caller_account, source, entry["DetailType"]
    ):
        return _error(
            "AccessDeniedException",
            f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: events:PutEvents on "
            f"resource: {bus_arn} because no resource-based policy allows the events:PutEvents action",
        )
    if bus is None:
        # EventBridge long accepted such entries and lost them silently (aws/aws-sdk#186); AWS's service team
        # reported that corrected in 2024, so the entry fails on its own, as the brief and callers expect.
        engine().stats.bus(bus_arn, "no_such_bus")
        return _error("ResourceNotFoundException", f"Event bus {bus_name} does not exist.")
    try:
        when = _event_time(entry.get("Time"))
    except (ValueError, OverflowError):
        return _error("InvalidArgument", f"Parameter Time is not valid: {entry.get('Time')!r}")
    # getrandbits avoids a urandom syscall per event; ids only need to be unique, not secret.
    event_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
    event = {
        "version": "0",
        "id": event_id,
        "detail-type": entry["DetailType"],
        "source": source,
        "account": caller_account,
        "time": when,
        "region": bus_region,
        "resources": list(entry.get("Resources") or []),
        "detail": detail,
    }
    engine().ingest(bus_account, bus_region, bus_name, event)
    return {"EventId": event_id}


def put_events(caller_account: str, region: str, entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Results for every entry, in order; raise TooManyEntries for more than 10."""
    if len(entries) > MAX_ENTRIES:
        raise TooManyEntries(
            "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_ENTRIES}"
        )
    sizes = [entry_size(entry or {}) for entry in entries]
    results = [accept_entry(caller_account, region, entry or {}, size)
               for entry, size in zip(entries, sizes, strict=True)]
    engine().metrics.sample(caller_account, region, "PutEventsRequestSize", float(sum(sizes)), "Bytes")
    return results
