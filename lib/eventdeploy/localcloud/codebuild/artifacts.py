"""Source download and artifact upload for a build (S3 and CodePipeline), through the local cloud's S3 API."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from eventdeploy.localcloud import internal
from eventdeploy.localcloud.codebuild.buildspec import Artifacts


class ArtifactError(RuntimeError):
    """Source or artifacts could not be transferred; ``context`` is CodeBuild's phase-context status code."""

    def __init__(self, context: str, message: str) -> None:
        super().__init__(message)
        self.context = context


def split_s3_location(location: str) -> tuple[str, str]:
    """``bucket/key`` or ``arn:aws:s3:::bucket/key`` → (bucket, key)."""
    if location.startswith("arn:"):
        location = location.split(":::", 1)[-1]
    bucket, _, key = location.partition("/")
    return bucket, key


def unzip_into(data: bytes, dest: Path) -> None:
    """Extract zip ``data`` into ``dest``, refusing entries that would escape it."""
    root = dest.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = (root / info.filename).resolve()
            if not str(target).startswith(str(root)):
                raise ArtifactError("CLIENT_ERROR", f"zip entry {info.filename!r} points outside the source folder")
        archive.extractall(root)


def download_s3_source(account_id: str, region: str, location: str, version: str | None, dest: Path) -> str:
    """Put an S3 source (a zip object, or every object under a ``prefix/``) into ``dest``; return its version."""
    s3 = internal.client("s3", account_id, region)
    bucket, key = split_s3_location(location)
    try:
        if key.endswith("/") or not key:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            for page in pages:
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(key):]
                    if rel and not rel.endswith("/"):
                        target = dest / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            return ""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            kwargs["VersionId"] = version
        obj = s3.get_object(**kwargs)
    except Exception as exc:
        raise ArtifactError("CLIENT_ERROR", f"cannot download source s3://{bucket}/{key}: {exc}") from exc
    data = obj["Body"].read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        unzip_into(data, dest)
    else:
        (dest / Path(key).name).write_bytes(data)
    return str(obj.get("VersionId") or "")


def collect(src_dir: Path, spec: Artifacts) -> list[tuple[Path, str]]:
    """Files matched by the buildspec's ``artifacts.files`` globs, with the names they take in the artifact."""
    base = (src_dir / spec.base_directory).resolve() if spec.base_directory else src_dir.resolve()
    found: dict[str, Path] = {}
    for pattern in spec.files:
        pattern = pattern[2:] if pattern.startswith("./") else pattern
        for path in sorted(base.glob(pattern)):
            if path.is_file():
                rel = path.name if spec.discard_paths else str(path.relative_to(base))
                found.setdefault(rel, path)
            elif path.is_dir() and pattern.endswith("**"):
                for inner in sorted(path.rglob("*")):
                    if inner.is_file():
                        found.setdefault(inner.name if spec.discard_paths else str(inner.relative_to(base)), inner)
    return [(path, rel) for rel, path in sorted(found.items())]


def zip_files(files: list[tuple[Path, str]]) -> bytes:
    """A zip archive of ``files``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, rel in files:
            archive.write(path, rel)
    return buf.getvalue()


def upload_s3_artifacts(
    account_id: str, region: str, project_artifacts: dict[str, Any], build_uuid: str, project_name: str,
    files: list[tuple[Path, str]], name_override: str | None,
) -> str:
    """Upload ``files`` as the project's S3 artifacts (path/namespace/name, ZIP or NONE); return the location."""
    s3 = internal.client("s3", account_id, region)
    bucket = project_artifacts.get("location") or ""
    name = name_override or project_artifacts.get("name") or project_name
    parts = [project_artifacts.get("path") or ""]
    if project_artifacts.get("namespaceType") == "BUILD_ID":
        parts.append(build_uuid)
    parts.append(name)
    prefix = "/".join(p.strip("/") for p in parts if p)
    try:
        if project_artifacts.get("packaging") == "ZIP":
            s3.put_object(Bucket=bucket, Key=prefix, Body=zip_files(files))
        else:
            for path, rel in files:
                s3.put_object(Bucket=bucket, Key=f"{prefix}/{rel}", Body=path.read_bytes())
    except Exception as exc:
        raise ArtifactError("CLIENT_ERROR", f"cannot upload artifacts to s3://{bucket}/{prefix}: {exc}") from exc
    return f"arn:aws:s3:::{bucket}/{prefix}"
