"""A build's output in CloudWatch Logs (``/aws/codebuild/<project>`` unless the project's logsConfig says
otherwise), written in-process into moto's Logs backend as the CodeBuild agent would stream it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any


def container_line(message: str) -> str:
    """A line in the CodeBuild agent's own format (``[Container] 2024/01/02 03:04:05.678901 ...``)."""
    return f"[Container] {datetime.now(UTC).strftime('%Y/%m/%d %H:%M:%S.%f')} {message}"


class LogSink:
    """Appends lines to one log stream; creates the group and stream on first use."""

    def __init__(self, account_id: str, region: str, group: str, stream: str) -> None:
        self.account_id, self.region, self.group, self.stream = account_id, region, group, stream
        self._lock = threading.Lock()
        self._ready = False
        self.lines: list[str] = []

    def _backend(self) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[self.account_id][self.region]

    def _ensure(self) -> None:
        backend = self._backend()
        if self.group not in backend.groups:
            try:
                backend.create_log_group(self.group, {})
            except Exception:  # created concurrently by another build of the project
                pass
        if self.stream not in backend.groups[self.group].streams:
            backend.create_log_stream(self.group, self.stream)
        self._ready = True

    def write(self, line: str) -> None:
        """Append ``line`` (one log event) to the stream."""
        with self._lock:
            self.lines.append(line)
            try:
                if not self._ready:
                    self._ensure()
                self._backend().put_log_events(
                    self.group, self.stream, [{"timestamp": int(time.time() * 1000), "message": line}])
            except Exception:
                # The log group may have been deleted by the user mid-build; CodeBuild keeps building.
                self._ready = False
