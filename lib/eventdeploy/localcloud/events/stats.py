"""Delivery counters served at ``/_localcloud/events-stats``: what was accepted, matched, delivered, lost."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

BUS_COUNTERS = ("accepted", "no_such_bus")
RULE_COUNTERS = ("matched",)
TARGET_COUNTERS = ("delivered", "failed", "retried", "dlq", "dlq_failed", "dropped")


class DeliveryStats:
    """Thread-safe counters keyed by bus, rule and target."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, int] = defaultdict(int)
        self._buses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._rules: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._targets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def bus(self, bus_arn: str, counter: str, n: int = 1) -> None:
        """Count ``n`` of ``counter`` on the bus ``bus_arn``."""
        with self._lock:
            self._totals[counter] += n
            self._buses[bus_arn][counter] += n

    def rule(self, rule_arn: str, counter: str, n: int = 1) -> None:
        """Count ``n`` of ``counter`` on the rule ``rule_arn``."""
        with self._lock:
            self._totals[counter] += n
            self._rules[rule_arn][counter] += n

    def target(self, rule_arn: str, target_id: str, counter: str, n: int = 1) -> None:
        """Count ``n`` of ``counter`` for target ``target_id`` of rule ``rule_arn``."""
        with self._lock:
            self._totals[counter] += n
            self._targets[f"{rule_arn}#{target_id}"][counter] += n

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            return {
                "totals": {c: self._totals.get(c, 0) for c in BUS_COUNTERS + RULE_COUNTERS + TARGET_COUNTERS},
                "buses": {k: dict(v) for k, v in self._buses.items()},
                "rules": {k: dict(v) for k, v in self._rules.items()},
                "targets": {k: dict(v) for k, v in self._targets.items()},
            }

    def clear(self) -> None:
        """Forget everything (on reset)."""
        with self._lock:
            self._totals.clear()
            self._buses.clear()
            self._rules.clear()
            self._targets.clear()
