"""Real service actions that make AWS emit the events the pipeline reacts to (no faked service events).

An image push goes through ECR's layer-upload API exactly as ``docker push`` does; a failing stack is real
CloudFormation whose wait condition times out. The same calls work on the local cloud and on AWS.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _blob_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload_blob(ecr: Any, repository: str, data: bytes) -> str:
    digest = _blob_digest(data)
    available = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[digest])
    if any(layer.get("layerAvailability") == "AVAILABLE" for layer in available.get("layers", [])):
        return digest
    upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
    return digest


def push_image(ecr: Any, repository: str, tag: str, content: str) -> str:
    """Push a one-layer image whose layer holds ``content`` as ``repository:tag``; returns the image digest."""
    layer = content.encode()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"tag": tag}},
                         "rootfs": {"type": "layers", "diff_ids": [_blob_digest(layer)]}}).encode()
    layer_digest = _upload_blob(ecr, repository, layer)
    config_digest = _upload_blob(ecr, repository, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": layer_digest}],
    }, separators=(",", ":"))
    image = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageManifestMediaType=MANIFEST_TYPE,
                          imageTag=tag)["image"]
    return str(image["imageId"]["imageDigest"])


FAILING_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Description": "eventdeploy: a stack that fails on purpose (a wait condition nobody signals times out)",
    "Resources": {
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "NeverSignalled": {"Type": "AWS::CloudFormation::WaitCondition",
                           "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "1", "Count": 1}},
    },
}


def fail_stack(cloudformation: Any, stack_name: str, tags: dict[str, str], wait_s: float = 300.0) -> dict[str, Any]:
    """Create a stack that fails and rolls back; wait until it settles and return its final description."""
    stack_id = cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(FAILING_TEMPLATE),
                                           Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["StackId"]
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return dict(stack)
        time.sleep(0.5)
    raise TimeoutError(f"stack {stack_name} did not settle within {wait_s:.0f} s")
