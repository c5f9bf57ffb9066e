"""The local cloud's server process: moto's WSGI app with eventdeploy's extensions installed.

Run by ``lifecycle.start`` as ``python -m eventdeploy.localcloud.server``; not imported by anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from eventdeploy.localcloud.extensions import ExtensionContext, Settings, install_all

ADMIN_PREFIX = "/_localcloud/"


class AdminMiddleware:
    """Serves ``/_localcloud/*`` (health, reset and the extensions' routes); passes the rest to moto."""

    def __init__(self, moto_app: Any, ctx: ExtensionContext, started: float) -> None:
        self.moto_app = moto_app
        self.ctx = ctx
        self.started = started
        self.ctx.route("health", self._health)
        self.ctx.route("reset", self._reset)

    def _health(self, environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        s = self.ctx.settings
        return 200, {
            "status": "running",
            "pid": os.getpid(),
            "endpoint": s.endpoint,
            "time_scale": s.time_scale,
            "extensions": self.ctx.loaded,
            "uptime_s": round(time.time() - self.started, 3),
        }

    def _reset(self, environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        from moto.core.base_backend import BackendDict
        from moto.core.model_instances import reset_model_data

        # Extensions first stop their workers so nothing writes into backends being cleared.
        for callback in self.ctx.reset_callbacks:
            callback()
        for backend in BackendDict._instances:  # type: ignore[attr-defined]
            backend.reset()
        reset_model_data()
        return 200, {"status": "reset"}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(ADMIN_PREFIX):
            return self.moto_app(environ, start_response)
        name = path[len(ADMIN_PREFIX) :].strip("/")
        handler = self.ctx.routes.get(name)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if handler is None:
            code, payload = 404, {"error": f"no admin route {path}", "routes": sorted(self.ctx.routes)}
        else:
            try:
                code, payload = handler(environ, body)
            except Exception as exc:  # an admin call must answer, not kill the server thread
                logging.getLogger("eventdeploy.localcloud").exception("admin route %s failed", name)
                code, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(payload, default=str).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}.get(code, "")
        start_response(f"{code} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def build_app(settings: Settings) -> tuple[Any, ExtensionContext]:
    """Configure moto for the local cloud, install the extensions and return the WSGI app."""
    # moto's Step Functions interpreter calls services back at localhost:$MOTO_PORT: that must be us.
    os.environ["MOTO_PORT"] = str(settings.port)
    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # Lambda code runs in eventdeploy's own runtime, never in Docker.
    default_user_config["lambda"]["use_docker"] = False
    from eventdeploy.localcloud import internal

    internal.configure(settings)
    started = time.time()
    ctx = install_all(settings)
    moto_app = DomainDispatcherApplication(create_backend_app)
    return AdminMiddleware(moto_app, ctx, started), ctx


def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT, then run the extensions' shutdown callbacks."""
    from eventdeploy.localcloud import http_server

    app, ctx = build_app(settings)
    server = http_server.make(settings.host, settings.port, app)

    def _stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"eventdeploy local cloud listening on {settings.endpoint} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    finally:
        for callback in ctx.shutdown_callbacks:
            try:
                callback()
            except Exception:
                logging.getLogger("eventdeploy.localcloud").exception("shutdown callback failed")


def main(argv: list[str] | None = None) -> None:
    """Parse the server's arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m eventdeploy.localcloud.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, default=Path(".localcloud"))
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # werkzeug logs every request at INFO; at thousands of requests a second that is the bottleneck.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    serve(Settings(host=args.host, port=args.port, state_dir=args.state_dir.resolve(), time_scale=args.time_scale))


if __name__ == "__main__":
    main()
