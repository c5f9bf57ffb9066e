"""Which execution may enter a stage: one at a time per stage, newer waiting executions superseding older ones
(SUPERSEDED, the default), waiting in order (QUEUED), or no limit (PARALLEL).

https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works.html (execution modes)
"""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.codepipeline.model import REGISTRY, ExecutionRun, PipelineRecord

WAIT_SLICE_S = 0.05


def mode(run: ExecutionRun) -> str:
    """The pipeline's execution mode (SUPERSEDED unless the pipeline says QUEUED or PARALLEL)."""
    return str(run.pipeline.get("executionMode") or "SUPERSEDED")


def _blocked(record: PipelineRecord, run: ExecutionRun, stage: str) -> bool:
    """Whether a disabled transition (this stage's inbound, or the previous stage's outbound) holds ``stage``."""
    names = [s["name"] for s in run.pipeline["stages"]]
    previous = names[names.index(stage) - 1] if names.index(stage) > 0 else None
    return (stage, "Inbound") in record.disabled or (previous, "Outbound") in record.disabled


def enter(run: ExecutionRun, stage: str) -> str:
    """Wait until ``run`` may run ``stage``; return "entered", "superseded" or "stopped"."""
    record = REGISTRY.record(run.account_id, run.region, run.name)
    if mode(run) == "PARALLEL":
        with record.admission:
            while _blocked(record, run, stage):
                if run.stop_requested.is_set():
                    return "stopped"
                record.admission.wait(WAIT_SLICE_S)
        return "entered"
    me = run.execution_id
    with record.admission:
        waiting = record.stage_waiting.setdefault(stage, [])
        if mode(run) == "SUPERSEDED":
            for older in waiting:
                other = record.executions.get(older)
                if other is not None:
                    other.superseded.set()
            waiting.clear()
        waiting.append(me)
        try:
            while True:
                if run.superseded.is_set():
                    return "superseded"
                if run.stop_requested.is_set():
                    return "stopped"
                free = record.stage_busy.get(stage) is None and not _blocked(record, run, stage)
                if free and waiting and waiting[0] == me:
                    record.stage_busy[stage] = me
                    return "entered"
                record.admission.wait(WAIT_SLICE_S)
        finally:
            if me in waiting:
                waiting.remove(me)
            record.admission.notify_all()


def leave(run: ExecutionRun, stage: str) -> None:
    """``run`` has finished ``stage``: let the next execution in."""
    record = REGISTRY.record(run.account_id, run.region, run.name)
    with record.admission:
        if record.stage_busy.get(stage) == run.execution_id:
            del record.stage_busy[stage]
        record.admission.notify_all()


def inbound(run_pipeline: tuple[str, str, str], stage: str) -> str | None:
    """The execution waiting to enter ``stage`` (GetPipelineState's inboundExecution), if any."""
    record = REGISTRY.record(*run_pipeline)
    with record.admission:
        waiting = record.stage_waiting.get(stage) or []
        return waiting[0] if waiting else None


def set_transition(record: PipelineRecord, stage: str, kind: str, state: dict[str, Any] | None) -> None:
    """Disable (``state`` = TransitionState) or enable (None) a stage transition, waking waiting executions."""
    with record.admission:
        if state is None:
            record.disabled.pop((stage, kind), None)
        else:
            record.disabled[(stage, kind)] = state
        record.admission.notify_all()


def transition_state(record: PipelineRecord, stage: str, kind: str = "Inbound") -> dict[str, Any] | None:
    """The TransitionState of a disabled transition, None when enabled."""
    with record.admission:
        found = record.disabled.get((stage, kind))
        return dict(found) if found else None
