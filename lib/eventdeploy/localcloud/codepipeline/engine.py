"""Run a pipeline execution: stages in order, actions by runOrder (same runOrder in parallel), on a thread.

https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-pipeline-structure.html (runOrder) and
https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts.html (a failed action fails its stage and
the execution; StopPipelineExecution stops after in-progress actions finish, or abandons them).
"""

from __future__ import annotations

import logging
import re
import threading
from itertools import groupby
from typing import Any

from eventdeploy.localcloud.codepipeline import admission, events
from eventdeploy.localcloud.codepipeline.model import REGISTRY, ActionRun, ExecutionRun, now
from eventdeploy.localcloud.codepipeline.providers import Abandoned, ActionContext, provider_for
from eventdeploy.localcloud.codepipeline.store import ActionFailed

log = logging.getLogger("eventdeploy.localcloud.codepipeline")
# https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html : #{namespace.variable}
VARIABLE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}")


def resolve_configuration(config: dict[str, Any], variables: dict[str, dict[str, str]]) -> dict[str, str]:
    """``config`` with every #{namespace.variable} replaced; ActionFailed naming the first unknown one."""
    def one(match: re.Match[str]) -> str:
        namespace, key = match.group(1), match.group(2)
        found = variables.get(namespace, {}).get(key)
        if found is None:
            raise ActionFailed(f"variable #{{{namespace}.{key}}} cannot be resolved: namespace {namespace!r} "
                               f"has {sorted(variables.get(namespace, {}))}", "ConfigurationError")
        return found
    return {k: VARIABLE.sub(one, str(v)) for k, v in config.items()}


def _set_execution(run: ExecutionRun, status: str, summary: str | None = None) -> None:
    with REGISTRY.lock:
        run.execution.status = status
        run.execution.last_update_time = now()
        if summary is not None:
            run.execution.status_summary = summary


def _set_stage(run: ExecutionRun, stage: str, status: str) -> None:
    record = REGISTRY.record(run.account_id, run.region, run.name)
    with REGISTRY.lock:
        record.stage_latest[stage] = {"pipelineExecutionId": run.execution_id, "status": status, "type": "STANDARD"}


def _finish_action(run: ExecutionRun, action: ActionRun, status: str) -> None:
    with REGISTRY.lock:
        action.status = status
        action.last_update = now()
    events.action_state(run, action, status.upper())


def run_action(run: ExecutionRun, stage: str, decl: dict[str, Any]) -> str:
    """Run one action to its end; register its outputs; return its final status."""
    missing = [a["name"] for a in decl.get("inputArtifacts") or [] if a["name"] not in run.artifacts]
    inputs = [run.artifacts[a["name"]] for a in decl.get("inputArtifacts") or [] if a["name"] in run.artifacts]
    action = ActionRun(execution_id=run.execution_id, pipeline_version=int(run.pipeline.get("version", 1)),
                       stage=stage, action=decl, region=run.region, inputs=inputs)
    record = REGISTRY.record(run.account_id, run.region, run.name)
    with REGISTRY.lock:
        record.action_latest[(stage, action.name)] = action
        run.actions.append(action)
    events.action_state(run, action, "STARTED")
    try:
        if missing:
            raise ActionFailed(f"input artifact(s) {missing} were not produced by an earlier action",
                               "ConfigurationError")
        with REGISTRY.lock:
            variables = {ns: dict(vs) for ns, vs in run.variables.items()}
        action.resolved = resolve_configuration(dict(decl.get("configuration") or {}), variables)
        provider_for(action.type_id())(ActionContext(run, action))
    except Abandoned:
        _finish_action(run, action, "Abandoned")
        return "Abandoned"
    except ActionFailed as exc:
        action.error = {"code": exc.code, "message": exc.message}
        action.summary = action.summary or exc.message
        _finish_action(run, action, "Failed")
        return "Failed"
    except Exception as exc:  # an emulator bug fails the action visibly instead of hanging the pipeline
        log.exception("action %s/%s crashed", stage, action.name)
        action.error = {"code": "JobFailed", "message": f"{type(exc).__name__}: {exc}"}
        _finish_action(run, action, "Failed")
        return "Failed"
    with REGISTRY.lock:
        for artifact in action.outputs:
            run.artifacts[artifact.name] = artifact
        if decl.get("namespace"):
            run.variables[str(decl["namespace"])] = dict(action.output_variables)
    _finish_action(run, action, "Succeeded")
    return "Succeeded"


def _run_group(run: ExecutionRun, stage: str, decls: list[dict[str, Any]]) -> list[str]:
    if len(decls) == 1:
        return [run_action(run, stage, decls[0])]
    results: list[str] = [""] * len(decls)

    def one(index: int) -> None:
        results[index] = run_action(run, stage, decls[index])

    threads = [threading.Thread(target=one, args=(i,), daemon=True, name=f"codepipeline-action-{i}")
               for i in range(len(decls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def run_stage(run: ExecutionRun, stage: dict[str, Any], skip: frozenset[str] = frozenset(),
              resumed: bool = False) -> str:
    """Run a stage's actions in runOrder (except the already-succeeded ``skip`` ones of a retry); return
    Succeeded, Failed or Stopped."""
    name = stage["name"]
    _set_stage(run, name, "InProgress")
    events.stage_state(run, name, "RESUMED" if resumed else "STARTED")
    outcome = "Succeeded"
    ordered = sorted((a for a in stage["actions"] if a["name"] not in skip), key=lambda a: int(a.get("runOrder", 1)))
    for _, group in groupby(ordered, key=lambda a: int(a.get("runOrder", 1))):
        results = _run_group(run, name, list(group))
        if "Failed" in results:
            outcome = "Failed"
            break
        if "Abandoned" in results or run.stop_requested.is_set():
            outcome = "Stopped"
            break
    _set_stage(run, name, outcome)
    events.stage_state(run, name, outcome.upper())
    return outcome


def run_execution(run: ExecutionRun, retry: tuple[str, frozenset[str]] | None = None) -> None:
    """Run every stage of the execution in order and settle its final status; ``retry`` = (stage, actions to
    skip) resumes a failed execution at that stage (RetryStageExecution)."""
    if retry is None:
        declared = {v["name"]: str(v.get("defaultValue", "")) for v in run.pipeline.get("variables") or []}
        declared.update({v["name"]: str(v["value"]) for v in run.execution.variables or []})
        with REGISTRY.lock:
            run.variables["codepipeline"] = {"PipelineExecutionId": run.execution_id}
            run.variables["variables"] = declared
    events.pipeline_state(run, "RESUMED" if retry else "STARTED")
    outcome = "Succeeded"
    names = [s["name"] for s in run.pipeline["stages"]]
    first = names.index(retry[0]) if retry else 0
    try:
        for stage in run.pipeline["stages"][first:]:
            if run.stop_requested.is_set():
                outcome = "Stopped"
                break
            entry = admission.enter(run, stage["name"])
            if entry != "entered":
                outcome = "Superseded" if entry == "superseded" else "Stopped"
                break
            resumed = bool(retry) and stage["name"] == retry[0]  # type: ignore[index]
            try:
                result = run_stage(run, stage, retry[1] if resumed else frozenset(), resumed)  # type: ignore[index]
            finally:
                admission.leave(run, stage["name"])
            if result != "Succeeded":
                outcome = result
                break
    except Exception:
        log.exception("pipeline execution %s crashed", run.execution_id)
        outcome = "Failed"
    failed = next((a for a in reversed(run.actions) if a.status == "Failed"), None)
    summary = None
    if outcome == "Failed" and failed is not None:
        summary = f"Action {failed.name} in stage {failed.stage} failed: {(failed.error or {}).get('message', '')}"
    elif outcome == "Stopped":
        summary = run.stop_reason
    _set_execution(run, outcome, summary)
    events.pipeline_state(run, outcome.upper())


def start(run: ExecutionRun, retry: tuple[str, frozenset[str]] | None = None) -> None:
    """Run ``run`` (or resume it at a retried stage) on a background thread."""
    thread = threading.Thread(target=_run_and_forget, args=(run, retry), daemon=True,
                              name=f"codepipeline-{run.execution_id}")
    with REGISTRY.lock:
        REGISTRY.threads.append(thread)
    thread.start()


def _run_and_forget(run: ExecutionRun, retry: tuple[str, frozenset[str]] | None) -> None:
    try:
        run_execution(run, retry)
    finally:
        with REGISTRY.lock:
            current = threading.current_thread()
            REGISTRY.threads[:] = [t for t in REGISTRY.threads if t is not current]
