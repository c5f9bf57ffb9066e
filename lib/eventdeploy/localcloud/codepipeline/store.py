"""The pipeline's artifact store (S3): where action outputs are written and inputs read, as in AWS."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

from eventdeploy.localcloud import internal
from eventdeploy.localcloud.codepipeline.model import Artifact


class ActionFailed(Exception):
    """The action failed; ``code`` is the errorDetails code (JobFailed, ConfigurationError, ...)."""

    def __init__(self, message: str, code: str = "JobFailed") -> None:
        super().__init__(message)
        self.code, self.message = code, message


def store_bucket(pipeline: dict[str, Any], region: str) -> str:
    """The artifact bucket for ``region`` (artifactStore, or artifactStores[region] for cross-region)."""
    store = pipeline.get("artifactStore") or (pipeline.get("artifactStores") or {}).get(region)
    if not store or not store.get("location"):
        raise ActionFailed(f"pipeline {pipeline['name']} has no artifactStore location; set artifactStore "
                           "{type: S3, location: <bucket>}", "ConfigurationError")
    return str(store["location"])


def put_artifact(account_id: str, region: str, pipeline: dict[str, Any], name: str, data: bytes,
                 revision: str | None = None) -> Artifact:
    """Write ``data`` (a zip) as output artifact ``name``; key = pipeline[:20]/artifact[:10]/random, as AWS."""
    bucket = store_bucket(pipeline, region)
    key = f"{pipeline['name'][:20]}/{name[:10]}/{uuid.uuid4().hex[:7]}"
    try:
        internal.client("s3", account_id, region).put_object(Bucket=bucket, Key=key, Body=data)
    except Exception as exc:
        raise ActionFailed(f"cannot write artifact {name} to s3://{bucket}/{key}: {exc}") from exc
    return Artifact(name=name, bucket=bucket, key=key, revision=revision)


def get_artifact(account_id: str, region: str, artifact: Artifact) -> bytes:
    """The bytes of ``artifact`` from the artifact store."""
    try:
        obj = internal.client("s3", account_id, region).get_object(Bucket=artifact.bucket, Key=artifact.key)
    except Exception as exc:
        raise ActionFailed(f"cannot read artifact {artifact.name} at s3://{artifact.bucket}/{artifact.key}: {exc}") \
            from exc
    return bytes(obj["Body"].read())


def zip_of(files: dict[str, bytes]) -> bytes:
    """A zip holding ``files`` (name → content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buf.getvalue()


def read_member(data: bytes, path: str, artifact_name: str) -> bytes:
    """File ``path`` inside artifact zip ``data``; ActionFailed naming both when it is missing."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(path)
    except KeyError as exc:
        raise ActionFailed(f"file {path} not found in artifact {artifact_name}", "ConfigurationError") from exc
    except zipfile.BadZipFile as exc:
        raise ActionFailed(f"artifact {artifact_name} is not a zip file", "ConfigurationError") from exc
