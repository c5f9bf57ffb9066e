"""Which execution may enter a stage: one at a time per stage, newer waiting executions superseding older ones
(SUPERSEDED, the default), waiting in order (QUEUED), or no limit (PARALLEL).

https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works.html (execution modes)
"""

from __future__ import annotations

from eventdeploy.localcloud.codepipeline.model import REGISTRY, ExecutionRun

WAIT_SLICE_S = 0.05


def mode(run: ExecutionRun) -> str:
    """The pipeline's execution mode (SUPERSEDED unless the pipeline says QUEUED or PARALLEL)."""
    return str(run.pipeline.get("executionMode") or "SUPERSEDED")


def enter(run: ExecutionRun, stage: str) -> str:
    """Wait until ``run`` may run ``stage``; return "entered", "superseded" or "stopped"."""
    if mode(run) == "PARALLEL":
        return "entered"
    record = REGISTRY.record(run.account_id, run.region, run.name)
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
                if record.stage_busy.get(stage) is None and waiting and waiting[0] == me:
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
