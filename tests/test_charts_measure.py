"""Measurement charts on small frames: each is titled, has labelled axes with units, draws its data, and renders."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from matplotlib.figure import Figure

from eventdeploy import charts, observe

T0 = 1_760_000_000_000


def _times() -> pd.DataFrame:
    rows = []
    for n in range(30):
        at = T0 + n * 100
        steps = [("sent", 0), ("accepted", 5 + n % 4), ("delivered", 20 + n), ("lambda_started", 30 + 2 * n),
                 ("validated", 50), ("promoted", 40 + n)]
        for stage, step in steps:
            at += step
            rows.append({"trace_id": f"t{n:02d}", "variant": "ecr-release-push", "stage": stage, "at_ms": at})
    frame = pd.DataFrame(rows)
    sent = frame.groupby("trace_id")["at_ms"].transform("min")
    frame["since_sent_ms"] = frame["at_ms"] - sent
    frame["step_ms"] = frame.groupby("trace_id")["at_ms"].diff().fillna(0).astype("int64")
    return frame


def _reconciled() -> pd.DataFrame:
    return pd.DataFrame([
        {"outcome": "completed", "where": "state_machine", "error_code": None, "problem": None, "attempts": 1,
         "invoke_count": 0, "delivery_retries": 0},
        {"outcome": "failed", "where": "on_failure:evd-image-pushed", "error_code": "InvalidEvent", "problem": None,
         "attempts": 1, "invoke_count": 3, "delivery_retries": 0},
        {"outcome": "failed", "where": "dlq:evd-tap-dlq", "error_code": "SQS.AccessDenied", "problem": None,
         "attempts": 2, "invoke_count": 0, "delivery_retries": 8},
        {"outcome": "rejected", "where": "PutEvents", "error_code": "InvalidArgument", "problem": None,
         "attempts": 1, "invoke_count": 0, "delivery_retries": 0},
        {"outcome": "unaccounted", "where": None, "error_code": None, "problem": "found in none", "attempts": 1,
         "invoke_count": 0, "delivery_retries": 0},
    ])


def _check(fig: Figure, title: str) -> list[str]:
    """Titled, labelled, renders to a PNG; returns the axes' x labels."""
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    assert title in titles
    drawn = [ax for ax in fig.axes if ax.get_xlabel()]
    assert drawn and all(ax.get_ylabel() for ax in drawn)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"
    return [ax.get_xlabel() for ax in drawn]


def test_latency_cdf_marks_p50_and_p99_per_stage() -> None:
    times = _times()
    fig = charts.latency_cdf(times, "CDF")
    assert "(ms)" in _check(fig, "CDF")[0]
    ax = fig.axes[0]
    stages = [s for s in observe.STAGES if s in set(times["stage"]) and s != "sent"]
    assert [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()] == stages
    markers = {tuple(line.get_xydata()[0]) for line in ax.get_lines() if line.get_marker() in ("o", "^")}
    promoted = times.loc[times["stage"] == "promoted", "since_sent_ms"]
    assert (promoted.quantile(0.5), 0.5) in markers and (promoted.quantile(0.99), 0.99) in markers


def test_histogram_has_one_panel_per_stage_with_its_percentiles() -> None:
    fig = charts.latency_histogram(_times(), "steps")
    _check(fig, "steps")
    assert len(fig.axes) == 5
    assert fig.axes[0].get_title().startswith("→ accepted: p50")


def test_waterfall_draws_a_sample_of_events_stage_by_stage() -> None:
    fig = charts.waterfall(_times(), "waterfall", sample=10)
    _check(fig, "waterfall")
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 10
    assert len([p for p in ax.patches if p.get_width() > 0]) >= 10 * 4


def test_flow_per_second_has_a_line_per_series() -> None:
    flow = observe.throughput({"sent": pd.Series([T0, T0 + 10, T0 + 1500]), "failed": pd.Series([T0 + 2100])})
    fig = charts.flow_per_second(flow, "flow")
    assert "(s)" in _check(fig, "flow")[0]
    assert [line.get_label().split(" (")[0] for line in fig.axes[0].get_lines()] == ["sent", "failed"]


def test_failures_count_by_category_and_code() -> None:
    fig = charts.failures(_reconciled(), "failures")
    _check(fig, "failures")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "failed · on_failure — InvalidEvent" in labels and "rejected · PutEvents — InvalidArgument" in labels
    assert "unaccounted · - — found in none" in labels and not any("completed" in x for x in labels)


def test_retries_panels_count_events_per_attempt_number() -> None:
    fig = charts.retries(_reconciled(), "retries")
    _check(fig, "retries")
    puts = fig.axes[0]
    assert [p.get_height() for p in puts.patches] == [4, 1]


def test_queue_depth_and_metrics_panel() -> None:
    depths = pd.DataFrame({"t_s": [0, 1, 2, 0, 1, 2], "queue": ["dlq"] * 3 + ["running executions"] * 3,
                           "depth": [0, 2, 2, 5, 1, 0]})
    _check(charts.queue_depth(depths, "depth"), "depth")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    metrics = pd.DataFrame({"time": [now, now + timedelta(minutes=1)] * 2, "namespace": ["AWS/Events"] * 4,
                            "metric": ["MatchedEvents"] * 2 + ["FailedInvocations"] * 2,
                            "dimensions": ["EventBusName=b"] * 4, "stat": ["Sum"] * 4, "value": [3, 0, 0, 1]})
    fig = charts.metrics_panel(metrics, "metrics")
    _check(fig, "metrics")
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "AWS/Events MatchedEvents (Sum)"


@pytest.mark.parametrize("draw", [charts.latency_cdf, charts.latency_histogram, charts.waterfall])
def test_empty_frames_draw_a_message_not_an_error(draw: object) -> None:
    empty = pd.DataFrame(columns=["trace_id", "variant", "stage", "at_ms", "since_sent_ms", "step_ms"])
    fig = draw(empty, "empty")  # type: ignore[operator]
    assert any("no " in t.get_text() for ax in fig.axes for t in ax.texts)
