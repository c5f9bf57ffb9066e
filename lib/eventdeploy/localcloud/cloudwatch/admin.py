"""The local CloudWatch's admin routes under ``/_localcloud/cloudwatch/...`` (see README.md)."""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.cloudwatch import evaluator, store
from eventdeploy.localcloud.extensions import json_body
from eventdeploy.localcloud.metrics import publish as publish_datum

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


def evaluate_now(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """Evaluate every alarm now, whatever its cadence."""
    return 200, {"evaluated": evaluator.evaluate_due(force=True)}


def stats(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """How many series and stored data points the store holds."""
    return 200, store.totals()


def publish(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """Publish through ``metrics.publish``, as an emulated service does (runbooks and tests use this)."""
    req = json_body(body)
    usage = "send namespace, name, value (optional unit, dimensions, count, account_id, region)"
    missing = [k for k in ("namespace", "name", "value") if k not in req]
    if missing:
        return 400, {"error": f"missing {', '.join(missing)}: {usage}"}
    try:
        value, count = float(req["value"]), int(req.get("count", 1))
    except (TypeError, ValueError):
        return 400, {"error": f"value {req.get('value')!r} and count {req.get('count')!r} must be numbers: {usage}"}
    for _ in range(count):
        publish_datum(req.get("account_id", DEFAULT_ACCOUNT), req.get("region", DEFAULT_REGION), req["namespace"],
                      req["name"], value, req.get("unit", "Count"), req.get("dimensions") or {})
    return 200, {"published": count}
