"""Extension: EventBridge delivery with AWS's semantics (see ``eventdeploy.localcloud.events.engine``)."""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.extensions import ExtensionContext, json_body

ORDER = 50


def install(ctx: ExtensionContext) -> None:
    """Patch moto's PutEvents/PutTargets, start the delivery workers and serve ``/_localcloud/events-stats`` and ``events-faults``."""
    from eventdeploy.localcloud.events import engine, moto_hooks

    moto_hooks.install()
    running = engine.engine()

    def _stats(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        return 200, running.snapshot()

    def _faults(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        try:
            return 200, running.faults.configure(json_body(body))
        except ValueError as exc:
            return 400, {"error": str(exc)}

    ctx.route("events-stats", _stats)
    ctx.route("events-faults", _faults)
    ctx.on_reset(running.reset)
    ctx.on_shutdown(running.shutdown)
