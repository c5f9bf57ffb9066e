"""Periodic AWS Config rules, run every MaximumExecutionFrequency in emulated time.

Follows https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config-rules.html ("Periodic" trigger:
the rule runs at the frequency you choose; 24 hours when none is given) and the MaximumExecutionFrequency values of
https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigRule.html. Periodic rules are custom Lambda rules
with a ScheduledNotification trigger (invoked with a fresh ResultToken) and emulated managed rules whose trigger
type is periodic. The period is emulated time, so the server's time scale shortens it (One_Hour is 36 s at 0.01).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud import clock

log = logging.getLogger("eventdeploy.localcloud.service_events")

FREQUENCY_SECONDS = {"One_Hour": 3600, "Three_Hours": 3 * 3600, "Six_Hours": 6 * 3600,
                     "Twelve_Hours": 12 * 3600, "TwentyFour_Hours": 24 * 3600}
DEFAULT_FREQUENCY = "TwentyFour_Hours"


def period_of(rule: Any) -> float | None:
    """Seconds between runs of a periodic rule, or None if the rule is not periodic."""
    from moto.config.models import MANAGED_RULES_CONSTRAINTS

    frequency = rule.maximum_execution_frequency
    if rule.source.owner == "AWS":
        trigger = str(MANAGED_RULES_CONSTRAINTS.get(rule.source.source_identifier, {}).get("Trigger type", ""))
        if "Periodic" not in trigger:
            return None
    else:
        scheduled = [d for d in rule.source.source_details or [] if d.message_type == "ScheduledNotification"]
        if not scheduled:
            return None
        frequency = frequency or scheduled[0].maximum_execution_frequency
    return float(FREQUENCY_SECONDS.get(frequency or DEFAULT_FREQUENCY, FREQUENCY_SECONDS[DEFAULT_FREQUENCY]))


class Scheduler:
    """Remembers when each periodic rule last ran and runs the ones that are due."""

    def __init__(self, run_rule: Callable[[Any, Any], None]) -> None:
        self.run_rule = run_rule
        self.last_run: dict[str, float] = {}

    def tick(self, backends: list[Any], now: float) -> list[str]:
        """Run every due periodic rule of ``backends``; returns the ARNs run. A rule first seen now starts its
        period now (putting it already evaluated it)."""
        ran = []
        seen = set()
        for backend in backends:
            for rule in list(backend.config_rules.values()):
                period = period_of(rule)
                if period is None:
                    continue
                arn = rule.config_rule_arn
                seen.add(arn)
                last = self.last_run.setdefault(arn, now)
                if clock.emulated_elapsed(now - last) >= period:
                    self.last_run[arn] = now
                    ran.append(arn)
                    try:
                        self.run_rule(backend, rule)
                    except Exception:  # one rule's failure must not stop the schedule
                        log.exception("periodic run of config rule %s failed", rule.config_rule_name)
        for gone in set(self.last_run) - seen:
            del self.last_run[gone]
        return ran


def _all_config_backends() -> list[Any]:
    from moto.config.models import config_backends

    found = []
    for regions in list(config_backends.values()):
        found.extend(list(regions.values()))
    return found


def _run_rule(backend: Any, rule: Any) -> None:
    from eventdeploy.localcloud.service_events import config_api

    if rule.source.owner == "AWS":
        config_api.evaluate_managed_rule(backend, rule)
    else:
        config_api.invoke_custom_rule(backend, rule)


scheduler = Scheduler(_run_rule)
_stop = threading.Event()


def _loop() -> None:
    # Check often enough that the shortest period (one emulated hour) is met within a few percent.
    interval = min(1.0, max(0.05, clock.scaled(60)))
    while not _stop.wait(interval):
        try:
            scheduler.tick(_all_config_backends(), time.monotonic())
        except RuntimeError:  # an account or region was added while we looked: look again next tick
            continue


def install() -> None:
    """Start the schedule's worker."""
    threading.Thread(target=_loop, name="config-periodic-rules", daemon=True).start()


def reset() -> None:
    """Forget when rules last ran (the rules are being reset)."""
    scheduler.last_run.clear()


def shutdown() -> None:
    """Stop the worker."""
    _stop.set()
