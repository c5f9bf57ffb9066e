"""One place where the service-event modules hand events to ``events.emit`` without ever failing the API call."""

from __future__ import annotations

import logging
from typing import Any

from eventdeploy.localcloud.events import emit

log = logging.getLogger("eventdeploy.localcloud.service_events")


def emit_event(
    account_id: str, region: str, source: str, detail_type: str, detail: dict[str, Any],
    resources: list[str] | None = None,
) -> None:
    """Put a service event on the default bus; a delivery problem is logged, never raised into the API call."""
    try:
        emit.emit_service_event(account_id, region, source, detail_type, detail, resources or [])
    except Exception:  # AWS emits service events best-effort: the action that caused one still succeeds
        log.exception("could not emit %s %s event in %s/%s", source, detail_type, account_id, region)
