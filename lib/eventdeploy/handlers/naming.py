"""Deterministic names, pure (no AWS clients at import), so the library can compute them too."""

from __future__ import annotations

import hashlib
import re


def execution_name(repository: str, digest: str) -> str:
    """A deterministic execution name (≤ 80 chars of [A-Za-z0-9-_]) for one image: same push, same name."""
    short = hashlib.sha256(f"{repository}@{digest}".encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9-_]", "-", repository)[:50]
    return f"{safe}-{short}"
