"""CodePipeline conformance: executions run their stages and actions, with AWS's state APIs and events."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventdeploy.triggers import push_image
from tests.localcloud.test_codebuild import ENVIRONMENT, ROLE, Tap, unique

TEMPLATE = ("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref QueueName\n"
            "Parameters:\n  QueueName:\n    Type: String\n")
TYPE = {
    "s3": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
    "build": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
    "cfn": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
    "manual": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
    "lambda": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
}


def zipped(files: dict[str, str]) -> bytes:
    """A zip archive holding ``files``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def pipeline_role(aws: Callable[..., Any]) -> str:
    """A role CodePipeline may assume (CreatePipeline checks the trust policy)."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    return aws("iam").create_role(RoleName=unique("cp-role"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def source_bucket(aws: Callable[..., Any], files: dict[str, str] | None = None) -> tuple[str, str]:
    """A source bucket (with ``files`` zipped at source.zip when given) and an artifact-store bucket."""
    s3 = aws("s3")
    src, store = unique("cp-src"), unique("cp-store")
    s3.create_bucket(Bucket=src)
    s3.create_bucket(Bucket=store)
    if files is not None:
        put_source(aws, src, files)
    return src, store


def put_source(aws: Callable[..., Any], bucket: str, files: dict[str, str], key: str = "source.zip") -> None:
    """Upload ``files`` zipped as s3://bucket/key (the S3 source action's object)."""
    aws("s3").put_object(Bucket=bucket, Key=key, Body=zipped(files))


def source_stage(bucket: str) -> dict[str, Any]:
    """A Source stage reading s3://bucket/source.zip into artifact SourceOut."""
    return {"name": "Source", "actions": [{
        "name": "Fetch", "actionTypeId": TYPE["s3"], "outputArtifacts": [{"name": "SourceOut"}],
        "configuration": {"S3Bucket": bucket, "S3ObjectKey": "source.zip", "PollForSourceChanges": "false"}}]}


def build_project(aws: Callable[..., Any], commands: list[str], artifacts: list[str] | None = None) -> str:
    """A CODEPIPELINE-sourced CodeBuild project running ``commands``."""
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(f"      - {c}\n" for c in commands)
    if artifacts:
        spec += "artifacts:\n  files:\n" + "".join(f"    - {a}\n" for a in artifacts)
    name = unique("cp-build")
    aws("codebuild").create_project(name=name, source={"type": "CODEPIPELINE", "buildspec": spec},
                                    artifacts={"type": "CODEPIPELINE"}, environment=ENVIRONMENT, serviceRole=ROLE)
    return name


def create(aws: Callable[..., Any], store: str, stages: list[dict[str, Any]], settle: bool = True,
           **fields: Any) -> str:
    """Create a pipeline with ``stages`` (and extra declaration ``fields``); returns its name.

    CreatePipeline starts an execution of its own (trigger CreatePipeline,
    https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-about-starting.html). With ``settle`` the
    caller has not uploaded its source yet, so that creation run fails in its Source stage; this waits for it to
    end, so the test's own executions neither queue behind it nor race it for the stages it would occupy.
    """
    codepipeline = aws("codepipeline")
    name = unique("cp")
    codepipeline.create_pipeline(pipeline={
        "name": name, "roleArn": pipeline_role(aws), "artifactStore": {"type": "S3", "location": store},
        "stages": stages, **fields})
    if settle:
        creation = wait_execution(codepipeline, name, creation_run(codepipeline, name)["pipelineExecutionId"])
        assert creation["status"] == "Failed" and f"in stage {stages[0]['name']} failed" in creation["statusSummary"]
    return name


def creation_run(codepipeline: Any, name: str) -> dict[str, Any]:
    """The execution summary of the run CreatePipeline started (there is exactly one)."""
    summaries = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    found = [s for s in summaries if s["trigger"]["triggerType"] == "CreatePipeline"]
    assert len(found) == 1, f"expected one CreatePipeline run of {name}, got {summaries}"
    return found[0]


def own_actions(codepipeline: Any, name: str, execution_id: str) -> list[dict[str, Any]]:
    """ListActionExecutions filtered to one pipeline execution (not the creation run's actions)."""
    return codepipeline.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": execution_id})[
        "actionExecutionDetails"]


def of_execution(events: list[dict[str, Any]], execution_id: str) -> list[dict[str, Any]]:
    """The CodePipeline events of one execution."""
    return [e for e in events if e["detail"]["execution-id"] == execution_id]


def wait_execution(codepipeline: Any, name: str, execution_id: str, limit: float = 30.0) -> dict[str, Any]:
    """Poll GetPipelineExecution until the execution leaves InProgress/Stopping."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        execution = codepipeline.get_pipeline_execution(pipelineName=name,
                                                        pipelineExecutionId=execution_id)["pipelineExecution"]
        if execution["status"] not in ("InProgress", "Stopping"):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} of {name} still {execution['status']} after {limit}s")


def wait_action(codepipeline: Any, name: str, stage: str, action: str, status: str,
                limit: float = 20.0) -> dict[str, Any]:
    """Poll GetPipelineState until ``stage``/``action``'s latest execution has ``status``; return it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = codepipeline.get_pipeline_state(name=name)
        for stage_state in state["stageStates"]:
            if stage_state["stageName"] == stage:
                for action_state in stage_state["actionStates"]:
                    latest = action_state.get("latestExecution")
                    if action_state["actionName"] == action and latest and latest["status"] == status:
                        return latest
        time.sleep(0.05)
    raise AssertionError(f"{stage}/{action} never reached {status}")


def summary(event: dict[str, Any]) -> tuple[str, ...]:
    """(kind, stage, action, state) of a CodePipeline event, for order checks."""
    kind = event["detail-type"].split()[1]
    detail = event["detail"]
    return tuple(x for x in (kind, detail.get("stage"), detail.get("action"), detail["state"]) if x)


def test_build_and_deploy_pipeline_succeeds_with_events_in_order(aws: Callable[..., Any]) -> None:
    """Source (S3) → Build (a real CodeBuild build) → Deploy (CloudFormation stack from the build's artifact),
    with Pipeline/Stage/Action Execution State Change events in order.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-pipeline-structure.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html
    """
    codepipeline, cfn, codebuild = aws("codepipeline"), aws("cloudformation"), aws("codebuild")
    src, store = source_bucket(aws)
    project = build_project(aws, ["test -f template.yaml", "mkdir -p out && cp template.yaml out/"],
                            ["out/template.yaml"])
    stack, queue = unique("cp-stack"), unique("cp-queue")
    name = create(aws, store, [
        source_stage(src),
        {"name": "Build", "actions": [{"name": "Compile", "actionTypeId": TYPE["build"],
                                       "configuration": {"ProjectName": project},
                                       "inputArtifacts": [{"name": "SourceOut"}],
                                       "outputArtifacts": [{"name": "BuildOut"}]}]},
        {"name": "Deploy", "actions": [{"name": "Stack", "actionTypeId": TYPE["cfn"], "inputArtifacts": [
            {"name": "BuildOut"}], "configuration": {
            "ActionMode": "CREATE_UPDATE", "StackName": stack, "TemplatePath": "BuildOut::out/template.yaml",
            "ParameterOverrides": json.dumps({"QueueName": queue})}}]},
    ])
    creation_id = creation_run(codepipeline, name)["pipelineExecutionId"]
    put_source(aws, src, {"template.yaml": TEMPLATE})
    tap = Tap(aws, {"source": ["aws.codepipeline"], "detail": {"pipeline": [name]}})
    try:
        execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
        first = codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
        assert first["pipelineExecution"]["status"] == "InProgress"
        execution = wait_execution(codepipeline, name, execution_id)
        everything = tap.wait_for(lambda s: len(of_execution(s, execution_id)) >= 14)
    finally:
        tap.close()
    # The creation run ended before the tap existed; whatever else the tap holds can only be this execution's.
    assert {e["detail"]["execution-id"] for e in everything} <= {execution_id, creation_id}
    seen = of_execution(everything, execution_id)
    assert execution["status"] == "Succeeded"
    assert execution["trigger"]["triggerType"] == "StartPipelineExecution"
    [revision] = execution["artifactRevisions"]
    assert revision["name"] == "SourceOut" and revision["revisionId"]

    expected = [
        ("Pipeline", "STARTED"),
        ("Stage", "Source", "STARTED"), ("Action", "Source", "Fetch", "STARTED"),
        ("Action", "Source", "Fetch", "SUCCEEDED"), ("Stage", "Source", "SUCCEEDED"),
        ("Stage", "Build", "STARTED"), ("Action", "Build", "Compile", "STARTED"),
        ("Action", "Build", "Compile", "SUCCEEDED"), ("Stage", "Build", "SUCCEEDED"),
        ("Stage", "Deploy", "STARTED"), ("Action", "Deploy", "Stack", "STARTED"),
        ("Action", "Deploy", "Stack", "SUCCEEDED"), ("Stage", "Deploy", "SUCCEEDED"),
        ("Pipeline", "SUCCEEDED"),
    ]
    # EventBridge does not promise delivery order (its delivery workers run in parallel), so the tap sees the
    # emitted sequence possibly permuted: all events arrive once, and their times follow the emission order.
    assert sorted(summary(e) for e in seen) == sorted(expected)
    times = {summary(e): e["time"] for e in seen}
    assert [times[k] for k in expected] == sorted(times[k] for k in expected)
    assert all(e["source"] == "aws.codepipeline" for e in seen)
    assert all(e["resources"][0].endswith(f":{name}") for e in seen)
    action_event = next(e["detail"] for e in seen if summary(e) == ("Action", "Build", "Compile", "SUCCEEDED"))
    assert action_event["type"] == TYPE["build"] and action_event["region"] == "us-east-1"
    assert action_event["input-artifacts"][0]["name"] == "SourceOut"
    assert action_event["output-artifacts"][0]["name"] == "BuildOut"
    assert action_event["execution-result"]["external-execution-id"].startswith(f"{project}:")
    started = next(e["detail"] for e in seen if summary(e) == ("Pipeline", "STARTED"))
    assert started["execution-trigger"]["trigger-type"] == "StartPipelineExecution"
    assert started["version"] == 1

    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert any(url.endswith(f"/{queue}") for url in aws("sqs").list_queues(QueueNamePrefix=queue)["QueueUrls"])
    build_id = action_event["execution-result"]["external-execution-id"]
    build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
    assert build["buildStatus"] == "SUCCEEDED" and build["initiator"] == f"codepipeline/{name}"
    summaries = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert [s["pipelineExecutionId"] for s in summaries] == [execution_id, creation_id]  # newest first
    assert summaries[0]["status"] == "Succeeded" and summaries[1]["status"] == "Failed"
    assert summaries[0]["sourceRevisions"][0]["actionName"] == "Fetch"


def test_create_pipeline_starts_an_execution_and_update_pipeline_does_not(aws: Callable[..., Any]) -> None:
    """CreatePipeline starts an execution by itself, with trigger type CreatePipeline (GetPipelineExecution,
    ListPipelineExecutions and its Pipeline Execution State Change event say so). An execution started while the
    creation run is still going waits for each stage it holds (SUPERSEDED, the default mode: one execution per
    stage, and only an execution waiting behind a newer waiting one is superseded), so both run to Succeeded, one
    after the other. UpdatePipeline starts none ("Unlike creating a pipeline, editing a pipeline does not rerun
    the most recent revision through the pipeline").

    https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-about-starting.html
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ExecutionTrigger.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-edit.html
    """
    codepipeline, s3 = aws("codepipeline"), aws("s3")
    src, store = source_bucket(aws, {"x.txt": "x"})
    target = unique("cp-target")
    s3.create_bucket(Bucket=target)
    # Each execution publishes under its own id, so the bucket shows which executions really ran the pipeline.
    publish = {"name": "Publish", "actions": [{
        "name": "Copy", "inputArtifacts": [{"name": "SourceOut"}],
        "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"BucketName": target, "Extract": "false",
                          "ObjectKey": "#{codepipeline.PipelineExecutionId}.zip"}}]}
    name = unique("cp")
    tap = Tap(aws, {"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
                    "detail": {"pipeline": [name], "state": ["STARTED"]}})
    try:
        declaration = {"name": name, "roleArn": pipeline_role(aws),
                       "artifactStore": {"type": "S3", "location": store}, "stages": [source_stage(src), publish]}
        codepipeline.create_pipeline(pipeline=declaration)
        [creation] = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        creation_id = creation["pipelineExecutionId"]
        assert creation["trigger"]["triggerType"] == "CreatePipeline"
        mine = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
        got = codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=creation_id)
        assert got["pipelineExecution"]["trigger"]["triggerType"] == "CreatePipeline"
        assert got["pipelineExecution"]["pipelineVersion"] == 1
        assert wait_execution(codepipeline, name, creation_id)["status"] == "Succeeded"
        assert wait_execution(codepipeline, name, mine)["status"] == "Succeeded"
        seen = tap.wait_for(lambda s: {e["detail"]["execution-id"] for e in s} >= {creation_id, mine})
    finally:
        tap.close()
    triggers = {e["detail"]["execution-id"]: e["detail"]["execution-trigger"]["trigger-type"] for e in seen}
    assert triggers == {creation_id: "CreatePipeline", mine: "StartPipelineExecution"}
    for key in (f"{creation_id}.zip", f"{mine}.zip"):
        assert s3.get_object(Bucket=target, Key=key)["Body"].read()[:2] == b"PK"
    # One execution per stage: the later one entered each stage only after the creation run had left it.
    runs = {execution_id: {d["stageName"]: d for d in own_actions(codepipeline, name, execution_id)}
            for execution_id in (creation_id, mine)}
    for stage in ("Source", "Publish"):
        assert runs[mine][stage]["startTime"] >= runs[creation_id][stage]["lastUpdateTime"]

    updated = codepipeline.update_pipeline(pipeline={**declaration, "version": 1})["pipeline"]
    assert updated["version"] == 2
    # Had UpdatePipeline started a run, it would be listed before one started after it.
    after = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, after)["status"] == "Succeeded"
    summaries = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert [(s["pipelineExecutionId"], s["trigger"]["triggerType"]) for s in summaries] == [
        (after, "StartPipelineExecution"), (mine, "StartPipelineExecution"), (creation_id, "CreatePipeline")]


def test_pipeline_state_and_action_execution_shapes(aws: Callable[..., Any]) -> None:
    """GetPipelineState and ListActionExecutions describe every stage and action execution.

    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_GetPipelineState.html
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ListActionExecutions.html
    """
    codepipeline = aws("codepipeline")
    src, store = source_bucket(aws)
    project = build_project(aws, ["cat readme.txt", "cat $CODEBUILD_SRC_DIR_ExtraOut/extra.txt"])
    extra = {"name": "Extra", "actionTypeId": TYPE["s3"], "outputArtifacts": [{"name": "ExtraOut"}],
             "configuration": {"S3Bucket": src, "S3ObjectKey": "extra.zip", "PollForSourceChanges": "false"}}
    source = source_stage(src)
    source["actions"].append(extra)
    name = create(aws, store, [source, {"name": "Build", "actions": [
        {"name": "A", "actionTypeId": TYPE["build"], "runOrder": 1, "configuration": {"ProjectName": project},
         "inputArtifacts": [{"name": "SourceOut"}, {"name": "ExtraOut"}]},
        {"name": "B", "actionTypeId": TYPE["build"], "runOrder": 2, "configuration": {"ProjectName": project},
         "inputArtifacts": [{"name": "SourceOut"}, {"name": "ExtraOut"}]}]}])
    # Only the creation run has run so far: it failed in Source (both objects missing) and never reached Build.
    creation_id = creation_run(codepipeline, name)["pipelineExecutionId"]
    before = codepipeline.get_pipeline_state(name=name)
    assert [s["stageName"] for s in before["stageStates"]] == ["Source", "Build"]
    assert before["stageStates"][0]["latestExecution"] == {"pipelineExecutionId": creation_id, "status": "Failed",
                                                          "type": "STANDARD"}
    assert "latestExecution" not in before["stageStates"][1]
    assert all(a["latestExecution"]["status"] == "Failed" for a in before["stageStates"][0]["actionStates"])
    put_source(aws, src, {"readme.txt": "hello"})
    put_source(aws, src, {"extra.txt": "more"}, key="extra.zip")
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"

    state = codepipeline.get_pipeline_state(name=name)
    assert state["pipelineName"] == name and state["pipelineVersion"] == 1
    build_stage = state["stageStates"][1]
    assert build_stage["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "Succeeded",
                                              "type": "STANDARD"}
    assert build_stage["inboundTransitionState"]["enabled"] is True
    latest = build_stage["actionStates"][0]["latestExecution"]
    assert latest["status"] == "Succeeded" and latest["externalExecutionId"].startswith(f"{project}:")
    assert latest["externalExecutionUrl"].startswith("https://console.aws.amazon.com/codebuild/")
    assert "lastStatusChange" in latest and "token" not in latest
    assert state["stageStates"][0]["actionStates"][0]["currentRevision"]["revisionId"]

    details = codepipeline.list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution_id})["actionExecutionDetails"]
    assert [d["actionName"] for d in details][:2] == ["B", "A"]  # newest first
    assert sorted(d["actionName"] for d in details[2:]) == ["Extra", "Fetch"]
    a = details[1]
    assert a["stageName"] == "Build" and a["status"] == "Succeeded" and a["pipelineVersion"] == 1
    assert a["input"]["actionTypeId"] == TYPE["build"] and a["input"]["configuration"] == {"ProjectName": project}
    assert a["input"]["inputArtifacts"][0]["name"] == "SourceOut"
    assert a["input"]["inputArtifacts"][0]["s3location"]["bucket"] == store
    assert a["output"]["executionResult"]["externalExecutionId"].startswith(f"{project}:")
    assert a["startTime"] <= a["lastUpdateTime"]
    # runOrder 2 starts only after runOrder 1 has finished.
    assert details[0]["startTime"] >= a["lastUpdateTime"]
    fetch = next(d for d in details if d["actionName"] == "Fetch")
    assert fetch["output"]["outputArtifacts"][0]["name"] == "SourceOut"
    # Unfiltered, the pipeline's action executions include the creation run's two failed source actions.
    paged = codepipeline.list_action_executions(pipelineName=name, maxResults=4)
    assert len(paged["actionExecutionDetails"]) == 4 and paged["nextToken"]
    rest = codepipeline.list_action_executions(pipelineName=name, maxResults=4, nextToken=paged["nextToken"])
    assert len(rest["actionExecutionDetails"]) == 2 and "nextToken" not in rest
    every = paged["actionExecutionDetails"] + rest["actionExecutionDetails"]
    assert sorted((d["pipelineExecutionId"] == creation_id, d["actionName"], d["status"]) for d in every) == [
        (False, "A", "Succeeded"), (False, "B", "Succeeded"), (False, "Extra", "Succeeded"),
        (False, "Fetch", "Succeeded"), (True, "Extra", "Failed"), (True, "Fetch", "Failed")]
    with pytest.raises(ClientError) as err:
        codepipeline.get_pipeline_state(name=unique("missing"))
    assert err.value.response["Error"]["Code"] == "PipelineNotFoundException"


def test_failing_build_fails_its_stage_and_the_pipeline(aws: Callable[..., Any]) -> None:
    """A failed CodeBuild build fails its action, its stage and the execution; later stages never run.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
    """
    codepipeline = aws("codepipeline")
    src, store = source_bucket(aws)
    project = build_project(aws, ["echo about to fail", "exit 2"])
    name = create(aws, store, [
        source_stage(src),
        {"name": "Build", "actions": [{"name": "Compile", "actionTypeId": TYPE["build"], "configuration": {
            "ProjectName": project}, "inputArtifacts": [{"name": "SourceOut"}]}]},
        {"name": "Deploy", "actions": [{"name": "Never", "actionTypeId": TYPE["manual"]}]},
    ])
    put_source(aws, src, {"x.txt": "x"})
    tap = Tap(aws, {"source": ["aws.codepipeline"], "detail": {"pipeline": [name], "state": ["FAILED"]}})
    try:
        execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
        execution = wait_execution(codepipeline, name, execution_id)
        seen = of_execution(tap.wait_for(lambda s: len(of_execution(s, execution_id)) >= 3), execution_id)
    finally:
        tap.close()
    assert execution["status"] == "Failed"
    assert "Compile" in execution["statusSummary"]
    assert sorted(summary(e) for e in seen) == sorted([
        ("Action", "Build", "Compile", "FAILED"), ("Stage", "Build", "FAILED"), ("Pipeline", "FAILED")])
    failed_action = next(e["detail"] for e in seen if summary(e)[0] == "Action")
    assert failed_action["execution-result"]["error-code"] == "JobFailed"
    state = codepipeline.get_pipeline_state(name=name)
    build_stage, deploy_stage = state["stageStates"][1], state["stageStates"][2]
    assert build_stage["latestExecution"]["status"] == "Failed"
    latest = build_stage["actionStates"][0]["latestExecution"]
    assert latest["status"] == "Failed" and latest["errorDetails"]["code"] == "JobFailed"
    assert "Build terminated with state: FAILED" in latest["errorDetails"]["message"]
    assert "COMMAND_EXECUTION_ERROR" in latest["errorDetails"]["message"]
    assert "latestExecution" not in deploy_stage


def test_manual_approval_waits_then_approved(aws: Callable[..., Any]) -> None:
    """A Manual approval holds the execution InProgress until PutApprovalResult with the token from
    GetPipelineState; a wrong token is refused, and the token cannot be used twice.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-approve-or-reject.html
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutApprovalResult.html
    """
    codepipeline = aws("codepipeline")
    src, store = source_bucket(aws)
    project = build_project(aws, ["echo after-approval"])
    name = create(aws, store, [
        source_stage(src),
        {"name": "Gate", "actions": [{"name": "Approve", "actionTypeId": TYPE["manual"],
                                      "configuration": {"CustomData": "ship it?"}}]},
        {"name": "Build", "actions": [{"name": "Compile", "actionTypeId": TYPE["build"], "configuration": {
            "ProjectName": project}, "inputArtifacts": [{"name": "SourceOut"}]}]},
    ])
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    waiting = wait_action(codepipeline, name, "Gate", "Approve", "InProgress")
    token = waiting["token"]
    # The pending approval is this execution's (the creation run failed in Source, before the gate).
    assert waiting["actionExecutionId"] in [d["actionExecutionId"] for d in own_actions(codepipeline, name, execution_id)]
    time.sleep(0.3)  # the gate must hold: nothing past it runs while the approval is pending
    assert codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
        "pipelineExecution"]["status"] == "InProgress"
    assert "latestExecution" not in codepipeline.get_pipeline_state(name=name)["stageStates"][2]

    with pytest.raises(ClientError) as err:
        codepipeline.put_approval_result(pipelineName=name, stageName="Gate", actionName="Approve",
                                         result={"summary": "x", "status": "Approved"},
                                         token="00000000-0000-0000-0000-000000000000")
    assert err.value.response["Error"]["Code"] == "InvalidApprovalTokenException"
    approved = codepipeline.put_approval_result(pipelineName=name, stageName="Gate", actionName="Approve",
                                                result={"summary": "looks good", "status": "Approved"}, token=token)
    assert approved["approvedAt"]
    with pytest.raises(ClientError) as err:
        codepipeline.put_approval_result(pipelineName=name, stageName="Gate", actionName="Approve",
                                         result={"summary": "again", "status": "Approved"}, token=token)
    assert err.value.response["Error"]["Code"] == "ApprovalAlreadyCompletedException"
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"
    gate = codepipeline.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]
    assert gate["status"] == "Succeeded" and gate["summary"] == "looks good"

    rejected_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    deadline = time.monotonic() + 20
    while True:
        latest = wait_action(codepipeline, name, "Gate", "Approve", "InProgress")
        if latest["token"] != token:
            break
        assert time.monotonic() < deadline
    assert latest["actionExecutionId"] in [d["actionExecutionId"] for d in own_actions(codepipeline, name, rejected_id)]
    codepipeline.put_approval_result(pipelineName=name, stageName="Gate", actionName="Approve",
                                     result={"summary": "no", "status": "Rejected"}, token=latest["token"])
    assert wait_execution(codepipeline, name, rejected_id)["status"] == "Failed"


def test_stop_pipeline_execution_abandons_waiting_action(aws: Callable[..., Any]) -> None:
    """StopPipelineExecution with abandon ends the execution Stopped and the in-progress action Abandoned.
    (The approval first notifies its NotificationArn topic with the approval token.)

    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_StopPipelineExecution.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-json-format.html
    """
    codepipeline, sns, sqs = aws("codepipeline"), aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=unique("cp-approvals"))["TopicArn"]
    queue = sqs.create_queue(QueueName=unique("cp-approvals"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    src, store = source_bucket(aws)
    name = create(aws, store, [source_stage(src), {"name": "Gate", "actions": [
        {"name": "Approve", "actionTypeId": TYPE["manual"],
         "configuration": {"NotificationArn": topic, "CustomData": "please review"}}]}])
    creation_id = creation_run(codepipeline, name)["pipelineExecutionId"]
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    token = wait_action(codepipeline, name, "Gate", "Approve", "InProgress")["token"]
    deadline = time.monotonic() + 15
    messages: list[dict[str, Any]] = []
    while not messages:
        assert time.monotonic() < deadline, "no approval notification"
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    approval = json.loads(json.loads(messages[0]["Body"])["Message"])["approval"]
    assert approval["pipelineName"] == name and approval["stageName"] == "Gate"
    assert approval["actionName"] == "Approve" and approval["token"] == token
    assert approval["customData"] == "please review" and approval["expires"].endswith("Z")
    assert token in approval["approvalReviewLink"]
    stopped = codepipeline.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id,
                                                   abandon=True, reason="operator stop")
    assert stopped["pipelineExecutionId"] == execution_id
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Stopped"
    with pytest.raises(ClientError) as err:
        codepipeline.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert err.value.response["Error"]["Code"] == "PipelineExecutionNotStoppableException"
    state = codepipeline.get_pipeline_state(name=name)["stageStates"][1]
    assert state["actionStates"][0]["latestExecution"]["status"] == "Abandoned"
    assert state["latestExecution"]["status"] == "Stopped"
    summary_, creation = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert summary_["pipelineExecutionId"] == execution_id and creation["pipelineExecutionId"] == creation_id
    assert summary_["status"] == "Stopped" and summary_["stopTrigger"]["reason"] == "operator stop"
    assert creation["status"] == "Failed" and "stopTrigger" not in creation
    # Deleted and created again, the pipeline has no state left from its namesake: its only execution is the
    # new creation run, and every stage/action execution GetPipelineState shows is that run's.
    pipeline = codepipeline.get_pipeline(name=name)["pipeline"]
    codepipeline.delete_pipeline(name=name)
    codepipeline.create_pipeline(pipeline={k: v for k, v in pipeline.items() if k != "version"})
    [again] = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert again["trigger"]["triggerType"] == "CreatePipeline"
    assert again["pipelineExecutionId"] not in (execution_id, creation_id)
    stages = codepipeline.get_pipeline_state(name=name)["stageStates"]
    assert {s["latestExecution"]["pipelineExecutionId"] for s in stages if "latestExecution" in s} <= {
        again["pipelineExecutionId"]}
    ours = {d["actionExecutionId"] for d in own_actions(codepipeline, name, again["pipelineExecutionId"])}
    shown = {a["latestExecution"]["actionExecutionId"] for s in stages for a in s["actionStates"]
             if "latestExecution" in a}
    assert shown <= ours
    codepipeline.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=again["pipelineExecutionId"],
                                         abandon=True, reason="test done")
    assert wait_execution(codepipeline, name, again["pipelineExecutionId"])["status"] == "Stopped"


def test_lambda_invoke_action_waits_for_job_result(aws: Callable[..., Any]) -> None:
    """An Invoke/Lambda action invokes the function with the CodePipeline.job event and completes on
    PutJobSuccessResult (the function's UserParameters arrive in the job data); a continuation token re-invokes
    it; PutJobFailureResult fails the action.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-invoke-lambda-function.html
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutJobSuccessResult.html
    """
    codepipeline = aws("codepipeline")
    handler = (
        "import boto3\n"
        "def handler(event, context):\n"
        "    job = event['CodePipeline.job']\n"
        "    cp = boto3.client('codepipeline')\n"
        "    params = job['data']['actionConfiguration']['configuration']['UserParameters']\n"
        "    if params == 'continue' and 'continuationToken' not in job['data']:\n"
        "        cp.put_job_success_result(jobId=job['id'], continuationToken='second-pass')\n"
        "    elif params == 'continue':\n"
        "        cp.put_job_success_result(jobId=job['id'], outputVariables={'pass': job['data']['continuationToken']})\n"
        "    elif params == 'fail':\n"
        "        cp.put_job_failure_result(jobId=job['id'], failureDetails={'type': 'JobFailed', 'message': 'asked to fail'})\n"
        "    else:\n"
        "        cp.put_job_success_result(jobId=job['id'], outputVariables={'echo': params},\n"
        "                                  executionDetails={'summary': 'lambda says ' + params})\n"
    )
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = aws("iam").create_role(RoleName=unique("cp-fn"), AssumeRolePolicyDocument=json.dumps(trust))
    function = unique("cp-fn")
    aws("lambda").create_function(FunctionName=function, Runtime="python3.11", Role=role["Role"]["Arn"],
                                  Handler="index.handler", Code={"ZipFile": zipped({"index.py": handler})},
                                  Timeout=30)
    src, store = source_bucket(aws)
    name = create(aws, store, [source_stage(src), {"name": "Invoke", "actions": [
        {"name": "Call", "actionTypeId": TYPE["lambda"], "inputArtifacts": [{"name": "SourceOut"}],
         "configuration": {"FunctionName": function, "UserParameters": "hello"}}]}])
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, execution_id, limit=60)["status"] == "Succeeded"
    [call] = [d for d in own_actions(codepipeline, name, execution_id) if d["actionName"] == "Call"]
    assert call["output"]["outputVariables"] == {"echo": "hello"}
    assert call["output"]["executionResult"]["externalExecutionSummary"] == "lambda says hello"

    # A continuation token makes CodePipeline invoke the function again with it, the action still running.
    codepipeline.update_pipeline(pipeline={**codepipeline.get_pipeline(name=name)["pipeline"], "stages": [
        source_stage(src), {"name": "Invoke", "actions": [
            {"name": "Call", "actionTypeId": TYPE["lambda"],
             "configuration": {"FunctionName": function, "UserParameters": "continue"}}]}]})
    continued = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, continued, limit=60)["status"] == "Succeeded"
    [call] = [d for d in own_actions(codepipeline, name, continued) if d["actionName"] == "Call"]
    assert call["output"]["outputVariables"] == {"pass": "second-pass"}

    codepipeline.update_pipeline(pipeline={**codepipeline.get_pipeline(name=name)["pipeline"], "stages": [
        source_stage(src), {"name": "Invoke", "actions": [
            {"name": "Call", "actionTypeId": TYPE["lambda"],
             "configuration": {"FunctionName": function, "UserParameters": "fail"}}]}]})
    failing = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, failing, limit=60)["status"] == "Failed"
    latest = codepipeline.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]
    assert latest["errorDetails"] == {"code": "JobFailed", "message": "asked to fail"}
    with pytest.raises(ClientError) as err:
        codepipeline.put_job_success_result(jobId="11111111-1111-1111-1111-111111111111")
    assert err.value.response["Error"]["Code"] == "JobNotFoundException"


def test_cloudformation_deploy_failure_and_replace_on_failure(aws: Callable[..., Any]) -> None:
    """A stack that rolls back fails the CloudFormation action; CREATE_UPDATE refuses a ROLLBACK_COMPLETE stack;
    REPLACE_ON_FAILURE deletes it and creates it again; DELETE_ONLY deletes it.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/continuous-delivery-codepipeline-action-reference.html
    """
    codepipeline, cfn = aws("codepipeline"), aws("cloudformation")
    # Valid template, but the subscription's topic does not exist: creation fails and the stack rolls back.
    broken = ("Resources:\n  Sub:\n    Type: AWS::SNS::Subscription\n    Properties:\n"
              f"      TopicArn: arn:aws:sns:us-east-1:123456789012:{unique('missing')}\n"
              "      Protocol: email\n      Endpoint: ops@example.com\n")
    src, store = source_bucket(aws)
    stack = unique("cp-stack")

    def deploy_stage(mode: str, template: str) -> dict[str, Any]:
        return {"name": "Deploy", "actions": [{"name": "Stack", "actionTypeId": TYPE["cfn"],
                                               "inputArtifacts": [{"name": "SourceOut"}], "configuration": {
            "ActionMode": mode, "StackName": stack, "TemplatePath": f"SourceOut::{template}",
            "TemplateConfiguration": "SourceOut::config.json"}}]}

    name = create(aws, store, [source_stage(src), deploy_stage("CREATE_UPDATE", "broken.yaml")])
    # Uploaded after the creation run failed in Source: only this test's executions ever deploy the stack.
    put_source(aws, src, {"broken.yaml": broken, "good.yaml": TEMPLATE,
                          "config.json": json.dumps({"Parameters": {"QueueName": unique("cp-q")}})})
    first = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, first)["status"] == "Failed"
    latest = codepipeline.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]
    assert "ROLLBACK_COMPLETE" in latest["errorDetails"]["message"]
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"

    pipeline = codepipeline.get_pipeline(name=name)["pipeline"]
    codepipeline.update_pipeline(pipeline={**pipeline, "stages": [source_stage(src),
                                                                   deploy_stage("CREATE_UPDATE", "good.yaml")]})
    second = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, second)["status"] == "Failed"
    latest = codepipeline.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]
    assert "can not be updated" in latest["errorDetails"]["message"]

    pipeline = codepipeline.get_pipeline(name=name)["pipeline"]
    codepipeline.update_pipeline(pipeline={**pipeline, "stages": [source_stage(src),
                                                                   deploy_stage("REPLACE_ON_FAILURE", "good.yaml")]})
    third = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, third)["status"] == "Succeeded"
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    creation_id = creation_run(codepipeline, name)["pipelineExecutionId"]
    assert [(s["pipelineExecutionId"], s["status"]) for s in codepipeline.list_pipeline_executions(
        pipelineName=name)["pipelineExecutionSummaries"]] == [
        (third, "Succeeded"), (second, "Failed"), (first, "Failed"), (creation_id, "Failed")]

    pipeline = codepipeline.get_pipeline(name=name)["pipeline"]
    codepipeline.update_pipeline(pipeline={**pipeline, "stages": [source_stage(src),
                                                                   deploy_stage("DELETE_ONLY", "good.yaml")]})
    fourth = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, fourth)["status"] == "Succeeded"
    with pytest.raises(ClientError):
        cfn.describe_stacks(StackName=stack)


def test_ecr_source_and_s3_deploy(aws: Callable[..., Any]) -> None:
    """An ECR source hands on imageDetail.json for RepositoryName:ImageTag; an S3 deploy writes the artifact;
    a CodeStarSourceConnection source is recorded (the local cloud cannot clone).

    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-ECR.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-S3Deploy.html
    """
    codepipeline, ecr, s3 = aws("codepipeline"), aws("ecr"), aws("s3")
    repo = unique("cp-repo")
    ecr.create_repository(repositoryName=repo)
    store, target = unique("cp-store"), unique("cp-target")
    s3.create_bucket(Bucket=store)
    s3.create_bucket(Bucket=target)
    name = create(aws, store, [
        {"name": "Source", "actions": [
            {"name": "Image", "outputArtifacts": [{"name": "ImageOut"}],
             "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "ECR", "version": "1"},
             "configuration": {"RepositoryName": repo, "ImageTag": "v1"}},
            {"name": "Repo", "outputArtifacts": [{"name": "RepoOut"}],
             "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection",
                              "version": "1"},
             "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x",
                               "FullRepositoryId": "acme/app", "BranchName": "main"}}]},
        {"name": "Publish", "actions": [{"name": "Copy", "inputArtifacts": [{"name": "ImageOut"}],
                                         "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3",
                                                          "version": "1"},
                                         "configuration": {"BucketName": target, "Extract": "true",
                                                           "ObjectKey": "release"}}]},
    ])  # the image is not pushed yet: the creation run fails in Source
    digest = push_image(ecr, repo, "v1", "release 1")
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    execution = wait_execution(codepipeline, name, execution_id)
    assert execution["status"] == "Succeeded"
    revisions = {r["name"]: r["revisionId"] for r in execution["artifactRevisions"]}
    assert revisions == {"ImageOut": digest, "RepoOut": "acme/app@main"}
    # A repository source cannot be cloned locally: recorded, with an empty artifact, and said so.
    repo_state = codepipeline.get_pipeline_state(name=name)["stageStates"][0]["actionStates"][1]["latestExecution"]
    assert repo_state["status"] == "Succeeded" and "recorded only" in repo_state["summary"]
    detail = json.loads(s3.get_object(Bucket=target, Key="release/imageDetail.json")["Body"].read())
    assert detail["RepositoryName"] == repo and detail["ImageDigest"] == digest and detail["ImageTags"] == ["v1"]
    assert detail["ImageURI"].endswith(f".dkr.ecr.us-east-1.amazonaws.com/{repo}@{digest}")


def test_variables_flow_between_actions(aws: Callable[..., Any]) -> None:
    """Action namespaces expose output variables (S3 source VersionId, CodeBuild exported-variables) that later
    actions reference as #{namespace.variable}, with #{codepipeline.PipelineExecutionId} and pipeline variables.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html
    https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#exported-variables-build-spec
    """
    codepipeline, codebuild, logs = aws("codepipeline"), aws("codebuild"), aws("logs")
    src, store = source_bucket(aws)
    spec = ("version: 0.2\nenv:\n  exported-variables:\n    - IMAGE_TAG\nphases:\n  build:\n    commands:\n"
            "      - export IMAGE_TAG=tag-$SOURCE_VERSION_LEN\n")
    producer = unique("cp-build")
    codebuild.create_project(name=producer, source={"type": "CODEPIPELINE", "buildspec": spec},
                             artifacts={"type": "CODEPIPELINE"}, environment=ENVIRONMENT, serviceRole=ROLE)
    consumer = build_project(aws, ["echo got $TAG $EXEC $STAGE_NAME $OBJ"])
    stages = [
        {**source_stage(src), "actions": [{**source_stage(src)["actions"][0], "namespace": "SourceVariables"}]},
        {"name": "Produce", "actions": [{
            "name": "Make", "actionTypeId": TYPE["build"], "namespace": "BuildVariables",
            "inputArtifacts": [{"name": "SourceOut"}],
            "configuration": {"ProjectName": producer, "EnvironmentVariables": json.dumps(
                [{"name": "SOURCE_VERSION_LEN", "value": "fixed", "type": "PLAINTEXT"}])}}]},
        {"name": "Consume", "actions": [{
            "name": "Use", "actionTypeId": TYPE["build"], "inputArtifacts": [{"name": "SourceOut"}],
            "configuration": {"ProjectName": consumer, "EnvironmentVariables": json.dumps([
                {"name": "TAG", "value": "#{BuildVariables.IMAGE_TAG}"},
                {"name": "EXEC", "value": "#{codepipeline.PipelineExecutionId}"},
                {"name": "STAGE_NAME", "value": "#{variables.Stage}"},
                {"name": "OBJ", "value": "#{SourceVariables.ObjectKey}"}])}}]},
    ]
    name = create(aws, store, stages, pipelineType="V2", variables=[{"name": "Stage", "defaultValue": "beta"}])
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(
        name=name, variables=[{"name": "Stage", "value": "prod"}])["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"
    details = own_actions(codepipeline, name, execution_id)
    make = next(d for d in details if d["actionName"] == "Make")
    assert make["output"]["outputVariables"] == {"IMAGE_TAG": "tag-fixed"}
    assert make["input"]["namespace"] == "BuildVariables"
    use = next(d for d in details if d["actionName"] == "Use")
    resolved = json.loads(use["input"]["resolvedConfiguration"]["EnvironmentVariables"])
    assert resolved[0]["value"] == "tag-fixed" and resolved[1]["value"] == execution_id
    assert "#{BuildVariables.IMAGE_TAG}" in use["input"]["configuration"]["EnvironmentVariables"]
    build = codebuild.batch_get_builds(ids=[use["output"]["executionResult"]["externalExecutionId"]])["builds"][0]
    lines = [e["message"] for e in logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                                       logStreamName=build["logs"]["streamName"])["events"]]
    assert f"got tag-fixed {execution_id} prod source.zip" in lines
    made = codebuild.batch_get_builds(ids=[make["output"]["executionResult"]["externalExecutionId"]])["builds"][0]
    assert made["exportedEnvironmentVariables"] == [{"name": "IMAGE_TAG", "value": "tag-fixed"}]

    pipeline = codepipeline.get_pipeline(name=name)["pipeline"]
    broken = json.loads(json.dumps(pipeline["stages"]))
    broken[2]["actions"][0]["configuration"]["EnvironmentVariables"] = json.dumps(
        [{"name": "TAG", "value": "#{Nope.Missing}"}])
    codepipeline.update_pipeline(pipeline={**pipeline, "stages": broken})
    failing = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, failing)["status"] == "Failed"
    latest = codepipeline.get_pipeline_state(name=name)["stageStates"][2]["actionStates"][0]["latestExecution"]
    assert latest["errorDetails"]["code"] == "ConfigurationError" and "#{Nope.Missing}" in latest["errorDetails"][
        "message"]


def test_superseded_mode_one_execution_per_stage(aws: Callable[..., Any]) -> None:
    """In SUPERSEDED mode a stage runs one execution at a time; a newer execution waiting to enter it
    supersedes an older waiting one, which ends Superseded. The run CreatePipeline started is one of them: here
    it still holds the Gate when the test starts its own executions, which queue behind it.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-about-starting.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
    """
    codepipeline = aws("codepipeline")
    src, store = source_bucket(aws, {"x.txt": "x"})  # present at creation: the creation run gets to the Gate
    name = create(aws, store, [source_stage(src), {"name": "Gate", "actions": [
        {"name": "Approve", "actionTypeId": TYPE["manual"]}]}], settle=False)
    first = creation_run(codepipeline, name)["pipelineExecutionId"]
    tap = Tap(aws, {"source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
                    "detail": {"pipeline": [name]}})
    try:
        waiting = wait_action(codepipeline, name, "Gate", "Approve", "InProgress")
        token = waiting["token"]
        assert waiting["actionExecutionId"] in [d["actionExecutionId"] for d in own_actions(codepipeline, name, first)]

        def inbound() -> str | None:
            gate = codepipeline.get_pipeline_state(name=name)["stageStates"][1]
            return gate.get("inboundExecution", {}).get("pipelineExecutionId")

        def wait_inbound(execution_id: str) -> None:
            deadline = time.monotonic() + 20
            while inbound() != execution_id:
                assert time.monotonic() < deadline, f"{execution_id} never waited at Gate"
                time.sleep(0.05)

        second = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
        wait_inbound(second)
        third = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
        wait_inbound(third)
        assert wait_execution(codepipeline, name, second)["status"] == "Superseded"
        codepipeline.put_approval_result(pipelineName=name, stageName="Gate", actionName="Approve",
                                         result={"summary": "first", "status": "Approved"}, token=token)
        assert wait_execution(codepipeline, name, first)["status"] == "Succeeded"
        deadline = time.monotonic() + 20
        while (latest := wait_action(codepipeline, name, "Gate", "Approve", "InProgress"))["token"] == token:
            assert time.monotonic() < deadline
        codepipeline.put_approval_result(pipelineName=name, stageName="Gate", actionName="Approve",
                                         result={"summary": "third", "status": "Approved"}, token=latest["token"])
        assert wait_execution(codepipeline, name, third)["status"] == "Succeeded"
        seen = tap.wait_for(lambda s: ("SUPERSEDED", second) in [(e["detail"]["state"], e["detail"]["execution-id"])
                                                                  for e in s])
    finally:
        tap.close()
    statuses = {s["pipelineExecutionId"]: (s["status"], s["trigger"]["triggerType"])
                for s in codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]}
    assert statuses == {first: ("Succeeded", "CreatePipeline"), second: ("Superseded", "StartPipelineExecution"),
                        third: ("Succeeded", "StartPipelineExecution")}
    assert ("STARTED", second) in [(e["detail"]["state"], e["detail"]["execution-id"]) for e in seen]


def test_disabled_transition_holds_executions_until_enabled(aws: Callable[..., Any]) -> None:
    """DisableStageTransition holds executions before the stage (shown in inboundTransitionState and
    inboundExecution); EnableStageTransition lets them run it.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_DisableStageTransition.html
    """
    codepipeline, s3 = aws("codepipeline"), aws("s3")
    src, store = source_bucket(aws)
    target = unique("cp-target")
    s3.create_bucket(Bucket=target)
    name = create(aws, store, [source_stage(src), {"name": "Publish", "actions": [
        {"name": "Copy", "inputArtifacts": [{"name": "SourceOut"}],
         "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
         "configuration": {"BucketName": target, "Extract": "false", "ObjectKey": "release.zip"}}]}])
    codepipeline.disable_stage_transition(pipelineName=name, stageName="Publish", transitionType="Inbound",
                                          reason="change freeze")
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    deadline = time.monotonic() + 20
    while (stage := codepipeline.get_pipeline_state(name=name)["stageStates"][1]).get("inboundExecution") is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert stage["inboundExecution"]["pipelineExecutionId"] == execution_id
    assert stage["inboundTransitionState"]["enabled"] is False
    assert stage["inboundTransitionState"]["disabledReason"] == "change freeze"
    assert "latestExecution" not in stage
    assert not s3.list_objects_v2(Bucket=target).get("Contents")
    codepipeline.enable_stage_transition(pipelineName=name, stageName="Publish", transitionType="Inbound")
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"
    assert s3.get_object(Bucket=target, Key="release.zip")["Body"].read()[:2] == b"PK"
    assert codepipeline.get_pipeline_state(name=name)["stageStates"][1]["inboundTransitionState"]["enabled"] is True
    with pytest.raises(ClientError) as err:
        codepipeline.disable_stage_transition(pipelineName=name, stageName="Nope", transitionType="Inbound",
                                              reason="x")
    assert err.value.response["Error"]["Code"] == "StageNotFoundException"


def test_stop_and_wait_lets_the_running_build_finish(aws: Callable[..., Any]) -> None:
    """StopPipelineExecution without abandon: Stopping while the in-progress action finishes, then Stopped;
    later stages never run.

    https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-stop.html
    """
    codepipeline = aws("codepipeline")
    src, store = source_bucket(aws)
    project = build_project(aws, ["sleep 2", "echo slept"])
    name = create(aws, store, [
        source_stage(src),
        {"name": "Build", "actions": [{"name": "Slow", "actionTypeId": TYPE["build"], "configuration": {
            "ProjectName": project}, "inputArtifacts": [{"name": "SourceOut"}]}]},
        {"name": "After", "actions": [{"name": "Never", "actionTypeId": TYPE["manual"]}]},
    ])
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    slow = wait_action(codepipeline, name, "Build", "Slow", "InProgress")
    assert slow["actionExecutionId"] in [d["actionExecutionId"] for d in own_actions(codepipeline, name, execution_id)]
    codepipeline.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id, reason="wait")
    assert codepipeline.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
        "pipelineExecution"]["status"] == "Stopping"
    with pytest.raises(ClientError) as err:
        codepipeline.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert err.value.response["Error"]["Code"] == "DuplicatedStopRequestException"
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Stopped"
    state = codepipeline.get_pipeline_state(name=name)["stageStates"]
    assert state[1]["actionStates"][0]["latestExecution"]["status"] == "Succeeded"
    assert state[1]["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "Stopped",
                                           "type": "STANDARD"}
    assert "latestExecution" not in state[2]


def test_retry_failed_stage_reruns_only_failed_actions(aws: Callable[..., Any]) -> None:
    """RetryStageExecution (FAILED_ACTIONS) resumes a Failed execution at its failed stage, re-running only the
    failed action, and the execution goes on to succeed; RESUMED events mark it.

    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_RetryStageExecution.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-retry.html
    """
    codepipeline, codebuild = aws("codepipeline"), aws("codebuild")
    src, store = source_bucket(aws)
    steady = build_project(aws, ["echo steady"])
    flaky = build_project(aws, ['test "$READY" = yes'])
    name = create(aws, store, [source_stage(src), {"name": "Build", "actions": [
        {"name": "Steady", "actionTypeId": TYPE["build"], "configuration": {"ProjectName": steady},
         "inputArtifacts": [{"name": "SourceOut"}]},
        {"name": "Flaky", "actionTypeId": TYPE["build"], "configuration": {"ProjectName": flaky},
         "inputArtifacts": [{"name": "SourceOut"}]}]}])
    put_source(aws, src, {"x.txt": "x"})
    tap = Tap(aws, {"source": ["aws.codepipeline"], "detail": {"pipeline": [name], "state": ["RESUMED"]}})
    try:
        execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
        assert wait_execution(codepipeline, name, execution_id)["status"] == "Failed"
        with pytest.raises(ClientError) as err:
            codepipeline.retry_stage_execution(pipelineName=name, stageName="Source", retryMode="FAILED_ACTIONS",
                                               pipelineExecutionId=execution_id)
        assert err.value.response["Error"]["Code"] == "StageNotRetryableException"
        codebuild.update_project(name=flaky, environment=dict(
            ENVIRONMENT, environmentVariables=[{"name": "READY", "value": "yes"}]))
        retried = codepipeline.retry_stage_execution(pipelineName=name, stageName="Build",
                                                     pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS")
        assert retried["pipelineExecutionId"] == execution_id
        assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"
        seen = of_execution(tap.wait_for(lambda s: len(of_execution(s, execution_id)) >= 2), execution_id)
    finally:
        tap.close()
    assert sorted(summary(e) for e in seen) == [("Pipeline", "RESUMED"), ("Stage", "Build", "RESUMED")]
    runs = [(d["actionName"], d["status"]) for d in own_actions(codepipeline, name, execution_id)]
    assert sorted(runs) == sorted([("Flaky", "Succeeded"), ("Flaky", "Failed"), ("Steady", "Succeeded"),
                                   ("Fetch", "Succeeded")])


@pytest.mark.parametrize("machine_type", ["STANDARD", "EXPRESS"])
def test_stepfunctions_invoke_action(aws: Callable[..., Any], machine_type: str) -> None:
    """Invoke/StepFunctions starts the state machine (execution name = prefix-actionExecutionId) with the
    Literal input, succeeds with the output in output.json, and exposes StateMachineArn/ExecutionArn; Standard and
    Express machines alike ("Supports Standard and Express state machines").

    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-StepFunctions.html
    """
    codepipeline, sfn, s3 = aws("codepipeline"), aws("stepfunctions"), aws("s3")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "states.amazonaws.com"}}]}
    role = aws("iam").create_role(RoleName=unique("cp-sfn"), AssumeRolePolicyDocument=json.dumps(trust))
    definition = {"StartAt": "Shape", "States": {"Shape": {"Type": "Pass", "Parameters": {"seen.$": "$.release"},
                                                           "End": True}}}
    machine = sfn.create_state_machine(name=unique("cp-sm"), definition=json.dumps(definition),
                                       roleArn=role["Role"]["Arn"], type=machine_type)["stateMachineArn"]
    src, store = source_bucket(aws)
    name = create(aws, store, [source_stage(src), {"name": "Orchestrate", "actions": [
        {"name": "Run", "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "StepFunctions",
                                         "version": "1"}, "namespace": "SfnVars",
         "outputArtifacts": [{"name": "SfnOut"}],
         "configuration": {"StateMachineArn": machine, "ExecutionNamePrefix": "deploy",
                           "InputType": "Literal", "Input": json.dumps({"release": "r-42"})}}]}])
    put_source(aws, src, {"x.txt": "x"})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"
    [run] = [d for d in own_actions(codepipeline, name, execution_id) if d["actionName"] == "Run"]
    execution_arn = run["output"]["outputVariables"]["ExecutionArn"]
    assert run["output"]["outputVariables"]["StateMachineArn"] == machine
    if machine_type == "STANDARD":
        assert execution_arn.endswith(f":deploy-{run['actionExecutionId']}")
        assert sfn.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED"
    else:  # arn:...:express:<machine>:<name>:<id>; Express executions cannot be described
        assert execution_arn.split(":")[5] == "express" and f":deploy-{run['actionExecutionId']}:" in execution_arn
    out = run["output"]["outputArtifacts"][0]["s3location"]
    body = s3.get_object(Bucket=out["bucket"], Key=out["key"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert json.loads(archive.read("output.json")) == {"seen": "r-42"}


def test_cloudformation_change_set_replace_then_execute(aws: Callable[..., Any]) -> None:
    """CHANGE_SET_REPLACE creates the change set without touching resources; CHANGE_SET_EXECUTE (next runOrder)
    executes it and the stack is created.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/continuous-delivery-codepipeline-action-reference.html
    """
    codepipeline, cfn, sqs = aws("codepipeline"), aws("cloudformation"), aws("sqs")
    queue = unique("cp-cs-q")
    src, store = source_bucket(aws)
    stack = unique("cp-cs")
    common = {"StackName": stack, "ChangeSetName": "release"}
    name = create(aws, store, [source_stage(src), {"name": "Deploy", "actions": [
        {"name": "Plan", "actionTypeId": TYPE["cfn"], "runOrder": 1, "inputArtifacts": [{"name": "SourceOut"}],
         "configuration": {**common, "ActionMode": "CHANGE_SET_REPLACE", "TemplatePath": "SourceOut::template.yaml",
                           "ParameterOverrides": json.dumps({"QueueName": queue})}},
        {"name": "Apply", "actionTypeId": TYPE["cfn"], "runOrder": 2,
         "configuration": {**common, "ActionMode": "CHANGE_SET_EXECUTE"}}]}])
    put_source(aws, src, {"template.yaml": TEMPLATE})
    execution_id = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert wait_execution(codepipeline, name, execution_id)["status"] == "Succeeded"
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert sqs.list_queues(QueueNamePrefix=queue).get("QueueUrls")
    [plan] = [d for d in own_actions(codepipeline, name, execution_id) if d["actionName"] == "Plan"]
    assert "release" in plan["output"]["executionResult"]["externalExecutionSummary"]
