"""Local CloudWatch: indexed metric store, percentiles, metric math, and alarms evaluated in emulated time."""

from __future__ import annotations

from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch moto's CloudWatch, start the alarm evaluator and notifier, add the cloudwatch admin routes."""
    from eventdeploy.localcloud.cloudwatch import admin, evaluator, history, notify, patches, store

    patches.install()
    worker = evaluator.Evaluator()
    notify.start_notifier()
    worker.start()

    def reset() -> None:
        store.reset()
        history.reset()

    def shutdown() -> None:
        worker.stop()
        notify.stop_notifier()

    ctx.route("cloudwatch/evaluate", admin.evaluate_now)
    ctx.route("cloudwatch/stats", admin.stats)
    ctx.route("cloudwatch/publish", admin.publish)
    ctx.on_reset(reset)
    ctx.on_shutdown(shutdown)
