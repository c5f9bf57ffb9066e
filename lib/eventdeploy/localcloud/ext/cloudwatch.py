"""Local CloudWatch: indexed metric store, percentiles, metric math, and alarms evaluated in emulated time."""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch moto's CloudWatch, start the alarm evaluator and notifier, add the cloudwatch admin routes."""
    from eventdeploy.localcloud.cloudwatch import evaluator, history, notify, patches, store

    patches.install()
    worker = evaluator.Evaluator()
    notify.start_notifier()
    worker.start()

    def evaluate_now(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        return 200, {"evaluated": evaluator.evaluate_due(force=True)}

    def publish(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        # Lets runbooks and tests publish as an emulated service would (metrics.publish, in-process).
        from eventdeploy.localcloud.extensions import json_body
        from eventdeploy.localcloud.metrics import publish as publish_datum

        req = json_body(body)
        missing = [k for k in ("namespace", "name", "value") if k not in req]
        if missing:
            return 400, {"error": f"missing {', '.join(missing)}: send namespace, name, value "
                                  "(optional unit, dimensions, count, account_id, region)"}
        count = int(req.get("count", 1))
        for _ in range(count):
            publish_datum(req.get("account_id", "123456789012"), req.get("region", "us-east-1"), req["namespace"],
                          req["name"], float(req["value"]), req.get("unit", "Count"), req.get("dimensions") or {})
        return 200, {"published": count}

    def stats(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        return 200, store.totals()

    def reset() -> None:
        store.reset()
        history.reset()

    def shutdown() -> None:
        worker.stop()
        notify.stop_notifier()

    ctx.route("cloudwatch/evaluate", evaluate_now)
    ctx.route("cloudwatch/stats", stats)
    ctx.route("cloudwatch/publish", publish)
    ctx.on_reset(reset)
    ctx.on_shutdown(shutdown)
