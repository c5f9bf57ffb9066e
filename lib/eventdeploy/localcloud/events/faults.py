"""Injected target failures, so retry/DLQ behaviour can be exercised against the local cloud.

``POST /_localcloud/events-faults`` with ``{"target_arn": ..., "error_code": "ThrottlingException",
"status": 429, "count": 3}`` makes the next ``count`` deliveries to that target fail as if the target's service
had answered that error (``count`` omitted or null: every delivery; ``{"target_arn": ..., "clear": true}``
removes it). The failure then goes through the same classification, retry and DLQ path as a real one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

_THROTTLE_CODES = {"ThrottlingException", "TooManyRequestsException", "Throttling"}


@dataclass
class Fault:
    """One injected failure mode for one target ARN."""

    error_code: str
    message: str
    status: int
    remaining: int | None


class FaultRegistry:
    """Thread-safe map of target ARN to the failure its deliveries should meet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Add, replace or clear (``clear: true``) the fault of ``spec['target_arn']``."""
        arn = spec.get("target_arn")
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise ValueError(f"target_arn {arn!r} must be the ARN of a rule target")
        with self._lock:
            if spec.get("clear"):
                self._faults.pop(arn, None)
                return {"cleared": arn}
            code = str(spec.get("error_code") or "ThrottlingException")
            status = int(spec.get("status") or (429 if code in _THROTTLE_CODES else 500))
            count = spec.get("count")
            if count is not None and (not isinstance(count, int) or count < 0):
                raise ValueError(f"count {count!r} must be a non-negative integer or null (always)")
            self._faults[arn] = Fault(code, str(spec.get("message") or f"Injected {code}"), status, count)
            return {"target_arn": arn, "error_code": code, "status": status, "count": count}

    def check(self, target_arn: str) -> None:
        """Raise the target service's error if a fault is configured for ``target_arn``."""
        if not self._faults:
            return
        with self._lock:
            fault = self._faults.get(target_arn)
            if fault is None:
                return
            if fault.remaining is not None:
                if fault.remaining <= 0:
                    del self._faults[target_arn]
                    return
                fault.remaining -= 1
        raise ClientError({"Error": {"Code": fault.error_code, "Message": fault.message},
                           "ResponseMetadata": {"HTTPStatusCode": fault.status}}, "Deliver")

    def clear(self) -> None:
        """Remove every fault (on reset)."""
        with self._lock:
            self._faults.clear()
