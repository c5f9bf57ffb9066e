"""Warm workers per function version: reuse, retirement on code/config change, and a cap on live processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventdeploy.localcloud.lambda_runtime import code, credentials
from eventdeploy.localcloud.lambda_runtime.settings import RuntimeSettings
from eventdeploy.localcloud.lambda_runtime.spec import FunctionSpec
from eventdeploy.localcloud.lambda_runtime.worker import Worker


class WorkerPool:
    """Hands out an idle warm worker of the exact function configuration, or starts a new one (a cold start)."""

    def __init__(self, settings: RuntimeSettings, state_dir: Path, endpoint: str,
                 on_stop: Callable[[Worker], None] | None = None) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.endpoint = endpoint
        self.on_stop = on_stop
        self._lock = threading.Lock()
        self._idle: dict[tuple[tuple[str, str, str, str], str], list[Worker]] = {}
        self._current: dict[tuple[str, str, str, str], str] = {}
        self._live: set[Worker] = set()
        self.cold_starts = 0

    def acquire(self, spec: FunctionSpec, fn: Any) -> Worker:
        """A worker for ``spec``: warm if one is idle, else freshly started."""
        stale: list[Worker] = []
        key = (spec.identity, spec.fingerprint)
        with self._lock:
            if self._current.get(spec.identity) != spec.fingerprint:
                # Code or configuration changed: the old execution environments are never used again.
                self._current[spec.identity] = spec.fingerprint
                for (identity, fingerprint), workers in list(self._idle.items()):
                    if identity == spec.identity and fingerprint != spec.fingerprint:
                        stale += workers
                        del self._idle[(identity, fingerprint)]
            idle = self._idle.get(key)
            worker = idle.pop() if idle else None
            if worker is None:
                stale += self._evict_locked()
        for old in stale:
            self._stop(old)
        if worker is not None:
            return worker
        root = code.task_root(self.state_dir, fn)
        extra = code.layer_paths(self.state_dir, fn)
        creds = credentials.for_role(spec.account_id, spec.region, spec.role, spec.name)
        worker = Worker(spec, root, extra, creds, self.endpoint, self.state_dir / "lambda" / "workers")
        with self._lock:
            self._live.add(worker)
            self.cold_starts += 1
        return worker

    def _evict_locked(self) -> list[Worker]:
        """Idle workers to stop so that one more fits under ``max_workers`` (least recently used first)."""
        excess = len(self._live) + 1 - self.settings.max_workers
        if excess <= 0:
            return []
        candidates = sorted((w for ws in self._idle.values() for w in ws), key=lambda w: w.last_used)[:excess]
        for worker in candidates:
            self._idle[(worker.spec.identity, worker.fingerprint)].remove(worker)
        return candidates

    def release(self, worker: Worker) -> None:
        """Return ``worker`` after an invocation: kept warm unless it died or its configuration is stale."""
        with self._lock:
            keep = (not worker.dead and worker in self._live
                    and self._current.get(worker.spec.identity) == worker.fingerprint)
            if keep:
                self._idle.setdefault((worker.spec.identity, worker.fingerprint), []).append(worker)
                return
        self._stop(worker)

    def _stop(self, worker: Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()
        if self.on_stop is not None:
            self.on_stop(worker)

    def retire_function(self, account_id: str, region: str, name: str) -> None:
        """Stop the idle workers of every version of a function (it was deleted)."""
        with self._lock:
            doomed = []
            for key, workers in list(self._idle.items()):
                if key[0][:3] == (account_id, region, name):
                    doomed += workers
                    del self._idle[key]
            for identity in [i for i in self._current if i[:3] == (account_id, region, name)]:
                del self._current[identity]
        for worker in doomed:
            self._stop(worker)

    def reap_idle(self, idle_for_s: float) -> int:
        """Stop workers idle for more than ``idle_for_s`` seconds (Lambda recycles unused environments)."""
        cutoff = time.monotonic() - idle_for_s
        with self._lock:
            doomed = [w for ws in self._idle.values() for w in ws if w.last_used < cutoff]
            for worker in doomed:
                self._idle[(worker.spec.identity, worker.fingerprint)].remove(worker)
        for worker in doomed:
            self._stop(worker)
        return len(doomed)

    def stop_all(self) -> None:
        """Kill every worker process, busy or idle (reset and shutdown)."""
        with self._lock:
            workers = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._current.clear()
        for worker in workers:
            worker.kill()

    def stats(self) -> dict[str, int]:
        """Live and idle worker counts."""
        with self._lock:
            return {"live": len(self._live), "idle": sum(len(w) for w in self._idle.values()),
                    "cold_starts": self.cold_starts}
