"""moto's interpreter raises LocalStack-style errors that moto renders with an empty error code (or not at all,
when raised without a message); give each its AWS error code and HTTP status so clients see InvalidToken,
TaskTimedOut, InvalidName, StateMachineTypeNotSupported, ... as AWS documents them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _init_with_optional_message(previous: Callable[..., Any]) -> Callable[..., Any]:
    def __init__(self: Any, message: str = "", *args: Any, **kwargs: Any) -> None:
        previous(self, message or type(self).TYPE, *args, **kwargs)

    return __init__


def install() -> None:
    """Give every error class of moto's Step Functions parser its AWS code and status."""
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser import api

    for value in vars(api).values():
        if not (isinstance(value, type) and issubclass(value, AWSError) and value is not AWSError):
            continue
        code = value.__dict__.get("code")
        if not isinstance(code, str) or value.__dict__.get("TYPE"):
            continue
        value.TYPE = code
        value.STATUS = int(value.__dict__.get("status_code", 400))
        if "__init__" not in value.__dict__:  # classes with their own __init__ already pass a message and type
            value.__init__ = _init_with_optional_message(value.__init__)
