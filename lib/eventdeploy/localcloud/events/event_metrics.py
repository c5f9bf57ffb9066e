"""AWS/Events CloudWatch metrics, summed off the hot path and flushed by a background thread.

Names, units and dimensions follow https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html:
rule metrics are published with no dimension (account total) and, as AWS does, ``RuleName`` alone for rules of
the default bus or ``EventBusName, RuleName`` for rules of a custom bus.
Counts are summed per flush (like CloudWatch's own aggregation); latencies are published sample by sample.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

from eventdeploy.localcloud import metrics

NAMESPACE = "AWS/Events"
log = logging.getLogger("eventdeploy.localcloud.events")

_Key = tuple[str, str, str, str, tuple[tuple[str, str], ...]]


class EventMetrics:
    """Buffers AWS/Events data points and publishes them every ``interval`` real seconds."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._counts: dict[_Key, float] = defaultdict(float)
        self._samples: list[tuple[_Key, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the flusher thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="events-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Flush what is buffered and stop the flusher."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def clear(self) -> None:
        """Drop buffered data (on reset)."""
        with self._lock:
            self._counts.clear()
            self._samples.clear()

    def rule_count(self, account: str, region: str, bus: str, rule: str, name: str, value: float = 1,
                   total: bool = True) -> None:
        """Add ``value`` to a Count metric of ``rule`` on ``bus`` (and to the account total if ``total``)."""
        dims = (("RuleName", rule),) if bus == "default" else (("EventBusName", bus), ("RuleName", rule))
        with self._lock:
            if total:
                self._counts[(account, region, name, "Count", ())] += value
            self._counts[(account, region, name, "Count", dims)] += value

    def count(self, account: str, region: str, name: str, value: float = 1, unit: str = "Count",
              dimensions: tuple[tuple[str, str], ...] = ()) -> None:
        """Add ``value`` to an account-level metric."""
        with self._lock:
            self._counts[(account, region, name, unit, dimensions)] += value

    def latency(self, account: str, region: str, bus: str, rule: str, millis: float) -> None:
        """Record one IngestionToInvocationStartLatency sample (Milliseconds)."""
        name = "IngestionToInvocationStartLatency"
        with self._lock:
            self._samples.append(((account, region, name, "Milliseconds", ()), millis))
            self._samples.append(((account, region, name, "Milliseconds", (("EventBusName", bus),)), millis))
            self._samples.append(((account, region, name, "Milliseconds", (("RuleName", rule),)), millis))

    def sample(self, account: str, region: str, name: str, value: float, unit: str) -> None:
        """Record one sample of an account-level metric (e.g. PutEventsRequestSize in Bytes)."""
        with self._lock:
            self._samples.append(((account, region, name, unit, ()), value))

    def flush(self) -> None:
        """Publish everything buffered."""
        with self._lock:
            counts, self._counts = self._counts, defaultdict(float)
            samples, self._samples = self._samples, []
        for (account, region, name, unit, dims), value in list(counts.items()) + samples:
            try:
                metrics.publish(account, region, NAMESPACE, name, value, unit, dict(dims))
            except Exception:  # metrics must never take delivery down
                log.exception("publishing %s/%s failed", NAMESPACE, name)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def pending(self) -> dict[str, Any]:
        """How much is buffered (for diagnostics)."""
        with self._lock:
            return {"counts": len(self._counts), "samples": len(self._samples)}
