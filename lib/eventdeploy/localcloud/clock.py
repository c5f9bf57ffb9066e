"""Emulator time: the waits the local cloud itself introduces, shrunk by the server's time scale.

Scaled: retry backoff, event-age limits, Step Functions Wait states, build/pipeline poll intervals.
Never scaled: handler code, Lambda timeouts, buildspec commands (they are real work, timed for real).
"""

from __future__ import annotations

import time

from eventdeploy.localcloud import internal


def scale() -> float:
    """Multiplier applied to emulator waits (1.0 = real time)."""
    try:
        return internal.settings().time_scale
    except RuntimeError:
        return 1.0


def scaled(seconds: float) -> float:
    """Real seconds that ``seconds`` of emulated waiting take."""
    return max(0.0, seconds * scale())


def sleep(seconds: float) -> None:
    """Sleep ``seconds`` of emulated time."""
    real = scaled(seconds)
    if real > 0:
        time.sleep(real)


def emulated_elapsed(real_seconds: float) -> float:
    """Emulated seconds that correspond to ``real_seconds`` of wall time (for age limits)."""
    s = scale()
    return real_seconds / s if s > 0 else float("inf")
