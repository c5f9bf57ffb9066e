"""Hook: PascalCase request/response normalisation for Step Functions aws-sdk tasks (see ``sfn_sdk_casing``)."""

from __future__ import annotations

from eventdeploy.localcloud import sfn_sdk_casing
from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch the interpreter's aws-sdk task state."""
    sfn_sdk_casing.install()
