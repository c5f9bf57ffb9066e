"""A build's environment variables, with CodeBuild's precedence and secret resolution.

https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html and the buildspec reference
(``env/variables``, ``env/parameter-store``, ``env/secrets-manager``). Precedence, lowest first: buildspec
``env``, the project's ``environment.environmentVariables``, ``environmentVariablesOverride`` of StartBuild.
"""

from __future__ import annotations

import json
from typing import Any


class VariableResolutionError(RuntimeError):
    """A PARAMETER_STORE/SECRETS_MANAGER variable cannot be resolved; ``context`` is CodeBuild's status code."""

    def __init__(self, context: str, message: str) -> None:
        super().__init__(message)
        self.context = context


def resolve_parameter(account_id: str, region: str, name: str) -> str:
    """The value of SSM parameter ``name`` (SecureString decrypted), read from the local SSM backend."""
    from moto.ssm.models import ssm_backends

    param = ssm_backends[account_id][region].get_parameter(name)
    if param is None:
        raise VariableResolutionError("Decrypted Variables Error", f"parameter does not exist: {name}")
    return str(param.value)


def resolve_secret(account_id: str, region: str, reference: str) -> str:
    """Resolve ``secret-id[:json-key[:version-stage[:version-id]]]`` from the local Secrets Manager backend."""
    from moto.secretsmanager.models import secretsmanager_backends

    if reference.startswith("arn:"):
        # The ARN itself has 7 colon-separated parts; json-key/stage/id follow it.
        parts = reference.split(":")
        secret_id, rest = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, *rest = reference.split(":")
    json_key, stage, version_id = (rest + ["", "", ""])[:3]
    try:
        value = secretsmanager_backends[account_id][region].get_secret_value(
            secret_id, version_id or None, stage or None)
    except Exception as exc:  # moto raises its own typed errors; CodeBuild reports them by name
        raise VariableResolutionError("Secrets Manager Error", f"{type(exc).__name__}: {reference}") from exc
    text = value.get("SecretString") or ""
    if not json_key:
        return text
    try:
        return str(json.loads(text)[json_key])
    except (ValueError, KeyError, TypeError) as exc:
        raise VariableResolutionError(
            "Secrets Manager Error", f"secret {secret_id} has no JSON key {json_key!r}") from exc


def _typed_value(account_id: str, region: str, var: dict[str, Any]) -> str:
    kind = var.get("type") or "PLAINTEXT"
    value = str(var.get("value", ""))
    if kind == "PLAINTEXT":
        return value
    if kind == "PARAMETER_STORE":
        return resolve_parameter(account_id, region, value)
    if kind == "SECRETS_MANAGER":
        return resolve_secret(account_id, region, value)
    raise VariableResolutionError("Invalid Input", f"environment variable {var.get('name')} has type {kind!r}; "
                                  "use PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER")


def build_variables(
    account_id: str, region: str, buildspec_vars: dict[str, str], parameter_store: dict[str, str],
    secrets_manager: dict[str, str], project_vars: list[dict[str, Any]], override_vars: list[dict[str, Any]],
) -> dict[str, str]:
    """Every user-defined variable of the build, resolved, with the documented precedence."""
    result = dict(buildspec_vars)
    for name, param in parameter_store.items():
        result[name] = resolve_parameter(account_id, region, param)
    for name, ref in secrets_manager.items():
        result[name] = resolve_secret(account_id, region, ref)
    for var in list(project_vars or []) + list(override_vars or []):
        result[str(var["name"])] = _typed_value(account_id, region, var)
    return result
