"""Wire EventBridge's pattern validator and matcher (``events/patterns.py``) into moto.

- ``EventPattern.load`` (used by put_rule, create/update_archive and CloudFormation rules) validates with our
  validator and rejects with InvalidEventPatternException, as AWS does;
- ``EventPattern.matches_event`` uses the pattern compiled at load time, so moto's rule matching and archives
  match as AWS does;
- TestEventPattern answers ``{"Result": true|false}`` and validates both the pattern and the event;
- PutRule enforces the quota "Rules containing wildcards: 30 rules per event bus" (eb-quota.html).
"""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud.events.patterns import (
    MAX_PATTERN_CHARS,
    RULE_PATTERN_QUOTA,
    CompiledPattern,
    InvalidEventPattern,
    InvalidTestEvent,
    compile_pattern,
    parse_test_event,
)
from eventdeploy.localcloud.extensions import ExtensionContext

# Early, so extensions that wrap the same moto methods later wrap ours (and keep AWS matching underneath).
ORDER = 20
_COMPILED = "_eventdeploy_compiled"
# eb-quota.html: "Rules containing wildcards — 30 rules per event bus. This quota cannot be adjusted."
MAX_WILDCARD_RULES_PER_BUS = 30


def install(ctx: ExtensionContext) -> None:
    """Patch moto's EventPattern and TestEventPattern to use the AWS-faithful validator and matcher."""
    from moto.events.models import EventPattern, EventsBackend
    from moto.events.responses import EventsHandler

    previous_load = EventPattern.__dict__["load"].__func__
    previous_matches = EventPattern.matches_event

    def load(cls: type, raw_pattern: str | None) -> Any:
        compiled = _compile_for_moto(raw_pattern) if raw_pattern else None
        pattern = previous_load(cls, raw_pattern)
        setattr(pattern, _COMPILED, compiled)
        return pattern

    def matches_event(self: Any, event: dict[str, Any]) -> bool:
        compiled = getattr(self, _COMPILED, None)
        if compiled is None:
            if not self.get_pattern():
                # No pattern at all (an archive without EventPattern) takes every event, as in moto.
                return bool(previous_matches(self, event))
            try:
                compiled = compile_pattern(self._raw_pattern or json.dumps(self.get_pattern()))
            except InvalidEventPattern:
                # Built around load() with a pattern AWS would have refused: it matches nothing, and matching
                # must not fail the PutEvents call that is routing the event.
                return False
            setattr(self, _COMPILED, compiled)
        return compiled.matches(event)

    previous_put_rule = EventsBackend.put_rule

    def put_rule(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        event_pattern = kwargs.get("event_pattern", args[2] if len(args) > 2 else None)
        if event_pattern:
            bus_arn = kwargs.get("event_bus_arn", args[1] if len(args) > 1 else None)
            _check_rule_pattern(self, name, event_pattern, bus_arn)
        return previous_put_rule(self, name, *args, **kwargs)

    def backend_test_event_pattern(self: Any, event_pattern: str, event: str) -> bool:
        _check_length(event_pattern)
        compiled = _compile_for_moto(event_pattern)
        try:
            parsed_event = parse_test_event(event)
        except InvalidTestEvent as exc:
            from moto.events.exceptions import ValidationException

            raise ValidationException(str(exc)) from exc
        return compiled.matches(parsed_event)

    def handler_test_event_pattern(self: Any) -> tuple[str, dict[str, Any]]:
        result = self.events_backend.test_event_pattern(
            self._get_param("EventPattern"), self._get_param("Event"))
        return json.dumps({"Result": result}), self.response_headers

    put_rule.__wrapped__ = previous_put_rule  # type: ignore[attr-defined]
    load.__wrapped__ = previous_load  # type: ignore[attr-defined]
    matches_event.__wrapped__ = previous_matches  # type: ignore[attr-defined]
    backend_test_event_pattern.__wrapped__ = EventsBackend.test_event_pattern  # type: ignore[attr-defined]
    handler_test_event_pattern.__wrapped__ = EventsHandler.test_event_pattern  # type: ignore[attr-defined]
    EventPattern.load = classmethod(load)  # type: ignore[method-assign,assignment]
    EventPattern.matches_event = matches_event  # type: ignore[method-assign]
    EventsBackend.put_rule = put_rule  # type: ignore[method-assign]
    EventsBackend.test_event_pattern = backend_test_event_pattern  # type: ignore[method-assign,assignment]
    EventsHandler.test_event_pattern = handler_test_event_pattern  # type: ignore[method-assign,assignment]


def _check_length(event_pattern: str | None) -> None:
    """The API's length constraint, answered the way AWS answers every constraint violation."""
    if event_pattern is not None and len(event_pattern) > MAX_PATTERN_CHARS:
        from moto.events.exceptions import ValidationException

        raise ValidationException(
            "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_PATTERN_CHARS}")


def _compile_for_moto(text: str | None) -> CompiledPattern:
    """Compile ``text``, turning our InvalidEventPattern into moto's InvalidEventPatternException (HTTP 400)."""
    from moto.events.exceptions import InvalidEventPatternException

    if text is None:
        raise InvalidEventPatternException(reason="Event pattern must be provided")
    try:
        return compile_pattern(text)
    except InvalidEventPattern as exc:
        raise InvalidEventPatternException(reason=exc.reason) from exc


def _check_rule_pattern(backend: Any, rule_name: str, event_pattern: str, bus_arn: str | None) -> None:
    """What PutRule checks beyond the pattern itself: API length, the rule pattern-size quota, wildcard rules."""
    from moto.events.exceptions import InvalidEventPatternException

    _check_length(event_pattern)
    if len(event_pattern) > RULE_PATTERN_QUOTA:
        raise InvalidEventPatternException(reason=(
            f"Event pattern is {len(event_pattern)} characters long; a rule's pattern may have at most "
            f"{RULE_PATTERN_QUOTA} (the 'Event pattern size' quota). Shorten it or split it across rules"))
    if _compile_for_moto(event_pattern).uses_wildcards:
        bus = backend.event_buses.get(backend._normalize_event_bus_arn(bus_arn))
        if bus is not None:
            _check_wildcard_quota(bus, rule_name)


def _check_wildcard_quota(bus: Any, rule_name: str) -> None:
    """Refuse a new wildcard rule on a bus that already has the maximum number of them (updates are allowed)."""
    from moto.core.exceptions import JsonRESTError

    others = 0
    for existing in bus.rules.values():
        if existing.name == rule_name:
            continue
        compiled = getattr(existing.event_pattern, _COMPILED, None)
        if compiled is not None and compiled.uses_wildcards:
            others += 1
    if others >= MAX_WILDCARD_RULES_PER_BUS:
        raise JsonRESTError(
            "LimitExceededException",
            f"The event bus {bus.name} already has {others} rules whose event patterns use wildcard filters; "
            f"EventBridge allows at most {MAX_WILDCARD_RULES_PER_BUS} per event bus (a quota that cannot be "
            "raised). Delete one or rewrite it without wildcards.")
