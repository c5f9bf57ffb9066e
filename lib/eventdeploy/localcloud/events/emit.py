"""Emit AWS service events (source ``aws.*``) onto an account's default bus, as AWS services do.

Used by the service-event extensions (ECR, CloudFormation, Config, Step Functions, CodeBuild, CodePipeline).
Callers never build the envelope themselves, so every service event has AWS's shape.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("eventdeploy.localcloud.events")


def envelope(
    account_id: str, region: str, source: str, detail_type: str, detail: dict[str, Any],
    resources: list[str] | None = None, time: datetime | None = None,
) -> dict[str, Any]:
    """The event exactly as EventBridge delivers it (version, id, detail-type, source, account, time, ...)."""
    when = (time or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(resources or []),
        "detail": detail,
    }


def emit_service_event(
    account_id: str, region: str, source: str, detail_type: str, detail: dict[str, Any],
    resources: list[str] | None = None, time: datetime | None = None,
) -> None:
    """Put one service event on ``account_id``'s default bus in ``region``; never raises for delivery problems.

    ``time`` is when the change happened (default: now); a service that queues its events passes it, so the
    envelope's ``time`` is the change's, not the moment a sender thread got round to it.
    """
    # In-process ingest: customers may not use aws.* sources through PutEvents, but the services themselves do.
    from eventdeploy.localcloud.events.engine import ingest

    event = envelope(account_id, region, source, detail_type, detail, resources, time)
    try:
        ingest(account_id, region, "default", event)
    except Exception:  # the emitting service's API call must succeed whatever happens to its event
        log.exception("could not emit %s %s event", source, detail_type)
