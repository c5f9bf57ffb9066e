"""Invoke actions: a Lambda function handed the CodePipeline job (waiting for PutJobSuccess/FailureResult),
or a Step Functions state machine execution.

https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-invoke-lambda-function.html,
https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-StepFunctions.html
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from eventdeploy.localcloud import internal
from eventdeploy.localcloud.codepipeline.model import REGISTRY, Artifact, Job
from eventdeploy.localcloud.codepipeline.providers.context import Abandoned, ActionContext
from eventdeploy.localcloud.codepipeline.store import ActionFailed, put_artifact, read_member, zip_of

LAMBDA_JOB_TIMEOUT_S = 3600


def _job_artifact(artifact: Artifact) -> dict[str, Any]:
    return {"name": artifact.name, "revision": artifact.revision,
            "location": {"type": "S3", "s3Location": {"bucketName": artifact.bucket, "objectKey": artifact.key}}}


def invoke_lambda(ctx: ActionContext) -> None:
    """Invoke/Lambda: invoke FunctionName asynchronously with the CodePipeline job event; wait for its result."""
    function = ctx.config.get("FunctionName")
    if not function:
        raise ActionFailed("Lambda invoke action needs FunctionName", "ConfigurationError")
    outputs = [put_artifact(ctx.run.account_id, ctx.run.region, ctx.run.pipeline, n, zip_of({}))
               for n in ctx.output_names()]
    continuation: str | None = None
    while True:
        job_id = str(uuid.uuid4())
        data: dict[str, Any] = {
            "actionConfiguration": {"configuration": ctx.config},
            "inputArtifacts": [_job_artifact(a) for a in ctx.action.inputs],
            "outputArtifacts": [_job_artifact(a) for a in outputs],
            "artifactCredentials": {"accessKeyId": internal.TEST_ACCESS_KEY,
                                    "secretAccessKey": internal.TEST_SECRET_KEY, "sessionToken": "local"},
        }
        if continuation:
            data["continuationToken"] = continuation
        job = Job(job_id=job_id, account_id=ctx.run.account_id, data=data, action=ctx.action)
        with REGISTRY.lock:
            REGISTRY.jobs[job_id] = job
        ctx.action.external_id = job_id
        event = {"CodePipeline.job": {"id": job_id, "accountId": ctx.run.account_id, "data": data}}
        try:
            ctx.client("lambda").invoke(FunctionName=function, InvocationType="Event",
                                        Payload=json.dumps(event).encode())
        except Exception as exc:
            raise ActionFailed(f"cannot invoke Lambda function {function}: {exc}") from exc
        ctx.wait(job.done.is_set, LAMBDA_JOB_TIMEOUT_S, f"Lambda function {function} (job {job_id})")
        result = job.result or {}
        if result.get("failed"):
            details = result.get("failureDetails") or {}
            raise ActionFailed(str(details.get("message") or "The Lambda function reported a failure"),
                               str(details.get("type") or "JobFailed"))
        ctx.action.output_variables.update(result.get("outputVariables") or {})
        summary = (result.get("executionDetails") or {}).get("summary")
        if summary:
            ctx.action.summary = summary
        continuation = result.get("continuationToken")
        if not continuation:
            break
    ctx.action.outputs.extend(outputs)


def invoke_stepfunctions(ctx: ActionContext) -> None:
    """Invoke/StepFunctions: start StateMachineArn (execution name = [prefix-]action execution id) with the
    Literal Input or the FilePath in the input artifact; succeed with output.json when the execution succeeds.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-StepFunctions.html
    """
    cfg = ctx.config
    arn = cfg.get("StateMachineArn")
    if not arn:
        raise ActionFailed("StepFunctions invoke action needs StateMachineArn", "ConfigurationError")
    kind = cfg.get("InputType") or "Literal"
    if kind == "Literal":
        payload = cfg.get("Input") or "{}"
    elif kind == "FilePath":
        if not cfg.get("Input"):
            raise ActionFailed("InputType FilePath needs Input: a path in the input artifact", "ConfigurationError")
        artifact, data = ctx.input_bytes()
        payload = read_member(data, cfg["Input"], artifact.name).decode()
    else:
        raise ActionFailed(f"InputType {kind!r} must be Literal or FilePath", "ConfigurationError")
    prefix = cfg.get("ExecutionNamePrefix")
    name = f"{prefix}-{ctx.action.action_execution_id}" if prefix else ctx.action.action_execution_id
    sfn = ctx.client("stepfunctions")
    described: dict[str, Any] = {}
    try:
        # Express executions cannot be described afterwards (DescribeExecution is Standard-only): run them to
        # their end in one call, which an Express workflow's five-minute limit allows.
        express = sfn.describe_state_machine(stateMachineArn=arn).get("type") == "EXPRESS"
        if express:
            described.update(sfn.start_sync_execution(stateMachineArn=arn, name=name, input=payload))
            execution_arn = described["executionArn"]
        else:
            execution_arn = sfn.start_execution(stateMachineArn=arn, name=name, input=payload)["executionArn"]
    except Exception as exc:
        raise ActionFailed(f"cannot start state machine {arn}: {exc}") from exc
    ctx.action.external_id = execution_arn
    ctx.action.external_url = (f"https://console.aws.amazon.com/states/home?region={ctx.region}"
                               f"#/executions/details/{execution_arn}")
    ctx.action.output_variables.update({"StateMachineArn": arn, "ExecutionArn": execution_arn})

    if not express:
        def finished() -> bool:
            described.update(sfn.describe_execution(executionArn=execution_arn))
            return described.get("status") != "RUNNING"

        try:
            ctx.wait(finished, 365 * 24 * 3600, f"state machine execution {execution_arn}")
        except Abandoned:
            sfn.stop_execution(executionArn=execution_arn, cause="pipeline execution stopped with abandon")
            raise
    status = described.get("status")
    if status != "SUCCEEDED":
        detail = described.get("error") or described.get("cause") or ""
        raise ActionFailed(f"Execution {execution_arn} ended {status}{': ' + detail if detail else ''}")
    ctx.action.summary = f"Execution {name} succeeded"
    if ctx.output_names():
        ctx.emit_output(zip_of({"output.json": str(described.get("output") or "{}").encode()}))
