"""Emit AWS service events (source ``aws.*``) onto an account's default bus, as AWS services do.

Used by the service-event extensions (ECR, CloudFormation, Config, Step Functions, CodeBuild, CodePipeline).
Callers never build the envelope themselves, so every service event has AWS's shape.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud import internal


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
    resources: list[str] | None = None,
) -> None:
    """Put one service event on ``account_id``'s default bus in ``region``; never raises for delivery problems."""
    client = internal.client("events", account_id, region)
    client.put_events(Entries=[{
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, default=str),
        "Resources": list(resources or []),
        "EventBusName": "default",
    }])
