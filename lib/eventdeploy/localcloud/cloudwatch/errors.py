"""moto's CloudWatch exception classes, imported when first needed (the module loads moto's CloudWatch)."""

from __future__ import annotations

from typing import Any


def moto_exceptions() -> Any:
    """The ``moto.cloudwatch.exceptions`` module (InvalidParameterValue, ValidationError, ...)."""
    from moto.cloudwatch import exceptions

    return exceptions
