"""Lambda tasks of the deployment state machine: Validate and Verify.

Errors raised here carry their class name as the Step Functions error name (``InvalidDeployment``,
``VerificationFailed``), so the state machine can Catch them by name; they are deliberately not retried.
"""

from __future__ import annotations

import os
import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .common import client, logger

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class InvalidDeployment(Exception):
    """The deployment request cannot be deployed (bad digest, unknown repository)."""


class VerificationFailed(Exception):
    """The deployed version breached its alarm during the bake time."""


@logger.inject_lambda_context
def validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check the deployment request before anything is built."""
    logger.append_keys(trace_id=event.get("trace_id"), deployment_id=event.get("deployment_id"))
    missing = [k for k in ("deployment_id", "repository", "digest") if not event.get(k)]
    if missing:
        raise InvalidDeployment(f"missing {', '.join(missing)}")
    if not DIGEST.match(str(event["digest"])):
        raise InvalidDeployment(f"image digest {event['digest']!r} is not sha256:<64 hex>")
    allowed = [r for r in os.environ.get("ALLOWED_REPOSITORIES", "").split(",") if r]
    if allowed and event["repository"] not in allowed:
        raise InvalidDeployment(f"repository {event['repository']!r} is not deployable here ({allowed})")
    logger.info("deployment request valid")
    return {"valid": True, "image": f"{event['repository']}@{event['digest']}"}


@logger.inject_lambda_context
def verify(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Pass if the health alarm is not in ALARM after the bake time; otherwise fail the deployment."""
    logger.append_keys(trace_id=event.get("trace_id"), deployment_id=event.get("deployment_id"))
    alarm_name = event.get("alarm_name") or os.environ.get("HEALTH_ALARM", "")
    if not alarm_name:
        raise VerificationFailed("no health alarm is configured (HEALTH_ALARM); refusing to promote blind")
    alarms = client("cloudwatch").describe_alarms(AlarmNames=[alarm_name]).get("MetricAlarms", [])
    if not alarms:
        raise VerificationFailed(f"health alarm {alarm_name!r} does not exist")
    state = alarms[0]["StateValue"]
    logger.info("health alarm checked", extra={"alarm": alarm_name, "state": state})
    if state == "ALARM":
        raise VerificationFailed(f"{alarm_name} is in ALARM: {alarms[0].get('StateReason', '')}")
    return {"alarm": alarm_name, "state": state}
