"""Composite alarms: parse an AlarmRule and evaluate it against the other alarms' states.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html — ALARM(x),
OK(x), INSUFFICIENT_DATA(x) (x an alarm name or ARN, optionally double-quoted), TRUE, FALSE, AND, OR, NOT and
parentheses. The composite alarm is ALARM when the rule is TRUE and OK otherwise; INSUFFICIENT_DATA only until its
first evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<q>"[^"]*")|(?P<word>[^\s()"]+))')
STATE_FUNCTIONS = ("ALARM", "OK", "INSUFFICIENT_DATA")


class InvalidRule(ValueError):
    """An AlarmRule CloudWatch would reject."""


def _tokens(rule: str) -> list[str]:
    pos, out = 0, []
    rule = rule.strip()
    while pos < len(rule):
        m = _TOKEN.match(rule, pos)
        if not m or m.end() == pos:
            raise InvalidRule(f"Cannot read AlarmRule {rule!r} at position {pos}")
        out.append(m.group(m.lastgroup or ""))
        pos = m.end()
    return out


def parse(rule: str) -> tuple:
    """AST of an AlarmRule; raises InvalidRule naming the problem."""
    if not rule or len(rule) > 10240:
        raise InvalidRule("AlarmRule must be 1 to 10240 characters long")
    toks = _tokens(rule)
    i = 0

    def peek() -> str | None:
        return toks[i] if i < len(toks) else None

    def take() -> str:
        nonlocal i
        if i >= len(toks):
            raise InvalidRule(f"AlarmRule {rule!r} ends too early")
        i += 1
        return toks[i - 1]

    def or_() -> tuple:
        node = and_()
        while peek() is not None and peek().upper() == "OR":  # type: ignore[union-attr]
            take()
            node = ("or", node, and_())
        return node

    def and_() -> tuple:
        node = not_()
        while peek() is not None and peek().upper() == "AND":  # type: ignore[union-attr]
            take()
            node = ("and", node, not_())
        return node

    def not_() -> tuple:
        if peek() is not None and peek().upper() == "NOT":  # type: ignore[union-attr]
            take()
            return ("not", not_())
        return atom()

    def atom() -> tuple:
        tok = take()
        if tok == "(":
            node = or_()
            if take() != ")":
                raise InvalidRule(f"AlarmRule {rule!r} has an unclosed parenthesis")
            return node
        upper = tok.upper()
        if upper in ("TRUE", "FALSE"):
            return ("const", upper == "TRUE")
        if upper in STATE_FUNCTIONS:
            if take() != "(":
                raise InvalidRule(f"{tok} in AlarmRule {rule!r} must be followed by (alarm-name)")
            target = take()
            if target == ")":
                raise InvalidRule(f"{tok}() in AlarmRule {rule!r} needs an alarm name or ARN")
            if take() != ")":
                raise InvalidRule(f"{tok}({target} in AlarmRule {rule!r} is missing its closing parenthesis")
            return ("state", upper, target.strip('"'))
        raise InvalidRule(f"Unexpected {tok!r} in AlarmRule {rule!r}: use ALARM(x), OK(x), INSUFFICIENT_DATA(x), "
                          "TRUE, FALSE, AND, OR, NOT and parentheses")

    node = or_()
    if i != len(toks):
        raise InvalidRule(f"Unexpected {toks[i]!r} in AlarmRule {rule!r}")
    return node


def referenced(node: tuple) -> list[str]:
    """Alarm names or ARNs the rule refers to, in order."""
    kind = node[0]
    if kind == "state":
        return [node[2]]
    if kind == "not":
        return referenced(node[1])
    if kind in ("and", "or"):
        return referenced(node[1]) + referenced(node[2])
    return []


def holds(node: tuple, state_of: Callable[[str], str | None]) -> bool:
    """Whether the rule is TRUE given each referenced alarm's state (None: the alarm does not exist)."""
    kind = node[0]
    if kind == "const":
        return bool(node[1])
    if kind == "state":
        return state_of(node[2]) == node[1]
    if kind == "not":
        return not holds(node[1], state_of)
    if kind == "and":
        return holds(node[1], state_of) and holds(node[2], state_of)
    return holds(node[1], state_of) or holds(node[2], state_of)


def lookup(alarms: dict[str, Any]) -> Callable[[str], Any]:
    """Find an alarm of one backend by name or ARN."""
    by_arn = {a.alarm_arn: a for a in alarms.values()}

    def find(ref: str) -> Any:
        return alarms.get(ref) or by_arn.get(ref)

    return find
