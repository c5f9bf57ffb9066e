"""ECR image and layer digests as AWS computes them.

- An image's digest is the SHA-256 of its manifest as pushed (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/
  API_ImageIdentifier.html; https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push.html): moto hashed the
  joined layer digests, so ``docker pull repo@<digest>`` style lookups by the true digest found nothing.
- CompleteLayerUpload refuses a ``layerDigests`` entry that is not the digest of the uploaded bytes, with
  ``InvalidLayerException`` (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CompleteLayerUpload.html);
  moto accepted any value and answered with the real digest.
- PutImage refuses an image manifest whose layers or config blob were never uploaded to the repository, with
  ``LayersNotFoundException`` (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html); moto
  stored any manifest, so an image could exist that nothing could pull.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from moto.core.exceptions import ServiceException


class InvalidLayerException(ServiceException):
    """The layer digest given does not match the uploaded layer's (ECR's InvalidLayerException)."""

    code = "InvalidLayerException"

    def __init__(self, given: list[str], actual: str) -> None:
        super().__init__(f"Invalid layer digest(s) {given}: the uploaded layer's digest is '{actual}'")


class LayersNotFoundException(ServiceException):
    """A manifest names blobs the repository does not hold (ECR's LayersNotFoundException)."""

    code = "LayersNotFoundException"

    def __init__(self, repository: str, missing: list[str]) -> None:
        super().__init__(f"The specified layers could not be found in repository '{repository}': {missing}. "
                         "Upload each layer and the config blob (InitiateLayerUpload, UploadLayerPart, "
                         "CompleteLayerUpload) before PutImage.")


def referenced_blobs(manifest: str) -> list[str]:
    """The blob digests (config, then layers) an image manifest references; none for manifest lists/indexes."""
    try:
        parsed = json.loads(manifest)
    except ValueError:
        return []  # moto answers malformed JSON itself
    if not isinstance(parsed, dict):
        return []
    blobs = []
    config = parsed.get("config")
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        blobs.append(config["digest"])
    for layer in parsed.get("layers") or []:
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str):
            blobs.append(layer["digest"])
    return blobs


def manifest_digest(manifest: str) -> str:
    """The digest of an image manifest: SHA-256 of its bytes exactly as pushed."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def install() -> None:
    """Patch moto's ECR Image digest and CompleteLayerUpload (idempotent)."""
    from moto.ecr import models

    if getattr(models.Image, "_eventdeploy_digest", False):
        return
    previous_create = models.Image._create_digest

    def _create_digest(self: Any) -> None:
        if self.image_manifest:
            self._image_digest = manifest_digest(self.image_manifest)
        else:
            previous_create(self)

    previous_complete = models.ECRBackend.complete_layer_upload

    def complete_layer_upload(self: Any, repository_name: str, upload_id: str, layer_digests: list[str],
                              registry_id: str | None = None) -> dict[str, Any]:
        repository = self._get_repository(repository_name, registry_id)
        upload = repository.uploads.get(upload_id)
        if upload is not None and layer_digests:
            actual = "sha256:" + hashlib.sha256(bytes(upload.layer_parts)).hexdigest()
            if actual not in layer_digests:
                raise InvalidLayerException(layer_digests, actual)
        return previous_complete(self, repository_name, upload_id, layer_digests, registry_id)

    previous_put_image = models.ECRBackend.put_image

    def put_image(self: Any, repository_name: str, image_manifest: str, image_tag: str, *args: Any,
                  **kwargs: Any) -> Any:
        repository = self.repositories.get(repository_name)
        if repository is not None:
            missing = [d for d in referenced_blobs(image_manifest) if d not in repository.layers]
            if missing:
                raise LayersNotFoundException(repository_name, missing)
        return previous_put_image(self, repository_name, image_manifest, image_tag, *args, **kwargs)

    models.Image._create_digest = _create_digest
    models.ECRBackend.complete_layer_upload = complete_layer_upload
    models.ECRBackend.put_image = put_image
    models.Image._eventdeploy_digest = True
