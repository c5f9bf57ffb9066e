"""AWS Config managed rules the local cloud evaluates against its own resources.

Each follows its page in https://docs.aws.amazon.com/config/latest/developerguide/managed-rules-by-aws-config.html:
``ECR_PRIVATE_IMAGE_SCANNING_ENABLED`` (NON_COMPLIANT unless scan on push is on), ``ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED``
(NON_COMPLIANT unless tags are immutable), ``ECR_PRIVATE_LIFECYCLE_POLICY_CONFIGURED`` (NON_COMPLIANT without a
lifecycle policy) and ``S3_BUCKET_VERSIONING_ENABLED`` (NON_COMPLIANT unless versioning is Enabled, and with
``isMfaDeleteEnabled`` "true", unless MFA delete is on too), ``S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED``
(NON_COMPLIANT unless all four bucket-level public access block settings are on or the bucket is in
``excludedPublicBuckets``). Resource ids are the repository and bucket names, as
AWS Config records them. Other managed rules are accepted by PutConfigRule but not evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

# (resource type, resource id, compliance type, annotation or None)
Verdict = tuple[str, str, str, str | None]
Evaluator = Callable[[str, str, dict[str, Any]], Iterator[Verdict]]


def _repositories(account_id: str, region: str) -> list[Any]:
    from moto.ecr.models import ecr_backends

    return list(ecr_backends[account_id][region].repositories.values())


def _buckets(account_id: str, region: str) -> list[Any]:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    buckets = s3_backends[account_id][get_partition(region)].buckets.values()
    return [b for b in buckets if b.region_name == region]


def ecr_image_scanning(account_id: str, region: str, params: dict[str, Any]) -> Iterator[Verdict]:
    """ECR_PRIVATE_IMAGE_SCANNING_ENABLED."""
    for repo in _repositories(account_id, region):
        if (repo.image_scanning_configuration or {}).get("scanOnPush"):
            yield "AWS::ECR::Repository", repo.name, "COMPLIANT", None
        else:
            yield "AWS::ECR::Repository", repo.name, "NON_COMPLIANT", "Image scanning is not enabled on push."


def ecr_tag_immutability(account_id: str, region: str, params: dict[str, Any]) -> Iterator[Verdict]:
    """ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED."""
    for repo in _repositories(account_id, region):
        if repo.is_tag_immutable():
            yield "AWS::ECR::Repository", repo.name, "COMPLIANT", None
        else:
            yield "AWS::ECR::Repository", repo.name, "NON_COMPLIANT", "Image tags are mutable."


def ecr_lifecycle_policy(account_id: str, region: str, params: dict[str, Any]) -> Iterator[Verdict]:
    """ECR_PRIVATE_LIFECYCLE_POLICY_CONFIGURED."""
    for repo in _repositories(account_id, region):
        if repo.lifecycle_policy:
            yield "AWS::ECR::Repository", repo.name, "COMPLIANT", None
        else:
            yield "AWS::ECR::Repository", repo.name, "NON_COMPLIANT", "No lifecycle policy is configured."


def s3_versioning(account_id: str, region: str, params: dict[str, Any]) -> Iterator[Verdict]:
    """S3_BUCKET_VERSIONING_ENABLED."""
    need_mfa = str(params.get("isMfaDeleteEnabled", "")).lower() == "true"
    for bucket in _buckets(account_id, region):
        if bucket.versioning_status != "Enabled":
            yield "AWS::S3::Bucket", bucket.name, "NON_COMPLIANT", "Versioning is not enabled."
        elif need_mfa and getattr(bucket, "mfa_delete", None) != "Enabled":
            yield "AWS::S3::Bucket", bucket.name, "NON_COMPLIANT", "MFA delete is not enabled."
        else:
            yield "AWS::S3::Bucket", bucket.name, "COMPLIANT", None


def s3_bucket_level_public_access(account_id: str, region: str, params: dict[str, Any]) -> Iterator[Verdict]:
    """S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED."""
    excluded = {b.strip() for b in str(params.get("excludedPublicBuckets", "")).split(",") if b.strip()}
    for bucket in _buckets(account_id, region):
        block = bucket.public_access_block
        if bucket.name in excluded or (block is not None and all(block.to_config_dict().values())):
            yield "AWS::S3::Bucket", bucket.name, "COMPLIANT", None
        else:
            yield "AWS::S3::Bucket", bucket.name, "NON_COMPLIANT", "Bucket-level public access settings are public."


EVALUATORS: dict[str, Evaluator] = {
    "ECR_PRIVATE_IMAGE_SCANNING_ENABLED": ecr_image_scanning,
    "ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED": ecr_tag_immutability,
    "ECR_PRIVATE_LIFECYCLE_POLICY_CONFIGURED": ecr_lifecycle_policy,
    "S3_BUCKET_VERSIONING_ENABLED": s3_versioning,
    "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED": s3_bucket_level_public_access,
}


def in_scope(scope: Any, resource_type: str, resource_id: str) -> bool:
    """Whether the rule's Scope (resource types / resource id) covers this resource; tag scopes are not checked."""
    if scope is None:
        return True
    types = getattr(scope, "compliance_resource_types", None)
    if types and resource_type not in types:
        return False
    wanted_id = getattr(scope, "compliance_resource_id", None)
    return not wanted_id or wanted_id == resource_id


def verdicts(rule: Any, account_id: str, region: str) -> list[Verdict] | None:
    """The managed rule's verdict on each resource in scope, or None if the rule is not emulated."""
    evaluator = EVALUATORS.get(rule.source.source_identifier)
    if evaluator is None:
        return None
    params = rule.input_parameters_dict or {}
    return [v for v in evaluator(account_id, region, params) if in_scope(rule.scope, v[0], v[1])]
