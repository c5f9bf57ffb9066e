"""Parse a buildspec (YAML or JSON) into the parts a build runs, per the buildspec reference.

https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

PHASE_NAMES = ("install", "pre_build", "build", "post_build")
ON_FAILURE = ("ABORT", "CONTINUE")
SHELLS = ("sh", "bash")


class BuildspecError(ValueError):
    """The buildspec cannot be run; the message names the bad value (CodeBuild's YAML_FILE_ERROR)."""


@dataclass
class Phase:
    """One buildspec phase: its commands, its finally block and what to do when a command fails."""

    name: str
    commands: list[str] = field(default_factory=list)
    finally_commands: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"


@dataclass
class Artifacts:
    """The buildspec's ``artifacts`` section."""

    files: list[str] = field(default_factory=list)
    base_directory: str = ""
    discard_paths: bool = False
    name: str | None = None


@dataclass
class Buildspec:
    """A parsed buildspec."""

    version: str
    shell: str = "sh"
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    phases: dict[str, Phase] = field(default_factory=dict)
    artifacts: Artifacts | None = None
    exported_variables: list[str] = field(default_factory=list)


def _commands(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(c, (str, int, float)) for c in value):
        raise BuildspecError(f"{where} must be a list of command strings, got {value!r}")
    return [str(c) for c in value]


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(f"{where} must be a mapping of names to values, got {value!r}")
    # YAML turns `true`/`1` into bool/int; CodeBuild hands every value to the shell as text.
    return {str(k): ("true" if v is True else "false" if v is False else "" if v is None else str(v))
            for k, v in value.items()}


def _phase(name: str, raw: Any) -> Phase:
    if raw is None:
        return Phase(name)
    if not isinstance(raw, dict):
        raise BuildspecError(f"phases.{name} must be a mapping with 'commands', got {raw!r}")
    on_failure = str(raw.get("on-failure", "ABORT")).upper()
    if on_failure not in ON_FAILURE:
        raise BuildspecError(f"phases.{name}.on-failure is {raw.get('on-failure')!r}; use ABORT or CONTINUE")
    return Phase(name, _commands(raw.get("commands"), f"phases.{name}.commands"),
                 _commands(raw.get("finally"), f"phases.{name}.finally"), on_failure)


def _artifacts(raw: Any) -> Artifacts | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BuildspecError(f"artifacts must be a mapping with 'files', got {raw!r}")
    files = _commands(raw.get("files"), "artifacts.files")
    return Artifacts(files=files, base_directory=str(raw.get("base-directory") or ""),
                     discard_paths=str(raw.get("discard-paths", "no")).lower() in ("yes", "true"),
                     name=str(raw["name"]) if raw.get("name") is not None else None)


def parse_buildspec(text: str) -> Buildspec:
    """Parse buildspec ``text`` (YAML, of which JSON is a subset); raise BuildspecError naming what is wrong."""
    if not text or not text.strip():
        raise BuildspecError("the buildspec is empty; give the project an inline buildspec or a buildspec.yml")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BuildspecError(f"the buildspec is not valid YAML/JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BuildspecError(f"the buildspec must be a mapping with 'version' and 'phases', got {doc!r}")
    version = str(doc.get("version", ""))
    if version not in ("0.1", "0.2"):
        raise BuildspecError(f"buildspec version {doc.get('version')!r} is not supported; use version: 0.2")
    env = doc.get("env") or {}
    if not isinstance(env, dict):
        raise BuildspecError(f"env must be a mapping, got {env!r}")
    shell = str(env.get("shell", "sh"))
    if shell not in SHELLS:
        raise BuildspecError(f"env.shell {shell!r} is not available on Linux; use sh or bash")
    phases_raw = doc.get("phases") or {}
    if not isinstance(phases_raw, dict):
        raise BuildspecError(f"phases must be a mapping of phase names, got {phases_raw!r}")
    unknown = sorted(set(phases_raw) - set(PHASE_NAMES))
    if unknown:
        raise BuildspecError(f"unknown phase(s) {unknown}; phases are {list(PHASE_NAMES)}")
    return Buildspec(
        version=version,
        shell=shell,
        variables=_string_map(env.get("variables"), "env.variables"),
        parameter_store=_string_map(env.get("parameter-store"), "env.parameter-store"),
        secrets_manager=_string_map(env.get("secrets-manager"), "env.secrets-manager"),
        exported_variables=_commands(env.get("exported-variables"), "env.exported-variables"),
        phases={name: _phase(name, phases_raw.get(name)) for name in PHASE_NAMES},
        artifacts=_artifacts(doc.get("artifacts")),
    )
