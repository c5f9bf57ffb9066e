"""End-to-end conformance of the deployment chain, driven through plain boto3 only:

ECR push (layer upload API + PutImage) → default-bus rule (aws.ecr, ECR Image Action, PUSH) → Lambda (async, from
EventBridge) → Step Functions Standard execution → CodeBuild build (``codebuild:startBuild.sync``) → CodePipeline
execution (``aws-sdk:codepipeline:startPipelineExecution`` then a Wait/``getPipelineExecution`` poll loop) → S3
source + CloudFormation deploy → success; every service's state-change events observed on one SQS tap.

Which timestamps are meaningful, and how they are checked:

* The event's own ``time`` is when the event occurred (EventBridge envelope,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html), so it is the one that follows
  causality -- but AWS gives it whole seconds only, so along the causal chain it can only be non-decreasing (``<=``).
* The SQS ``SentTimestamp`` (ms, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html)
  is when the tap queue accepted the delivery. EventBridge delivers every target independently, at least once and
  in no promised order (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html), so the
  order of SentTimestamps across events means nothing; per event it must not precede the event's ``time``.
* Strict (``<``) causal order at millisecond resolution comes from the services' own records: the execution's
  startDate/stopDate, the build's startTime/endTime and the pipeline execution's startTime/lastUpdateTime.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventdeploy.observe import wait_execution
from tests.localcloud.test_codepipeline import zipped

ACCOUNT = "123456789012"
REGION = "us-east-1"
CHAIN_LIMIT_S = 40.0
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
TAP_SOURCES = ["aws.ecr", "aws.states", "aws.codebuild", "aws.codepipeline"]

TEMPLATE = textwrap.dedent("""\
    Parameters:
      MarkerName:
        Type: String
    Resources:
      Marker:
        Type: AWS::SSM::Parameter
        Properties:
          Name: !Ref MarkerName
          Type: String
          Value: deployed
    """)

# The function EventBridge invokes (asynchronously) for each push: one execution per image digest. Lambda retries
# async invocations and EventBridge delivers at least once, so the execution name is derived from the digest:
# a repeated delivery finds the execution already there instead of deploying the image twice.
HANDLER = textwrap.dedent("""\
    import json
    import os

    import boto3

    sfn = boto3.client("stepfunctions")


    def handler(event, context):
        detail = event["detail"]
        digest = detail["image-digest"]
        name = "image-" + digest.split(":", 1)[1][:40]
        payload = {"trigger": {"event-id": event["id"], "time": event["time"]},
                   "image": {"repository": detail["repository-name"], "tag": detail.get("image-tag"),
                             "digest": digest}}
        try:
            started = sfn.start_execution(stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=name,
                                          input=json.dumps(payload))
        except sfn.exceptions.ExecutionAlreadyExists:
            print(f"duplicate delivery of {digest}: execution {name} exists")
            return {"duplicate": name}
        print(f"started {started['executionArn']} for {digest}")
        return {"executionArn": started["executionArn"]}
    """)


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def service_role(aws: Callable[..., Any], service: str, actions: list[str]) -> str:
    """A role that ``service`` (e.g. states.amazonaws.com) may assume, allowed ``actions``; returns its ARN."""
    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    name = unique(service.split(".")[0])
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="chain", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return arn


def sha256(data: bytes) -> str:
    """The ``sha256:<hex>`` digest registries name blobs by."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- ECR push, the way a registry client does it ------------------------------------------------------------------


def upload_blob(ecr: Any, repository: str, blob: bytes) -> str:
    """Upload ``blob`` with InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload; return its digest.

    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_InitiateLayerUpload.html,
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UploadLayerPart.html,
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CompleteLayerUpload.html
    """
    digest = sha256(blob)
    upload = ecr.initiate_layer_upload(repositoryName=repository)
    # Layer parts below 5 MiB are refused except the last one: a small blob goes up as one part.
    assert len(blob) <= upload["partSize"], upload
    part = ecr.upload_layer_part(repositoryName=repository, uploadId=upload["uploadId"], partFirstByte=0,
                                 partLastByte=len(blob) - 1, layerPartBlob=blob)
    assert part["lastByteReceived"] == len(blob) - 1, part
    done = ecr.complete_layer_upload(repositoryName=repository, uploadId=upload["uploadId"], layerDigests=[digest])
    assert done["layerDigest"] == digest, done
    return digest


def push_image(ecr: Any, repository: str, tag: str) -> tuple[str, str]:
    """Push a one-layer image (layer and config blobs, then a Docker v2 manifest); return (digest, manifest).

    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html
    """
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = f"built for {repository}:{tag} {uuid.uuid4()}\n".encode()
        info = tarfile.TarInfo("app/version.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(tar_bytes.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["cat", "/app/version.txt"]},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes.getvalue())]}}).encode()
    layer_digest, config_digest = upload_blob(ecr, repository, layer), upload_blob(ecr, repository, config)
    available = ecr.batch_check_layer_availability(repositoryName=repository,
                                                   layerDigests=[layer_digest, config_digest])
    assert not available["failures"], available
    assert {x["layerDigest"]: x["layerAvailability"] for x in available["layers"]} == {
        layer_digest: "AVAILABLE", config_digest: "AVAILABLE"}
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": LAYER_TYPE, "size": len(layer), "digest": layer_digest}]})
    image = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageManifestMediaType=MANIFEST_TYPE,
                          imageTag=tag)["image"]
    assert image["imageId"]["imageTag"] == tag and image["imageManifest"] == manifest, image
    return image["imageId"]["imageDigest"], manifest


# --- the tap: every state change of the four services, with SQS's SentTimestamp -----------------------------------


@dataclass
class Seen:
    """One event received on the tap, with the time SQS accepted it (ms since the epoch)."""

    event: dict[str, Any]
    sent_ms: int


def event_time(event: dict[str, Any]) -> datetime:
    """The event's ``time`` (whole seconds, UTC)."""
    return datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Tap:
    """An SQS queue fed by a default-bus rule matching ``sources``, with the queue policy EventBridge needs.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
    """

    def __init__(self, aws: Callable[..., Any], sources: list[str]) -> None:
        self.sqs, self.events = aws("sqs"), aws("events")
        self.name = unique("chain-tap")
        self.url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.url,
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule_arn = self.events.put_rule(Name=self.name, EventPattern=json.dumps({"source": sources}))["RuleArn"]
        self.sqs.set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
        self.events.put_targets(Rule=self.name, Targets=[{"Id": "tap", "Arn": queue_arn}])
        self.seen: list[Seen] = []

    def wait_for(self, predicate: Callable[[list[Seen]], bool], what: str,
                 limit: float = CHAIN_LIMIT_S) -> list[Seen]:
        """Receive until ``predicate(everything so far)`` holds; fail naming ``what`` after ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while not predicate(self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"tap {self.name}: {what} not seen in {limit}s; saw "
                                     f"{[(s.event['detail-type'], s.event['detail']) for s in self.seen]}")
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageSystemAttributeNames=["SentTimestamp"])
            for message in got.get("Messages", []):
                self.seen.append(Seen(json.loads(message["Body"]), int(message["Attributes"]["SentTimestamp"])))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen

    def close(self) -> None:
        """Remove the rule and the queue."""
        self.events.remove_targets(Rule=self.name, Ids=["tap"])
        self.events.delete_rule(Name=self.name)
        self.sqs.delete_queue(QueueUrl=self.url)


# --- the chain's resources -----------------------------------------------------------------------------------------


@dataclass
class Chain:
    """Every resource of one chain, named uniquely."""

    repository: str
    project: str
    pipeline: str
    stack: str
    marker: str
    machine_arn: str
    function_name: str
    trigger_rule: str
    cleanup: list[Callable[[], Any]] = field(default_factory=list)

    def close(self) -> None:
        """Remove the trigger rule, so later pushes elsewhere never reach this chain."""
        for undo in reversed(self.cleanup):
            undo()


def state_machine(pipeline: str, project: str) -> dict[str, Any]:
    """Build the image (.sync), start the pipeline (aws-sdk, PascalCase), poll it until Succeeded."""
    status = "$.pipeline.Poll.Status"
    return {
        "Comment": "Build the pushed image, then deploy it through the pipeline",
        "StartAt": "Build",
        "States": {
            "Build": {
                "Type": "Task", "Resource": "arn:aws:states:::codebuild:startBuild.sync",
                "Parameters": {"ProjectName": project, "EnvironmentVariablesOverride": [
                    {"Name": "IMAGE_DIGEST", "Value.$": "$.image.digest", "Type": "PLAINTEXT"}]},
                "ResultSelector": {"Arn.$": "$.Build.Arn", "Id.$": "$.Build.Id", "Status.$": "$.Build.BuildStatus"},
                "ResultPath": "$.build",
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "BuildFailed"}],
                "Next": "StartPipeline"},
            "StartPipeline": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:codepipeline:startPipelineExecution",
                "Parameters": {"Name": pipeline},
                "ResultSelector": {"Id.$": "$.PipelineExecutionId"}, "ResultPath": "$.pipeline",
                "Next": "WaitForPipeline"},
            "WaitForPipeline": {"Type": "Wait", "Seconds": 5, "Next": "GetPipelineExecution"},
            "GetPipelineExecution": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:codepipeline:getPipelineExecution",
                "Parameters": {"PipelineName": pipeline, "PipelineExecutionId.$": "$.pipeline.Id"},
                "ResultSelector": {"Status.$": "$.PipelineExecution.Status"}, "ResultPath": "$.pipeline.Poll",
                "Next": "PipelineDone"},
            "PipelineDone": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": status, "StringEquals": "Succeeded", "Next": "Deployed"},
                    {"Or": [{"Variable": status, "StringEquals": "InProgress"},
                            {"Variable": status, "StringEquals": "Stopping"}], "Next": "WaitForPipeline"}],
                "Default": "PipelineFailed"},
            "Deployed": {"Type": "Succeed"},
            "PipelineFailed": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "the pipeline did not succeed"},
            "BuildFailed": {"Type": "Fail", "Error": "BuildFailed", "Cause": "the image's build failed"},
        },
    }


def make_chain(aws: Callable[..., Any], build_commands: list[str]) -> Chain:
    """Repository, build project, pipeline, state machine, function and trigger rule for one chain."""
    ecr, s3, lam, events = aws("ecr"), aws("s3"), aws("lambda"), aws("events")
    repository, project, pipeline = unique("chain-app"), unique("chain-build"), unique("chain-pipe")
    stack, marker = unique("chain-stack"), f"/{unique('chain')}/deployed"
    ecr.create_repository(repositoryName=repository)

    buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(
        f"      - {command}\n" for command in build_commands)
    aws("codebuild").create_project(
        name=project, source={"type": "NO_SOURCE", "buildspec": buildspec}, artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=service_role(aws, "codebuild.amazonaws.com", ["logs:*", "ecr:*"]))

    source, store = unique("chain-src"), unique("chain-store")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=store)
    s3.put_object(Bucket=source, Key="deploy.zip", Body=zipped({"template.yaml": TEMPLATE}))
    cfn_role = service_role(aws, "cloudformation.amazonaws.com", ["ssm:*"])
    aws("codepipeline").create_pipeline(pipeline={
        "name": pipeline, "roleArn": service_role(aws, "codepipeline.amazonaws.com",
                                                  ["s3:*", "cloudformation:*", "iam:PassRole"]),
        "artifactStore": {"type": "S3", "location": store},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                                                  "version": "1"},
                "outputArtifacts": [{"name": "SourceOut"}],
                "configuration": {"S3Bucket": source, "S3ObjectKey": "deploy.zip",
                                  "PollForSourceChanges": "false"}}]},
            {"name": "Deploy", "actions": [{
                "name": "Stack", "actionTypeId": {"category": "Deploy", "owner": "AWS",
                                                  "provider": "CloudFormation", "version": "1"},
                "inputArtifacts": [{"name": "SourceOut"}],
                "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": stack, "RoleArn": cfn_role,
                                  "TemplatePath": "SourceOut::template.yaml",
                                  "ParameterOverrides": json.dumps({"MarkerName": marker})}}]},
        ]})

    machine_arn = aws("stepfunctions").create_state_machine(
        name=unique("chain-deploy"), type="STANDARD", definition=json.dumps(state_machine(pipeline, project)),
        roleArn=service_role(aws, "states.amazonaws.com", [
            "codebuild:StartBuild", "codebuild:StopBuild", "codebuild:BatchGetBuilds",
            "events:PutTargets", "events:PutRule", "events:DescribeRule",
            "codepipeline:StartPipelineExecution", "codepipeline:GetPipelineExecution"]))["stateMachineArn"]

    function_name = unique("chain-trigger")
    function_arn = lam.create_function(
        FunctionName=function_name, Runtime="python3.12", Handler="index.handler", Timeout=30,
        Role=service_role(aws, "lambda.amazonaws.com", ["states:StartExecution", "logs:*"]),
        Code={"ZipFile": zipped({"index.py": HANDLER})},
        Environment={"Variables": {"STATE_MACHINE_ARN": machine_arn}})["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=function_name,
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    trigger_rule = unique("chain-on-push")
    rule_arn = events.put_rule(Name=trigger_rule, EventPattern=json.dumps({
        "source": ["aws.ecr"], "detail-type": ["ECR Image Action"],
        "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"], "repository-name": [repository]}}))["RuleArn"]
    lam.add_permission(FunctionName=function_name, StatementId="eventbridge", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule=trigger_rule, Targets=[{"Id": "deployer", "Arn": function_arn}])
    chain = Chain(repository, project, pipeline, stack, marker, machine_arn, function_name, trigger_rule)
    chain.cleanup.append(lambda: events.delete_rule(Name=trigger_rule))
    chain.cleanup.append(lambda: events.remove_targets(Rule=trigger_rule, Ids=["deployer"]))
    return chain


# --- waiting and reading the run -------------------------------------------------------------------------------------


def wait_execution_started(sfn: Any, machine_arn: str, limit: float = CHAIN_LIMIT_S) -> str:
    """The ARN of the machine's one execution, once the Lambda has started it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        executions = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
        if executions:
            assert len(executions) == 1, executions
            return str(executions[0]["executionArn"])
        time.sleep(0.05)
    raise AssertionError(f"no execution of {machine_arn} within {limit}s: the push did not reach the state machine")


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of the execution, oldest first."""
    return list(sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"])


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """Names of the states the execution entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def label(event: dict[str, Any], digest: str, execution_arn: str, build_arn: str | None,
          pipeline_execution: str | None) -> str | None:
    """``service:status`` if ``event`` belongs to THIS run, else None (the server is shared with other tests)."""
    detail, kind = event["detail"], event["detail-type"]
    if kind == "ECR Image Action" and detail.get("image-digest") == digest:
        return f"ecr:{detail['action-type']}"
    if kind == "Step Functions Execution Status Change" and detail.get("executionArn") == execution_arn:
        return f"states:{detail['status']}"
    if kind == "CodeBuild Build State Change" and build_arn and detail.get("build-id") == build_arn:
        return f"codebuild:{detail['build-status']}"
    if kind == "CodePipeline Pipeline Execution State Change" and pipeline_execution \
            and detail.get("execution-id") == pipeline_execution:
        return f"codepipeline:{detail['state']}"
    return None


def run_events(seen: list[Seen], *ids: Any) -> dict[str, list[Seen]]:
    """This run's tap events by label (at-least-once delivery: a label may repeat)."""
    out: dict[str, list[Seen]] = {}
    for item in seen:
        key = label(item.event, *ids)
        if key:
            out.setdefault(key, []).append(item)
    return out


def check_causal_order(by_label: dict[str, list[Seen]], order: list[str]) -> None:
    """Event ``time`` never goes back along the chain; each delivery (SentTimestamp) follows its event's ``time``."""
    times = [event_time(by_label[key][0].event) for key in order]
    assert times == sorted(times), list(zip(order, times, strict=True))
    for key in order:
        for item in by_label[key]:
            assert item.sent_ms >= event_time(item.event).timestamp() * 1000, (key, item.sent_ms, item.event["time"])


def push_and_follow(aws: Callable[..., Any], chain: Chain, tap: Tap) -> tuple[str, str, dict[str, Any]]:
    """Push an image to the chain's repository; return (digest, execution ARN, final DescribeExecution)."""
    sfn = aws("stepfunctions")
    digest, _manifest = push_image(aws("ecr"), chain.repository, "v1")
    execution_arn = wait_execution_started(sfn, chain.machine_arn)
    done = wait_execution(sfn, execution_arn, timeout_s=CHAIN_LIMIT_S)
    # The Lambda handed over the event EventBridge delivered to it: the same event (same id) the tap received.
    started = json.loads(done["input"])
    assert started["image"] == {"repository": chain.repository, "tag": "v1", "digest": digest}, started
    pushed = tap.wait_for(lambda s: any(label(x.event, digest, execution_arn, None, None) == "ecr:PUSH" for x in s),
                          "ECR Image Action PUSH")
    ecr_event = next(x.event for x in pushed if label(x.event, digest, execution_arn, None, None) == "ecr:PUSH")
    assert started["trigger"]["event-id"] == ecr_event["id"], (started, ecr_event)
    assert ecr_event["detail"] == {"result": "SUCCESS", "repository-name": chain.repository, "image-digest": digest,
                                   "action-type": "PUSH", "image-tag": "v1"}, ecr_event
    assert done["name"] == "image-" + digest.split(":", 1)[1][:40], done["name"]
    return digest, execution_arn, done


# --- the tests -----------------------------------------------------------------------------------------------------


def test_image_push_runs_build_and_pipeline_to_success_with_ordered_events(aws: Callable[..., Any]) -> None:
    """Push → rule → Lambda → state machine → build → pipeline → success; every state change on the tap, in order.

    Follows:
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html (ECR Image Action, PUSH),
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html (and the layer-upload APIs),
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html (Lambda and SQS targets),
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html (target permissions),
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html (EventBridge invokes asynchronously, retries:
    hence the idempotent execution name),
    https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html (startBuild.sync),
    https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html (aws-sdk:codepipeline with
    PascalCase parameters and results),
    https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html (Execution Status Change),
    https://docs.aws.amazon.com/codebuild/latest/userguide/sample-build-notifications.html (Build State Change),
    https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
    (Pipeline Execution State Change),
    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html (CREATE_UPDATE).
    """
    sfn, codebuild, codepipeline = aws("stepfunctions"), aws("codebuild"), aws("codepipeline")
    tap = Tap(aws, TAP_SOURCES)
    chain = make_chain(aws, ['echo "building $IMAGE_DIGEST"'])
    try:
        digest, execution_arn, done = push_and_follow(aws, chain, tap)
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        build_arn, build_id = output["build"]["Arn"], output["build"]["Id"]
        pipeline_execution = output["pipeline"]["Id"]
        assert output["build"]["Status"] == "SUCCEEDED" and output["pipeline"]["Poll"]["Status"] == "Succeeded"

        ids = (digest, execution_arn, build_arn, pipeline_execution)
        wanted = {"ecr:PUSH", "states:RUNNING", "states:SUCCEEDED", "codebuild:IN_PROGRESS", "codebuild:SUCCEEDED",
                  "codepipeline:STARTED", "codepipeline:SUCCEEDED"}
        seen = tap.wait_for(lambda s: wanted <= set(run_events(s, *ids)), f"{sorted(wanted)}")
    finally:
        chain.close()
        tap.close()
    by_label = run_events(seen, *ids)
    # Exactly these state changes: no FAILED/STOPPED/SUPERSEDED slipped in.
    assert set(by_label) == wanted, sorted(by_label)
    check_causal_order(by_label, ["ecr:PUSH", "states:RUNNING", "codebuild:IN_PROGRESS", "codebuild:SUCCEEDED",
                                  "codepipeline:STARTED", "codepipeline:SUCCEEDED", "states:SUCCEEDED"])

    build_event = by_label["codebuild:SUCCEEDED"][0].event
    assert build_event["source"] == "aws.codebuild" and build_event["resources"] == [build_arn]
    assert build_event["detail"]["project-name"] == chain.project
    pipeline_event = by_label["codepipeline:SUCCEEDED"][0].event
    assert pipeline_event["detail"]["pipeline"] == chain.pipeline
    assert pipeline_event["resources"] == [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{chain.pipeline}"]
    states_event = by_label["states:SUCCEEDED"][0].event["detail"]
    assert states_event["stateMachineArn"] == chain.machine_arn and json.loads(states_event["output"]) == output

    # The services' own records: strict causal order at millisecond resolution.
    build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
    assert build["arn"] == build_arn and build["buildStatus"] == "SUCCEEDED"
    [summary] = [s for s in codepipeline.list_pipeline_executions(pipelineName=chain.pipeline)[
        "pipelineExecutionSummaries"] if s["pipelineExecutionId"] == pipeline_execution]
    assert summary["status"] == "Succeeded" and summary["trigger"]["triggerType"] == "StartPipelineExecution"
    pushed_at = aws("ecr").describe_images(repositoryName=chain.repository,
                                           imageIds=[{"imageDigest": digest}])["imageDetails"][0]["imagePushedAt"]
    marks = [("image pushed", pushed_at.timestamp()), ("execution start", done["startDate"].timestamp()),
             ("build start", build["startTime"].timestamp()), ("build end", build["endTime"].timestamp()),
             ("pipeline start", summary["startTime"].timestamp()),
             ("pipeline update", summary["lastUpdateTime"].timestamp()),
             ("execution stop", done["stopDate"].timestamp())]
    # imagePushedAt has whole seconds: it may only be <= the execution's start; the rest are strictly ordered.
    assert marks[0][1] <= marks[1][1], marks
    strict = [(a, b) for a, b in zip(marks[1:], marks[2:], strict=False)]
    assert all(a[1] < b[1] for a, b in strict), marks

    # The build saw the pushed digest; the poll loop really looped; the deploy created the stack's resource.
    logs = aws("logs").get_log_events(logGroupName=build["logs"]["groupName"],
                                      logStreamName=build["logs"]["streamName"], startFromHead=True)["events"]
    assert any(f"building {digest}" in e["message"] for e in logs), [e["message"] for e in logs]
    entered = states_entered(history(sfn, execution_arn))
    assert entered[:3] == ["Build", "StartPipeline", "WaitForPipeline"] and entered[-1] == "Deployed", entered
    assert entered.count("GetPipelineExecution") >= 1 and entered.count("GetPipelineExecution") == \
        entered.count("WaitForPipeline"), entered
    stack = aws("cloudformation").describe_stacks(StackName=chain.stack)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    assert aws("ssm").get_parameter(Name=chain.marker)["Parameter"]["Value"] == "deployed"


def test_failed_build_fails_the_task_and_is_caught_into_a_fail_state(aws: Callable[..., Any]) -> None:
    """The build fails (exit 1) → startBuild.sync fails with States.TaskFailed → Catch → Fail state; the tap sees
    CodeBuild FAILED and Step Functions FAILED, in causal order, and the pipeline is never started by this run.

    Follows:
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html,
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html,
    https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html (a failed build fails the task),
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html (States.TaskFailed, Catch),
    https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html,
    https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html,
    https://docs.aws.amazon.com/codebuild/latest/userguide/sample-build-notifications.html (build-status FAILED).
    """
    sfn, codebuild = aws("stepfunctions"), aws("codebuild")
    tap = Tap(aws, TAP_SOURCES)
    chain = make_chain(aws, ['echo "building $IMAGE_DIGEST"', "exit 1"])
    try:
        digest, execution_arn, done = push_and_follow(aws, chain, tap)
        assert (done["status"], done.get("error"), done.get("cause")) == (
            "FAILED", "BuildFailed", "the image's build failed"), done
        events = history(sfn, execution_arn)
        [task_failed] = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
        assert task_failed["error"] == "States.TaskFailed", task_failed
        assert (task_failed["resourceType"], task_failed["resource"]) == ("codebuild", "startBuild.sync")
        failed_build = json.loads(task_failed["cause"])["Build"]
        assert failed_build["BuildStatus"] == "FAILED" and failed_build["ProjectName"] == chain.project
        build_arn = failed_build["Arn"]
        assert states_entered(events) == ["Build", "BuildFailed"], states_entered(events)

        ids = (digest, execution_arn, build_arn, None)
        wanted = {"ecr:PUSH", "states:RUNNING", "states:FAILED", "codebuild:IN_PROGRESS", "codebuild:FAILED"}
        seen = tap.wait_for(lambda s: wanted <= set(run_events(s, *ids)), f"{sorted(wanted)}")
    finally:
        chain.close()
        tap.close()
    by_label = run_events(seen, *ids)
    assert set(by_label) == wanted, sorted(by_label)
    check_causal_order(by_label, ["ecr:PUSH", "states:RUNNING", "codebuild:IN_PROGRESS", "codebuild:FAILED",
                                  "states:FAILED"])
    failed = by_label["states:FAILED"][0].event["detail"]
    assert (failed["error"], failed["cause"], failed["output"]) == ("BuildFailed", "the image's build failed", None)
    build_event = by_label["codebuild:FAILED"][0].event["detail"]
    assert build_event["project-name"] == chain.project and build_event["current-phase"] == "COMPLETED"

    build = codebuild.batch_get_builds(ids=[failed_build["Id"]])["builds"][0]
    assert build["buildStatus"] == "FAILED"
    assert [p["phaseStatus"] for p in build["phases"] if p["phaseType"] == "BUILD"] == ["FAILED"], build["phases"]
    assert done["startDate"] < build["startTime"] < build["endTime"] < done["stopDate"], (done, build)
