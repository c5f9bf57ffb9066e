"""One sender thread for status-change events: keeps each execution's events in order and off the request
and execution threads (each emit from a fresh thread would build a fresh boto3 client)."""

from __future__ import annotations

import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("eventdeploy.localcloud.stepfunctions")

_STOP = object()


class Dispatcher:
    """FIFO of service events put on the default bus by a single daemon thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, account_id: str, region: str, source: str, detail_type: str, detail: dict[str, Any],
               resources: list[str]) -> None:
        """Queue one event for ``emit_service_event``; starts the sender on first use."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sfn-status-events", daemon=True)
                self._thread.start()
        # Stamp the change now: the envelope's time must be when the status changed, not when it was sent.
        self._queue.put((account_id, region, source, detail_type, detail, resources, datetime.now(UTC)))

    def _run(self) -> None:
        from eventdeploy.localcloud.events.emit import emit_service_event

        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                account_id, region, source, detail_type, detail, resources, changed_at = item
                emit_service_event(account_id, region, source, detail_type, detail, resources=resources,
                                   time=changed_at)
            except Exception:  # best effort, as AWS documents for these events
                log.exception("could not emit a Step Functions status-change event")
            finally:
                self._queue.task_done()

    def discard_pending(self) -> None:
        """Drop events not yet sent (their world is being reset)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
            self._queue.task_done()

    def stop(self) -> None:
        """Send what is queued, then end the sender thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join(timeout=5.0)


dispatcher = Dispatcher()
