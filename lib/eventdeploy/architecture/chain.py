"""05 · The whole chain from a real trigger: image push → event → Lambda → state machine → build → pipeline.

Every status event of the chain is tapped into one SQS queue (through an input transformer that keeps the rule
name); the ledger and the execution history add the steps that emit no event. Together they give one timeline.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd

from eventdeploy import observe, triggers
from eventdeploy.architecture import names
from eventdeploy.architecture.processors import state_machine_arn
from eventdeploy.architecture.rules import TAP_TEMPLATE
from eventdeploy.handlers.naming import execution_name
from eventdeploy.provision import Provisioner, eventbridge, sqs


def ensure_chain_tap(p: Provisioner) -> str:
    """A rule on the deployments bus for every status event of the chain, delivering to ``<prefix>-chain-tap``."""
    bus = p.name(names.BUS)
    queue = sqs.ensure_queue(p, names.CHAIN_TAP)
    rule_arn = eventbridge.ensure_rule(p, names.CHAIN_RULE, {"source": names.CHAIN_SOURCES}, bus,
                                       "observation: every status event of the deployment chain")
    eventbridge.ensure_targets(p, names.CHAIN_RULE, [eventbridge.Target(
        id="chain-tap", arn=queue, max_retries=8, max_event_age_s=3600, input_template=TAP_TEMPLATE)], bus)
    sqs.allow_senders(p, queue, "events.amazonaws.com", [rule_arn], "EventBridgeChainTap")
    return queue


def describe_pipeline(p: Provisioner) -> pd.DataFrame:
    """The pipeline's stages and actions: provider, configuration, artifacts."""
    pipeline = p.client("codepipeline").get_pipeline(name=p.name(names.PIPELINE))["pipeline"]
    return pd.DataFrame([
        {"stage": s["name"], "action": a["name"], "category": a["actionTypeId"]["category"],
         "provider": a["actionTypeId"]["provider"],
         "configuration": ", ".join(f"{k}={v}" for k, v in sorted(a.get("configuration", {}).items())),
         "inputs": ", ".join(i["name"] for i in a.get("inputArtifacts", [])),
         "outputs": ", ".join(o["name"] for o in a.get("outputArtifacts", []))}
        for s in pipeline["stages"] for a in s["actions"]])


def describe_build_project(p: Provisioner) -> dict[str, Any]:
    """The build project's source, buildspec, environment and role."""
    project = p.client("codebuild").batch_get_projects(names=[p.name(names.BUILD)])["projects"][0]
    return {"name": project["name"], "source": project["source"]["type"],
            "buildspec": project["source"].get("buildspec", ""), "image": project["environment"]["image"],
            "role": project["serviceRole"], "timeout_minutes": project.get("timeoutInMinutes")}


def _wait_for_execution(p: Provisioner, name: str, timeout_s: float) -> dict[str, Any]:
    sfn = p.client("stepfunctions")
    arn = state_machine_arn(p).replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return observe.wait_execution(sfn, arn, max(1.0, deadline - time.monotonic()))
        except sfn.exceptions.ExecutionDoesNotExist:
            time.sleep(0.2)
    raise TimeoutError(f"no execution {name} finished within {timeout_s:.0f} s")


def _event_rows(tapped: pd.DataFrame, digest: str, build_id: str | None, pipeline_id: str | None,
                execution_arn: str) -> list[dict[str, Any]]:
    """The tapped status events that belong to this deployment, each with when it was delivered."""
    rows = []
    for body, sent_ms in zip(tapped["body"], tapped["sent_ms"], strict=True):
        event = body.get("event", {}) if isinstance(body, dict) else {}
        detail = event.get("detail") or {}
        source = event.get("source")
        label = None
        if source == "aws.ecr" and detail.get("image-digest") == digest:
            label = f"ECR {detail.get('action-type')} event"
        elif source == "aws.states" and detail.get("executionArn") == execution_arn:
            label = f"Step Functions {detail.get('status')} event"
        elif source == "aws.codebuild" and build_id and detail.get("build-id", "").endswith(build_id.split(":")[-1]) \
                and event.get("detail-type") == "CodeBuild Build State Change":
            label = f"CodeBuild {detail.get('build-status')} event"
        elif source == "aws.codepipeline" and pipeline_id and detail.get("execution-id") == pipeline_id \
                and event.get("detail-type") == "CodePipeline Pipeline Execution State Change":
            label = f"CodePipeline {detail.get('state')} event"
        if label:
            rows.append({"stage": label, "at": pd.Timestamp(sent_ms, unit="ms", tz="UTC"), "from": "tap"})
    return rows


def run_chain(p: Provisioner, tag: str, timeout_s: float = 300.0) -> dict[str, Any]:
    """Push ``tag``, follow the deployment to its end, and return its outcome and one timeline of the chain."""
    tap_url = str(sqs.queue_url(p, p.name(names.CHAIN_TAP)))
    observe.drain_queue(p.client("sqs"), tap_url, timeout_s=3.0, quiet_s=0.5)  # start from an empty tap
    pushed = pd.Timestamp.now(tz="UTC")
    digest = triggers.push_image(p.client("ecr"), p.name(names.REPOSITORY), tag, f"runbook 05 {tag}")
    deployment = execution_name(p.name(names.REPOSITORY), digest)
    done = _wait_for_execution(p, deployment, timeout_s)
    output = json.loads(done["output"]) if done.get("output") else {}
    build_id = (output.get("build") or {}).get("id")
    pipeline_id = (output.get("pipeline") or {}).get("execution_id")
    # Status events arrive asynchronously: give the last of them a moment after the execution ended.
    tapped = observe.drain_queue(p.client("sqs"), tap_url, timeout_s=15.0, quiet_s=2.0)
    rows = [{"stage": "image pushed (client)", "at": pushed, "from": "client"}]
    rows += _event_rows(tapped, digest, build_id, pipeline_id, done["executionArn"])
    ledger_rows = observe.ledger(p.client("dynamodb"), p.name(names.LEDGER), deployment)
    rows += [{"stage": f"ledger: {s}", "at": a, "from": "ledger"} for s, a in zip(ledger_rows["stage"],
                                                                                    ledger_rows["at"], strict=True)]
    states = observe.execution_states(p.client("stepfunctions"), done["executionArn"])
    firsts = states.drop_duplicates("state", keep="first")
    rows += [{"stage": f"state: {s}", "at": a, "from": "history"} for s, a in zip(firsts["state"], firsts["start"],
                                                                                    strict=True)
             if s in ("Validate", "Build", "Deploy", "Bake", "Verify", "Promote", "Rollback")]
    rows.append({"stage": f"execution {done['status']}", "at": pd.Timestamp(done["stopDate"]).tz_convert("UTC"),
                 "from": "history"})
    timeline = pd.DataFrame(rows).sort_values("at", kind="stable").reset_index(drop=True)
    timeline["since_push_ms"] = ((timeline["at"] - pushed).dt.total_seconds() * 1000).round(1)
    return {"tag": tag, "digest": digest, "deployment_id": deployment, "status": done["status"],
            "execution_arn": done["executionArn"], "build_id": build_id, "pipeline_execution_id": pipeline_id,
            "timeline": timeline}
