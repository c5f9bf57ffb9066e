"""ECR Image Action events for ``PutImage`` and ``BatchDeleteImage``.

Follows https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html: detail-type
``ECR Image Action``, source ``aws.ecr``, detail ``result``/``repository-name``/``image-digest``/``action-type``/
``image-tag`` and, as in every sample there, an empty ``resources`` list. AWS documents no event for a
rejected push, so none is emitted for one; a push that would move a tag of a tag-immutable repository is answered
with AWS's ImageTagAlreadyExistsException (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html)
where moto would say ImageAlreadyExistsException. ``StartImageScan`` (basic scanning) emits ``ECR Image Scan``
(``scan-status`` COMPLETE, ``finding-severity-counts``, ``image-digest``, ``image-tags``; ``resources`` the
repository ARN) counting the findings DescribeImageScanFindings reports for that image.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud.service_events.emitter import emit_event

SOURCE = "aws.ecr"
DETAIL_TYPE = "ECR Image Action"
SCAN_DETAIL_TYPE = "ECR Image Scan"

_local = threading.local()


def _tag_already_exists(repository: str, tag: str | None) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "ImageTagAlreadyExistsException",
        f"The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten "
        "because the repository is immutable.",
    )


def image_action_detail(action: str, repository: str, digest: str, tag: str | None) -> dict[str, Any]:
    """The documented detail of an ECR Image Action event."""
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": action,
    }
    if tag:
        detail["image-tag"] = tag
    return detail


def _depth() -> int:
    return getattr(_local, "depth", 0)


def _wrap_put_image(previous: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(previous)

    def put_image(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        # moto moves a tag by deleting it from the old image: that is part of this push, not a DELETE event.
        _local.depth = _depth() + 1
        try:
            image = previous(self, *args, **kwargs)
        except Exception as exc:
            if type(exc).__name__ == "ImageAlreadyExistsException" and _moves_immutable_tag(self, bound.arguments):
                raise _tag_already_exists(bound.arguments["repository_name"],
                                          bound.arguments.get("image_tag")) from None
            raise
        finally:
            _local.depth = _depth() - 1
        repository = bound.arguments["repository_name"]
        tag = bound.arguments.get("image_tag")
        emit_event(self.account_id, self.region_name, SOURCE, DETAIL_TYPE,
                   image_action_detail("PUSH", repository, image.get_image_digest(), tag))
        return image

    return put_image


def _moves_immutable_tag(backend: Any, arguments: dict[str, Any]) -> bool:
    """True when the push failed because its tag is on another image of a tag-immutable repository."""
    repository = backend.repositories.get(arguments["repository_name"])
    tag = arguments.get("image_tag")
    if repository is None or not tag or not repository.is_tag_immutable():
        return False
    return any(tag in image.image_tags and image.image_manifest != arguments["image_manifest"]
               for image in repository.images)


def _wrap_batch_delete_image(previous: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(previous)

    def batch_delete_image(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        response = previous(self, *args, **kwargs)
        if _depth() == 0:
            repository = bound.arguments["repository_name"]
            for image_id in response.get("imageIds", []):
                emit_event(self.account_id, self.region_name, SOURCE, DETAIL_TYPE,
                           image_action_detail("DELETE", repository, image_id.image_digest, image_id.image_tag))
        return response

    return batch_delete_image


def scan_detail(repository: str, digest: str, tags: list[str], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The documented detail of an ECR Image Scan event (basic scanning, scan complete)."""
    counts: dict[str, int] = {}
    for finding in findings:
        severity = str(finding.get("severity", "UNDEFINED"))
        counts[severity] = counts.get(severity, 0) + 1
    return {"scan-status": "COMPLETE", "repository-name": repository, "finding-severity-counts": counts,
            "image-digest": digest, "image-tags": list(tags)}


def _wrap_start_image_scan(previous: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(previous)

    def start_image_scan(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        answer = previous(self, *args, **kwargs)
        repository = bound.arguments["repository_name"]
        image_id = answer["imageId"]
        # The event reports what DescribeImageScanFindings answers for this scan, so both always agree.
        found = self.describe_image_scan_findings(bound.arguments.get("registry_id"), repository,
                                                  {"imageDigest": image_id["imageDigest"]})
        repo = self.repositories[repository]
        image = repo._get_image(None, image_id["imageDigest"])
        emit_event(self.account_id, self.region_name, SOURCE, SCAN_DETAIL_TYPE,
                   scan_detail(repository, image_id["imageDigest"], image.image_tags,
                               found.get("imageScanFindings", {}).get("findings", [])), [repo.arn])
        return answer

    return start_image_scan


def install() -> None:
    """Wrap moto's ECR backend so pushes and deletions emit ECR Image Action events."""
    from moto.ecr.models import ECRBackend

    ECRBackend.put_image = _wrap_put_image(ECRBackend.put_image)  # type: ignore[method-assign]
    ECRBackend.batch_delete_image = _wrap_batch_delete_image(  # type: ignore[method-assign]
        ECRBackend.batch_delete_image)
    ECRBackend.start_image_scan = _wrap_start_image_scan(ECRBackend.start_image_scan)  # type: ignore[method-assign]
