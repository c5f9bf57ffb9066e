"""Publish CloudWatch metrics from inside the local cloud (AWS/Events, AWS/Lambda, AWS/States, ...).

``publish`` writes straight into moto's CloudWatch backend so emulated services cost no HTTP round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime


def publish(
    account_id: str, region: str, namespace: str, name: str, value: float, unit: str = "Count",
    dimensions: dict[str, str] | None = None, timestamp: datetime | None = None,
) -> None:
    """Record one datum of ``namespace``/``name`` with ``dimensions`` for ``account_id`` in ``region``."""
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[account_id][region]
    backend.put_metric_data(namespace, [{
        "MetricName": name,
        "Value": float(value),
        "Unit": unit,
        "Timestamp": timestamp or datetime.now(UTC),
        "Dimensions": [{"Name": k, "Value": v} for k, v in (dimensions or {}).items()],
    }])
