"""CodePipeline Pipeline/Stage/Action Execution State Change events, with the documented detail fields.

https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
"""

from __future__ import annotations

import logging
from typing import Any

from eventdeploy.localcloud.codepipeline.model import ActionRun, ExecutionRun
from eventdeploy.localcloud.events.emit import emit_service_event

log = logging.getLogger("eventdeploy.localcloud.codepipeline")
SOURCE = "aws.codepipeline"


def _base(run: ExecutionRun) -> dict[str, Any]:
    return {"pipeline": run.name, "execution-id": run.execution_id,
            "version": float(run.pipeline.get("version", 1)), "pipeline-execution-attempt": 1.0}


def _emit(run: ExecutionRun, detail_type: str, detail: dict[str, Any]) -> None:
    try:
        emit_service_event(run.account_id, run.region, SOURCE, detail_type, detail, [run.pipeline_arn])
    except Exception:  # a bus problem never breaks the pipeline, as in AWS
        log.exception("could not emit %s for %s", detail_type, run.pipeline_arn)


def pipeline_state(run: ExecutionRun, state: str) -> None:
    """Emit a Pipeline Execution State Change (STARTED, SUCCEEDED, FAILED, STOPPING, STOPPED...)."""
    detail = _base(run)
    detail["state"] = state
    detail["execution-trigger"] = {"trigger-type": run.trigger["triggerType"],
                                   "trigger-detail": run.trigger.get("triggerDetail", "")}
    if state == "STARTED":
        detail["start-time"] = run.execution.start_time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if run.stop_trigger and state in ("STOPPING", "STOPPED"):
        detail["stop-execution-trigger"] = {"reason": run.stop_reason or ""}
    _emit(run, "CodePipeline Pipeline Execution State Change", detail)


def stage_state(run: ExecutionRun, stage: str, state: str) -> None:
    """Emit a Stage Execution State Change (STARTED, SUCCEEDED, FAILED, STOPPING, STOPPED...)."""
    detail = _base(run)
    detail.update({"stage": stage, "state": state})
    _emit(run, "CodePipeline Stage Execution State Change", detail)


def action_state(run: ExecutionRun, action: ActionRun, state: str) -> None:
    """Emit an Action Execution State Change (STARTED, SUCCEEDED, FAILED, CANCELED, ABANDONED)."""
    type_id = action.type_id()
    detail = _base(run)
    detail.update({
        "stage": action.stage, "action": action.name, "action-execution-id": action.action_execution_id,
        "state": state, "region": action.action.get("region") or run.region,
        "type": {"owner": type_id["owner"], "provider": type_id["provider"], "category": type_id["category"],
                 "version": type_id["version"]},
        "input-artifacts": [a.detail() for a in action.inputs],
    })
    if state != "STARTED":
        result: dict[str, Any] = {}
        if action.external_url:
            result["external-execution-url"] = action.external_url
        if action.summary:
            result["external-execution-summary"] = action.summary
        if action.external_id:
            result["external-execution-id"] = action.external_id
        if action.error:
            result["error-code"] = action.error.get("code", "JobFailed")
        detail["execution-result"] = result
        if state == "SUCCEEDED":
            detail["output-artifacts"] = [a.detail() for a in action.outputs]
    _emit(run, "CodePipeline Action Execution State Change", detail)
