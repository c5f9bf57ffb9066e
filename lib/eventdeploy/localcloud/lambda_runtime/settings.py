"""Tunables of the Lambda runtime, read from the server's environment (documented in the ext module)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int_env(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer; set it to a whole number >= {minimum}") from exc
    if value < minimum:
        raise ValueError(f"{name}={value} is below {minimum}; set it to a whole number >= {minimum}")
    return value


@dataclass
class RuntimeSettings:
    """Limits of the emulated Lambda service on this machine."""

    # Account concurrency quota (AWS's default is 1000; 10 keeps a 2-core machine responsive).
    account_concurrency: int = 10
    # Per-account overrides of the quota, set through the admin route ``/_localcloud/lambda-runtime``.
    account_overrides: dict[str, int] = field(default_factory=dict)
    # Warm worker processes kept in total; beyond it the least recently used idle one is stopped.
    max_workers: int = 20
    # Threads that run queued asynchronous invocations.
    async_threads: int = 10
    # Idle warm workers older than this (real seconds) are stopped, as Lambda recycles unused environments.
    idle_timeout_s: int = 600

    @classmethod
    def from_env(cls) -> RuntimeSettings:
        """Read ``EVENTDEPLOY_LAMBDA_{CONCURRENCY,MAX_WORKERS,ASYNC_THREADS,IDLE_TIMEOUT}``."""
        concurrency = _int_env("EVENTDEPLOY_LAMBDA_CONCURRENCY", 10, 1)
        return cls(
            account_concurrency=concurrency,
            max_workers=_int_env("EVENTDEPLOY_LAMBDA_MAX_WORKERS", max(20, concurrency), 1),
            async_threads=_int_env("EVENTDEPLOY_LAMBDA_ASYNC_THREADS", concurrency, 1),
            idle_timeout_s=_int_env("EVENTDEPLOY_LAMBDA_IDLE_TIMEOUT", 600, 1),
        )

    def limit_for(self, account_id: str) -> int:
        """The concurrency quota of ``account_id``."""
        return self.account_overrides.get(account_id, self.account_concurrency)
