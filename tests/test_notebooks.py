"""Every runbook: committed clean, built from its definition, follows the template, and runs under papermill."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import pytest
import yaml

from eventdeploy import aws, params, runner

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARAM_FILES = sorted((ROOT / "parameters").glob("*.yaml"))
sys.path.insert(0, str(ROOT / "tools"))
import nbbuild  # noqa: E402


def _parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_built_from_its_definition(path: Path) -> None:
    spec = ROOT / "tools" / "notebooks" / f"{path.stem}.py"
    assert spec.is_file(), f"{path.name} has no definition in tools/notebooks/"
    built = nbbuild.build(nbbuild.load_cells(spec))
    committed = nbformat.read(path, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in built.cells], \
        f"{path.name} differs from {spec.name}: edit the definition and run `python tools/nbbuild.py`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_follows_the_template(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    assert re.match(rf"^# {number} · \S", nb.cells[0].source), "first cell: H1 'NN · Title'"
    cell = _parameters_cell(nb)
    tree = ast.parse(cell.source)
    for stmt in tree.body:
        assert isinstance(stmt, ast.AnnAssign) and stmt.value is not None, \
            f"parameters cell: only typed assignments, got {ast.unparse(stmt)}"
        ast.literal_eval(stmt.value)  # literals only
    declared = pm.inspect_notebook(str(path))
    assert len(declared) == len(tree.body), "papermill must be able to read every parameter line"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"(?<![\w.])input\(", code), "no input(): confirmations are parameters"
    setup_calls = [c for c in nb.cells if c.cell_type == "code" and "runbook.setup(" in c.source]
    assert len(setup_calls) == 1, "one setup cell"
    verify = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Verify")]
    assert verify, "a '## Verify' section"
    follows = nb.cells[verify[0] + 1]
    assert any(isinstance(s, ast.Assert) for s in ast.parse(follows.source).body), \
        "the verification cell asserts what must now be true"
    assert ".record(" in code, "results recorded to results.json"
    for c in nb.cells:
        if c.cell_type == "code":
            body = ast.parse(c.source).body
            assert not any(isinstance(s, ast.For | ast.While | ast.FunctionDef | ast.ClassDef) for s in body), \
                "loops and functions belong in lib/"


def test_every_parameter_file_key_is_a_notebook_parameter() -> None:
    declared = set()
    for path in NOTEBOOKS:
        declared |= set(pm.inspect_notebook(str(path)))
    for file in PARAM_FILES:
        keys = set(yaml.safe_load(file.read_text()))
        assert keys <= declared, f"{file.name}: keys {sorted(keys - declared)} are no notebook's parameter"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_defaults_are_valid_parameters(path: Path) -> None:
    cell = _parameters_cell(nbformat.read(path, as_version=4))
    namespace: dict[str, Any] = {}
    exec(cell.source, namespace)
    params.validate({k: namespace[k] for k in params.Parameters.model_fields if k in namespace}, path.name)


@pytest.mark.notebook
def test_preflight_runs_under_papermill(localcloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    out = tmp_path / "run"
    report = runner.run(ROOT / "parameters" / "ci.yaml", ROOT / "notebooks", only=["00"], output=out,
                        progress=False)
    assert report.ok, report.outcomes
    stored = json.loads((out / "results.json").read_text())
    assert stored["00_preflight.services_ok"] == len(stored["00_preflight.services"]) >= 15
    assert {r["account_id"] for r in stored["00_preflight.identities"]} == {"123456789012", "210987654321"}
    assert stored["00_preflight.target"]["endpoint"] == localcloud.endpoint
    assert (out / "figures" / "00_preflight_architecture.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "00_preflight.html").is_file() and (out / "report.html").is_file()
