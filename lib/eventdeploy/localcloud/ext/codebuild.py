"""Extension: CodeBuild builds run their buildspec on the host shell, with AWS's phases, logs and events."""

from __future__ import annotations

from eventdeploy.localcloud.codebuild import admin, patch
from eventdeploy.localcloud.codebuild.registry import REGISTRY
from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch moto's CodeBuild, give builds a working folder under the state dir, stop builds on reset/shutdown."""
    REGISTRY.work_root = ctx.settings.state_dir / "codebuild"
    REGISTRY.work_root.mkdir(parents=True, exist_ok=True)
    patch.install()
    ctx.route("codebuild", admin.handle)
    ctx.on_reset(REGISTRY.stop_all)
    ctx.on_shutdown(REGISTRY.stop_all)
