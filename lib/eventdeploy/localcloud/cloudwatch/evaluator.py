"""Background alarm evaluator: evaluates every metric alarm on CloudWatch's cadence, in emulated time.

CloudWatch evaluates standard alarms every minute and high-resolution alarms (Period < 60) every 10 seconds; here
those cadences pass through ``clock.scaled`` (tests run at 0.01: every 0.6 s and 0.1 s of real time). Data
timestamps stay real, so an alarm's periods are real periods: drive a quick alarm with Period=10 and
``StorageResolution=1`` data.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from eventdeploy.localcloud import clock
from eventdeploy.localcloud.cloudwatch import alarms

log = logging.getLogger("eventdeploy.localcloud.cloudwatch")

TICK_S = 10.0
STANDARD_CADENCE_S = 60.0
HIGH_RES_CADENCE_S = 10.0
_DUE = "_eventdeploy_next_evaluation"
MAX_COMPOSITE_PASSES = 5


def cadence(alarm: Any) -> float:
    """Emulated seconds between two evaluations of ``alarm``."""
    return HIGH_RES_CADENCE_S if alarms.alarm_period(alarm) < 60 else STANDARD_CADENCE_S


def _backends() -> list[tuple[str, str, Any]]:
    from moto.cloudwatch.models import cloudwatch_backends

    return [(account_id, region, backend)
            for account_id, per_region in list(dict.items(cloudwatch_backends))
            for region, backend in list(dict.items(per_region))]


def evaluate_due(force: bool = False) -> int:
    """Evaluate every metric alarm whose cadence has come round (all with ``force``), then the composite alarms.

    Returns how many alarms were evaluated.
    """
    ran = 0
    mono = time.monotonic()
    for account_id, region, backend in _backends():
        everything = dict(backend.alarms)
        composites = [a for a in everything.values() if getattr(a, "rule", None)]
        for alarm in everything.values():
            if getattr(alarm, "rule", None) or (not force and getattr(alarm, _DUE, 0.0) > mono):
                continue
            setattr(alarm, _DUE, mono + clock.scaled(cadence(alarm)))
            try:
                alarms.apply(alarm, alarms.evaluate_alarm(account_id, region, alarm))
            except Exception:
                log.exception("evaluating alarm %s (%s/%s) failed", alarm.name, account_id, region)
            ran += 1
        ran += _evaluate_composites(everything, composites)
    return ran


def _evaluate_composites(everything: dict[str, Any], composites: list[Any]) -> int:
    # Composite alarms may watch composite alarms: settle in passes, bounded so a cycle cannot spin.
    for _ in range(MAX_COMPOSITE_PASSES):
        changed = False
        for alarm in composites:
            try:
                changed |= alarms.apply(alarm, alarms.evaluate_composite(everything, alarm))
            except Exception:
                log.exception("evaluating composite alarm %s failed", alarm.name)
        if not changed:
            break
    return len(composites)


class Evaluator:
    """The thread that calls ``evaluate_due`` every emulated ``TICK_S`` seconds."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start evaluating in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-alarm-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        # Floor the real wait so a tiny time scale does not turn the loop into a busy spin.
        while not self._stop.wait(max(0.05, clock.scaled(TICK_S))):
            try:
                evaluate_due()
            except Exception:
                # A bad tick (e.g. a backend reset mid-iteration) must not end alarm evaluation for good.
                log.exception("alarm evaluation tick failed")
