"""Unpack a function's deployment package (and layers) once per code SHA under the server's state directory."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

_lock = threading.Lock()


def _unpack(data: bytes, target: Path, what: str) -> Path:
    """Extract zip ``data`` to ``target`` atomically (a half-extracted folder is never used)."""
    if target.is_dir():
        return target
    with _lock:
        if target.is_dir():
            return target
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.infolist():
                    # A zip entry must never escape the code folder.
                    dest = (tmp / member.filename).resolve()
                    if not str(dest).startswith(str(tmp.resolve())):
                        raise LambdaClientError("InvalidParameterValueException",
                                                f"{what}: zip entry {member.filename!r} points outside the package")
                archive.extractall(tmp)
        except zipfile.BadZipFile as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise LambdaClientError("InvalidZipFileException",
                                    f"{what}: could not unzip the uploaded file ({exc}); upload a valid .zip") from exc
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    return target


def task_root(state_dir: Path, fn: Any) -> Path:
    """The folder holding ``fn``'s unpacked code (``LAMBDA_TASK_ROOT``); extracted on first use."""
    data: bytes = getattr(fn, "code_bytes", b"") or b""
    if not data:
        raise LambdaClientError(
            "InvalidParameterValueException",
            f"Function {fn.function_name} has no deployment package (its S3 object was not found when it was "
            "created); update it with update_function_code.",
        )
    digest = hashlib.sha256(data).hexdigest()[:24]
    target = state_dir / "lambda" / "code" / fn.account_id / fn.region / fn.function_name / str(fn.version) / digest
    return _unpack(data, target, f"function {fn.function_name}")


def layer_paths(state_dir: Path, fn: Any) -> list[Path]:
    """``sys.path`` entries that Lambda adds for ``fn``'s layers (``/opt/python`` and its site-packages)."""
    from moto.awslambda.utils import get_backend

    paths: list[Path] = []
    backend = get_backend(fn.account_id, fn.region)
    for layer in fn.layers or []:
        version = backend.layers_versions_by_arn(layer["Arn"])
        data = getattr(version, "code_bytes", b"") if version is not None else b""
        if not data:
            continue
        digest = hashlib.sha256(data).hexdigest()[:24]
        root = _unpack(data, state_dir / "lambda" / "layers" / digest, f"layer {layer['Arn']}")
        paths += [root / "python", root / "python" / "lib" / "python3.11" / "site-packages"]
    return paths
