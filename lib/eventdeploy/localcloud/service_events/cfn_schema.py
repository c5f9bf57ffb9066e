"""What CloudFormation's resource registry knows: resource types per region and their property schemas.

The registry schemas ship with cfn-lint (installed with ``moto[server]``). Used for the checks AWS makes:
a type the registry does not know is rejected by CreateStack ("Template format error: Unrecognized resource
types: [...]", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html), and a resource
whose top-level properties break its schema fails with "Properties validation failed for resource X with message:
..." (https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html): required keys,
extraneous keys when ``additionalProperties`` is false (``patternProperties`` allowing), JSON type (numbers and booleans may be given as strings,
as CloudFormation accepts), enum, minimum/maximum, minLength/maxLength.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

log = logging.getLogger("eventdeploy.localcloud.service_events")

# Types CloudFormation accepts without a registry schema.
_ALWAYS_KNOWN = re.compile(r"^Custom::[A-Za-z0-9_@-]{1,60}$|^AWS::CloudFormation::CustomResource$|^AWS::Serverless::")
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@functools.lru_cache(maxsize=32)
def registry_types(region: str) -> frozenset[str] | None:
    """Every resource type the registry has in ``region`` (None if the schemas cannot be read)."""
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        return frozenset(PROVIDER_SCHEMA_MANAGER.get_resource_types(region))
    except Exception:  # without the schemas, only the template's form is checked
        log.warning("CloudFormation resource schemas unavailable for %s; resource types are not checked", region)
        return None


def unrecognized_types(types: set[str], region: str) -> list[str]:
    """The types in ``types`` CloudFormation would not recognise in ``region``."""
    known = registry_types(region)
    if known is None:
        return []
    return sorted(t for t in types if not _ALWAYS_KNOWN.match(t) and t not in known)


@functools.lru_cache(maxsize=512)
def _schema(region: str, resource_type: str) -> dict[str, Any] | None:
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        return dict(PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema)
    except Exception:
        return None


def _type_error(value: Any, expected: Any) -> str | None:
    kinds = expected if isinstance(expected, list) else [expected]
    for kind in kinds:
        if kind == "string" and isinstance(value, str | int | float) and not isinstance(value, bool):
            return None
        if kind == "integer" and (isinstance(value, int) and not isinstance(value, bool)
                                  or isinstance(value, str) and _INTEGER.match(value)):
            return None
        if kind == "number" and (isinstance(value, int | float) and not isinstance(value, bool)
                                 or isinstance(value, str) and _NUMBER.match(value)):
            return None
        if kind == "boolean" and (isinstance(value, bool) or str(value).lower() in ("true", "false")):
            return None
        if kind == "array" and isinstance(value, list):
            return None
        if kind == "object" and isinstance(value, dict):
            return None
    found = {bool: "Boolean", int: "Integer", float: "Number", str: "String", list: "JSONArray",
             dict: "JSONObject"}.get(type(value), type(value).__name__)
    return f"expected type: {'/'.join(str(k).capitalize() for k in kinds)}, found: {found}"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _unresolved(value: Any) -> bool:
    # An intrinsic function the emulator could not resolve: its value is unknown, so it is not judged.
    return isinstance(value, dict) and any(k == "Ref" or str(k).startswith("Fn::") for k in value)


def _property_errors(name: str, value: Any, spec: dict[str, Any]) -> list[str]:
    if _unresolved(value):
        return []
    where = f"#/{name}"
    if "type" in spec:
        problem = _type_error(value, spec["type"])
        if problem:
            return [f"{where}: {problem}"]
    errors = []
    if "enum" in spec and value not in spec["enum"] and str(value) not in [str(v) for v in spec["enum"]]:
        errors.append(f"{where}: {value} is not a valid enum value")
    number = _number(value) if spec.get("type") in ("integer", "number") else None
    if number is not None:
        if "minimum" in spec and number < spec["minimum"]:
            errors.append(f"{where}: {value} is not greater or equal to {spec['minimum']}")
        if "maximum" in spec and number > spec["maximum"]:
            errors.append(f"{where}: {value} is not less or equal to {spec['maximum']}")
    if isinstance(value, str) and spec.get("type") == "string":
        if "minLength" in spec and len(value) < spec["minLength"]:
            errors.append(f"{where}: expected minLength: {spec['minLength']}, actual: {len(value)}")
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            errors.append(f"{where}: expected maxLength: {spec['maxLength']}, actual: {len(value)}")
    return errors


def property_errors(region: str, resource_type: str, properties: dict[str, Any]) -> list[str]:
    """Schema violations of a resource's resolved top-level properties (empty when valid or unknown)."""
    schema = _schema(region, resource_type)
    if not schema:
        return []
    specs = schema.get("properties") or {}
    present = {k for k, v in properties.items() if v is not None}
    errors = [f"#: required key [{key}] not found" for key in schema.get("required") or [] if key not in present]
    if schema.get("additionalProperties") is False:
        patterns = [re.compile(p) for p in (schema.get("patternProperties") or {})]
        extraneous = [k for k in sorted(present - set(specs)) if not any(p.search(k) for p in patterns)]
        errors += [f"#: extraneous key [{key}] is not permitted" for key in extraneous]
    for key in sorted(present & set(specs)):
        errors += _property_errors(key, properties[key], specs[key])
    return errors
