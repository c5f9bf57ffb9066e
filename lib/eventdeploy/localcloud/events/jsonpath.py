"""The JSONPath subset EventBridge accepts in ``InputPath`` and ``InputPathsMap``, compiled once per target.

AWS supports dot notation, dashes, underscores, alphanumerics, forward slashes, array indices and the
``*`` wildcard (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
Compiling to a tuple of steps makes evaluation a plain loop: no parsing while events flow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WILDCARD = object()
_NAME = re.compile(r"[A-Za-z0-9_\-/:@$ ]+")
_BRACKET = re.compile(r"\[(?:(\d+)|\*|'([^']*)'|\"([^\"]*)\")\]")
_MISSING = object()


class InvalidJsonPath(ValueError):
    """A path EventBridge would not accept; the message names the path and what is wrong."""


@dataclass(frozen=True)
class JsonPath:
    """A compiled path; ``find`` returns the value, or ``MISSING`` when the event has nothing there."""

    text: str
    steps: tuple[Any, ...]
    has_wildcard: bool

    def find(self, document: Any) -> Any:
        """The value at this path in ``document`` (a list when the path has a wildcard), or ``MISSING``."""
        if not self.has_wildcard:
            current = document
            for step in self.steps:
                if isinstance(step, int):
                    if not isinstance(current, list) or step >= len(current):
                        return _MISSING
                    current = current[step]
                else:
                    if not isinstance(current, dict) or step not in current:
                        return _MISSING
                    current = current[step]
            return current
        found = _walk(document, self.steps, 0)
        return found if found else _MISSING


def _walk(current: Any, steps: tuple[Any, ...], index: int) -> list[Any]:
    if index == len(steps):
        return [current]
    step = steps[index]
    if step is _WILDCARD:
        children = current if isinstance(current, list) else list(current.values()) if isinstance(current, dict) else []
        out: list[Any] = []
        for child in children:
            out.extend(_walk(child, steps, index + 1))
        return out
    if isinstance(step, int):
        if isinstance(current, list) and step < len(current):
            return _walk(current[step], steps, index + 1)
        return []
    if isinstance(current, dict) and step in current:
        return _walk(current[step], steps, index + 1)
    return []


MISSING = _MISSING


def compile_path(text: str) -> JsonPath:
    """Compile ``text`` (e.g. ``$.detail.items[0].id``); raise InvalidJsonPath if EventBridge would reject it."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise InvalidJsonPath(f"JSON path {text!r} must start with '$' (for example '$.detail.state')")
    steps: list[Any] = []
    pos = 1
    wildcard = False
    while pos < len(text):
        char = text[pos]
        if char == ".":
            if text.startswith(".*", pos):
                steps.append(_WILDCARD)
                wildcard = True
                pos += 2
                continue
            match = _NAME.match(text, pos + 1)
            if not match:
                raise InvalidJsonPath(f"JSON path {text!r} has an empty or invalid name after '.' at position {pos}")
            steps.append(match.group(0))
            pos = match.end()
        elif char == "[":
            match = _BRACKET.match(text, pos)
            if not match:
                raise InvalidJsonPath(
                    f"JSON path {text!r} has an invalid bracket at position {pos}: use [<index>], [*] or ['name']"
                )
            if match.group(1) is not None:
                steps.append(int(match.group(1)))
            elif match.group(2) is not None or match.group(3) is not None:
                steps.append(match.group(2) if match.group(2) is not None else match.group(3))
            else:
                steps.append(_WILDCARD)
                wildcard = True
            pos = match.end()
        else:
            raise InvalidJsonPath(f"JSON path {text!r} has an unexpected {char!r} at position {pos}")
    return JsonPath(text, tuple(steps), wildcard)
