"""Concurrent-execution accounting: reserved concurrency per function and the account's quota per Region.

Follows https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html: a function with reserved concurrency
runs at most that many instances (0 throttles every invocation) and never competes with others for them; functions
without a reservation share the account's unreserved pool (quota minus all reservations, never below a tenth of
the quota: AWS keeps 100 of its default 1000 unreserved).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass

from eventdeploy.localcloud.lambda_runtime.settings import RuntimeSettings

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"


class Throttled(Exception):
    """No concurrency is available for the invocation; ``reason`` is Lambda's ThrottleReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Slot:
    """A held unit of concurrency; give it back with ``Limiter.release``."""

    account_id: str
    region: str
    function: str
    reserved: bool


class Limiter:
    """Counts running invocations per function and per account/Region."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._per_function: dict[tuple[str, str, str], int] = defaultdict(int)
        self._unreserved: dict[tuple[str, str], int] = defaultdict(int)
        self._total: dict[tuple[str, str], int] = defaultdict(int)

    def acquire(self, account_id: str, region: str, function: str, reserved: int | None,
                reserved_elsewhere: int) -> tuple[Slot, int]:
        """Take a slot or raise Throttled; also returns the account/Region's concurrent executions after it."""
        fkey = (account_id, region, function)
        akey = (account_id, region)
        with self._lock:
            if reserved is not None:
                if self._per_function[fkey] >= reserved:
                    raise Throttled(RESERVED_LIMIT)
            else:
                limit = self.settings.limit_for(account_id)
                # Lambda always keeps 100 of the default 1000 unreserved; scaled to the local quota.
                pool = max(-(-limit // 10), limit - reserved_elsewhere)
                if self._unreserved[akey] >= pool:
                    raise Throttled(ACCOUNT_LIMIT)
                self._unreserved[akey] += 1
            self._per_function[fkey] += 1
            self._total[akey] += 1
            return Slot(account_id, region, function, reserved is not None), self._total[akey]

    def release(self, slot: Slot) -> None:
        """Give ``slot`` back."""
        with self._lock:
            self._per_function[(slot.account_id, slot.region, slot.function)] -= 1
            self._total[(slot.account_id, slot.region)] -= 1
            if not slot.reserved:
                self._unreserved[(slot.account_id, slot.region)] -= 1

    def running(self, account_id: str, region: str, function: str | None = None) -> int:
        """Invocations running now for the function (or the whole account/Region)."""
        with self._lock:
            if function is None:
                return self._total[(account_id, region)]
            return self._per_function[(account_id, region, function)]

    def clear(self) -> None:
        """Forget every count (on reset, after the workers were stopped)."""
        with self._lock:
            self._per_function.clear()
            self._unreserved.clear()
            self._total.clear()
