"""What a running pipeline execution is made of (actions, stages, the execution) and the process-wide registry.

Shapes follow the CodePipeline API reference: ActionExecution / ActionExecutionDetail / StageState /
PipelineExecution (https://docs.aws.amazon.com/codepipeline/latest/APIReference/).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


@dataclass
class Artifact:
    """An artifact in the pipeline's artifact store."""

    name: str
    bucket: str
    key: str
    revision: str | None = None

    def detail(self) -> dict[str, Any]:
        """ArtifactDetail shape (name + s3location)."""
        return {"name": self.name, "s3location": {"bucket": self.bucket, "key": self.key}}


@dataclass
class ActionRun:
    """One execution of one action."""

    execution_id: str
    pipeline_version: int
    stage: str
    action: dict[str, Any]
    region: str
    inputs: list[Artifact] = field(default_factory=list)
    action_execution_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    start_time: datetime = field(default_factory=now)
    last_update: datetime = field(default_factory=now)
    summary: str | None = None
    token: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    error: dict[str, str] | None = None
    outputs: list[Artifact] = field(default_factory=list)
    output_variables: dict[str, str] = field(default_factory=dict)
    current_revision: dict[str, Any] | None = None
    # The configuration with #{namespace.variable} references resolved (set when the action starts).
    resolved: dict[str, str] | None = None
    # Manual approval: PutApprovalResult stores the result and sets the signal.
    approval: dict[str, Any] | None = None
    signal: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        """The action's name."""
        return str(self.action["name"])

    def type_id(self) -> dict[str, str]:
        """The actionTypeId (category, owner, provider, version)."""
        return dict(self.action["actionTypeId"])

    def latest_execution(self) -> dict[str, Any]:
        """ActionExecution shape, as GetPipelineState shows it."""
        out: dict[str, Any] = {"actionExecutionId": self.action_execution_id, "status": self.status,
                               "lastStatusChange": self.last_update}
        for key, value in (("summary", self.summary), ("token", self.token if self.status == "InProgress" else None),
                           ("externalExecutionId", self.external_id), ("externalExecutionUrl", self.external_url),
                           ("errorDetails", self.error)):
            if value is not None:
                out[key] = value
        return out

    def detail(self) -> dict[str, Any]:
        """ActionExecutionDetail shape, as ListActionExecutions shows it."""
        result: dict[str, Any] = {}
        for key, value in (("externalExecutionId", self.external_id), ("externalExecutionSummary", self.summary),
                           ("externalExecutionUrl", self.external_url), ("errorDetails", self.error)):
            if value is not None:
                result[key] = value
        config = dict(self.action.get("configuration") or {})
        action_input: dict[str, Any] = {
            "actionTypeId": self.type_id(), "configuration": config,
            "resolvedConfiguration": dict(self.resolved if self.resolved is not None else config),
            "region": self.action.get("region") or self.region,
            "inputArtifacts": [a.detail() for a in self.inputs],
        }
        for key in ("roleArn", "namespace"):
            if self.action.get(key):
                action_input[key] = self.action[key]
        return {
            "pipelineExecutionId": self.execution_id, "actionExecutionId": self.action_execution_id,
            "pipelineVersion": self.pipeline_version, "stageName": self.stage, "actionName": self.name,
            "startTime": self.start_time, "lastUpdateTime": self.last_update, "status": self.status,
            "input": action_input,
            "output": {"outputArtifacts": [a.detail() for a in self.outputs], "executionResult": result,
                       "outputVariables": dict(self.output_variables)},
        }


@dataclass
class ExecutionRun:
    """One pipeline execution's emulator-side state (moto's PipelineExecution keeps the summary fields)."""

    account_id: str
    region: str
    pipeline: dict[str, Any]
    pipeline_arn: str
    execution: Any  # moto's PipelineExecution
    trigger: dict[str, str]
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[ActionRun] = field(default_factory=list)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    abandon: threading.Event = field(default_factory=threading.Event)
    stop_reason: str | None = None
    stop_trigger: dict[str, str] | None = None
    # Set when a newer execution overtook this one while it waited to enter a stage (SUPERSEDED mode).
    superseded: threading.Event = field(default_factory=threading.Event)
    # Variables by namespace: "codepipeline", "variables" (pipeline-level) and each action's namespace.
    variables: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def execution_id(self) -> str:
        """The pipeline execution id."""
        return str(self.execution.pipeline_execution_id)

    @property
    def name(self) -> str:
        """The pipeline name."""
        return str(self.pipeline["name"])


@dataclass
class PipelineRecord:
    """Per pipeline: the latest stage and action executions GetPipelineState reports, across executions."""

    stage_latest: dict[str, dict[str, str]] = field(default_factory=dict)
    action_latest: dict[tuple[str, str], ActionRun] = field(default_factory=dict)
    executions: dict[str, ExecutionRun] = field(default_factory=dict)
    # Stage admission (SUPERSEDED/QUEUED modes): who is in each stage, who waits to enter it.
    stage_busy: dict[str, str] = field(default_factory=dict)
    stage_waiting: dict[str, list[str]] = field(default_factory=dict)
    admission: threading.Condition = field(default_factory=threading.Condition)
    # DisableStageTransition: (stage, "Inbound"|"Outbound") → TransitionState while disabled.
    disabled: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


@dataclass
class Job:
    """A CodePipeline job handed to a Lambda (Invoke action), awaiting PutJobSuccess/FailureResult."""

    job_id: str
    account_id: str
    data: dict[str, Any]
    action: ActionRun
    done: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] | None = None


@dataclass
class Registry:
    """Everything the CodePipeline emulator keeps outside moto's backend."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    pipelines: dict[tuple[str, str, str], PipelineRecord] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    def record(self, account_id: str, region: str, pipeline: str) -> PipelineRecord:
        """The pipeline's record, created on first use."""
        with self.lock:
            return self.pipelines.setdefault((account_id, region, pipeline), PipelineRecord())

    def clear(self) -> None:
        """Abandon every running execution and forget all state (reset/shutdown)."""
        with self.lock:
            runs = [run for rec in self.pipelines.values() for run in rec.executions.values()]
            threads = list(self.threads)
        for run in runs:
            run.abandon.set()
            run.stop_requested.set()
        for thread in threads:
            thread.join(timeout=5)
        with self.lock:
            self.pipelines.clear()
            self.jobs.clear()
            self.threads.clear()


REGISTRY = Registry()
