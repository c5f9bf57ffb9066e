"""A Lambda Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``) serving exactly one worker process.

Implements the runtime side of https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html:
``GET /2018-06-01/runtime/invocation/next``, ``POST .../invocation/<id>/response``, ``.../invocation/<id>/error``
and ``POST /2018-06-01/runtime/init/error``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime/"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


@dataclass
class Invocation:
    """One event handed to the runtime by ``/invocation/next``."""

    request_id: str
    payload: bytes
    deadline_ms: int
    invoked_function_arn: str
    client_context: str | None = None
    trace_id: str | None = None
    delivered_at: float = 0.0


@dataclass
class RuntimeReply:
    """What the runtime posted back for an invocation (or for its init)."""

    kind: str  # "response" | "error" | "init_error"
    body: bytes
    error_type: str | None = None
    at: float = field(default_factory=time.perf_counter)


class RuntimeApi:
    """State shared between the worker (the Lambda service side) and the HTTP handler threads (the runtime side)."""

    def __init__(self) -> None:
        self._pending: queue.Queue[Invocation | None] = queue.Queue()
        self._replies: queue.Queue[RuntimeReply] = queue.Queue()
        self.current: Invocation | None = None
        self.ready = threading.Event()  # set on the runtime's first /next: init is complete
        self.ready_at: float | None = None
        self.closed = False
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.api = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="lambda-runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port`` for ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def deliver(self, invocation: Invocation) -> None:
        """Queue ``invocation`` for the runtime's next ``/invocation/next``."""
        self._pending.put(invocation)

    def wait_reply(self, timeout: float) -> RuntimeReply | None:
        """The runtime's next reply, or None after ``timeout`` seconds."""
        try:
            return self._replies.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def drain_replies(self) -> None:
        """Forget replies left over from an abandoned invocation."""
        while True:
            try:
                self._replies.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        """Stop serving; a runtime blocked in ``/next`` is released with an error."""
        if self.closed:
            return
        self.closed = True
        self._pending.put(None)
        threading.Thread(target=self._shutdown, daemon=True).start()

    def _shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- called from the HTTP handler threads -------------------------------------------------
    def next_invocation(self) -> Invocation | None:
        if not self.ready.is_set():
            self.ready_at = time.perf_counter()
            self.ready.set()
        inv = self._pending.get()
        if inv is None:
            self._pending.put(None)  # keep releasing any other waiter
            return None
        inv.delivered_at = time.perf_counter()
        self.current = inv
        return inv

    def post(self, reply: RuntimeReply) -> None:
        self._replies.put(reply)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A worker killed mid-request (timeout, reset, shutdown) drops its connection: expected, not an error.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "eventdeploy-lambda-runtime-api"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        return

    @property
    def api(self) -> RuntimeApi:
        return self.server.api  # type: ignore[attr-defined,no-any-return]

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path != PREFIX + "invocation/next":
            self._json(404, {"errorMessage": f"unknown path {self.path}", "errorType": "InvalidRequest"})
            return
        inv = self.api.next_invocation()
        if inv is None:
            self._json(410, {"errorMessage": "execution environment is shutting down", "errorType": "Shutdown"})
            self.close_connection = True
            return
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.invoked_function_arn,
        }
        if inv.trace_id:
            headers["Lambda-Runtime-Trace-Id"] = inv.trace_id
        if inv.client_context:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        self._reply(200, inv.payload, headers)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self._body()
        path = self.path
        if path == PREFIX + "init/error":
            self.api.post(RuntimeReply("init_error", body, self.headers.get(ERROR_TYPE_HEADER)))
            self._json(202, {"status": "OK"})
            return
        parts = path[len(PREFIX):].split("/") if path.startswith(PREFIX) else []
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._json(404, {"errorMessage": f"unknown path {path}", "errorType": "InvalidRequest"})
            return
        current = self.api.current
        if current is None or current.request_id != parts[1]:
            self._json(400, {"errorMessage": f"invalid request id {parts[1]}", "errorType": "InvalidRequestID"})
            return
        self.api.current = None
        kind = parts[2]
        self.api.post(RuntimeReply(kind, body, self.headers.get(ERROR_TYPE_HEADER) if kind == "error" else None))
        self._json(202, {"status": "OK"})
