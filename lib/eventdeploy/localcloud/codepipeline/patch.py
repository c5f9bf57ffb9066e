"""Patches to moto's CodePipeline: executions run for real (CreatePipeline starts one, as in AWS), and the
execution-control APIs moto lacks.

API reference: https://docs.aws.amazon.com/codepipeline/latest/APIReference/ (StartPipelineExecution,
GetPipelineState, GetPipelineExecution, ListPipelineExecutions, ListActionExecutions, StopPipelineExecution,
PutApprovalResult, PutJobSuccessResult, PutJobFailureResult, GetJobDetails).
"""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any

from moto.codepipeline import models, responses
from moto.codepipeline.exceptions import PipelineExecutionNotFoundException
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.utilities.utils import get_partition

from eventdeploy.localcloud.codepipeline import admission, engine, events
from eventdeploy.localcloud.codepipeline.model import REGISTRY, ExecutionRun, now


class _Error(JsonRESTError):
    code = 400

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)


def _err(kind: str, message: str) -> _Error:
    return _Error(kind, message)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _run(backend: Any, pipeline: str, execution_id: str) -> ExecutionRun:
    execution = backend.get_pipeline_execution(pipeline, execution_id)  # raises moto's not-found errors
    run = REGISTRY.record(backend.account_id, backend.region_name, pipeline).executions.get(execution_id)
    if run is None:
        raise PipelineExecutionNotFoundException(
            f"Execution {execution.pipeline_execution_id} of pipeline {pipeline} has no run record")
    return run


_trigger = threading.local()


# -- backend ----------------------------------------------------------------------------------------------
def start_triggered(account_id: str, region: str, name: str, trigger_type: str, trigger_detail: str) -> str:
    """Start pipeline ``name`` in-process with an execution trigger other than StartPipelineExecution (e.g. an
    EventBridge target: ``CloudWatchEvent`` with the rule ARN); return the execution id."""
    from moto.codepipeline.models import codepipeline_backends

    _trigger.value = {"triggerType": trigger_type, "triggerDetail": trigger_detail}
    try:
        return str(codepipeline_backends[account_id][region].start_pipeline_execution(name, None))
    finally:
        _trigger.value = None


def start_execution(backend: Any, name: str, execution_id: str, trigger: dict[str, str]) -> None:
    """Turn moto's instantly-"Succeeded" execution into an InProgress one and run it in the background."""
    pipeline_obj = backend.pipelines[name]
    execution = pipeline_obj.executions[execution_id]
    execution.status = "InProgress"
    run = ExecutionRun(account_id=backend.account_id, region=backend.region_name,
                       pipeline=copy.deepcopy(pipeline_obj.pipeline), pipeline_arn=pipeline_obj._arn,
                       execution=execution, trigger=trigger)
    REGISTRY.record(backend.account_id, backend.region_name, name).executions[execution_id] = run
    engine.start(run)


# -- responses --------------------------------------------------------------------------------------------
def get_pipeline_state(self: Any) -> ActionResult:
    """GetPipelineState: each stage's latest execution and each action's latest execution."""
    name = self._get_param("name")
    backend = self.codepipeline_backend
    pipeline, metadata = backend.get_pipeline(name)
    record = REGISTRY.record(backend.account_id, backend.region_name, name)
    stages = []
    with REGISTRY.lock:
        for index, stage in enumerate(pipeline["stages"]):
            state: dict[str, Any] = {"stageName": stage["name"], "actionStates": []}
            if index > 0:
                blocked = admission.transition_state(record, stage["name"])
                state["inboundTransitionState"] = blocked or {"enabled": True}
            for decl in stage["actions"]:
                action_state: dict[str, Any] = {"actionName": decl["name"]}
                latest = record.action_latest.get((stage["name"], decl["name"]))
                if latest is not None:
                    action_state["latestExecution"] = latest.latest_execution()
                    if latest.current_revision:
                        action_state["currentRevision"] = {
                            "revisionId": latest.current_revision["revisionId"],
                            "revisionChangeId": latest.current_revision["revisionId"],
                            "created": latest.start_time}
                state["actionStates"].append(action_state)
            if stage["name"] in record.stage_latest:
                state["latestExecution"] = dict(record.stage_latest[stage["name"]])
            waiting = admission.inbound((backend.account_id, backend.region_name, name), stage["name"])
            if waiting:
                state["inboundExecution"] = {"pipelineExecutionId": waiting, "status": "InProgress",
                                             "type": "STANDARD"}
                state["inboundExecutions"] = [state["inboundExecution"]]
            stages.append(state)
    return ActionResult({"pipelineName": name, "pipelineVersion": pipeline["version"], "stageStates": stages,
                         "created": metadata["created"], "updated": metadata["updated"]})


def list_action_executions(self: Any) -> ActionResult:
    """ListActionExecutions: every action execution of the pipeline (or one execution), newest first."""
    name = self._get_param("pipelineName")
    backend = self.codepipeline_backend
    backend.get_pipeline(name)
    wanted = (self._get_param("filter") or {}).get("pipelineExecutionId")
    record = REGISTRY.record(backend.account_id, backend.region_name, name)
    if wanted and wanted not in record.executions:
        raise PipelineExecutionNotFoundException(
            f"Pipeline execution {wanted} of pipeline {name} does not exist")
    with REGISTRY.lock:
        details = [a.detail() for run in record.executions.values() for a in run.actions
                   if not wanted or run.execution_id == wanted]
    details.sort(key=lambda d: d["startTime"], reverse=True)
    limit = int(self._get_param("maxResults") or 100)
    offset = int(self._get_param("nextToken") or 0)
    page = details[offset:offset + limit]
    result: dict[str, Any] = {"actionExecutionDetails": page}
    if offset + limit < len(details):
        result["nextToken"] = str(offset + limit)
    return ActionResult(result)


def stop_pipeline_execution(self: Any) -> ActionResult:
    """StopPipelineExecution: stop after in-progress actions finish, or abandon them."""
    name, execution_id = self._get_param("pipelineName"), self._get_param("pipelineExecutionId")
    backend = self.codepipeline_backend
    run = _run(backend, name, execution_id)
    with REGISTRY.lock:
        status = run.execution.status
        if status == "Stopping" and not self._get_param("abandon"):
            raise _err("DuplicatedStopRequestException",
                       f"Execution {execution_id} is already stopping; use abandon=true to abandon its actions")
        if status not in ("InProgress", "Stopping"):
            raise _err("PipelineExecutionNotStoppableException",
                       f"Unable to stop pipeline execution {execution_id} because its status is {status}")
        run.stop_reason = self._get_param("reason") or ""
        run.stop_trigger = {"reason": run.stop_reason}
        run.execution.status = "Stopping"
        run.execution.last_update_time = now()
    if self._get_param("abandon"):
        run.abandon.set()
    run.stop_requested.set()
    events.pipeline_state(run, "STOPPING")
    return ActionResult({"pipelineExecutionId": execution_id})


def put_approval_result(self: Any) -> ActionResult:
    """PutApprovalResult: approve or reject the in-progress manual approval whose token is given."""
    name, stage, action_name = (self._get_param("pipelineName"), self._get_param("stageName"),
                                self._get_param("actionName"))
    result, token = self._get_param("result") or {}, self._get_param("token")
    backend = self.codepipeline_backend
    pipeline, _ = backend.get_pipeline(name)
    stage_decl = next((s for s in pipeline["stages"] if s["name"] == stage), None)
    if stage_decl is None:
        raise _err("StageNotFoundException", f"Stage {stage} not found in pipeline {name}")
    if not any(a["name"] == action_name for a in stage_decl["actions"]):
        raise _err("ActionNotFoundException", f"Action {action_name} not found in stage {stage} of pipeline {name}")
    if result.get("status") not in ("Approved", "Rejected"):
        raise _err("ValidationException", f"result.status {result.get('status')!r} must be Approved or Rejected")
    record = REGISTRY.record(backend.account_id, backend.region_name, name)
    with REGISTRY.lock:
        action = record.action_latest.get((stage, action_name))
        if action is None or action.token != token:
            raise _err("InvalidApprovalTokenException",
                       f"The approval token {token} is not valid for action {action_name} in stage {stage}; "
                       "get the current one from GetPipelineState")
        if action.status != "InProgress" or action.signal.is_set():
            raise _err("ApprovalAlreadyCompletedException",
                       f"The approval request for action {action_name} has already been completed")
        action.approval = {"status": result["status"], "summary": result.get("summary")}
        action.signal.set()
    return ActionResult({"approvedAt": now()})


def _stage_transition(self: Any, enabled: bool) -> str:
    name, stage, kind = (self._get_param("pipelineName"), self._get_param("stageName"),
                         self._get_param("transitionType"))
    backend = self.codepipeline_backend
    pipeline, _ = backend.get_pipeline(name)
    if stage not in [s["name"] for s in pipeline["stages"]]:
        raise _err("StageNotFoundException", f"Stage {stage} not found in pipeline {name}")
    if kind not in ("Inbound", "Outbound"):
        raise _err("ValidationException", f"transitionType {kind!r} must be Inbound or Outbound")
    record = REGISTRY.record(backend.account_id, backend.region_name, name)
    state = None if enabled else {
        "enabled": False, "lastChangedBy": f"arn:aws:iam::{backend.account_id}:root", "lastChangedAt": now(),
        "disabledReason": self._get_param("reason") or ""}
    admission.set_transition(record, stage, kind, state)
    return ""


def disable_stage_transition(self: Any) -> str:
    """DisableStageTransition: executions wait before the stage (Inbound) or after it (Outbound)."""
    return _stage_transition(self, enabled=False)


def enable_stage_transition(self: Any) -> str:
    """EnableStageTransition: waiting executions move on (in SUPERSEDED mode, the newest one)."""
    return _stage_transition(self, enabled=True)


def retry_stage_execution(self: Any) -> ActionResult:
    """RetryStageExecution: resume a failed execution at its failed stage, re-running the failed actions
    (FAILED_ACTIONS) or all of them (ALL_ACTIONS), then the later stages."""
    name, stage = self._get_param("pipelineName"), self._get_param("stageName")
    execution_id, mode = self._get_param("pipelineExecutionId"), self._get_param("retryMode")
    backend = self.codepipeline_backend
    pipeline, _ = backend.get_pipeline(name)
    if stage not in [s["name"] for s in pipeline["stages"]]:
        raise _err("StageNotFoundException", f"Stage {stage} not found in pipeline {name}")
    if mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
        raise _err("ValidationException", f"retryMode {mode!r} must be FAILED_ACTIONS or ALL_ACTIONS")
    run = _run(backend, name, execution_id)
    record = REGISTRY.record(backend.account_id, backend.region_name, name)
    with REGISTRY.lock:
        latest = record.stage_latest.get(stage) or {}
        if run.execution.status != "Failed" or latest.get("pipelineExecutionId") != execution_id or \
                latest.get("status") != "Failed":
            raise _err("StageNotRetryableException",
                       f"Stage {stage} of execution {execution_id} cannot be retried: only the failed stage of a "
                       "Failed execution that is still the stage's latest execution can be")
        if run.pipeline.get("version") != pipeline.get("version"):
            raise _err("NotLatestPipelineExecutionException",
                       f"Execution {execution_id} ran pipeline version {run.pipeline.get('version')}, the pipeline "
                       f"is now version {pipeline.get('version')}")
        succeeded = frozenset(a.name for a in run.actions if a.stage == stage and a.status == "Succeeded") \
            if mode == "FAILED_ACTIONS" else frozenset()
        run.execution.status = "InProgress"
        run.execution.status_summary = None
        run.execution.last_update_time = now()
    engine.start(run, (stage, succeeded))
    return ActionResult({"pipelineExecutionId": execution_id})


def _job(job_id: str, account_id: str) -> Any:
    with REGISTRY.lock:
        job = REGISTRY.jobs.get(job_id)
    if job is None or job.account_id != account_id:
        raise _err("JobNotFoundException", f"Job {job_id} was not found")
    if job.done.is_set():
        raise _err("InvalidJobStateException", f"Job {job_id} already has a result")
    return job


def put_job_success_result(self: Any) -> str:
    """PutJobSuccessResult: the Lambda (or job worker) reports success, maybe with a continuation token."""
    job = _job(self._get_param("jobId"), self.current_account)
    job.result = {"failed": False, "continuationToken": self._get_param("continuationToken"),
                  "executionDetails": self._get_param("executionDetails"),
                  "outputVariables": self._get_param("outputVariables"),
                  "currentRevision": self._get_param("currentRevision")}
    job.done.set()
    return ""


def put_job_failure_result(self: Any) -> str:
    """PutJobFailureResult: the Lambda (or job worker) reports failure; the action fails with its message."""
    job = _job(self._get_param("jobId"), self.current_account)
    job.result = {"failed": True, "failureDetails": self._get_param("failureDetails") or {}}
    job.done.set()
    return ""


def get_job_details(self: Any) -> ActionResult:
    """GetJobDetails: the job's data, as handed to the Lambda."""
    job_id = self._get_param("jobId")
    with REGISTRY.lock:
        job = REGISTRY.jobs.get(job_id)
    if job is None or job.account_id != self.current_account:
        raise _err("JobNotFoundException", f"Job {job_id} was not found")
    return ActionResult({"jobDetails": {"id": job.job_id, "data": job.data, "accountId": job.account_id}})


def install() -> None:
    """Install the CodePipeline patches into moto (idempotent per process)."""
    if getattr(models.CodePipelineBackend, "_eventdeploy_patched", False):
        return
    models.CodePipelineBackend._eventdeploy_patched = True  # type: ignore[attr-defined]
    prev_start = models.CodePipelineBackend.start_pipeline_execution
    prev_to_dict = models.PipelineExecution.to_dict
    prev_summary = models.PipelineExecution.to_summary_dict

    def start_pipeline_execution(self: Any, name: str, variables: list[dict[str, str]] | None) -> str:
        execution_id = prev_start(self, name, variables)
        partition = get_partition(self.region_name)
        trigger = getattr(_trigger, "value", None) or {
            "triggerType": "StartPipelineExecution", "triggerDetail": f"arn:{partition}:iam::{self.account_id}:root"}
        start_execution(self, name, execution_id, dict(trigger))
        return execution_id

    def _run_of(execution: Any) -> ExecutionRun | None:
        with REGISTRY.lock:
            for record in REGISTRY.pipelines.values():
                found = record.executions.get(execution.pipeline_execution_id)
                if found is not None:
                    return found
        return None

    def to_dict(self: Any) -> dict[str, Any]:
        out = prev_to_dict(self)
        run = _run_of(self)
        if run is not None:
            with REGISTRY.lock:
                out["artifactRevisions"] = [{k: _iso(v) for k, v in r.items()} for r in run.revisions]
                out["trigger"] = dict(run.trigger)
            out["executionMode"] = "SUPERSEDED"
            out["executionType"] = "STANDARD"
            if out.get("statusSummary") is None:
                out.pop("statusSummary", None)
        return out

    def to_summary_dict(self: Any) -> dict[str, Any]:
        out = prev_summary(self)
        run = _run_of(self)
        if run is not None:
            with REGISTRY.lock:
                sources = [a for a in run.actions if a.type_id().get("category") == "Source" and a.current_revision]
                out["sourceRevisions"] = [{"actionName": a.name, "revisionId": a.current_revision["revisionId"],
                                           **({"revisionSummary": a.summary} if a.summary else {})}
                                          for a in sources if a.current_revision]
                out["trigger"] = dict(run.trigger)
                if run.stop_trigger:
                    out["stopTrigger"] = dict(run.stop_trigger)
            out["executionMode"] = "SUPERSEDED"
            if out.get("statusSummary") is None:
                out.pop("statusSummary", None)
        return out

    prev_create = models.CodePipelineBackend.create_pipeline

    def create_pipeline(self: Any, pipeline: dict[str, Any], tags: list[dict[str, str]] | None) -> Any:
        created = prev_create(self, pipeline, tags)
        # "When a pipeline is created, a pipeline execution starts automatically. This is the CreatePipeline
        # trigger type" (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-about-starting.html).
        # UpdatePipeline starts none ("Unlike creating a pipeline, editing a pipeline does not rerun the most recent
        # revision", https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-edit.html), so it stays as is.
        partition = get_partition(self.region_name)
        start_triggered(self.account_id, self.region_name, pipeline["name"], "CreatePipeline",
                        f"arn:{partition}:iam::{self.account_id}:root")
        return created

    prev_delete = models.CodePipelineBackend.delete_pipeline

    def delete_pipeline(self: Any, name: str) -> None:
        prev_delete(self, name)
        # A pipeline created again under the same name starts with no state; running executions are abandoned.
        with REGISTRY.lock:
            record = REGISTRY.pipelines.pop((self.account_id, self.region_name, name), None)
        for run in (record.executions.values() if record else []):
            run.abandon.set()
            run.stop_requested.set()

    models.CodePipelineBackend.create_pipeline = create_pipeline  # type: ignore[method-assign]
    models.CodePipelineBackend.delete_pipeline = delete_pipeline  # type: ignore[method-assign]
    models.CodePipelineBackend.start_pipeline_execution = start_pipeline_execution  # type: ignore[method-assign]
    models.PipelineExecution.to_dict = to_dict  # type: ignore[method-assign]
    models.PipelineExecution.to_summary_dict = to_summary_dict  # type: ignore[method-assign]
    for method in (get_pipeline_state, list_action_executions, stop_pipeline_execution, put_approval_result,
                   put_job_success_result, put_job_failure_result, get_job_details, disable_stage_transition,
                   enable_stage_transition, retry_stage_execution):
        setattr(responses.CodePipelineResponse, method.__name__, method)
