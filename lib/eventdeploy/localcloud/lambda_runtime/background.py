"""A single background thread that writes logs and metrics off the invoke path, in order."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("eventdeploy.localcloud.lambda")


class Background:
    """Runs submitted jobs one after another on a daemon thread; ``flush`` waits until all ran."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` soon, after the jobs submitted before it."""
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # one bad write must not stop the logs and metrics of every later invocation
                log.exception("lambda runtime background job failed")

    def clear(self) -> None:
        """Drop jobs not yet run (reset)."""
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                return

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every job submitted so far ran; False on timeout."""
        done = threading.Event()
        self._jobs.put(done.set)
        return done.wait(timeout)

    def stop(self) -> None:
        """End the thread after the queued jobs."""
        self._jobs.put(None)
