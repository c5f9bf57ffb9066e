"""Extension: ``lambda.invoke`` runs the real Python handler in warm worker processes (no Docker).

Settings (environment of the server process):
  EVENTDEPLOY_LAMBDA_CONCURRENCY    account concurrency quota per Region (default 10; AWS's default is 1000)
  EVENTDEPLOY_LAMBDA_MAX_WORKERS    warm worker processes kept in total (default max(20, quota))
  EVENTDEPLOY_LAMBDA_ASYNC_THREADS  threads running asynchronous invocations (default = quota)
  EVENTDEPLOY_LAMBDA_IDLE_TIMEOUT   seconds an idle warm worker is kept before it is stopped (default 600)
Reserved concurrency carves out of the quota: unreserved functions share quota minus all reservations (at least
a tenth of the quota, as AWS keeps 100 of 1000 unreserved).
Admin route ``/_localcloud/lambda-runtime``: GET → workers/queue figures; POST ``{"account_concurrency":
{"<account>": n}}`` sets one account's quota; POST ``{"flush": true}`` waits until logs and metrics are written.
"""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.extensions import ExtensionContext, json_body
from eventdeploy.localcloud.lambda_runtime import account_settings, patch
from eventdeploy.localcloud.lambda_runtime.service import LambdaRuntime
from eventdeploy.localcloud.lambda_runtime.settings import RuntimeSettings

# Early, so that any other extension wrapping Lambda's invoke wraps the real runtime.
ORDER = 20


def install(ctx: ExtensionContext) -> None:
    """Start the runtime, patch moto's Lambda, and register reset/shutdown and the admin route."""
    runtime = LambdaRuntime(RuntimeSettings.from_env(), ctx.settings.state_dir, ctx.settings.endpoint)
    patch.install(runtime)
    account_settings.install(runtime)

    def admin(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        if environ.get("REQUEST_METHOD") == "POST":
            request = json_body(body)
            for account, limit in (request.get("account_concurrency") or {}).items():
                if not (isinstance(limit, int) and limit >= 0):
                    return 400, {"error": f"account_concurrency[{account!r}]={limit!r}: give a whole number >= 0"}
                runtime.settings.account_overrides[str(account)] = limit
            if request.get("flush"):
                if not runtime.background.flush():
                    return 500, {"error": "logs and metrics were not written within 10 s"}
        return 200, runtime.status()

    ctx.route("lambda-runtime", admin)
    ctx.on_reset(runtime.reset)
    ctx.on_shutdown(runtime.shutdown)
