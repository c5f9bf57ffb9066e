"""Extension: CodePipeline executions run their stages and actions in the background, with AWS's state APIs
and state-change events."""

from __future__ import annotations

from eventdeploy.localcloud.codepipeline import patch
from eventdeploy.localcloud.codepipeline.model import REGISTRY
from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch moto's CodePipeline; abandon running executions on reset and shutdown."""
    patch.install()
    ctx.on_reset(REGISTRY.clear)
    ctx.on_shutdown(REGISTRY.clear)
