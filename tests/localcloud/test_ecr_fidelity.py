"""ECR digests as AWS computes them.

Image digest = SHA-256 of the manifest as pushed:
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageIdentifier.html and
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html.
CompleteLayerUpload refuses a digest that is not the uploaded layer's (InvalidLayerException):
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CompleteLayerUpload.html.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _upload(ecr: Any, repo: str, data: bytes, claimed: str | None = None) -> str:
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0, partLastByte=len(data) - 1,
                          layerPartBlob=data)
    digest = claimed or "sha256:" + hashlib.sha256(data).hexdigest()
    return str(ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest])["layerDigest"])


def test_image_digest_is_the_sha256_of_the_manifest(aws: Callable[..., Any]) -> None:
    ecr = aws("ecr")
    repo = f"fidelity-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo)
    layer = _upload(ecr, repo, b"layer bytes")
    config_bytes = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    config = _upload(ecr, repo, config_bytes)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config_bytes),
                   "digest": config},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 11, "digest": layer}],
    }, separators=(",", ":"))
    pushed = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1")["image"]
    expected = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    assert pushed["imageId"]["imageDigest"] == expected
    found = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": expected}])["images"]
    assert [i["imageId"]["imageTag"] for i in found] == ["v1"]


def test_complete_layer_upload_refuses_a_digest_that_is_not_the_layers(aws: Callable[..., Any]) -> None:
    ecr = aws("ecr")
    repo = f"fidelity-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as err:
        _upload(ecr, repo, b"abc", claimed="sha256:" + "0" * 64)
    assert err.value.response["Error"]["Code"] == "InvalidLayerException"
    assert _upload(ecr, repo, b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()


def test_put_image_refuses_a_manifest_whose_blobs_were_never_uploaded(aws: Callable[..., Any]) -> None:
    """PutImage answers LayersNotFoundException when a layer or the config blob the manifest names is not in the
    repository (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html); no image is stored.
    Once the blobs are uploaded the same manifest is accepted."""
    ecr = aws("ecr")
    repo = f"fidelity-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo)
    layer_bytes, config_bytes = b"never uploaded yet", json.dumps({"os": "linux"}).encode()
    layer = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = _upload(ecr, repo, config_bytes)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config_bytes),
                   "digest": config},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer_bytes),
                    "digest": layer}],
    })
    with pytest.raises(ClientError) as err:
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1")
    assert err.value.response["Error"]["Code"] == "LayersNotFoundException"
    assert layer in err.value.response["Error"]["Message"] and config not in err.value.response["Error"]["Message"]
    assert ecr.list_images(repositoryName=repo)["imageIds"] == []
    assert _upload(ecr, repo, layer_bytes) == layer
    stored = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1")["image"]
    assert stored["imageId"]["imageTag"] == "v1"
