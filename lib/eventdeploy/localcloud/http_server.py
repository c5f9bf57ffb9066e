"""The local cloud's HTTP server: moto's request handling on werkzeug, with HTTP/1.1 keep-alive.

werkzeug's development server answers every request with ``Connection: close``, so every SDK call costs a TCP
connect and accept, a new server thread, and a 10 ms drain of the socket after the answer; AWS's endpoints keep
connections alive and the SDKs reuse them. Here one thread serves one connection for as long as the client keeps
it, which is what a Lambda handler's boto3 client or a producer's connection pool does.

Keeping a connection is safe once the request's body has been read to its end before the next request line is read
(werkzeug closes because Python's ``http.server`` does not do that), so after each answer the unread rest of the body
is drained: to ``Content-Length``, or to the last chunk of a chunked body. A connection whose answer failed halfway,
or whose client asked for ``Connection: close`` or spoke HTTP/1.0, is closed as before.
"""

from __future__ import annotations

import socket
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, make_server
from werkzeug.wsgi import LimitedStream

# Seconds a kept-alive connection may sit idle between requests before the server closes it. Long, because a client
# that finds its pooled connection closed just as it sends gets an error it may not retry (internal clients do not).
IDLE_TIMEOUT_S = 900.0
# An unread body larger than this is not worth draining: the connection is closed instead.
MAX_DRAIN_BYTES = 16 * 1024 * 1024

_connection_errors = (ConnectionError, socket.timeout, BrokenPipeError)


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's WSGI request handler that keeps HTTP/1.1 connections open between requests."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    # Buffer the answer so head and body leave in one segment: written apart on a kept-alive connection, the body
    # would wait for the client's delayed ACK of the head (Nagle), up to 40 ms an answer.
    wbufsize = 64 * 1024

    def setup(self) -> None:
        """Switch Nagle's algorithm off for the connection, as AWS SDK clients do on their side."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def make_environ(self) -> dict[str, Any]:
        """moto's environ, with a request body that counts what the application read, so the rest can be drained."""
        environ = super().make_environ()
        if not environ.get("wsgi.input_terminated"):  # chunked bodies are already wrapped to end at the last chunk
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
                self.close_connection = True  # a body we cannot delimit leaves the stream unusable
            environ["wsgi.input"] = LimitedStream(self.rfile, max(0, length))
            environ["wsgi.input_terminated"] = True
        return environ

    def run_wsgi(self) -> None:
        """Run the application for one request and answer it, keeping the connection when that is safe."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        self.environ = environ = self.make_environ()
        state: dict[str, Any] = {"status": None, "headers": None, "sent": False, "chunked": False, "bodiless": False}

        def write(data: bytes) -> None:
            if not state["sent"]:
                self._send_head(environ, state)
            # A HEAD, 204 or 304 answer has no body: bytes written anyway would be read as the next answer.
            if data and not state["bodiless"]:
                if state["chunked"]:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info:
                try:
                    if state["sent"]:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif state["headers"] is not None:
                raise AssertionError("Headers already set")
            state["status"], state["headers"] = status, headers
            return write

        def execute(app: Any) -> None:
            answer = app(environ, start_response)
            try:
                for data in answer:
                    write(data)
                if not state["sent"]:
                    write(b"")
                if state["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            finally:
                if hasattr(answer, "close"):
                    answer.close()

        try:
            execute(self.server.app)
        except _connection_errors as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
            return
        except Exception as exc:
            self.close_connection = True
            if not state["sent"]:
                state["status"] = state["headers"] = None
                try:
                    execute(InternalServerError())
                except Exception:
                    pass
            from werkzeug.debug.tbtools import DebugTraceback

            self.server.log("error", f"Error on request:\n{DebugTraceback(exc).render_traceback_text()}")
            return
        if not self.close_connection:
            self._drain(environ)

    def _send_head(self, environ: dict[str, Any], state: dict[str, Any]) -> None:
        status, headers = state["status"], state["headers"]
        if status is None or headers is None:
            raise AssertionError("write() before start_response")
        state["sent"] = True
        code_str, _, reason = status.partition(" ")
        code = int(code_str)
        state["bodiless"] = environ["REQUEST_METHOD"] == "HEAD" or 100 <= code < 200 or code in (204, 304)
        self.send_response(code, reason)
        keys = set()
        for key, value in headers:
            lowered = key.lower()
            if lowered == "connection":
                if value.strip().lower() == "close":
                    self.close_connection = True
                continue
            self.send_header(key, value)
            keys.add(lowered)
        # A body of unknown length is sent chunked; 1xx, 204, 304 and HEAD answers have none.
        if not ("content-length" in keys or state["bodiless"]):
            state["chunked"] = True
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _drain(self, environ: dict[str, Any]) -> None:
        """Read what the application left of the request body, so the next request starts at its request line."""
        stream = environ["wsgi.input"]
        try:
            if isinstance(stream, LimitedStream):
                if stream.limit - stream._pos > MAX_DRAIN_BYTES:  # noqa: SLF001 - werkzeug exposes no getter
                    self.close_connection = True
                    return
                stream.exhaust()
            else:
                drained = 0
                while chunk := stream.read(65536):
                    drained += len(chunk)
                    if drained > MAX_DRAIN_BYTES:
                        self.close_connection = True
                        return
        except Exception:  # a client gone mid-body (werkzeug's ClientDisconnected), a broken chunk: just close
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are not logged: at thousands a second the log line would be the bottleneck."""


def make(host: str, port: int, app: Any) -> ThreadedWSGIServer:
    """A threaded WSGI server for ``app`` with keep-alive connections, one thread per connection."""
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    # Many concurrent producers: let the listen backlog absorb bursts instead of refusing connections.
    server.socket.listen(256)
    return server

