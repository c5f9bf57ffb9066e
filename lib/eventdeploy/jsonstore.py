"""Small JSON files in the run folder, updated under a file lock and replaced atomically."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (through a hidden sibling lock file) while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read(path: Path, default: Any) -> Any:
    """The file's JSON, or ``default`` if it does not exist yet."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def update(path: Path, default: Any, change: Callable[[Any], Any]) -> Any:
    """Apply ``change`` to the file's JSON under the lock and write the result atomically; returns it."""
    with locked(path):
        data = change(read(path, default))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2, sort_keys=True, default=str)
        os.replace(tmp, path)
    return data
