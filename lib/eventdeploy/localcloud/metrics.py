"""Publish CloudWatch metrics from inside the local cloud (AWS/Events, AWS/Lambda, AWS/States, ...).

``publish`` appends straight to the metric's series in the CloudWatch store (``cloudwatch.store``): a dict lookup
and a list append, so emulated services pay O(1) per datum, and the data is visible to ListMetrics,
GetMetricStatistics, GetMetricData and alarms exactly like data sent with PutMetricData.
"""

from __future__ import annotations

import time
from datetime import datetime

from eventdeploy.localcloud.cloudwatch.store import dim_key, epoch, region_store, stored_timestamp


def publish(
    account_id: str, region: str, namespace: str, name: str, value: float, unit: str = "Count",
    dimensions: dict[str, str] | None = None, timestamp: datetime | None = None,
) -> None:
    """Record one datum of ``namespace``/``name`` with ``dimensions`` for ``account_id`` in ``region``."""
    v = float(value)
    # AWS service metrics are standard resolution: one-minute granularity.
    ts = stored_timestamp(epoch(timestamp, time.time()), 60)
    region_store(account_id, region).series(namespace, name, dim_key(dimensions)).add(
        (ts, v, 1.0, v, v, unit or "None"))
