"""Hook: ECR digests as AWS computes them (see ``ecr_fidelity``)."""

from __future__ import annotations

from eventdeploy.localcloud import ecr_fidelity
from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch moto's ECR image digest and layer-upload completion."""
    ecr_fidelity.install()
