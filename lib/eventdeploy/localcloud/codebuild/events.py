"""``CodeBuild Build State Change`` and ``CodeBuild Build Phase Change`` events, shaped as AWS documents them.

https://docs.aws.amazon.com/codebuild/latest/userguide/sample-build-notifications.html#sample-build-notifications-ref
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from eventdeploy.localcloud.events.emit import emit_service_event

log = logging.getLogger("eventdeploy.localcloud.codebuild")
SOURCE = "aws.codebuild"


def _when(value: Any) -> str:
    # CodeBuild's events carry Java-style dates: "Sep 1, 2017 4:12:29 PM".
    if not isinstance(value, datetime):
        return str(value or "")
    return value.strftime("%b %-d, %Y %-I:%M:%S %p")


def _phase_detail(phase: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"phase-context": [f"{c.get('statusCode', '')}: {c.get('message', '')}"
                                             for c in phase.get("contexts", [])],
                           "start-time": _when(phase.get("startTime")),
                           "phase-type": phase["phaseType"]}
    if "endTime" in phase:
        out["end-time"] = _when(phase["endTime"])
        out["duration-in-seconds"] = phase.get("durationInSeconds", 0)
    if "phaseStatus" in phase:
        out["phase-status"] = phase["phaseStatus"]
    return out


def additional_information(build: dict[str, Any]) -> dict[str, Any]:
    """The ``additional-information`` object of both event types, from the build as BatchGetBuilds shows it."""
    env = build.get("environment") or {}
    source = build.get("source") or {}
    logs = build.get("logs") or {}
    info: dict[str, Any] = {
        "artifact": {"location": (build.get("artifacts") or {}).get("location", "")},
        "environment": {
            "image": env.get("image", ""),
            "privileged-mode": bool(env.get("privilegedMode", False)),
            "compute-type": env.get("computeType", ""),
            "type": env.get("type", ""),
            "environment-variables": [{"name": v.get("name"), "type": v.get("type", "PLAINTEXT"),
                                       "value": v.get("value")} for v in env.get("environmentVariables", [])],
        },
        "timeout-in-minutes": build.get("timeoutInMinutes"),
        "build-complete": bool(build.get("buildComplete")),
        "build-number": build.get("buildNumber"),
        "initiator": build.get("initiator", ""),
        "build-start-time": _when(build.get("startTime")),
        "source": {k: v for k, v in {"location": source.get("location"), "type": source.get("type"),
                                     "buildspec": source.get("buildspec")}.items() if v},
        "logs": {"group-name": logs.get("groupName"), "stream-name": logs.get("streamName"),
                 "deep-link": logs.get("deepLink")},
        "phases": [_phase_detail(p) for p in build.get("phases", [])],
        "queued-timeout-in-minutes": build.get("queuedTimeoutInMinutes"),
    }
    if build.get("sourceVersion"):
        info["source-version"] = build["sourceVersion"]
    return info


def _context_text(phase: dict[str, Any] | None) -> str:
    # CodeBuild serialises the phase context list as a string inside the event.
    return json.dumps([f"{c.get('statusCode', '')}: {c.get('message', '')}" for c in (phase or {}).get("contexts", [])])


def emit_state_change(account_id: str, region: str, build: dict[str, Any]) -> None:
    """Put a ``CodeBuild Build State Change`` event for ``build``'s current status on the default bus."""
    current = build["phases"][-1] if build.get("phases") else None
    detail = {
        "build-status": build["buildStatus"],
        "project-name": build["projectName"],
        "build-id": build["arn"],
        "additional-information": additional_information(build),
        "current-phase": build["currentPhase"],
        "current-phase-context": _context_text(current),
        "version": "1",
    }
    _emit(account_id, region, "CodeBuild Build State Change", detail, build["arn"])


def emit_phase_change(account_id: str, region: str, build: dict[str, Any], phase: dict[str, Any]) -> None:
    """Put a ``CodeBuild Build Phase Change`` event for the just-completed ``phase`` on the default bus."""
    detail = {
        "completed-phase": phase["phaseType"],
        "project-name": build["projectName"],
        "build-id": build["arn"],
        "completed-phase-context": _context_text(phase),
        "additional-information": additional_information(build),
        "completed-phase-status": phase.get("phaseStatus", "SUCCEEDED"),
        "completed-phase-duration-seconds": phase.get("durationInSeconds", 0),
        "version": "1",
        "completed-phase-start": _when(phase.get("startTime")),
        "completed-phase-end": _when(phase.get("endTime")),
    }
    _emit(account_id, region, "CodeBuild Build Phase Change", detail, build["arn"])


def _emit(account_id: str, region: str, detail_type: str, detail: dict[str, Any], arn: str) -> None:
    try:
        emit_service_event(account_id, region, SOURCE, detail_type, detail, [arn])
    except Exception:  # a bus problem must not break the build, as in AWS
        log.exception("could not emit %s for %s", detail_type, arn)
