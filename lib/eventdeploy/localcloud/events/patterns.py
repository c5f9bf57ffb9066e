"""EventBridge event patterns: validation and matching, compiled once per rule.

Entry point for the rest of the local cloud: ``compile_pattern(text) -> CompiledPattern`` which raises
``InvalidEventPattern`` for every pattern AWS rejects; ``CompiledPattern.matches(event) -> bool``.

Semantics follow the EventBridge user guide (event patterns, content filtering, comparison operators, arrays) and,
where the guide is silent, AWS's open-source Event Ruler (https://github.com/aws/event-ruler), which implements
the same pattern language and whose reasons for rejecting a pattern are the ones EventBridge returns:
- a pattern is expanded into *branches* (one per combination of ``$or`` alternatives); an event matches if every
  field of some branch matches;
- a field matches if any of its listed matchers matches any leaf value found at its path; arrays in the event are
  searched element by element, but two fields may not be satisfied by objects in *different* elements of the same
  array (Event Ruler's "array-consistent" matching: ``{"a": {"x": [1], "y": [2]}}`` needs one element with both);
- only leaf values count: an object or an empty array at the path is "no value" (so ``exists: true`` fails and
  ``exists: false`` matches), ``null`` is a value.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REASON_PREFIX = "Event pattern is not valid. Reason: "
# API_PutRule / API_TestEventPattern: EventPattern "Maximum length of 4096".
MAX_PATTERN_CHARS = 4096
# eb-quota.html: "Event pattern size — 2,048 characters" for a rule (adjustable up to the API maximum).
RULE_PATTERN_QUOTA = 2048
# Numeric matching works on values between -5.0e9 and +5.0e9 inclusive, 6 digits right of the decimal point.
NUMBER_LIMIT = 5e9
OR_KEY = "$or"
# Arrays nested deeper than this inside an event are not searched (no real event comes close; it bounds recursion).
MAX_ARRAY_NESTING = 64
# Branches an expanded $or may produce; beyond this the matcher would be exponential (see module docstring).
MAX_BRANCHES = 1024
# Most wildcard-pattern states one field may have alive at once on a worst-case value (Event Ruler's machine
# complexity). AWS documents that too-complex wildcard rules are rejected but not the threshold; 10 is assumed.
WILDCARD_COMPLEXITY_LIMIT = 10
TOO_COMPLEX = ("Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences"
               " after a wildcard character")

EQUALS_IGNORE_CASE = "equals-ignore-case"
OPERATORS = ("prefix", "suffix", EQUALS_IGNORE_CASE, "wildcard", "anything-but", "numeric", "exists", "cidr")
# Names Event Ruler reserves: they may not be used as field names inside an $or object.
RESERVED_IN_OR = frozenset(OPERATORS + (
    "exactly", "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
    "ip-address-not-in-range",
))
_IPV4_TEXT = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_TEXT = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_MASK_BITS = re.compile(r"[+-]?[0-9]+")

Predicate = Callable[[Any], bool]
Membership = tuple[tuple[int, int], ...]
_MISSING = object()


class InvalidEventPattern(ValueError):
    """A pattern AWS would reject with InvalidEventPatternException; ``reason`` is AWS's reason text."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASON_PREFIX + reason)
        self.reason = reason


class InvalidTestEvent(ValueError):
    """An ``Event`` that TestEventPattern rejects (not a JSON object, or a mandatory envelope field missing)."""


@dataclass(frozen=True)
class FieldMatcher:
    """What one pattern field demands of the leaf values at ``path``."""

    path: tuple[str, ...]
    predicates: tuple[Predicate, ...]
    # True when the field lists {"exists": false}: an event without any value at the path satisfies it.
    absent_ok: bool
    # The predicates folded into one call (the OR within the field's list), built once.
    test: Predicate = field(default=lambda v: False, repr=False, compare=False)


@dataclass(frozen=True)
class CompiledPattern:
    """A validated pattern ready to test events against."""

    source: str
    pattern: dict[str, Any]
    branches: tuple[tuple[FieldMatcher, ...], ...] = field(default=(), repr=False)
    # EventBridge limits how many rules per bus may use wildcard filters (eb-quota.html).
    uses_wildcards: bool = False

    def matches(self, event: dict[str, Any]) -> bool:
        """True if ``event`` (a full EventBridge envelope as a dict) matches."""
        for branch in self.branches:
            if _branch_matches(branch, event):
                return True
        return False


def compile_pattern(text: str) -> CompiledPattern:
    """Parse and validate ``text``; raise InvalidEventPattern with AWS's reason if AWS would reject it."""
    if not isinstance(text, str):
        raise InvalidEventPattern(f"Event pattern must be a JSON string, got {type(text).__name__}")
    if len(text) > MAX_PATTERN_CHARS:
        raise InvalidEventPattern(
            f"Event pattern is {len(text)} characters long; the API maximum is {MAX_PATTERN_CHARS}. Shorten the"
            " pattern or split it across rules")
    parsed = _load_json(text, "Event pattern")
    if not isinstance(parsed, dict):
        raise InvalidEventPattern("Filter is not an object")
    rules: list[dict[tuple[str, ...], FieldMatcher]] = []
    _parse_object(rules, (), parsed, in_or=False)
    wildcards = _check_wildcard_complexity(parsed)
    branches = tuple(tuple(rule.values()) for rule in rules)
    return CompiledPattern(text, parsed, branches, uses_wildcards=wildcards)


def parse_test_event(text: str) -> dict[str, Any]:
    """Parse TestEventPattern's ``Event``: a JSON object with id, account, source, time, region, resources, detail-type."""
    try:
        event = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidTestEvent(f"Parameter Event is not valid. Reason: it is not valid JSON ({exc})") from exc
    if not isinstance(event, dict):
        raise InvalidTestEvent("Parameter Event is not valid. Reason: the event must be a JSON object")
    missing = [name for name in TEST_EVENT_REQUIRED if name not in event]
    if missing:
        raise InvalidTestEvent(
            "Parameter Event is not valid. Reason: missing mandatory field(s) " + ", ".join(missing)
            + "; TestEventPattern requires " + ", ".join(TEST_EVENT_REQUIRED))
    return event


# API_TestEventPattern.html: "the following fields are mandatory".
TEST_EVENT_REQUIRED = ("id", "account", "source", "time", "region", "resources", "detail-type")


# ---------------------------------------------------------------------------------------------------------------
# Validation / compilation
# ---------------------------------------------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidEventPattern(f"{what} is not valid JSON: {exc}") from exc


def _fail(reason: str, path: tuple[str, ...]) -> InvalidEventPattern:
    where = ".".join(path) if path else "(top level)"
    return InvalidEventPattern(f"{reason} at field \"{where}\"")


def _parse_object(rules: list[dict[tuple[str, ...], FieldMatcher]], path: tuple[str, ...], obj: dict[str, Any],
                  in_or: bool) -> None:
    if not obj:
        raise _fail("Empty objects are not allowed", path)
    for key, value in obj.items():
        if key == OR_KEY:
            _parse_or(rules, path, value)
            continue
        if in_or and key in RESERVED_IN_OR:
            raise _fail(f"{key} is Ruler reserved fieldName which cannot be used inside $or.", path + (key,))
        if isinstance(value, dict):
            _parse_object(rules, path + (key,), value, in_or)
        elif isinstance(value, list):
            matcher = _parse_field(path + (key,), value)
            if not rules:
                rules.append({})
            for rule in rules:
                rule[matcher.path] = matcher
        else:
            raise _fail(f"\"{key}\" must be an object or an array", path + (key,))


def _parse_or(rules: list[dict[tuple[str, ...], FieldMatcher]], path: tuple[str, ...], value: Any) -> None:
    where = path + (OR_KEY,)
    if not isinstance(value, list):
        raise _fail("It must be an Array followed with $or.", where)
    current = [dict(rule) for rule in rules]
    rules.clear()
    for alternative in value:
        if not isinstance(alternative, dict):
            raise _fail("Only JSON object is allowed in array of $or relationship.", where)
        forked = [dict(rule) for rule in current] or [{}]
        _parse_object(forked, path, alternative, in_or=True)
        rules.extend(forked)
        if len(rules) > MAX_BRANCHES:
            raise _fail(f"Rule is too complex: its $or alternatives combine into more than {MAX_BRANCHES} branches;"
                        " use fewer nested $or", where)
    if len(value) < 2:
        raise _fail("There must have at least 2 Objects in $or relationship.", where)


def _parse_field(path: tuple[str, ...], values: list[Any]) -> FieldMatcher:
    if not values:
        raise _fail("Empty arrays are not allowed", path)
    predicates: list[Predicate] = []
    absent_ok = False
    for value in values:
        if isinstance(value, dict):
            predicate = _parse_expression(path, value)
            if predicate is None:
                absent_ok = True
            else:
                predicates.append(predicate)
        elif isinstance(value, str):
            predicates.append(_exact_string(value))
        elif isinstance(value, bool) or value is None:
            predicates.append(_exact_literal(value))
        elif isinstance(value, (int, float)):
            predicates.append(_exact_number(value))
        else:
            raise _fail("Match value must be String, number, true, false, or null", path)
    return FieldMatcher(path, tuple(predicates), absent_ok, _any_of(tuple(predicates)))


def _any_of(predicates: tuple[Predicate, ...]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]

    def any_matches(v: Any) -> bool:
        for predicate in predicates:
            if predicate(v):
                return True
        return False

    return any_matches


def _parse_expression(path: tuple[str, ...], expression: dict[str, Any]) -> Predicate | None:
    """One ``{"operator": value}`` object; None stands for ``{"exists": false}``."""
    if not expression:
        raise _fail("Match expression name not found", path)
    name, value = next(iter(expression.items()))
    parser = _EXPRESSIONS.get(name)
    if parser is None:
        raise _fail(f"Unrecognized match type {name}", path)
    predicate = parser(path, value)
    if len(expression) > 1:
        many = "Too many elements in numeric expression" if name in ("numeric", "anything-but") \
            else "Only one key allowed in match expression"
        raise _fail(many, path)
    return predicate


def _string_operand(path: tuple[str, ...], value: Any, operator: str) -> str:
    if not isinstance(value, str):
        raise _fail(f"{operator} match pattern must be a string", path)
    return value


def _ignore_case_operand(path: tuple[str, ...], value: dict[str, Any], operator: str) -> str:
    label = operator.capitalize()
    if not value:
        raise _fail(f"{label} expression name not found", path)
    inner_name, inner = next(iter(value.items()))
    if inner_name != EQUALS_IGNORE_CASE:
        raise _fail(f"Unsupported {operator} pattern: {inner_name}", path)
    text = _string_operand(path, inner, EQUALS_IGNORE_CASE)
    if len(value) > 1:
        raise _fail("Only one key allowed in match expression", path)
    return text


def _parse_prefix(path: tuple[str, ...], value: Any) -> Predicate:
    if isinstance(value, dict):
        operand = _ignore_case_operand(path, value, "prefix")
        return lambda v: isinstance(v, str) and bool(_ignore_case_reach(v, operand, backwards=False))
    text = _string_operand(path, value, "prefix")
    return lambda v: isinstance(v, str) and v.startswith(text)


def _parse_suffix(path: tuple[str, ...], value: Any) -> Predicate:
    if isinstance(value, dict):
        operand = _ignore_case_operand(path, value, "suffix")
        return lambda v: isinstance(v, str) and bool(_ignore_case_reach(v, operand, backwards=True))
    text = _string_operand(path, value, "suffix")
    return lambda v: isinstance(v, str) and v.endswith(text)


def _parse_equals_ignore_case(path: tuple[str, ...], value: Any) -> Predicate:
    operand = _string_operand(path, value, EQUALS_IGNORE_CASE)
    return lambda v: isinstance(v, str) and _equals_ignore_case(v, operand)


def _equals_ignore_case(value: str, operand: str) -> bool:
    if value.isascii() and operand.isascii():
        return value.lower() == operand.lower()
    return len(value) in _ignore_case_reach(value, operand, backwards=False)


def _ignore_case_reach(value: str, operand: str, backwards: bool) -> set[int]:
    """Offsets of ``value`` reachable by reading ``operand`` case-insensitively from its start (or end).

    Case-insensitive as AWS means it: each operand character stands for its own lower or upper case, which may be
    longer than one character ("ß" also matches "SS") and is not symmetric ("SS" does not match "ß").
    """
    if value.isascii() and operand.isascii():
        if len(value) < len(operand):
            return set()
        piece = value[len(value) - len(operand):] if backwards else value[:len(operand)]
        if piece.lower() != operand.lower():
            return set()
        return {len(value) - len(operand) if backwards else len(operand)}
    reachable = {len(value) if backwards else 0}
    for char in reversed(operand) if backwards else operand:
        forms = {char.lower(), char.upper()}
        moved: set[int] = set()
        for form in forms:
            for offset in reachable:
                start = offset - len(form) if backwards else offset
                if start >= 0 and value.startswith(form, start):
                    moved.add(start if backwards else offset + len(form))
        if not moved:
            return set()
        reachable = moved
    return reachable


def _parse_wildcard(path: tuple[str, ...], value: Any) -> Predicate:
    return _wildcard_predicate(_wildcard_segments(path, _string_operand(path, value, "wildcard")))


def _wildcard_predicate(segments: list[str]) -> Predicate:
    """Match the literal runs between stars left to right, each at its leftmost place.

    Leftmost placement is always safe for ``*`` (any run), and unlike a ``.*a.*b`` regex it cannot backtrack
    polynomially on a long value that just misses.
    """
    if len(segments) == 1:
        exact = segments[0]
        return lambda v: isinstance(v, str) and v == exact
    first, last, middle = segments[0], segments[-1], [run for run in segments[1:-1] if run]
    fixed = len(first) + len(last)

    def matches(v: Any) -> bool:
        if not isinstance(v, str) or len(v) < fixed or not v.startswith(first) or not v.endswith(last):
            return False
        position, end = len(first), len(v) - len(last)
        for run in middle:
            found = v.find(run, position, end)
            if found < 0:
                return False
            position = found + len(run)
        return True

    return matches


def _wildcard_segments(path: tuple[str, ...], text: str) -> list[str]:
    """The literal runs between unescaped stars (``\\*`` is a literal star, ``\\\\`` a backslash)."""
    segments = [""]
    # Positions are reported as AWS does: bytes into the quoted JSON string, so the opening quote is position 0.
    position = 1
    i = 0
    while i < len(text):
        char = text[i]
        if char == "*":
            if i + 1 < len(text) and text[i + 1] == "*":
                raise _fail(f"Consecutive wildcard characters at pos {position}", path)
            segments.append("")
        elif char == "\\":
            if i + 1 < len(text) and text[i + 1] in "*\\":
                segments[-1] += text[i + 1]
                i += 1
                position += 1
            else:
                raise _fail(f"Invalid escape character at pos {position}", path)
        else:
            segments[-1] += char
        position += len(char.encode("utf-8"))
        i += 1
    return segments


def _check_wildcard_complexity(pattern: dict[str, Any]) -> bool:
    """Reject wildcard filters that are too complex; True if the pattern uses any wildcard filter."""
    by_path: dict[tuple[str, ...], set[str]] = {}
    _collect_wildcards(pattern, (), by_path)
    for path, texts in by_path.items():
        if _wildcard_complexity(sorted(texts)) > WILDCARD_COMPLEXITY_LIMIT:
            raise _fail(TOO_COMPLEX, path)
    return any(by_path.values())


def _collect_wildcards(node: dict[str, Any], path: tuple[str, ...], by_path: dict[tuple[str, ...], set[str]]) -> None:
    # Runs on an already validated pattern, so the shapes below are known to be well formed.
    for key, value in node.items():
        if key == OR_KEY:
            for alternative in value:
                _collect_wildcards(alternative, path, by_path)
        elif isinstance(value, dict):
            _collect_wildcards(value, path + (key,), by_path)
        else:
            for item in value:
                if not isinstance(item, dict):
                    continue
                operand = item.get("wildcard")
                negated = item.get("anything-but")
                if isinstance(negated, dict):
                    operand = negated.get("wildcard", operand)
                texts = operand if isinstance(operand, list) else [operand] if isinstance(operand, str) else []
                by_path.setdefault(path + (key,), set()).update(texts)


_STAR = 256


def _wildcard_complexity(texts: list[str]) -> int:
    """Most pattern states alive at once over all values, for the wildcard patterns of one field.

    Each pattern is a byte automaton over the quoted value (as Event Ruler builds it): a star loops on any byte.
    Subsets reachable by any input are explored over the bytes the patterns mention plus one "other" byte.
    """
    programs = [_wildcard_tokens(text) for text in texts if text]
    if not programs:
        return 0

    def closure(states: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        pending = list(states)
        while pending:
            which, position = pending.pop()
            tokens = programs[which]
            if position < len(tokens) and tokens[position] == _STAR and (which, position + 1) not in states:
                states.add((which, position + 1))
                pending.append((which, position + 1))
        return frozenset(states)

    # As in Event Ruler's byte machine, a star and the position after it are one state (the star's self-loop), and
    # a completed match is no longer a live prefix.
    counted = [[0 < position < len(tokens) and tokens[position - 1] != _STAR for position in range(len(tokens) + 1)]
               for tokens in programs]
    alphabet = {t for tokens in programs for t in tokens if t != _STAR} | {-1}
    start = closure({(which, 0) for which in range(len(programs))})
    seen = {start}
    pending = [start]
    worst = 0
    while pending:
        active = pending.pop()
        for byte in alphabet:
            following: set[tuple[int, int]] = set()
            for which, position in active:
                tokens = programs[which]
                if position < len(tokens):
                    if tokens[position] == _STAR:
                        following.add((which, position))
                    elif tokens[position] == byte:
                        following.add((which, position + 1))
            if not following:
                continue
            subset = closure(following)
            worst = max(worst, sum(1 for which, position in subset if counted[which][position]))
            if worst > WILDCARD_COMPLEXITY_LIMIT or len(seen) > 20000:
                return max(worst, WILDCARD_COMPLEXITY_LIMIT + 1)
            if subset not in seen:
                seen.add(subset)
                pending.append(subset)
    return worst


def _wildcard_tokens(text: str) -> list[int]:
    tokens = [ord('"')]
    raw = text.encode("utf-8")
    i = 0
    while i < len(raw):
        if raw[i] == ord("*"):
            tokens.append(_STAR)
        elif raw[i] == ord("\\"):
            i += 1
            tokens.append(raw[i])
        else:
            tokens.append(raw[i])
        i += 1
    tokens.append(ord('"'))
    return tokens


def _parse_exists(path: tuple[str, ...], value: Any) -> Predicate | None:
    if value is True:
        return _any_value
    if value is False:
        return None
    raise _fail("exists match pattern must be either true or false.", path)


def _any_value(_: Any) -> bool:
    return True


def _parse_cidr(path: tuple[str, ...], value: Any) -> Predicate:
    if not isinstance(value, str):
        # AWS's own wording for a non-string cidr operand (its parser reuses the prefix message).
        raise _fail("prefix match pattern must be a string", path)
    text = value
    pieces = text.split("/")
    if len(pieces) != 2 or not pieces[1]:
        raise _fail(f"Malformed CIDR {text!r}, one '/' required", path)
    if not _MASK_BITS.fullmatch(pieces[1]):
        raise _fail(f"Malformed CIDR {text!r}, mask bits must be an integer", path)
    bits = int(pieces[1])
    if bits < 0:
        raise _fail(f"Malformed CIDR {text!r}, mask bits must not be negative", path)
    if not (_IPV4_TEXT.fullmatch(pieces[0]) or _IPV6_TEXT.fullmatch(pieces[0])):
        raise _fail(f"Nonstandard IP address: {pieces[0]}", path)
    address = _ip_address(pieces[0])
    if address is None:
        raise _fail(f"Invalid IP address: {pieces[0]}", path)
    width = address.max_prefixlen
    if bits >= width:
        raise _fail(f"IPv{address.version} mask bits must be < {width}", path)
    host_bits = (1 << (width - bits)) - 1
    low = int(address) & ~host_bits
    high = low | host_bits
    version = address.version

    def in_block(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        candidate = _ip_address(v)
        return candidate is not None and candidate.version == version and low <= int(candidate) <= high

    return in_block


def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if _IPV4_TEXT.fullmatch(text):
        # AWS reads every octet as decimal ("010.0.0.1" is 10.0.0.1); Python refuses leading zeros.
        octets = text.split(".")
        if any(len(octet) > 3 for octet in octets):
            return None
        text = ".".join(str(int(octet)) for octet in octets)
    elif not _IPV6_TEXT.fullmatch(text):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_numeric(path: tuple[str, ...], value: Any) -> Predicate:
    if not isinstance(value, list):
        raise _fail("Value of numeric must be an array.", path)
    if not value or not isinstance(value[0], str):
        raise _fail(f"Invalid member in numeric match: {_show(value[0]) if value else ']'}", path)
    operator = value[0]
    if operator not in ("=", ">=", ">", "<=", "<"):
        raise _fail(f"Unrecognized numeric range operator: {operator}", path)
    bound = _numeric_operand(path, value, 1, "equals" if operator == "=" else operator)
    if operator == "=":
        if len(value) > 2:
            raise _fail("Too many elements in numeric expression", path)
        return lambda v: _is_number(v) and _comparable(v) == bound
    if operator in ("<", "<="):
        if len(value) > 2:
            raise _fail("Too many elements in numeric expression", path)
        return _range(None, False, bound, operator == "<")
    if len(value) == 2:
        return _range(bound, operator == ">", None, False)
    upper_operator = value[2]
    if not isinstance(upper_operator, str):
        raise _fail(f"Bad value in numeric range: {_show(upper_operator)}", path)
    if upper_operator not in ("<", "<="):
        raise _fail(f"Bad numeric range operator: {upper_operator}", path)
    upper = _numeric_operand(path, value, 3, upper_operator)
    if len(value) > 4:
        raise _fail("Too many terms in numeric range expression", path)
    if not bound < upper:
        raise _fail("Bottom must be less than top", path)
    return _range(bound, operator == ">", upper, upper_operator == "<")


def _numeric_operand(path: tuple[str, ...], value: list[Any], index: int, operator: str) -> int:
    if index >= len(value) or not _is_number(value[index]):
        raise _fail(f"Value of {operator} must be numeric", path)
    key = _comparable(value[index])
    if key is None:
        raise _fail("Value must be between -5.0E9 and 5.0E9, inclusive", path)
    return key


def _range(low: int | None, low_open: bool, high: int | None, high_open: bool) -> Predicate:
    def within(v: Any) -> bool:
        if not _is_number(v):
            return False
        key = _comparable(v)
        if key is None:
            return False
        if low is not None and (key <= low if low_open else key < low):
            return False
        return high is None or (key < high if high_open else key <= high)

    return within


def _parse_anything_but(path: tuple[str, ...], value: Any) -> Predicate:
    if isinstance(value, dict):
        if not value:
            raise _fail("Anything-But expression name not found", path)
        kind, inner = next(iter(value.items()))
        if kind not in (EQUALS_IGNORE_CASE, "prefix", "suffix", "wildcard"):
            raise _fail(f"Unsupported anything-but pattern: {kind}", path)
        operand = _anything_but_operand(path, inner)
        predicate = _anything_but_strings(path, kind, operand)
        if len(value) > 1:
            raise _fail("Too many elements in numeric expression", path)
        return predicate
    return _anything_but_values(path, _anything_but_operand(path, value))


def _anything_but_operand(path: tuple[str, ...], value: Any) -> list[Any]:
    if not (isinstance(value, (list, str)) or _is_number(value)):
        raise _fail("Value of anything-but must be an array or single string/number value.", path)
    return value if isinstance(value, list) else [value]


def _anything_but_values(path: tuple[str, ...], values: list[Any]) -> Predicate:
    strings: set[str] = set()
    numbers: set[int] = set()
    for item in values:
        if isinstance(item, str):
            strings.add(item)
        elif _is_number(item):
            key = _comparable(item)
            if key is None:
                raise _fail("Value must be between -5.0E9 and 5.0E9, inclusive", path)
            numbers.add(key)
        else:
            raise _fail("Inside anything but list, start|null|boolean is not supported.", path)
    if bool(strings) == bool(numbers):
        raise _fail("Inside anything but list, either all values are number or string, mixed type is not supported",
                    path)
    if strings:
        return lambda v: not (isinstance(v, str) and v in strings)
    return lambda v: not (_is_number(v) and _comparable(v) in numbers)


def _anything_but_strings(path: tuple[str, ...], kind: str, values: list[Any]) -> Predicate:
    texts: list[str] = []
    for item in values:
        if not isinstance(item, str):
            if kind == EQUALS_IGNORE_CASE:
                raise _fail("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                            path)
            if kind == "wildcard":
                raise _fail("wildcard match pattern must be a string", path)
            raise _fail("prefix/suffix match pattern must be a string", path)
        if kind in ("prefix", "suffix") and not item:
            raise _fail("Null prefix/suffix not allowed", path)
        texts.append(item)
    if not texts:
        # AWS accepts an empty list here but the rule then never matches (nothing to compare against).
        return lambda v: False
    if kind == EQUALS_IGNORE_CASE:
        return lambda v: not (isinstance(v, str) and any(_equals_ignore_case(v, t) for t in texts))
    if kind == "prefix":
        prefixes = tuple(texts)
        return lambda v: not (isinstance(v, str) and v.startswith(prefixes))
    if kind == "suffix":
        suffixes = tuple(texts)
        return lambda v: not (isinstance(v, str) and v.endswith(suffixes))
    wildcards = [_wildcard_predicate(_wildcard_segments(path, t)) for t in texts]
    return lambda v: not any(w(v) for w in wildcards)


def _parse_exactly(path: tuple[str, ...], value: Any) -> Predicate:
    if not isinstance(value, str):
        raise _fail("exact match pattern must be a string", path)
    return lambda v: isinstance(v, str) and v == value


_EXPRESSIONS: dict[str, Callable[[tuple[str, ...], Any], Predicate | None]] = {
    # Event Ruler's explicit spelling of a plain string value; EventBridge accepts it like the documented ones.
    "exactly": _parse_exactly,
    "prefix": _parse_prefix,
    "suffix": _parse_suffix,
    EQUALS_IGNORE_CASE: _parse_equals_ignore_case,
    "wildcard": _parse_wildcard,
    "anything-but": _parse_anything_but,
    "numeric": _parse_numeric,
    "exists": _parse_exists,
    "cidr": _parse_cidr,
}


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


# ---------------------------------------------------------------------------------------------------------------
# Exact values
# ---------------------------------------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _comparable(number: float) -> int | None:
    """The number as EventBridge compares it (6 decimal places), or None outside -5e9..5e9."""
    if number < -NUMBER_LIMIT or number > NUMBER_LIMIT:
        return None
    return int(1e6 * (NUMBER_LIMIT + number))


def _exact_string(text: str) -> Predicate:
    address = _ip_address(text)
    if address is None:
        return lambda v: v == text and isinstance(v, str)
    # An IP-address literal matches the same address in any textual form ("::1" and "0:0::1").
    def same_address(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        return v == text or _ip_address(v) == address

    return same_address


def _exact_number(number: float) -> Predicate:
    key = _comparable(number)

    def equal(v: Any) -> bool:
        if not _is_number(v):
            return False
        if key is not None:
            return _comparable(v) == key
        # Outside the numeric range (e.g. an account number) only the same value matches.
        return bool(v == number)

    return equal


def _exact_literal(literal: bool | None) -> Predicate:
    return lambda v: v is literal


# ---------------------------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------------------------

def _branch_matches(branch: tuple[FieldMatcher, ...], event: dict[str, Any]) -> bool:
    constraints: list[set[Membership]] | None = None
    for matcher in branch:
        entries = _resolve(event, matcher.path)
        if not entries:
            if matcher.absent_ok:
                continue
            return False
        test = matcher.test
        memberships: set[Membership] | None = None
        for value, membership in entries:
            if test(value):
                if not membership:
                    break  # a value reached through no array constrains nothing: the field is satisfied
                if memberships is None:
                    memberships = set()
                memberships.add(membership)
        else:
            if memberships is None:
                return False
            if constraints is None:
                constraints = []
            constraints.append(memberships)
    return constraints is None or len(constraints) < 2 or _consistent(constraints, 0, {})


def _consistent(constraints: list[set[Membership]], index: int, chosen: dict[int, int]) -> bool:
    """Can each field pick a matching value so that no array is entered at two different elements?"""
    if index == len(constraints):
        return True
    for membership in constraints[index]:
        added: list[int] = []
        fits = True
        for array_id, element in membership:
            current = chosen.get(array_id)
            if current is None:
                chosen[array_id] = element
                added.append(array_id)
            elif current != element:
                fits = False
                break
        if fits and _consistent(constraints, index + 1, chosen):
            return True
        for array_id in added:
            del chosen[array_id]
    return False


def _resolve(event: Any, path: tuple[str, ...]) -> list[tuple[Any, Membership]]:
    """Leaf values at ``path`` with the array elements passed through to reach them."""
    node = event
    for depth, key in enumerate(path):
        if isinstance(node, dict):
            node = node.get(key, _MISSING)
            if node is _MISSING:
                return []
        elif isinstance(node, list):
            found: list[tuple[Any, Membership]] = []
            _fan_out(node, path, depth, (), found)
            return found
        else:
            return []
    found = []
    _leaves(node, (), found)
    return found


def _fan_out(array: list[Any], path: tuple[str, ...], depth: int, membership: Membership,
             found: list[tuple[Any, Membership]]) -> None:
    if len(membership) >= MAX_ARRAY_NESTING:
        return
    array_id = id(array)
    for element_index, element in enumerate(array):
        _walk(element, path, depth, membership + ((array_id, element_index),), found)


def _walk(node: Any, path: tuple[str, ...], depth: int, membership: Membership,
          found: list[tuple[Any, Membership]]) -> None:
    while depth < len(path):
        if isinstance(node, dict):
            node = node.get(path[depth], _MISSING)
            if node is _MISSING:
                return
            depth += 1
        elif isinstance(node, list):
            _fan_out(node, path, depth, membership, found)
            return
        else:
            return
    _leaves(node, membership, found)


def _leaves(node: Any, membership: Membership, found: list[tuple[Any, Membership]], nesting: int = 0) -> None:
    # Scalars in a leaf array are independent values: array consistency only concerns objects in array elements.
    if isinstance(node, list):
        if nesting < MAX_ARRAY_NESTING:
            for element in node:
                _leaves(element, membership, found, nesting + 1)
    elif not isinstance(node, dict):
        found.append((node, membership))
