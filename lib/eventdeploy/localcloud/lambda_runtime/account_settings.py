"""GetAccountSettings (moto lacks it): the local quota, the unreserved pool and the account's code usage.

https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html
"""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud.lambda_runtime.service import LambdaRuntime, reserved_concurrency

# Fixed AWS code-size quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
TOTAL_CODE_SIZE = 80 * 1024**3
CODE_SIZE_UNZIPPED = 250 * 1024**2
CODE_SIZE_ZIPPED = 50 * 1024**2


def settings_of(runtime: LambdaRuntime, account_id: str, region: str) -> dict[str, Any]:
    """The GetAccountSettings body for ``account_id`` in ``region``."""
    from moto.awslambda.utils import get_backend

    functions = list(get_backend(account_id, region).list_functions())
    limit = runtime.settings.limit_for(account_id)
    reserved = sum(reserved_concurrency(fn) or 0 for fn in functions)
    return {
        "AccountLimit": {
            "TotalCodeSize": TOTAL_CODE_SIZE,
            "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
            "CodeSizeZipped": CODE_SIZE_ZIPPED,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": max(-(-limit // 10), limit - reserved),
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(getattr(fn, "code_size", 0) or 0) for fn in functions),
            "FunctionCount": len(functions),
        },
    }


def install(runtime: LambdaRuntime) -> None:
    """Route ``GET /2016-08-19/account-settings`` to a GetAccountSettings action on moto's Lambda responses."""
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    def get_account_settings(self: Any) -> str:
        return json.dumps(settings_of(runtime, self.current_account, self.region))

    LambdaResponse.get_account_settings = get_account_settings  # type: ignore[attr-defined]
    urls.url_paths.setdefault(r"{0}/(?P<api_version>[^/]+)/account-settings/?$", LambdaResponse.dispatch)
