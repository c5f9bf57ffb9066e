"""What a target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``, compiled once per target.

Semantics follow https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html:
- a placeholder inside a JSON string in the template gets the value's text, JSON-escaped so the result stays
  valid; an object/array there loses its internal quotes ("EventBridge removes any internal quotes");
- an unquoted placeholder gets the value as JSON (a string value is quoted: "EventBridge replaces input
  transformers at runtime to ensure a valid JSON output");
- a path that resolves to nothing yields an empty string inside quotes and ``null`` outside;
- predefined ``aws.events.rule-arn``, ``aws.events.rule-name``, ``aws.events.event.ingestion-time``,
  ``aws.events.event`` (the event without ``detail``) and ``aws.events.event.json`` (the whole event);
- a template that is JSON is delivered minified; any other template (plain text) is delivered as rendered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from eventdeploy.localcloud.events.jsonpath import MISSING, InvalidJsonPath, JsonPath, compile_path

PREDEFINED = (
    "aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
    "aws.events.event", "aws.events.event.json",
)
_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_\-.]+)>")
MAX_PATHS = 100
MAX_TEMPLATE = 8192
_COMPACT = (",", ":")


class InvalidTargetInput(ValueError):
    """Target input configuration AWS rejects at PutTargets (ValidationException); the message says why."""


@dataclass(frozen=True)
class RenderContext:
    """Per-delivery values the predefined variables refer to."""

    rule_arn: str
    rule_name: str
    ingestion_time: str


class TargetInput:
    """Turns an event into the text a target gets; subclasses are built by ``compile_target_input``."""

    # Only templates read the render context (predefined variables); others skip building it.
    uses_context = False

    def render(self, event: dict[str, Any], ctx: RenderContext) -> str:
        """The payload for one delivery of ``event``."""
        return json.dumps(event, separators=_COMPACT)


class ConstantInput(TargetInput):
    """``Input``: the same JSON text for every event."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, event: dict[str, Any], ctx: RenderContext) -> str:
        """The constant text."""
        return self.text


class PathInput(TargetInput):
    """``InputPath``: the part of the event the path selects."""

    def __init__(self, path: JsonPath) -> None:
        self.path = path

    def render(self, event: dict[str, Any], ctx: RenderContext) -> str:
        """The selected value as JSON (``null`` when the event has nothing there)."""
        value = self.path.find(event)
        return "null" if value is MISSING else json.dumps(value, separators=_COMPACT)


@dataclass(frozen=True)
class _Slot:
    name: str
    quoted: bool


class TemplateInput(TargetInput):
    """``InputTransformer``: the template with each placeholder replaced as AWS documents."""

    uses_context = True

    def __init__(self, paths: dict[str, JsonPath], segments: list[str | _Slot], is_json: bool) -> None:
        self.paths = paths
        self.segments = segments
        self.is_json = is_json

    def _value(self, name: str, event: dict[str, Any], ctx: RenderContext) -> Any:
        if name in self.paths:
            return self.paths[name].find(event)
        if name == "aws.events.rule-arn":
            return ctx.rule_arn
        if name == "aws.events.rule-name":
            return ctx.rule_name
        if name == "aws.events.event.ingestion-time":
            return ctx.ingestion_time
        if name == "aws.events.event":
            return {k: v for k, v in event.items() if k != "detail"}
        return event  # aws.events.event.json

    def render(self, event: dict[str, Any], ctx: RenderContext) -> str:
        """The rendered template; minified when the template is JSON."""
        parts: list[str] = []
        for segment in self.segments:
            if isinstance(segment, str):
                parts.append(segment)
                continue
            value = self._value(segment.name, event, ctx)
            parts.append(_in_string(value) if segment.quoted else _as_json(value))
        text = "".join(parts)
        if self.is_json:
            try:
                return json.dumps(json.loads(text), separators=_COMPACT)
            except ValueError:
                return text
        return text


def _as_json(value: Any) -> str:
    return "null" if value is MISSING else json.dumps(value, separators=_COMPACT)


def _in_string(value: Any) -> str:
    if value is MISSING or value is None:
        return "" if value is MISSING else "null"
    if isinstance(value, str):
        return json.dumps(value)[1:-1]
    if isinstance(value, (dict, list)):
        # AWS: an object or array referenced inside a string has its internal quotes removed.
        return json.dumps(value, separators=_COMPACT).replace('"', "")
    return json.dumps(value)


def _segments(template: str, names: set[str]) -> list[str | _Slot]:
    """Split the template into literal text and placeholders, noting which sit inside a JSON string."""
    out: list[str | _Slot] = []
    literal: list[str] = []
    in_string = False
    i = 0
    n = len(template)
    while i < n:
        char = template[i]
        if char == "\\" and in_string and i + 1 < n:
            literal.append(template[i:i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, i)
            if match and match.group(1) in names:
                if literal:
                    out.append("".join(literal))
                    literal = []
                out.append(_Slot(match.group(1), in_string))
                i = match.end()
                continue
        literal.append(char)
        i += 1
    if literal:
        out.append("".join(literal))
    return out


def _check_json_template(template: str, segments: list[str | _Slot]) -> None:
    # Stand-ins keep placeholders' positions: an unquoted one must be a JSON value, never an object key.
    probe = "".join(s if isinstance(s, str) else ("x" if s.quoted else "null") for s in segments)
    try:
        json.loads(probe)
    except ValueError as exc:
        raise InvalidTargetInput(
            f"InputTemplate {template[:200]!r} is not valid JSON once its placeholders are filled ({exc}); "
            "a JSON template needs placeholders as values (quoted for strings), never as object keys"
        ) from exc


def compile_transformer(spec: dict[str, Any]) -> TemplateInput:
    """Validate and compile an ``InputTransformer``; raise InvalidTargetInput with AWS's reason."""
    template = spec.get("InputTemplate")
    if not isinstance(template, str) or not (1 <= len(template) <= MAX_TEMPLATE):
        raise InvalidTargetInput(
            f"InputTransformer.InputTemplate must be a string of 1 to {MAX_TEMPLATE} characters, got {template!r}"
        )
    paths_map = spec.get("InputPathsMap") or {}
    if not isinstance(paths_map, dict):
        raise InvalidTargetInput(f"InputTransformer.InputPathsMap must be a map of name to JSON path, got {paths_map!r}")
    if len(paths_map) > MAX_PATHS:
        raise InvalidTargetInput(
            f"InputTransformer.InputPathsMap has {len(paths_map)} entries; the limit is {MAX_PATHS}"
        )
    paths: dict[str, JsonPath] = {}
    for key, path in paths_map.items():
        if not _KEY.match(key) or len(key) > 256:
            raise InvalidTargetInput(
                f"InputPathsMap key {key!r} is not valid: use 1-256 letters, digits, '_' or '-'"
            )
        if key.lower().startswith("aws"):
            raise InvalidTargetInput(f"InputPathsMap key {key!r} is reserved: keys cannot start with 'AWS'")
        try:
            paths[key] = compile_path(path)
        except InvalidJsonPath as exc:
            raise InvalidTargetInput(f"InputPathsMap value for {key!r} is not valid: {exc}") from exc
    segments = _segments(template, set(paths) | set(PREDEFINED))
    is_json = template.strip()[:1] in ("{", "[")
    if is_json:
        _check_json_template(template, segments)
    return TemplateInput(paths, segments, is_json)


def compile_target_input(target: dict[str, Any]) -> TargetInput:
    """Validate and compile what a target gets; raise InvalidTargetInput as AWS's PutTargets would."""
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        raise InvalidTargetInput(
            f"Target {target.get('Id')!r} sets {', '.join(given)}: only one of Input, InputPath or "
            "InputTransformer may be provided"
        )
    if not given:
        return TargetInput()
    kind = given[0]
    if kind == "Input":
        text = target["Input"]
        try:
            json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InvalidTargetInput(f"Target {target.get('Id')!r} Input is not valid JSON text: {exc}") from exc
        return ConstantInput(text)
    if kind == "InputPath":
        try:
            return PathInput(compile_path(target["InputPath"]))
        except InvalidJsonPath as exc:
            raise InvalidTargetInput(f"Target {target.get('Id')!r} InputPath is not valid: {exc}") from exc
    return compile_transformer(target["InputTransformer"])
