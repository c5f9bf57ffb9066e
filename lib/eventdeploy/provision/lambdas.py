"""Lambda functions packaged from ``eventdeploy/handlers`` into deterministic zips, with async invoke config."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from eventdeploy.provision.context import Provisioner, wait_until

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
RUNTIME = "python3.12"
# A fixed timestamp and mode for every entry: the same code always gives the same zip, so the same CodeSha256.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def package(source: Path = HANDLERS_DIR, package_name: str = "handlers") -> bytes:
    """A deterministic zip of every .py under ``source``, as the importable package ``package_name``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*.py")):
            info = zipfile.ZipInfo(f"{package_name}/{path.relative_to(source).as_posix()}", date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def _wait_ready(lam: Any, name: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        conf = lam.get_function_configuration(FunctionName=name)
        if conf.get("State", "Active") == "Failed":
            raise RuntimeError(f"function {name} failed to become active: {conf.get('StateReason')}")
        ok = conf.get("State", "Active") == "Active" and conf.get("LastUpdateStatus", "Successful") != "InProgress"
        return conf if ok else None

    return wait_until(ready, f"function {name} to be ready")


def ensure_function(p: Provisioner, suffix: str, handler: str, role_arn: str, environment: dict[str, str],
                    timeout_s: int = 30, memory_mb: int = 256, zip_bytes: bytes | None = None,
                    description: str = "") -> str:
    """A function ``<prefix>-<suffix>`` running ``handler`` from the handlers zip; code updated only on change."""
    lam = p.client("lambda")
    name = p.name(suffix)
    code = zip_bytes if zip_bytes is not None else package()
    desired = {"Runtime": RUNTIME, "Handler": handler, "Role": role_arn, "Timeout": timeout_s,
               "MemorySize": memory_mb, "Description": description}
    try:
        conf = lam.get_function_configuration(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        conf = lam.create_function(FunctionName=name, Code={"ZipFile": code}, Environment={"Variables": environment},
                                   Tags=p.tags, Publish=False, **desired)
        p.changed("create", "lambda function", name)
        conf = _wait_ready(lam, name)
        return p.record("lambda", "function", name, conf["FunctionArn"])
    if conf["CodeSha256"] != code_sha256(code):
        lam.update_function_code(FunctionName=name, ZipFile=code)
        p.changed("update", "lambda code", name)
        conf = _wait_ready(lam, name)
    current = {k: conf.get(k) for k in desired} | {"Description": conf.get("Description", "")}
    current_env = conf.get("Environment", {}).get("Variables", {})
    if current != desired or current_env != environment:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": environment}, **desired)
        p.changed("update", "lambda configuration", name)
        conf = _wait_ready(lam, name)
    return p.record("lambda", "function", name, conf["FunctionArn"])


def ensure_async_config(p: Provisioner, function_arn: str, max_retries: int = 2, max_event_age_s: int = 21600,
                        on_failure_arn: str | None = None, on_success_arn: str | None = None) -> None:
    """Asynchronous invocation: how often Lambda retries, how old an event may get, where results go."""
    lam = p.client("lambda")
    destinations: dict[str, Any] = {}
    if on_failure_arn:
        destinations["OnFailure"] = {"Destination": on_failure_arn}
    if on_success_arn:
        destinations["OnSuccess"] = {"Destination": on_success_arn}
    desired = {"MaximumRetryAttempts": max_retries, "MaximumEventAgeInSeconds": max_event_age_s,
               "DestinationConfig": destinations}
    try:
        current = lam.get_function_event_invoke_config(FunctionName=function_arn)
        same = (current.get("MaximumRetryAttempts") == max_retries
                and current.get("MaximumEventAgeInSeconds") == max_event_age_s
                and {k: v for k, v in current.get("DestinationConfig", {}).items() if v.get("Destination")}
                == destinations)
    except lam.exceptions.ResourceNotFoundException:
        same = False
    if not same:
        lam.put_function_event_invoke_config(FunctionName=function_arn, **desired)
        p.changed("update", "lambda async config", function_arn)


def ensure_invoke_permission(p: Provisioner, function_arn: str, statement_id: str, principal: str,
                             source_arn: str) -> None:
    """Let ``principal`` (e.g. events.amazonaws.com) invoke the function, only from ``source_arn``."""
    lam = p.client("lambda")
    try:
        policy = json.loads(lam.get_policy(FunctionName=function_arn)["Policy"])
        for statement in policy.get("Statement", []):
            if statement.get("Sid") == statement_id:
                if json.dumps(statement).find(source_arn) >= 0:
                    return
                lam.remove_permission(FunctionName=function_arn, StatementId=statement_id)
    except lam.exceptions.ResourceNotFoundException:
        pass
    lam.add_permission(FunctionName=function_arn, StatementId=statement_id, Action="lambda:InvokeFunction",
                       Principal=principal, SourceArn=source_arn)
    p.changed("update", "lambda permission", f"{function_arn}:{statement_id}")
