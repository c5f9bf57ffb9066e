"""The builds running in this server: their stop switches, a shared lock, and the emulator's settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Registry:
    """Process-wide CodeBuild state that is not in moto's backend."""

    work_root: Path | None = None
    # Real seconds one timeoutInMinutes minute lasts. 60 (real time) unless an operator shortens it, e.g. to
    # prove a TIMED_OUT build without waiting CodeBuild's 5-minute minimum.
    minute_seconds: float = 60.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    stops: dict[str, threading.Event] = field(default_factory=dict)
    threads: dict[str, threading.Thread] = field(default_factory=dict)
    build_numbers: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # What each build was started with, so RetryBuild can start it again the same way.
    requests: dict[str, Any] = field(default_factory=dict)
    # Running builds per (account, region, project), for the project's concurrentBuildLimit.
    running: dict[tuple[str, str, str], int] = field(default_factory=dict)
    slots: threading.Condition = field(default_factory=threading.Condition)

    def next_build_number(self, account_id: str, region: str, project: str) -> int:
        """CodeBuild numbers each project's builds 1, 2, 3, ..."""
        with self.lock:
            key = (account_id, region, project)
            self.build_numbers[key] = self.build_numbers.get(key, 0) + 1
            return self.build_numbers[key]

    def acquire_slot(self, key: tuple[str, str, str], limit: int | None, stopped: threading.Event) -> bool:
        """Wait (QUEUED) until the project runs fewer than ``limit`` builds; False if stopped while waiting."""
        with self.slots:
            while limit and self.running.get(key, 0) >= limit:
                if stopped.is_set():
                    return False
                self.slots.wait(0.05)
            self.running[key] = self.running.get(key, 0) + 1
            return True

    def release_slot(self, key: tuple[str, str, str]) -> None:
        """A build of the project has finished: let a queued one start."""
        with self.slots:
            self.running[key] = max(0, self.running.get(key, 0) - 1)
            self.slots.notify_all()

    def stop_all(self, join_seconds: float = 5.0) -> None:
        """Stop every running build and wait briefly for their threads (reset/shutdown)."""
        with self.lock:
            events, threads = list(self.stops.values()), list(self.threads.values())
        for event in events:
            event.set()
        for thread in threads:
            thread.join(timeout=join_seconds)
        with self.lock:
            self.stops.clear()
            self.threads.clear()
            self.build_numbers.clear()
            self.requests.clear()
        with self.slots:
            self.running.clear()
            self.slots.notify_all()


REGISTRY = Registry()
