"""A Lambda Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``) serving exactly one worker process.

Implements the runtime side of https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html:
``GET /2018-06-01/runtime/invocation/next``, ``POST .../invocation/<id>/response``, ``.../invocation/<id>/error``
and ``POST /2018-06-01/runtime/init/error``.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
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
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="lambda-runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port`` for ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connections.append(sock)
            threading.Thread(target=_Connection(self, sock).serve, name="lambda-runtime-api-conn",
                             daemon=True).start()

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
        for sock in [self._listener, *self._connections]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass

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


_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 410: "Gone"}
_MAX_HEAD = 64 * 1024


class _Connection:
    """One keep-alive connection from the runtime: minimal HTTP/1.1, one thread, one ``sendall`` per response.

    The runtime client makes one request at a time per connection, so a full HTTP server's machinery (header
    parsing with the email package, several writes per response) would only cost CPU on every invocation.
    """

    def __init__(self, api: RuntimeApi, sock: socket.socket) -> None:
        self.api = api
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def _read_head(self) -> tuple[str, str, dict[str, str]] | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > _MAX_HEAD or not self._fill():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            return None
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        return parts[0], parts[1], headers

    def _read_exact(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if not self._fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _read_line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                return None
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read_body(self, headers: dict[str, str]) -> bytes | None:
        if headers.get("expect", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self._read_line()
                if size_line is None:
                    return None
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self._read_line()
                    return b"".join(chunks)
                chunk = self._read_exact(size)
                if chunk is None or self._read_line() is None:
                    return None
                chunks.append(chunk)
        return self._read_exact(int(headers.get("content-length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}", f"Content-Length: {len(body)}"]
        head += [f"{key}: {value}" for key, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def serve(self) -> None:
        try:
            while not self.api.closed:
                request = self._read_head()
                if request is None:
                    return
                method, path, headers = request
                body = self._read_body(headers) if method == "POST" else b""
                if body is None:
                    return
                if not self._handle(method, path, headers, body):
                    return
        except OSError:
            return  # the worker was killed mid-request: expected on timeout, reset and shutdown
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        """Answer one request; False when the connection must close."""
        if method == "GET" and path == PREFIX + "invocation/next":
            inv = self.api.next_invocation()
            if inv is None:
                self._json(410, {"errorMessage": "execution environment is shutting down", "errorType": "Shutdown"})
                return False
            out = {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": inv.invoked_function_arn,
            }
            if inv.trace_id:
                out["Lambda-Runtime-Trace-Id"] = inv.trace_id
            if inv.client_context:
                out["Lambda-Runtime-Client-Context"] = inv.client_context
            self._send(200, inv.payload, out)
            return True
        if method != "POST":
            self._json(404, {"errorMessage": f"unknown path {path}", "errorType": "InvalidRequest"})
            return True
        error_type = headers.get(ERROR_TYPE_HEADER.lower())
        if path == PREFIX + "init/error":
            self.api.post(RuntimeReply("init_error", body, error_type))
            self._json(202, {"status": "OK"})
            return True
        parts = path[len(PREFIX):].split("/") if path.startswith(PREFIX) else []
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._json(404, {"errorMessage": f"unknown path {path}", "errorType": "InvalidRequest"})
            return True
        current = self.api.current
        if current is None or current.request_id != parts[1]:
            self._json(400, {"errorMessage": f"invalid request id {parts[1]}", "errorType": "InvalidRequestID"})
            return True
        self.api.current = None
        kind = parts[2]
        # Answer first: the runtime may then ask for its next event while the service reads this reply.
        self._json(202, {"status": "OK"})
        self.api.post(RuntimeReply(kind, body, error_type if kind == "error" else None))
        return True
