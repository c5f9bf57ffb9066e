"""RetryPolicy limits, backoff and the timer that re-runs failed deliveries in emulated time.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html: by default EventBridge retries
for 24 hours and up to 185 times with exponential back off and jitter; MaximumRetryAttempts 0-185,
MaximumEventAgeInSeconds 60-86400.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventdeploy.localcloud import clock

DEFAULT_ATTEMPTS = 185
DEFAULT_AGE = 86400
BASE_DELAY = 1.0
MAX_DELAY = 300.0


class InvalidRetryPolicy(ValueError):
    """A RetryPolicy AWS rejects at PutTargets."""


@dataclass(frozen=True)
class RetryPolicy:
    """A target's retry limits."""

    max_attempts: int = DEFAULT_ATTEMPTS
    max_age: int = DEFAULT_AGE

    @classmethod
    def from_target(cls, target: dict[str, Any]) -> RetryPolicy:
        """The target's RetryPolicy with AWS's defaults; raise InvalidRetryPolicy when out of range."""
        spec = target.get("RetryPolicy") or {}
        attempts = spec.get("MaximumRetryAttempts", DEFAULT_ATTEMPTS)
        age = spec.get("MaximumEventAgeInSeconds", DEFAULT_AGE)
        if not isinstance(attempts, int) or not 0 <= attempts <= 185:
            raise InvalidRetryPolicy(
                f"RetryPolicy.MaximumRetryAttempts {attempts!r} is not valid: use an integer from 0 to 185"
            )
        if not isinstance(age, int) or not 60 <= age <= 86400:
            raise InvalidRetryPolicy(
                f"RetryPolicy.MaximumEventAgeInSeconds {age!r} is not valid: use an integer from 60 to 86400"
            )
        return cls(attempts, age)


def backoff(retry_number: int) -> float:
    """Emulated seconds to wait before retry ``retry_number`` (1-based): exponential with equal jitter."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** min(retry_number - 1, 20)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class RetryTimer:
    """Runs callbacks after emulated delays on one thread, handing each to ``submit`` when due."""

    def __init__(self, submit: Callable[[Callable[[], None]], None]) -> None:
        self._submit = submit
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="events-retry", daemon=True)
        self._thread.start()

    def schedule(self, emulated_delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``emulated_delay`` seconds of emulated time."""
        import time

        due = time.monotonic() + clock.scaled(emulated_delay)
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), callback))
            self._cond.notify()

    def clear(self) -> int:
        """Forget every pending retry; return how many there were."""
        with self._cond:
            n = len(self._heap)
            self._heap.clear()
            return n

    def pending(self) -> int:
        """How many retries are waiting."""
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        """Stop the timer thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import time

        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._heap)
            self._submit(callback)
