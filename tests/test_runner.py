"""The papermill runner: order, selection, parameter subsets, the run folder, and stopping at a failing cell."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from eventdeploy import aws, runner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from nbbuild import build  # noqa: E402

PARAMS = {"target": "local", "region": "us-east-1", "prefix": "evdrun", "run_id": "runner-test",
          "accounts": {"tooling": {"account_id": "123456789012"}}, "allowed_account_ids": ["123456789012"],
          "time_scale": 0.5}


def _notebooks(folder: Path) -> Path:
    folder.mkdir()
    nbformat.write(build([
        ("md", "# 00 · Good"),
        ("params", 'region: str = "eu-west-1"  # region\nrun_dir: str = ""  # run folder'),
        ("code", "from eventdeploy import results\nresults.record('good.region', region)"),
    ]), folder / "00_good.ipynb")
    nbformat.write(build([
        ("md", "# 01 · Bad"),
        ("params", "prefix: str = 'x'  # prefix"),
        ("code", "before = prefix * 2\nbefore"),
        ("code", "raise ValueError('deliberate failure in ' + prefix)"),
        ("code", "after = 1"),
    ]), folder / "01_bad.ipynb")
    nbformat.write(build([("md", "# 02 · Never"), ("code", "x = 1")]), folder / "02_never.ipynb")
    (folder / "notes.ipynb").write_text("{}")  # not numbered: never run
    return folder


@pytest.fixture
def setup_run(tmp_path: Path, localcloud: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(PARAMS))
    return params_file, _notebooks(tmp_path / "notebooks")


def test_discover_orders_and_selects(tmp_path: Path) -> None:
    folder = _notebooks(tmp_path / "nb")
    assert [p.name for p in runner.discover(folder)] == ["00_good.ipynb", "01_bad.ipynb", "02_never.ipynb"]
    assert [p.name for p in runner.discover(folder, ["2", "00"])] == ["00_good.ipynb", "02_never.ipynb"]
    with pytest.raises(runner.RunnerError, match="--only names 07, which no notebook has; available: 00, 01, 02"):
        runner.discover(folder, ["07"])


def test_only_declared_parameters_are_passed(tmp_path: Path) -> None:
    folder = _notebooks(tmp_path / "nb")
    chosen = runner.notebook_parameters(folder / "00_good.ipynb", PARAMS, tmp_path / "run")
    assert chosen == {"region": "us-east-1", "run_dir": str(tmp_path / "run")}


def test_run_stops_at_the_failing_cell_and_keeps_partial_output(setup_run: tuple[Path, Path], tmp_path: Path) -> None:
    params_file, folder = setup_run
    out = tmp_path / "run"
    report = runner.run(params_file, folder, output=out, progress=False)
    status = {o.notebook: o for o in report.outcomes}
    assert not report.ok
    assert status["00_good.ipynb"].status == "ok"
    bad = status["01_bad.ipynb"]
    assert bad.status == "failed" and bad.error == "ValueError: deliberate failure in evdrun"
    assert status["02_never.ipynb"].status == "not run"
    partial = nbformat.read(out / "01_bad.ipynb", as_version=4)
    # failed_cell is the In [n] number the reader sees in the executed notebook.
    failing = next(c for c in partial.cells if c.get("execution_count") == bad.failed_cell)
    assert "raise ValueError" in failing.source
    before = next(c for c in partial.cells if c.source.startswith("before ="))
    assert before.outputs[0]["data"]["text/plain"] == "'evdrunevdrun'"  # the cell before it ran
    after = next(c for c in partial.cells if c.source == "after = 1")
    assert after.get("execution_count") is None  # and nothing after it
    assert (out / "01_bad.html").is_file() and (out / "00_good.html").is_file()
    assert json.loads((out / "results.json").read_text())["good.region"] == "us-east-1"
    page = (out / "report.html").read_text()
    assert "01_bad.ipynb" in page and "deliberate failure" in page
    assert json.loads((out / "report.json").read_text())["outcomes"][1]["failed_cell"] == bad.failed_cell


def test_run_of_selected_notebooks_succeeds(setup_run: tuple[Path, Path], tmp_path: Path) -> None:
    params_file, folder = setup_run
    report = runner.run(params_file, folder, only=["00"], output=tmp_path / "ok", progress=False)
    assert report.ok and [o.notebook for o in report.outcomes] == ["00_good.ipynb"]
