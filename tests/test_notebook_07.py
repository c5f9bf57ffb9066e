"""Runbook 07 under papermill on the local cloud (ci.yaml's small scenario): charts saved, results recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventdeploy import aws, runner

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ["latency_cdf", "latency_histogram", "waterfall", "flow", "failures", "retries", "dlq_depth", "cloudwatch"]


@pytest.mark.notebook
def test_inject_and_measure_runs_under_papermill(localcloud: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    out = tmp_path / "run"
    report = runner.run(ROOT / "parameters" / "ci.yaml", ROOT / "notebooks", only=["07"], output=out,
                        progress=False)
    assert report.ok, report.outcomes
    stored = json.loads((out / "results.json").read_text())
    counts = stored["07_inject_and_measure.reconciliation"]
    assert counts["events"] == 300 and sum(counts["by_outcome"].values()) == 300
    assert counts["found_in_none"] == counts["found_in_two"] == 0
    assert counts["by_outcome"]["rejected"] == stored["07_inject_and_measure.injection"]["rejected"] > 0
    latency = stored["07_inject_and_measure.latency_ms"]
    assert {"accepted", "delivered", "lambda_started", "end_to_end"} <= set(latency)
    assert 0 < latency["end_to_end"]["p50_ms"] <= latency["end_to_end"]["p99_ms"]
    assert stored["07_inject_and_measure.throughput"]["sent"]["events"] == 300
    for name in FIGURES:
        assert (out / "figures" / f"07_inject_and_measure_{name}.png").read_bytes()[:4] == b"\x89PNG", name
