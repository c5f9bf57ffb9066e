"""Install the request-dispatch caches (see ``eventdeploy.localcloud.dispatch_fast``)."""

from __future__ import annotations

from eventdeploy.localcloud import dispatch_fast
from eventdeploy.localcloud.extensions import ExtensionContext

# First: it only caches answers moto computes per request; every later extension benefits.
ORDER = 5


def install(ctx: ExtensionContext) -> None:
    """Cache moto's per-request module listing and action-name lookup."""
    dispatch_fast.install()
