"""Wire EventBridge's pattern validator and matcher (``events/patterns.py``) into moto.

- ``EventPattern.load`` (used by put_rule, create/update_archive and CloudFormation rules) validates with our
  validator and rejects with InvalidEventPatternException, as AWS does;
- ``EventPattern.matches_event`` uses the pattern compiled at load time, so moto's rule matching and archives
  match as AWS does;
- TestEventPattern answers ``{"Result": true|false}`` and validates both the pattern and the event.
"""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud.events.patterns import (
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
            compiled = _compile_for_moto(self._raw_pattern or json.dumps(self.get_pattern()))
            setattr(self, _COMPILED, compiled)
        return compiled.matches(event)

    def backend_test_event_pattern(self: Any, event_pattern: str, event: str) -> bool:
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

    load.__wrapped__ = previous_load  # type: ignore[attr-defined]
    matches_event.__wrapped__ = previous_matches  # type: ignore[attr-defined]
    backend_test_event_pattern.__wrapped__ = EventsBackend.test_event_pattern  # type: ignore[attr-defined]
    handler_test_event_pattern.__wrapped__ = EventsHandler.test_event_pattern  # type: ignore[attr-defined]
    EventPattern.load = classmethod(load)  # type: ignore[method-assign,assignment]
    EventPattern.matches_event = matches_event  # type: ignore[method-assign]
    EventsBackend.test_event_pattern = backend_test_event_pattern  # type: ignore[method-assign,assignment]
    EventsHandler.test_event_pattern = handler_test_event_pattern  # type: ignore[method-assign,assignment]


def _compile_for_moto(text: str | None) -> CompiledPattern:
    """Compile ``text``, turning our InvalidEventPattern into moto's InvalidEventPatternException (HTTP 400)."""
    from moto.events.exceptions import InvalidEventPatternException

    if text is None:
        raise InvalidEventPatternException(reason="Event pattern must be provided")
    try:
        return compile_pattern(text)
    except InvalidEventPattern as exc:
        raise InvalidEventPatternException(reason=exc.reason) from exc
