"""The run folder: results.json records atomically, figures are saved as PNG by name."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from eventdeploy import results


def test_record_merges_and_round_trips(tmp_path: Path) -> None:
    results.record("a.count", 3, tmp_path)
    stored = results.record("a.table", pd.DataFrame({"x": [1, 2]}), tmp_path)
    assert stored == [{"x": 1}, {"x": 2}]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["a.count"] == 3 and data["a.table"] == [{"x": 1}, {"x": 2}] and "_updated" in data


def test_concurrent_records_lose_nothing(tmp_path: Path) -> None:
    threads = [threading.Thread(target=results.record, args=(f"k{i}", i, tmp_path)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = results.load(tmp_path)
    assert all(data[f"k{i}"] == i for i in range(40))


def test_record_needs_a_name_and_a_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="non-empty string name"):
        results.record("", 1, tmp_path)
    monkeypatch.setattr(results, "_active", None)
    monkeypatch.delenv(results.RUN_DIR_ENV, raising=False)
    with pytest.raises(RuntimeError, match="setup cell"):
        results.record("x", 1)


def test_save_figure_writes_png_with_a_safe_name(tmp_path: Path) -> None:
    fig = Figure()
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    path = results.save_figure(fig, "latency_cdf", tmp_path)
    assert path == tmp_path / "figures" / "latency_cdf.png" and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="plain file name"):
        results.save_figure(fig, "../escape", tmp_path)


def test_resolve_run_dir_defaults_to_runs_run_id() -> None:
    assert results.resolve_run_dir("", "abc").parts[-2:] == ("runs", "abc")
    assert results.resolve_run_dir("/tmp/x", "abc") == Path("/tmp/x")
