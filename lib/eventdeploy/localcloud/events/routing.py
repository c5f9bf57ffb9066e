"""Which rules of a bus may match an event: compiled patterns, cached per bus and per pattern text.

Patterns are compiled once (``patterns.compile_pattern``, keyed on the pattern's text). A bus's rule list is
rebuilt only when a rule is added, replaced or removed (moto's put_rule always stores a new Rule object, so the
rules' identities tell). Rules whose pattern pins ``source`` to plain strings are skipped by a set lookup
before the full matcher runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from eventdeploy.localcloud.events.patterns import CompiledPattern, InvalidEventPattern, compile_pattern

log = logging.getLogger("eventdeploy.localcloud.events")

CACHE_LIMIT = 20000


@dataclass(frozen=True)
class RoutedRule:
    """A rule as routing needs it: its compiled pattern and, when the pattern pins ``source``, those values."""

    rule: Any
    pattern: CompiledPattern | None
    sources: frozenset[str] | None


def _pinned_sources(text: str) -> frozenset[str] | None:
    """The exact ``source`` values a pattern requires, if it lists only plain strings (a cheap pre-filter)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    values = parsed.get("source") if isinstance(parsed, dict) else None
    if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
        return frozenset(values)
    return None


def _raw_pattern(rule: Any) -> str | None:
    # Read through dump() so a pattern engine that replaces moto's EventPattern object still works.
    pattern = getattr(rule, "event_pattern", None)
    if pattern is None:
        return None
    if isinstance(pattern, str):
        return pattern
    dump = getattr(pattern, "dump", None)
    return dump() if callable(dump) else getattr(pattern, "_raw_pattern", None)


class RuleRouter:
    """Per-bus lists of rules with compiled patterns."""

    def __init__(self) -> None:
        self._patterns: dict[str, CompiledPattern | None] = {}
        self._routes: dict[int, tuple[Any, tuple[int, ...], list[RoutedRule]]] = {}

    def clear(self) -> None:
        """Forget every cached pattern and bus (on reset)."""
        self._patterns.clear()
        self._routes.clear()

    def pattern(self, text: str) -> CompiledPattern | None:
        """``text`` compiled once; None (matches nothing) if the pattern engine rejects it."""
        compiled = self._patterns.get(text, False)
        if compiled is False:
            try:
                compiled = compile_pattern(text)
            except InvalidEventPattern:
                log.warning("rule pattern %r is invalid; the rule matches nothing", text)
                compiled = None
            if len(self._patterns) > CACHE_LIMIT:
                self._patterns.clear()
            self._patterns[text] = compiled
        return compiled  # type: ignore[return-value]

    def rules_of(self, bus: Any) -> list[RoutedRule]:
        """The bus's rules with compiled patterns; rebuilt when a rule is added, replaced or removed."""
        rules = list(bus.rules.values())
        # put_rule always stores a new Rule object, so the rules' identities say whether patterns changed.
        # The cache holds the bus and rule objects themselves, so their ids cannot be reused while cached.
        key = tuple(map(id, rules))
        cached = self._routes.get(id(bus))
        if cached is not None and cached[1] == key:
            return cached[2]
        routed = []
        for rule in rules:
            raw = _raw_pattern(rule)
            # A scheduled rule (no pattern) is driven by time, not by events: it never matches.
            compiled = self.pattern(raw) if raw is not None else None
            routed.append(RoutedRule(rule, compiled, _pinned_sources(raw) if raw is not None else None))
        if len(self._routes) > CACHE_LIMIT:  # deleted buses would otherwise stay pinned forever
            self._routes.clear()
        self._routes[id(bus)] = (bus, key, routed)
        return routed
