"""The ``/_localcloud/codebuild`` admin route: see running builds, and set how long a timeout minute lasts."""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.codebuild.registry import REGISTRY
from eventdeploy.localcloud.extensions import json_body


def handle(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """GET: the settings and running build ids. POST {"minute_seconds": s}: a timeout minute lasts s real seconds."""
    if environ.get("REQUEST_METHOD") == "POST":
        payload = json_body(body)
        value = payload.get("minute_seconds")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            return 400, {"error": f"minute_seconds must be a positive number of seconds, got {value!r}"}
        REGISTRY.minute_seconds = float(value)
    with REGISTRY.lock:
        running = sorted(REGISTRY.threads)
    return 200, {"minute_seconds": REGISTRY.minute_seconds, "running_builds": running}
