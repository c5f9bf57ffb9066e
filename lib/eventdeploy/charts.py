"""Figures: DataFrames in, titled matplotlib figures out (explicit Axes API). Never calls AWS."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

OUTCOME_COLORS = {"ok": "#2e86de", "running": "#b2bec3"}
FAIL_COLOR = "#d63031"


def execution_timeline(states: pd.DataFrame, title: str) -> Figure:
    """A Gantt chart of one execution's states (from ``observe.execution_states``): seconds since start."""
    fig = Figure(figsize=(10, 0.45 * max(len(states), 3) + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    if states.empty:
        ax.text(0.5, 0.5, "no states recorded", ha="center", va="center", transform=ax.transAxes)
    else:
        t0 = states["start"].min()
        starts = (states["start"] - t0).dt.total_seconds()
        widths = states["seconds"].fillna(0).clip(lower=0.002)
        colors = [OUTCOME_COLORS.get(o, FAIL_COLOR) for o in states["outcome"]]
        ax.barh(range(len(states)), widths, left=starts, color=colors, edgecolor="#2d3436", linewidth=0.5)
        ax.set_yticks(range(len(states)), [f"{s} ({t})" for s, t in zip(states["state"], states["type"], strict=True)])
        ax.invert_yaxis()
        for i, (left, width, outcome) in enumerate(zip(starts, widths, states["outcome"], strict=True)):
            label = f"{width * 1000:.0f} ms" if outcome in OUTCOME_COLORS else f"{width * 1000:.0f} ms · {outcome}"
            ax.text(left + width, i, " " + label, va="center", fontsize=7)
    ax.set_xlabel("time since the execution started (s)")
    ax.set_ylabel("state (type)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def pattern_matrix(matrix: pd.DataFrame, title: str) -> Figure:
    """Samples × patterns: green where a sample matched a pattern, grey where not, red where it disagrees
    with what was expected. ``matrix`` has columns sample, pattern, matched, expected."""
    samples = list(dict.fromkeys(matrix["sample"]))
    patterns = list(dict.fromkeys(matrix["pattern"]))
    fig = Figure(figsize=(1.3 * len(patterns) + 4, 0.36 * len(samples) + 2))
    ax = fig.add_subplot(1, 1, 1)
    for _, row in matrix.iterrows():
        x, y = patterns.index(row["pattern"]), samples.index(row["sample"])
        if bool(row["matched"]) != bool(row["expected"]):
            color, mark = FAIL_COLOR, "✗"
        else:
            color, mark = ("#00b894", "✓") if row["matched"] else ("#dfe6e9", "")
        ax.add_patch(Rectangle((x, y), 0.95, 0.9, facecolor=color))
        ax.text(x + 0.47, y + 0.45, mark, ha="center", va="center", fontsize=9, color="white")
    ax.set_xlim(0, len(patterns))
    ax.set_ylim(len(samples), 0)
    ax.set_xticks([i + 0.47 for i in range(len(patterns))], patterns, rotation=30, ha="right")
    ax.set_yticks([i + 0.45 for i in range(len(samples))], samples)
    ax.set_xlabel("event pattern (rule)")
    ax.set_ylabel("sample event")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def stage_timeline(stages: pd.DataFrame, title: str) -> Figure:
    """One deployment's path through the stages: each stage's time since the trigger, with the gap before it.

    ``stages`` has columns stage, at (UTC timestamps), in order."""
    fig = Figure(figsize=(10, 0.45 * max(len(stages), 3) + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    t0 = stages["at"].min()
    offsets = (stages["at"] - t0).dt.total_seconds()
    gaps = offsets.diff().fillna(0)
    ax.hlines(range(len(stages)), 0, offsets, color="#b2bec3", linewidth=1)
    ax.plot(offsets, range(len(stages)), "o", color="#2e86de")
    for i, (off, gap) in enumerate(zip(offsets, gaps, strict=True)):
        ax.text(off, i, f"  +{gap * 1000:.0f} ms (t={off:.2f} s)", va="center", fontsize=7)
    ax.set_yticks(range(len(stages)), list(stages["stage"]))
    ax.invert_yaxis()
    ax.set_xlabel("time since the trigger (s)")
    ax.set_ylabel("stage")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlim(0, max(float(offsets.max()) * 1.35, 0.1))
    fig.tight_layout()
    return fig


# --- Measurement charts (frames from observe.stage_times / reconcile / throughput / watch_pipeline / metrics) ----

STAGE_COLORS = ["#0984e3", "#00b894", "#fdcb6e", "#e17055", "#6c5ce7", "#00cec9", "#e84393", "#2d3436",
                "#fab1a0", "#55efc4", "#d63031", "#636e72"]


def _empty(ax: object, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]


def _stages_in(times: pd.DataFrame) -> list[str]:
    from eventdeploy.observe import STAGES

    present = set(times["stage"]) if len(times) else set()
    return [s for s in STAGES if s != "sent" and s in present]


def _log_if_wide(ax: object, values: pd.Series) -> None:
    positive = values[values > 0]
    if len(positive) and positive.max() / max(positive.min(), 1) > 100:
        ax.set_xscale("log")  # type: ignore[attr-defined]


def latency_cdf(times: pd.DataFrame, title: str) -> Figure:
    """Per stage, the share of events that reached it within x ms of being sent; p50 (●) and p99 (▲) marked."""
    fig = Figure(figsize=(10, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    stages = _stages_in(times)
    if not stages:
        _empty(ax, "stage times")
    for color, stage in zip(STAGE_COLORS * 2, stages, strict=False):
        values = times.loc[times["stage"] == stage, "since_sent_ms"].clip(lower=0.5).sort_values()
        share = (pd.RangeIndex(1, len(values) + 1) / len(values))
        ax.step(values, share, where="post", color=color, label=f"{stage} (n={len(values)})")
        p50, p99 = values.quantile(0.5), values.quantile(0.99)
        ax.plot([p50], [0.5], "o", color=color)
        ax.plot([p99], [0.99], "^", color=color)
        ax.annotate(f"{p99:.0f}", (p99, 0.99), textcoords="offset points", xytext=(3, -10), fontsize=7, color=color)
    if stages:
        _log_if_wide(ax, times.loc[times["stage"].isin(stages), "since_sent_ms"])
    ax.axhline(0.5, color="#b2bec3", linewidth=0.6, linestyle=":")
    ax.axhline(0.99, color="#b2bec3", linewidth=0.6, linestyle=":")
    ax.set_xlabel("time since the client sent the event (ms)")
    ax.set_ylabel("share of events that reached the stage")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if stages:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def latency_histogram(times: pd.DataFrame, title: str) -> Figure:
    """Per stage, how long the step into it took (ms since the event's previous stage): one panel per stage."""
    stages = _stages_in(times)
    cols = 3
    rows = max(1, -(-len(stages) // cols))
    fig = Figure(figsize=(12, 2.6 * rows + 0.8))
    if not stages:
        _empty(fig.add_subplot(1, 1, 1), "stage times")
    for n, stage in enumerate(stages):
        ax = fig.add_subplot(rows, cols, n + 1)
        values = times.loc[times["stage"] == stage, "step_ms"]
        ax.hist(values, bins=40, color=STAGE_COLORS[n % len(STAGE_COLORS)])
        ax.axvline(values.median(), color="#2d3436", linewidth=0.8, linestyle="--")
        ax.set_title(f"→ {stage}: p50 {values.median():.0f} ms, p99 {values.quantile(0.99):.0f} ms", fontsize=8)
        ax.set_xlabel("step time (ms)", fontsize=8)
        ax.set_ylabel("events", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def waterfall(times: pd.DataFrame, title: str, sample: int = 25, seed: int = 1) -> Figure:
    """A sample of events, one row each: coloured segments are the steps between stages, from the send."""
    traces = _sample_per_variant(times, sample, seed)
    fig = Figure(figsize=(11, 0.32 * max(len(traces), 4) + 2))
    ax = fig.add_subplot(1, 1, 1)
    if not traces:
        _empty(ax, "events")
    stages = _stages_in(times)
    color = {s: STAGE_COLORS[i % len(STAGE_COLORS)] for i, s in enumerate(stages)}
    chosen = times[times["trace_id"].isin(traces)]
    for y, trace in enumerate(traces):
        rows = chosen[chosen["trace_id"] == trace]
        starts = (rows["since_sent_ms"] - rows["step_ms"]).clip(lower=0)
        ax.barh([y] * len(rows), rows["step_ms"].clip(lower=0), left=starts,
                color=[color.get(s, "#dfe6e9") for s in rows["stage"]], edgecolor="white", linewidth=0.3)
    for stage in stages:
        ax.barh([0], [0], color=color[stage], label=stage)
    ax.set_yticks(range(len(traces)), [f"{t[:8]} · {v}" for t, v in zip(
        traces, chosen.drop_duplicates("trace_id").set_index("trace_id").loc[traces, "variant"], strict=True)]
        if traces else [], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time since the client sent the event (ms)")
    ax.set_ylabel("event (trace id · variant)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if stages:
        ax.legend(fontsize=7, loc="lower right", ncols=2)
    fig.tight_layout()
    return fig


def _sample_per_variant(times: pd.DataFrame, sample: int, seed: int) -> list[str]:
    """Up to ``sample`` trace ids, spread evenly over the variants so rare paths (handlers) are not crowded out."""
    if times.empty:
        return []
    firsts = times.drop_duplicates("trace_id")[["trace_id", "variant"]]
    groups = list(firsts.groupby("variant", sort=True))
    share = max(1, sample // max(len(groups), 1))
    chosen = [t for _, g in groups for t in g["trace_id"].sample(min(share, len(g)), random_state=seed)]
    return chosen[:sample]


def flow_per_second(flow: pd.DataFrame, title: str) -> Figure:
    """Events per second for each series of ``observe.throughput`` (e.g. sent, delivered, completed, failed)."""
    fig = Figure(figsize=(10, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    if flow.empty:
        _empty(ax, "events")
    palette = {"sent": "#0984e3", "accepted": "#74b9ff", "delivered": "#00b894", "completed": "#6c5ce7",
               "failed": FAIL_COLOR, "rejected": "#e17055"}
    for n, (name, rows) in enumerate(flow.groupby("series", sort=False)):
        ax.plot(rows["second"], rows["per_s"], label=f"{name} ({rows['per_s'].sum() * _bin(rows):.0f} events)",
                color=palette.get(str(name), STAGE_COLORS[n % len(STAGE_COLORS)]), linewidth=1.2)
    ax.set_xlabel("time since the first event was sent (s)")
    ax.set_ylabel("events per second")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if not flow.empty:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _bin(rows: pd.DataFrame) -> float:
    seconds = rows["second"].sort_values()
    return float(seconds.diff().dropna().min()) if len(seconds) > 1 else 1.0


def failures(reconciled: pd.DataFrame, title: str) -> Figure:
    """What did not complete, by category (outcome · where) and error code: one bar each, counts labelled."""
    bad = reconciled[reconciled["outcome"].isin(["failed", "rejected", "unaccounted", "in_flight"])]
    counts = (bad.assign(category=bad["outcome"] + " · " + bad["where"].fillna("-").str.split(":").str[0],
                         code=bad["error_code"].fillna(bad["problem"]).fillna("-"))
              .groupby(["category", "code"]).size().sort_values())
    fig = Figure(figsize=(10, 0.4 * max(len(counts), 3) + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    if counts.empty:
        _empty(ax, "failures: every event completed, was filtered or deduplicated")
    else:
        labels = [f"{c} — {code}" for c, code in counts.index]
        colors = [FAIL_COLOR if c.startswith("failed") else "#e17055" if c.startswith("rejected") else "#636e72"
                  for c, _ in counts.index]
        ax.barh(labels, counts.values, color=colors)
        for y, v in enumerate(counts.values):
            ax.text(v, y, f" {v}", va="center", fontsize=8)
    ax.set_xlabel("events")
    ax.set_ylabel("category · error code")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def retries(reconciled: pd.DataFrame, title: str) -> Figure:
    """How often each event was tried: PutEvents attempts, Lambda invocations, EventBridge delivery retries."""
    panels = [("attempts", "PutEvents attempts per event"), ("invoke_count", "Lambda invocations (gave up)"),
              ("delivery_retries", "EventBridge delivery retries (dead letters)")]
    fig = Figure(figsize=(12, 3.8))
    for n, (column, label) in enumerate(panels):
        ax = fig.add_subplot(1, 3, n + 1)
        values = reconciled[column].fillna(0).astype(int) if column in reconciled else pd.Series(dtype=int)
        values = values[values > 0]
        if values.empty:
            _empty(ax, "events with retries")
        else:
            counts = values.value_counts().sort_index()
            ax.bar(counts.index.astype(str), counts.values, color=STAGE_COLORS[n])
            for x, v in enumerate(counts.values):
                ax.text(x, v, str(v), ha="center", va="bottom", fontsize=7)
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("events", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def queue_depth(depths: pd.DataFrame, title: str) -> Figure:
    """Messages waiting in each DLQ / failure queue (and running executions) while the pipeline settled."""
    fig = Figure(figsize=(10, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    if depths.empty:
        _empty(ax, "samples")
    for n, (name, rows) in enumerate(depths.groupby("queue", sort=False)):
        ax.step(rows["t_s"], rows["depth"], where="post", label=str(name), color=STAGE_COLORS[n % len(STAGE_COLORS)])
    ax.set_xlabel("time since the watch started (s)")
    ax.set_ylabel("messages (executions for 'running executions')")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if not depths.empty:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def metrics_panel(frame: pd.DataFrame, title: str) -> Figure:
    """One panel per CloudWatch metric (``observe.metrics``), a line per dimension set; empty periods are 0."""
    keys = list(dict.fromkeys(zip(frame["namespace"], frame["metric"], frame["stat"], strict=True))) if len(frame) \
        else []
    cols = 2
    rows = max(1, -(-len(keys) // cols))
    fig = Figure(figsize=(12, 2.8 * rows + 0.8))
    if not keys:
        _empty(fig.add_subplot(1, 1, 1), "metrics")
    for n, (namespace, metric, stat) in enumerate(keys):
        ax = fig.add_subplot(rows, cols, n + 1)
        chosen = frame[(frame["namespace"] == namespace) & (frame["metric"] == metric) & (frame["stat"] == stat)]
        for m, (dims, series) in enumerate(chosen.groupby("dimensions", sort=False)):
            # The last dimension (rule or function name) tells the lines apart; the bus is the same for all.
            label = str(dims).split(",")[-1].split("=")[-1] or "(account)"
            ax.plot(series["time"], series["value"], marker=".", linewidth=1, label=label,
                    color=STAGE_COLORS[m % len(STAGE_COLORS)])
        unit = "ms" if metric == "Duration" else "count"
        ax.set_title(f"{namespace} {metric} ({stat})", fontsize=9)
        ax.set_xlabel("time (UTC)", fontsize=8)
        ax.set_ylabel(f"{stat.lower()} per period ({unit})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
