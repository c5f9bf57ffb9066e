"""``ErrorEquals`` wildcards as AWS defines them.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html :
``States.ALL`` matches any error name except the terminal ``States.DataLimitExceeded`` and ``States.Runtime``;
``States.TaskFailed`` matches any error name except ``States.Timeout`` (and those two terminal ones).
moto matches States.ALL against everything and States.TaskFailed against non-``States.*`` names only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
TERMINAL = frozenset({"States.DataLimitExceeded", "States.Runtime"})


def matches(error: str | None, error_equals: Iterable[str]) -> bool:
    """Whether a Retrier/Catcher with ``error_equals`` handles ``error``."""
    names = set(error_equals)
    if error in names:
        return True
    if error in TERMINAL:
        return False
    if ALL in names:
        return True
    return TASK_FAILED in names and error != TIMEOUT


def _wrap_eval_body(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _eval_body(self: Any, env: Any) -> None:
        error = getattr(env.stack[-1], "error_name", None) if env.stack else None
        previous(self, env)
        moto_says = env.stack.pop()
        names = [getattr(n, "error_name", None) for n in self.error_names]
        env.stack.append(matches(error, [n for n in names if n]) if error is not None else moto_says)

    return _eval_body


def install() -> None:
    """Make Retry/Catch wildcards match as AWS documents."""
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    ErrorEqualsDecl._eval_body = _wrap_eval_body(ErrorEqualsDecl._eval_body)
