"""Registry of local-cloud extensions, loaded once inside the server process.

Every module in `eventdeploy.localcloud.ext` defines ``install(ctx: ExtensionContext) -> None``; the server calls
each in ``ORDER`` (module attribute, default 100) before it serves. An extension patches moto's backends or
models, starts its background workers, registers admin routes under ``/_localcloud/`` and reset callbacks.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("eventdeploy.localcloud")

# (environ, body) -> (http status, JSON-serialisable body)
AdminRoute = Callable[[dict[str, Any], bytes], tuple[int, Any]]


@dataclass
class Settings:
    """What the server was started with; shared by every extension."""

    host: str
    port: int
    state_dir: Path
    # Waits (retry backoff, Wait states, delays) are multiplied by this; 1.0 is real time.
    time_scale: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """URL at which the server answers (what boto3's endpoint_url should be)."""
        return f"http://{self.host}:{self.port}"


@dataclass
class ExtensionContext:
    """Handed to each extension's ``install``."""

    settings: Settings
    routes: dict[str, AdminRoute] = field(default_factory=dict)
    reset_callbacks: list[Callable[[], None]] = field(default_factory=list)
    shutdown_callbacks: list[Callable[[], None]] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)

    def route(self, name: str, handler: AdminRoute) -> None:
        """Serve ``handler`` at ``/_localcloud/<name>`` (any method)."""
        if name in self.routes:
            raise ValueError(f"admin route /_localcloud/{name} is registered twice")
        self.routes[name] = handler

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the local cloud's state is reset (after moto's backends are reset)."""
        self.reset_callbacks.append(callback)

    def on_shutdown(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the server stops (end worker processes, flush files)."""
        self.shutdown_callbacks.append(callback)


def discover() -> list[Any]:
    """Import every extension module, sorted by ORDER then name."""
    from eventdeploy.localcloud import ext

    modules = []
    for info in pkgutil.iter_modules(ext.__path__):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{ext.__name__}.{info.name}"))
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def install_all(settings: Settings) -> ExtensionContext:
    """Install every extension into this process and return the context holding their hooks."""
    ctx = ExtensionContext(settings=settings)
    for module in discover():
        install = getattr(module, "install", None)
        if install is None:
            raise RuntimeError(f"extension {module.__name__} has no install(ctx) function")
        install(ctx)
        ctx.loaded.append(module.__name__.rsplit(".", 1)[-1])
        log.info("extension %s installed", module.__name__)
    return ctx


def json_body(body: bytes) -> Any:
    """Parse an admin request body as JSON ({} when empty)."""
    return json.loads(body) if body else {}
