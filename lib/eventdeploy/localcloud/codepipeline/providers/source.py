"""Source actions: S3 and ECR for real; repository sources (CodeStarSourceConnection, CodeCommit, GitHub)
recorded with an empty artifact, since the local cloud cannot clone.

https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-S3.html,
https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-ECR.html
"""

from __future__ import annotations

import json

from eventdeploy.localcloud.codepipeline.providers.context import ActionContext
from eventdeploy.localcloud.codepipeline.store import ActionFailed, zip_of


def source_s3(ctx: ActionContext) -> None:
    """Source/S3: the object S3Bucket/S3ObjectKey becomes the output artifact, its version the revision."""
    bucket, key = ctx.config.get("S3Bucket"), ctx.config.get("S3ObjectKey")
    if not bucket or not key:
        raise ActionFailed("S3 source needs S3Bucket and S3ObjectKey in its configuration", "ConfigurationError")
    try:
        obj = ctx.client("s3").get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise ActionFailed(f"cannot read source s3://{bucket}/{key}: {exc}") from exc
    revision = str(obj.get("VersionId") or obj.get("ETag", "").strip('"'))
    ctx.emit_output(obj["Body"].read(), revision)
    ctx.add_revision(revision, f"s3://{bucket}/{key}")
    ctx.action.external_id = revision
    ctx.action.summary = f"Amazon S3 version id: {revision}"
    ctx.action.output_variables.update({"ObjectKey": key, "ETag": str(obj.get("ETag", "")).strip('"'),
                                        "VersionId": str(obj.get("VersionId") or "")})


def source_ecr(ctx: ActionContext) -> None:
    """Source/ECR: the image RepositoryName:ImageTag becomes an artifact holding imageDetail.json."""
    repo, tag = ctx.config.get("RepositoryName"), ctx.config.get("ImageTag") or "latest"
    if not repo:
        raise ActionFailed("ECR source needs RepositoryName in its configuration", "ConfigurationError")
    try:
        image = ctx.client("ecr").describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])["imageDetails"][0]
    except Exception as exc:
        raise ActionFailed(f"cannot find image {repo}:{tag}: {exc}") from exc
    registry = image["registryId"]
    detail = {
        "ImageSizeInBytes": str(image.get("imageSizeInBytes", 0)), "ImageDigest": image["imageDigest"],
        "Version": "1.0", "ImagePushedAt": str(image.get("imagePushedAt", "")), "RegistryId": registry,
        "RepositoryName": repo,
        "ImageURI": f"{registry}.dkr.ecr.{ctx.region}.amazonaws.com/{repo}@{image['imageDigest']}",
        "ImageTags": image.get("imageTags", []),
    }
    ctx.emit_output(zip_of({"imageDetail.json": json.dumps(detail).encode()}), image["imageDigest"])
    ctx.add_revision(image["imageDigest"], f"{repo}:{tag}")
    ctx.action.external_id = image["imageDigest"]
    ctx.action.summary = f"Image {repo}:{tag}"
    ctx.action.output_variables.update({"RegistryId": registry, "RepositoryName": repo, "ImageTag": tag,
                                        "ImageDigest": image["imageDigest"], "ImageURI": detail["ImageURI"]})


def source_recorded(ctx: ActionContext) -> None:
    """Repository sources (CodeStarSourceConnection, CodeCommit, GitHub): the local cloud cannot fetch them;
    record the requested revision and hand on an empty artifact."""
    cfg = ctx.config
    repo = cfg.get("FullRepositoryId") or cfg.get("RepositoryName") or cfg.get("Repo") or "?"
    branch = cfg.get("BranchName") or cfg.get("Branch") or "main"
    revision = f"{repo}@{branch}"
    ctx.emit_output(zip_of({}), revision)
    ctx.add_revision(revision, "recorded only: the local cloud does not clone repositories")
    ctx.action.summary = f"recorded only: {ctx.action.type_id()['provider']} source {revision} not fetched"
