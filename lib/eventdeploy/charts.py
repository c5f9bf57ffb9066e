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
