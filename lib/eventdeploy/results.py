"""The run folder: ``results.json`` (what each notebook recorded) and ``figures/*.png``.

Notebooks call ``record(name, value)`` and ``save_figure(fig, name)``; the setup cell points them at the run folder.
Writes are atomic and locked, so parallel notebooks or a crash never leave a half-written results.json.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventdeploy import jsonstore

RUN_DIR_ENV = "EVENTDEPLOY_RUN_DIR"
RESULTS_FILE = "results.json"
FIGURES_DIR = "figures"

_active: Path | None = None


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``pyproject.toml`` and ``notebooks/`` above ``start`` (default cwd), else the cwd."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return here


def resolve_run_dir(run_dir: str | Path | None, run_id: str) -> Path:
    """Absolute run folder: ``run_dir`` if given (relative to the project root), else ``runs/<run_id>``."""
    path = Path(run_dir) if run_dir else Path("runs") / run_id
    return path if path.is_absolute() else project_root() / path


def use_run_dir(path: str | Path) -> Path:
    """Make ``path`` the run folder that ``record`` and ``save_figure`` write to."""
    global _active
    _active = Path(path).resolve()
    (_active / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    return _active


def active_run_dir() -> Path:
    """The run folder in use: set by ``use_run_dir`` (the setup cell), else ``$EVENTDEPLOY_RUN_DIR``."""
    if _active is not None:
        return _active
    env = os.environ.get(RUN_DIR_ENV)
    if env:
        return use_run_dir(env)
    raise RuntimeError("no run folder is set: run the notebook's setup cell first (it calls runbook.setup)")


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so what is stored is exactly what a reader gets back."""
    if hasattr(value, "to_dict") and callable(value.to_dict):  # pandas objects
        # Missing values become null, not NaN: NaN is not JSON, and readers of results.json choke on it.
        value = value.astype(object).where(value.notna(), None)
        try:
            value = value.to_dict(orient="records")
        except TypeError:
            value = value.to_dict()
    return json.loads(json.dumps(value, default=str))


def load(run_dir: str | Path | None = None) -> dict[str, Any]:
    """Everything recorded in a run folder's results.json ({} if none yet)."""
    return dict(jsonstore.read(Path(run_dir or active_run_dir()) / RESULTS_FILE, {}))


def record(name: str, value: Any, run_dir: str | Path | None = None) -> Any:
    """Store ``value`` under ``name`` in the run's results.json (replacing an earlier value) and return it."""
    if not name or not isinstance(name, str):
        raise ValueError(f"a result needs a non-empty string name, got {name!r}")
    folder = Path(run_dir) if run_dir else active_run_dir()
    path = folder / RESULTS_FILE
    stored = _jsonable(value)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        data[name] = stored
        data["_updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        return data

    jsonstore.update(path, {}, change)
    return stored


def save_figure(fig: Any, name: str, run_dir: str | Path | None = None) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` in the run folder and return the path."""
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
        raise ValueError(f"figure name {name!r} must be a plain file name (letters, digits, _ . -)")
    folder = (Path(run_dir) if run_dir else active_run_dir()) / FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
