"""04 · Orchestration: the deployment state machine, its role, and runs of good and failing inputs.

Validate → Build (CodeBuild, .sync) → Deploy (CodePipeline, polled) → Bake (Wait) → Verify (health alarm) → Promote;
any failure is caught with its input kept (``ResultPath: $.error``) and goes Rollback → Notify → Fail.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pandas as pd

from eventdeploy import observe
from eventdeploy.architecture import cicd, names
from eventdeploy.architecture.processors import function_arn, state_machine_arn
from eventdeploy.provision import Provisioner, cloudwatch, iam
from eventdeploy.provision import stepfunctions as sfn

# Emulated waits are scaled by the local cloud's time scale; on AWS they are real seconds.
BAKE_SECONDS = 30
POLL_SECONDS = 5
APP_NAMESPACE = "eventdeploy/App"


def ensure_health_alarm(p: Provisioner) -> str:
    """The alarm Verify watches: any error reported by the deployed app in the last minute."""
    return cloudwatch.ensure_alarm(p, names.HEALTH_ALARM, APP_NAMESPACE, "Errors",
                                   {"Service": p.name(names.REPOSITORY)}, threshold=1)


def role_policy(p: Provisioner, bus_arn: str, ledger_arn: str, project_arn: str, pipeline_arn: str) -> dict[str, Any]:
    """What the state machine may do, resource by resource."""
    return iam.policy(
        iam.allow(["lambda:InvokeFunction"], [function_arn(p, f) for f in names.STEP_FUNCTIONS]),
        iam.allow(["dynamodb:PutItem"], [ledger_arn]),
        iam.allow(["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:BatchGetBuilds"], [project_arn]),
        # .sync integrations watch the build through a managed rule Step Functions creates on our behalf.
        iam.allow(["events:PutTargets", "events:PutRule", "events:DescribeRule"], [
            f"arn:aws:events:{p.region}:{p.account_id}:rule/StepFunctionsGetEventsForCodeBuildStartBuildRule"]),
        iam.allow(["codepipeline:StartPipelineExecution", "codepipeline:GetPipelineExecution"], [pipeline_arn]),
        iam.allow(["events:PutEvents"], [bus_arn]),
    )


def definition(p: Provisioner, bus_arn: str) -> str:
    """The deployment ASL with this run's resources filled in."""
    return sfn.render("deploy.asl.json", {
        "ValidateFunctionArn": function_arn(p, "deploy-validate"),
        "VerifyFunctionArn": function_arn(p, "deploy-verify"),
        "LedgerTable": p.name(names.LEDGER), "BuildProject": p.name(names.BUILD),
        "PipelineName": p.name(names.PIPELINE), "EventBusName": bus_arn,
        "BakeSeconds": str(BAKE_SECONDS), "PollSeconds": str(POLL_SECONDS),
    })


def ensure_state_machine(p: Provisioner, bus_arn: str) -> str:
    """The state machine with its least-privilege role, and what it orchestrates (build, pipeline, alarm)."""
    ensure_health_alarm(p)
    project_arn = cicd.ensure_build_project(p)
    pipeline = cicd.ensure_pipeline(p)
    ledger_arn = f"arn:aws:dynamodb:{p.region}:{p.account_id}:table/{p.name(names.LEDGER)}"
    role = iam.ensure_role(p, f"{names.STATE_MACHINE}-role", "states.amazonaws.com", {
        "deploy": role_policy(p, bus_arn, ledger_arn, project_arn, pipeline["pipeline_arn"])},
        "Step Functions: the deployment workflow")
    arn = sfn.ensure_state_machine(p, names.STATE_MACHINE, definition(p, bus_arn), role)
    if arn != state_machine_arn(p):
        raise RuntimeError(f"state machine ARN {arn} is not the one image_pushed starts ({state_machine_arn(p)})")
    return arn


def states_table(p: Provisioner) -> pd.DataFrame:
    """The states of the deployed definition: type, next, and what each retries and catches."""
    found = json.loads(p.client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn(p))[
        "definition"])
    rows = []
    for name, state in found["States"].items():
        rows.append({"state": name, "type": state["Type"], "resource": state.get("Resource", "").split(":::")[-1],
                     "next": state.get("Next") or state.get("Default") or ("(end)" if state["Type"] in
                                                                           ("Succeed", "Fail") else ""),
                     "retries_on": ", ".join(e for r in state.get("Retry", []) for e in r["ErrorEquals"]),
                     "catches": ", ".join(e for c in state.get("Catch", []) for e in c["ErrorEquals"])})
    return pd.DataFrame(rows)


def sample_input(p: Provisioner, label: str, good: bool) -> dict[str, Any]:
    """A deployment request: a well-formed image digest, or (``good=False``) one Validate must refuse."""
    token = uuid.uuid4().hex[:8]
    digest = "sha256:" + hashlib.sha256(f"{label}-{token}".encode()).hexdigest() if good else "sha256:not-a-digest"
    return {"deployment_id": f"{label}-{token}", "repository": p.name(names.REPOSITORY), "digest": digest,
            "tag": f"v0.{token}", "trace_id": str(uuid.uuid4())}


def run(p: Provisioner, request: dict[str, Any], timeout_s: float = 300.0) -> dict[str, Any]:
    """Start an execution named after the deployment, wait for it, and return its description."""
    client = p.client("stepfunctions")
    started = client.start_execution(stateMachineArn=state_machine_arn(p), name=request["deployment_id"],
                                     input=json.dumps(request))
    done = observe.wait_execution(client, started["executionArn"], timeout_s)
    return {"execution_arn": done["executionArn"], "status": done["status"], "error": done.get("error"),
            "cause": done.get("cause"), "output": json.loads(done["output"]) if done.get("output") else None,
            "seconds": (done["stopDate"] - done["startDate"]).total_seconds()}


def timeline(p: Provisioner, execution_arn: str) -> pd.DataFrame:
    """Each state the execution went through, with start, end and outcome (from its history)."""
    return observe.execution_states(p.client("stepfunctions"), execution_arn)


def ledger_for(p: Provisioner, deployment_id: str) -> pd.DataFrame:
    """The ledger rows the execution wrote, stage by stage."""
    return observe.ledger(p.client("dynamodb"), p.name(names.LEDGER), deployment_id)
