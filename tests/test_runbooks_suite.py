"""The runbook suite on the local cloud: 00–05 run twice in a row (the second run changes nothing), then 99
tears everything down and proves nothing is left."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventdeploy import aws, runner

ROOT = Path(__file__).resolve().parent.parent
BUILD_NOTEBOOKS = ["00", "01", "02", "03", "04", "05"]


@pytest.mark.notebook
@pytest.mark.timeout(1200)
def test_suite_twice_then_teardown(localcloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    # ci.yaml with a prefix of its own: other tests in this session build with ci.yaml's prefix on the same cloud.
    values = yaml.safe_load((ROOT / "parameters" / "ci.yaml").read_text()) | {"prefix": f"s{uuid.uuid4().hex[:8]}"}
    params_file = tmp_path / "suite.yaml"
    params_file.write_text(yaml.safe_dump(values))
    out = tmp_path / "run"
    first = runner.run(params_file, ROOT / "notebooks", only=BUILD_NOTEBOOKS, output=out, progress=False)
    assert first.ok, [o for o in first.outcomes if o.status != "ok"]
    created = json.loads((out / "results.json").read_text())
    assert created["03_lambda_processors.changes"], "the first run must have created the processors"

    second = runner.run(params_file, ROOT / "notebooks", only=BUILD_NOTEBOOKS, output=out, progress=False)
    assert second.ok, [o for o in second.outcomes if o.status != "ok"]
    again = json.loads((out / "results.json").read_text())
    for notebook in ("01_event_bus", "02_rules_and_patterns", "03_lambda_processors", "04_orchestration",
                     "05_cicd_pipeline"):
        assert again[f"{notebook}.changes"] == [], f"{notebook} changed things on its second run"
    assert again["05_cicd_pipeline.chain"]["status"] == "SUCCEEDED"
    figures = {p.name for p in (out / "figures").glob("*.png")}
    assert {"00_preflight_architecture.png", "02_rules_and_patterns_pattern_matrix.png",
            "04_orchestration_good_execution.png", "04_orchestration_failing_execution.png",
            "05_cicd_pipeline_chain_timeline.png"} <= figures

    last = runner.run(params_file, ROOT / "notebooks", only=["99"], output=out, progress=False)
    assert last.ok, last.outcomes
    done = json.loads((out / "results.json").read_text())
    assert done["99_teardown.confirmed"] is True and done["99_teardown.deleted"] >= 40
    assert done["99_teardown.remaining"] == []
    assert json.loads((out / "manifest.json").read_text())["resources"] == []
