"""An immutable snapshot of what a Lambda function version needs to run, taken from moto's model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from moto.awslambda.exceptions import LambdaClientError

# Python runtimes whose handlers this machine's interpreter (python3.11, the venv) runs faithfully enough.
SUPPORTED_RUNTIME_PREFIX = "python3."


@dataclass(frozen=True)
class FunctionSpec:
    """Everything a worker of one function version is started with; ``fingerprint`` changes when any of it does."""

    account_id: str
    region: str
    name: str
    version: str
    function_arn: str
    handler: str
    runtime: str
    role: str
    memory_mb: int
    timeout_s: float
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    layers: tuple[str, ...]
    log_group: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(account, region, name, version): the workers of one function version."""
        return (self.account_id, self.region, self.name, self.version)

    @cached_property
    def fingerprint(self) -> str:
        """Digest of code and configuration: workers started under another fingerprint are stale."""
        raw = json.dumps([self.handler, self.runtime, self.role, self.memory_mb, self.timeout_s,
                          self.environment, self.code_sha256, self.layers], sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def unqualified_arn(self) -> str:
        """The function's ARN without version."""
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"


def spec_of(fn: Any) -> FunctionSpec:
    """Snapshot moto's ``LambdaFunction`` ``fn``; raises InvalidRuntimeException for code this runtime cannot run."""
    if getattr(fn, "package_type", "Zip") != "Zip":
        raise LambdaClientError(
            "InvalidRuntimeException",
            f"Function {fn.function_name} has PackageType {fn.package_type}; the local cloud's Lambda runtime runs "
            "only Zip functions with a python3.x runtime (container images need Docker, which is not used here).",
        )
    runtime = fn.run_time or ""
    if not runtime.startswith(SUPPORTED_RUNTIME_PREFIX):
        raise LambdaClientError(
            "InvalidRuntimeException",
            f"Function {fn.function_name} has runtime {runtime!r}; the local cloud's Lambda runtime runs only "
            "python3.x Zip functions. Deploy it with Runtime python3.11 or later.",
        )
    if not fn.handler or "." not in fn.handler:
        raise LambdaClientError(
            "InvalidParameterValueException",
            f"Function {fn.function_name} has handler {fn.handler!r}; set Handler to '<module>.<function>'.",
        )
    version = str(fn.version)
    return FunctionSpec(
        account_id=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        version=version,
        function_arn=fn.function_arn,
        handler=fn.handler,
        runtime=runtime,
        role=fn.role,
        memory_mb=int(fn.memory_size or 128),
        timeout_s=float(fn.timeout or 3),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha256=fn.code_sha_256 or "",
        layers=tuple(layer["Arn"] for layer in (fn.layers or [])),
        log_group=f"/aws/lambda/{fn.function_name}",
    )
