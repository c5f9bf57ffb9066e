"""The architecture picture the runbooks build, drawn with matplotlib's explicit Axes API."""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


@dataclass(frozen=True)
class Box:
    """A component of the architecture, placed on a 0-100 × 0-60 canvas."""

    key: str
    label: str
    x: float
    y: float
    color: str
    w: float = 15.0
    h: float = 7.0


# Colours by role: sources, the bus, compute, orchestration, CI/CD, observation.
SOURCES, BUS, COMPUTE, ORCH, CICD, OBSERVE = "#f6d365", "#ff9a8b", "#a1c4fd", "#c3aed6", "#b8e994", "#dfe6e9"

BOXES = [
    Box("ecr", "ECR\nimage push", 2, 46, SOURCES),
    Box("cfn", "CloudFormation\nstack status", 2, 33, SOURCES),
    Box("config", "AWS Config\ncompliance", 2, 20, SOURCES),
    Box("bus", "EventBridge\ncustom bus + rules", 26, 31, BUS, w=17, h=11),
    Box("archive", "Archive\n(replay)", 27, 14, OBSERVE, w=15),
    Box("lambda", "Lambda handlers\n(idempotent)", 51, 33, COMPUTE),
    Box("dlq", "SQS DLQs\n(per target)", 51, 18, OBSERVE),
    Box("sfn", "Step Functions\ndeploy workflow", 74, 46, ORCH),
    Box("build", "CodeBuild\nbuild", 74, 33, CICD),
    Box("pipeline", "CodePipeline\ndeploy", 74, 20, CICD),
    Box("ledger", "DynamoDB\nledger + idempotency", 51, 46, COMPUTE),
    Box("cw", "CloudWatch\nmetrics + alarms", 74, 6, OBSERVE),
    Box("org", "AWS Organizations · SCPs · org-scoped bus policy", 2, 2, OBSERVE, w=60, h=5),
]

EDGES = [
    ("ecr", "bus", "event"), ("cfn", "bus", "event"), ("config", "bus", "event"),
    ("bus", "archive", ""), ("bus", "lambda", "rule"), ("bus", "dlq", "failed"),
    ("lambda", "ledger", ""), ("lambda", "sfn", "StartExecution"),
    ("sfn", "build", "startBuild.sync"), ("build", "pipeline", ""), ("pipeline", "cw", "verify"),
]


def _center(box: Box) -> tuple[float, float]:
    return box.x + box.w / 2, box.y + box.h / 2


def _anchor(src: Box, dst: Box) -> tuple[tuple[float, float], tuple[float, float]]:
    """Points on the facing sides of two boxes, so arrows start and end at their borders."""
    (sx, sy), (dx, dy) = _center(src), _center(dst)
    if abs(dx - sx) >= abs(dy - sy) * 1.5:
        start = (src.x + src.w if dx > sx else src.x, sy)
        end = (dst.x if dx > sx else dst.x + dst.w, dy)
    else:
        start = (sx, src.y if dy < sy else src.y + src.h)
        end = (dx, dst.y + dst.h if dy < sy else dst.y)
    return start, end


def draw_architecture(ax: Axes) -> None:
    """Draw the event-driven deployment architecture on ``ax``."""
    boxes = {b.key: b for b in BOXES}
    for box in BOXES:
        ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h, boxstyle="round,pad=0.4,rounding_size=1.2",
                                    facecolor=box.color, edgecolor="#2d3436", linewidth=1.0))
        ax.text(*_center(box), box.label, ha="center", va="center", fontsize=8.5)
    for src_key, dst_key, label in EDGES:
        start, end = _anchor(boxes[src_key], boxes[dst_key])
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="#2d3436",
                                     linewidth=1.1, shrinkA=2, shrinkB=2))
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 1.2, label, ha="center", fontsize=7,
                    color="#2d3436", style="italic")
    # State-change events flow back to the bus: drawn as one dashed return path.
    back = FancyArrowPatch((81.5, 53.5), (34.5, 42.4), connectionstyle="arc3,rad=0.25", arrowstyle="-|>",
                           mutation_scale=12, color="#636e72", linestyle="--", linewidth=1.0)
    ax.add_patch(back)
    ax.text(58, 57.5, "state-change events (aws.states, aws.codebuild, aws.codepipeline) back on the bus",
            ha="center", fontsize=7.5, color="#636e72")
    ax.set_xlim(0, 92)
    ax.set_ylim(0, 60)
    ax.set_aspect("equal")
    ax.axis("off")


def architecture_figure() -> Figure:
    """A titled figure of the whole architecture the runbooks build."""
    fig = Figure(figsize=(12, 7.5))
    ax = fig.add_subplot(1, 1, 1)
    draw_architecture(ax)
    ax.set_title("eventdeploy · event-driven deployment architecture", fontsize=13, fontweight="bold")
    return fig
