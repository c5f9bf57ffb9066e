"""Re-evaluate AWS Config managed rules when the resources they judge change, while a recorder is recording.

AWS Config evaluates change-triggered rules when a recorded resource's configuration changes
(https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config-rules.html, "Configuration changes"
trigger; recording requires a started configuration recorder). Here a change to an S3 bucket or an ECR repository
through the API queues an evaluation of every emulated managed rule for that resource type in the account's
regions whose configuration recorder is recording; a background worker runs it moments later (AWS takes minutes;
the delay is not modelled).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("eventdeploy.localcloud.service_events")

RULE_RESOURCE_TYPES = {
    "ECR_PRIVATE_IMAGE_SCANNING_ENABLED": "AWS::ECR::Repository",
    "ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED": "AWS::ECR::Repository",
    "ECR_PRIVATE_LIFECYCLE_POLICY_CONFIGURED": "AWS::ECR::Repository",
    "S3_BUCKET_VERSIONING_ENABLED": "AWS::S3::Bucket",
    "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED": "AWS::S3::Bucket",
}
# moto backend methods that change a recorded resource, by the resource type they change.
CHANGES = {
    "AWS::S3::Bucket": ("moto.s3.models", "S3Backend", (
        "create_bucket", "delete_bucket", "put_bucket_versioning", "put_public_access_block",
        "delete_public_access_block")),
    "AWS::ECR::Repository": ("moto.ecr.models", "ECRBackend", (
        "create_repository", "delete_repository", "put_image_tag_mutability", "put_image_scanning_configuration",
        "put_lifecycle_policy", "delete_lifecycle_policy")),
}

_pending: queue.Queue[tuple[str, str] | None] = queue.Queue()
_worker: threading.Thread | None = None


def recording(config_backend: Any) -> bool:
    """Whether any configuration recorder of this account/region is recording."""
    return any(recorder.status.recording for recorder in config_backend.recorders.values())


def evaluate_changed(account_id: str, resource_type: str) -> None:
    """Evaluate the emulated managed rules for ``resource_type`` in each recording region of the account."""
    from moto.config.models import config_backends

    from eventdeploy.localcloud.service_events import config_api

    for _region, backend in list(config_backends[account_id].items()):
        if not recording(backend):
            continue
        for rule in list(backend.config_rules.values()):
            if rule.source.owner == "AWS" and RULE_RESOURCE_TYPES.get(rule.source.source_identifier) == resource_type:
                config_api.evaluate_managed_rule(backend, rule)


def _run() -> None:
    while True:
        item = _pending.get()
        if item is None:
            return
        try:
            evaluate_changed(*item)
        except Exception:  # one failed evaluation must not stop the others
            log.exception("config re-evaluation after a %s change in %s failed", item[1], item[0])


def _wrap(previous: Callable[..., Any], resource_type: str) -> Callable[..., Any]:
    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = previous(self, *args, **kwargs)
        _pending.put((self.account_id, resource_type))
        return answer

    return changed


def install() -> None:
    """Wrap the resource-changing backend methods and start the evaluation worker."""
    import importlib

    global _worker
    for resource_type, (module_name, class_name, methods) in CHANGES.items():
        backend_class = getattr(importlib.import_module(module_name), class_name)
        for method in methods:
            setattr(backend_class, method, _wrap(getattr(backend_class, method), resource_type))
    _worker = threading.Thread(target=_run, name="config-change-triggers", daemon=True)
    _worker.start()


def reset() -> None:
    """Drop queued evaluations (the resources and rules are being reset)."""
    while True:
        try:
            _pending.get_nowait()
        except queue.Empty:
            return


def shutdown() -> None:
    """Stop the worker."""
    _pending.put(None)
