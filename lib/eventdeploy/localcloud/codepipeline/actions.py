"""What each action provider does in the local cloud.

Per the action structure reference (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference.html):
Source S3 / ECR (real), other sources recorded (empty artifact); Build/Test CodeBuild (a real build);
Deploy CloudFormation (a real stack) and S3 (real upload), other Deploy providers recorded; Approval Manual
(waits for PutApprovalResult); Invoke Lambda (invokes the function with the job event, waits for
PutJobSuccessResult / PutJobFailureResult); Invoke StepFunctions (a real state machine execution).
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from eventdeploy.localcloud import clock, internal
from eventdeploy.localcloud.codepipeline.model import REGISTRY, ActionRun, Artifact, ExecutionRun, Job
from eventdeploy.localcloud.codepipeline.store import (
    ActionFailed,
    get_artifact,
    put_artifact,
    read_member,
    zip_of,
)

log = logging.getLogger("eventdeploy.localcloud.codepipeline")

APPROVAL_TIMEOUT_S = 7 * 24 * 3600
LAMBDA_JOB_TIMEOUT_S = 3600
POLL_S = 1.0
# Deploy providers the local cloud does not emulate: the action records the request and succeeds.
RECORDED_DEPLOY_NOTE = "recorded only: the local cloud does not emulate {provider} deployments"


class Abandoned(Exception):
    """The execution was stopped with abandon=true while this action ran."""


@dataclass
class ActionContext:
    """An action being run: its execution, its record, and helpers to read/write artifacts and wait."""

    run: ExecutionRun
    action: ActionRun

    @property
    def config(self) -> dict[str, str]:
        """The action's configuration map, with #{namespace.variable} references resolved."""
        if self.action.resolved is not None:
            return dict(self.action.resolved)
        return dict(self.action.action.get("configuration") or {})

    @property
    def region(self) -> str:
        """The region the action runs in."""
        return str(self.action.action.get("region") or self.run.region)

    def output_names(self) -> list[str]:
        """Names of the action's declared output artifacts."""
        return [a["name"] for a in self.action.action.get("outputArtifacts") or []]

    def emit_output(self, data: bytes, revision: str | None = None, name: str | None = None) -> Artifact:
        """Store ``data`` as the action's (first, or ``name``d) output artifact."""
        names = self.output_names()
        if not names and name is None:
            raise ActionFailed(f"action {self.action.name} declares no outputArtifacts", "ConfigurationError")
        artifact = put_artifact(self.run.account_id, self.run.region, self.run.pipeline, name or names[0], data,
                                revision)
        self.action.outputs.append(artifact)
        return artifact

    def input_bytes(self, name: str | None = None) -> tuple[Artifact, bytes]:
        """The (first, or ``name``d) input artifact and its content."""
        if not self.action.inputs:
            raise ActionFailed(f"action {self.action.name} needs an input artifact", "ConfigurationError")
        chosen = next((a for a in self.action.inputs if name is None or a.name == name), None)
        if chosen is None:
            raise ActionFailed(f"input artifact {name} is not an input of action {self.action.name}; inputs are "
                               f"{[a.name for a in self.action.inputs]}", "ConfigurationError")
        return chosen, get_artifact(self.run.account_id, self.run.region, chosen)

    def wait(self, done: Callable[[], bool], limit_s: float, what: str) -> None:
        """Poll ``done`` every emulated POLL_S until true; Abandoned on abandon, ActionFailed after ``limit_s``."""
        deadline = time.monotonic() + clock.scaled(limit_s)
        while not done():
            if self.run.abandon.is_set():
                raise Abandoned()
            if time.monotonic() > deadline:
                raise ActionFailed(f"{what} did not finish within {int(limit_s)} seconds")
            clock.sleep(POLL_S)

    def client(self, service: str) -> Any:
        """A local-cloud client for ``service`` as the pipeline's account in the action's region."""
        return internal.client(service, self.run.account_id, self.region)

    def add_revision(self, revision: str, summary: str | None = None) -> None:
        """Record the source revision on the action and as the execution's artifactRevision."""
        created = self.action.start_time
        self.action.current_revision = {"revisionId": revision}
        for name in self.output_names():
            entry: dict[str, Any] = {"name": name, "revisionId": revision, "created": created}
            if summary:
                entry["revisionSummary"] = summary
            self.run.revisions.append(entry)


# -- Source -----------------------------------------------------------------------------------------------
def source_s3(ctx: ActionContext) -> None:
    """Source/S3: the object S3Bucket/S3ObjectKey becomes the output artifact, its version the revision."""
    bucket, key = ctx.config.get("S3Bucket"), ctx.config.get("S3ObjectKey")
    if not bucket or not key:
        raise ActionFailed("S3 source needs S3Bucket and S3ObjectKey in its configuration", "ConfigurationError")
    try:
        obj = ctx.client("s3").get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise ActionFailed(f"cannot read source s3://{bucket}/{key}: {exc}") from exc
    revision = str(obj.get("VersionId") or obj.get("ETag", "").strip('"'))
    ctx.emit_output(obj["Body"].read(), revision)
    ctx.add_revision(revision, f"s3://{bucket}/{key}")
    ctx.action.external_id = revision
    ctx.action.summary = f"Amazon S3 version id: {revision}"
    ctx.action.output_variables.update({"ObjectKey": key, "ETag": str(obj.get("ETag", "")).strip('"'),
                                        "VersionId": str(obj.get("VersionId") or "")})


def source_ecr(ctx: ActionContext) -> None:
    """Source/ECR: the image RepositoryName:ImageTag becomes an artifact holding imageDetail.json."""
    repo, tag = ctx.config.get("RepositoryName"), ctx.config.get("ImageTag") or "latest"
    if not repo:
        raise ActionFailed("ECR source needs RepositoryName in its configuration", "ConfigurationError")
    try:
        image = ctx.client("ecr").describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])["imageDetails"][0]
    except Exception as exc:
        raise ActionFailed(f"cannot find image {repo}:{tag}: {exc}") from exc
    registry = image["registryId"]
    detail = {
        "ImageSizeInBytes": str(image.get("imageSizeInBytes", 0)), "ImageDigest": image["imageDigest"],
        "Version": "1.0", "ImagePushedAt": str(image.get("imagePushedAt", "")), "RegistryId": registry,
        "RepositoryName": repo,
        "ImageURI": f"{registry}.dkr.ecr.{ctx.region}.amazonaws.com/{repo}@{image['imageDigest']}",
        "ImageTags": image.get("imageTags", []),
    }
    ctx.emit_output(zip_of({"imageDetail.json": json.dumps(detail).encode()}), image["imageDigest"])
    ctx.add_revision(image["imageDigest"], f"{repo}:{tag}")
    ctx.action.external_id = image["imageDigest"]
    ctx.action.summary = f"Image {repo}:{tag}"
    ctx.action.output_variables.update({"RegistryId": registry, "RepositoryName": repo, "ImageTag": tag,
                                        "ImageDigest": image["imageDigest"], "ImageURI": detail["ImageURI"]})


def source_recorded(ctx: ActionContext) -> None:
    """Repository sources (CodeStarSourceConnection, CodeCommit, GitHub): the local cloud cannot fetch them;
    record the requested revision and hand on an empty artifact."""
    cfg = ctx.config
    repo = cfg.get("FullRepositoryId") or cfg.get("RepositoryName") or cfg.get("Repo") or "?"
    branch = cfg.get("BranchName") or cfg.get("Branch") or "main"
    revision = f"{repo}@{branch}"
    ctx.emit_output(zip_of({}), revision)
    ctx.add_revision(revision, "recorded only: the local cloud does not clone repositories")
    ctx.action.summary = f"recorded only: {ctx.action.type_id()['provider']} source {revision} not fetched"


# -- Build / Test -----------------------------------------------------------------------------------------
def build_codebuild(ctx: ActionContext) -> None:
    """Build/CodeBuild: run the project's real build on the input artifacts; its artifacts become the output."""
    from moto.codebuild.models import codebuild_backends

    from eventdeploy.localcloud.codebuild.patch import start
    from eventdeploy.localcloud.codebuild.runner import BuildRequest

    project = ctx.config.get("ProjectName")
    backend = codebuild_backends[ctx.run.account_id][ctx.region]
    if not project or project not in backend.codebuild_projects:
        raise ActionFailed(f"CodeBuild project {project!r} does not exist in {ctx.region}; create it first",
                           "ConfigurationError")
    primary = ctx.config.get("PrimarySource")
    inputs = sorted(ctx.action.inputs, key=lambda a: a.name != primary) if primary else list(ctx.action.inputs)
    zips = [get_artifact(ctx.run.account_id, ctx.run.region, a) for a in inputs]
    try:
        env = json.loads(ctx.config.get("EnvironmentVariables") or "[]")
    except ValueError as exc:
        raise ActionFailed(f"EnvironmentVariables is not a JSON list: {exc}", "ConfigurationError") from exc
    outputs = ctx.output_names()

    def sink(data: bytes) -> str:
        artifact = ctx.emit_output(data)
        return f"arn:aws:s3:::{artifact.bucket}/{artifact.key}"

    request = BuildRequest(env_overrides=env, initiator=f"codepipeline/{ctx.run.name}", input_zips=zips,
                           input_names=[a.name for a in inputs],
                           output_sink=sink if outputs else None,
                           source_version=(inputs[0].revision if inputs else None))
    build = start(backend, project, request)
    build_id = build["id"]
    ctx.action.external_id = build_id
    ctx.action.external_url = (f"https://console.aws.amazon.com/codebuild/home?region={ctx.region}"
                               f"#/builds/{build_id}/view/new")
    state: dict[str, Any] = {}

    def finished() -> bool:
        found = backend.batch_get_builds([build_id])
        state.update(found[0] if found else {})
        return bool(state.get("buildComplete"))

    try:
        ctx.wait(finished, 8 * 3600 + 600, f"CodeBuild build {build_id}")
    except Abandoned:
        backend.stop_build(build_id)
        raise
    if state.get("buildStatus") != "SUCCEEDED":
        failed = next((p for p in state.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED")), {})
        context = (failed.get("contexts") or [{}])[0]
        raise ActionFailed(f"Build terminated with state: {state.get('buildStatus')}. Phase: "
                           f"{failed.get('phaseType', '?')}, Code: {context.get('statusCode', '')}, Message: "
                           f"{context.get('message', '')}")
    ctx.action.summary = f"Build {build_id} succeeded"
    ctx.action.output_variables.update({v["name"]: v["value"] for v in state.get("exportedEnvironmentVariables", [])})


# -- Deploy -----------------------------------------------------------------------------------------------
FAILED_STACK = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_COMPLETE",
                "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED")


def _artifact_file(ctx: ActionContext, spec: str) -> bytes:
    name, sep, path = spec.partition("::")
    if not sep:
        raise ActionFailed(f"{spec!r} must be ArtifactName::path/in/artifact", "ConfigurationError")
    artifact, data = ctx.input_bytes(name)
    return read_member(data, path, artifact.name)


def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(cfn.describe_stacks(StackName=name)["Stacks"][0])
    except Exception:
        return None


def deploy_cloudformation(ctx: ActionContext) -> None:
    """Deploy/CloudFormation: CREATE_UPDATE, REPLACE_ON_FAILURE or DELETE_ONLY a stack in the local cloud."""
    cfg = ctx.config
    mode, name = cfg.get("ActionMode"), cfg.get("StackName")
    if not name:
        raise ActionFailed("CloudFormation action needs StackName", "ConfigurationError")
    if mode not in ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "DELETE_ONLY"):
        raise ActionFailed(f"ActionMode {mode!r} is not emulated; use CREATE_UPDATE, REPLACE_ON_FAILURE or "
                           "DELETE_ONLY", "ConfigurationError")
    cfn = ctx.client("cloudformation")
    ctx.action.external_url = f"https://console.aws.amazon.com/cloudformation/home?region={ctx.region}#/stacks"
    current = _stack(cfn, name)
    if mode == "DELETE_ONLY" or (mode == "REPLACE_ON_FAILURE" and current and current["StackStatus"] in FAILED_STACK):
        if current:
            cfn.delete_stack(StackName=name)
            ctx.wait(lambda: (_stack(cfn, name) or {}).get("StackStatus") in (None, "DELETE_COMPLETE"), 3600,
                     f"deleting stack {name}")
        current = None
        if mode == "DELETE_ONLY":
            ctx.action.summary = f"Stack {name} deleted"
            return
    if not cfg.get("TemplatePath"):
        raise ActionFailed("CloudFormation action needs TemplatePath (ArtifactName::file)", "ConfigurationError")
    body = _artifact_file(ctx, cfg["TemplatePath"]).decode()
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    if cfg.get("TemplateConfiguration"):
        conf = json.loads(_artifact_file(ctx, cfg["TemplateConfiguration"]))
        params.update(conf.get("Parameters") or {})
        tags.update(conf.get("Tags") or {})
    if cfg.get("ParameterOverrides"):
        try:
            params.update(json.loads(cfg["ParameterOverrides"]))
        except ValueError as exc:
            raise ActionFailed(f"ParameterOverrides is not a JSON object: {exc}", "ConfigurationError") from exc
    kwargs: dict[str, Any] = {
        "StackName": name, "TemplateBody": body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in params.items()],
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        "Capabilities": [c.strip() for c in (cfg.get("Capabilities") or "").split(",") if c.strip()],
    }
    if cfg.get("RoleArn"):
        kwargs["RoleARN"] = cfg["RoleArn"]
    try:
        if current and current["StackStatus"] == "ROLLBACK_COMPLETE":
            raise ActionFailed(f"Stack {name} is in ROLLBACK_COMPLETE state and can not be updated; "
                               "use ActionMode REPLACE_ON_FAILURE or delete it")
        if current:
            try:
                stack_id = cfn.update_stack(**kwargs)["StackId"]
            except Exception as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
                stack_id = current["StackId"]
        else:
            stack_id = cfn.create_stack(**kwargs)["StackId"]
    except ActionFailed:
        raise
    except Exception as exc:
        raise ActionFailed(f"CloudFormation rejected stack {name}: {exc}") from exc
    ctx.action.external_id = stack_id
    status: dict[str, Any] = {}

    def settled() -> bool:
        status.update(_stack(cfn, stack_id) or {"StackStatus": "DELETE_COMPLETE"})
        return not str(status["StackStatus"]).endswith("_IN_PROGRESS")

    ctx.wait(settled, 3600, f"stack {name}")
    if status["StackStatus"] in FAILED_STACK or status["StackStatus"] == "DELETE_COMPLETE":
        raise ActionFailed(f"Stack {name} ended in {status['StackStatus']}: {status.get('StackStatusReason', '')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in status.get("Outputs", [])}
    ctx.action.output_variables.update(outputs)
    if cfg.get("OutputFileName"):
        ctx.emit_output(zip_of({cfg["OutputFileName"]: json.dumps(outputs).encode()}))
    ctx.action.summary = f"Stack {name} {status['StackStatus']}"


def deploy_s3(ctx: ActionContext) -> None:
    """Deploy/S3: put the input artifact in BucketName (extracted when Extract is true, else at ObjectKey)."""
    bucket = ctx.config.get("BucketName")
    if not bucket:
        raise ActionFailed("S3 deploy needs BucketName", "ConfigurationError")
    artifact, data = ctx.input_bytes()
    s3 = ctx.client("s3")
    if str(ctx.config.get("Extract", "false")).lower() == "true":
        prefix = (ctx.config.get("ObjectKey") or "").strip("/")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if not member.is_dir():
                    key = f"{prefix}/{member.filename}" if prefix else member.filename
                    s3.put_object(Bucket=bucket, Key=key, Body=archive.read(member))
    else:
        key = ctx.config.get("ObjectKey")
        if not key:
            raise ActionFailed("S3 deploy with Extract false needs ObjectKey", "ConfigurationError")
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    ctx.action.summary = f"Deployed {artifact.name} to s3://{bucket}"


def deploy_recorded(ctx: ActionContext) -> None:
    """Any other Deploy provider (ECS, CodeDeploy, ElasticBeanstalk, ...): record the request, deploy nothing."""
    provider = ctx.action.type_id()["provider"]
    ctx.action.summary = RECORDED_DEPLOY_NOTE.format(provider=provider)
    for name in ctx.output_names():
        ctx.emit_output(zip_of({}), name=name)


# -- Approval ---------------------------------------------------------------------------------------------
def approval_manual(ctx: ActionContext) -> None:
    """Approval/Manual: publish to NotificationArn if set, then wait (up to 7 days) for PutApprovalResult."""
    ctx.action.token = str(uuid.uuid4())
    cfg = ctx.config
    if cfg.get("NotificationArn"):
        message = {
            "region": ctx.region, "consoleLink": "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/"
            f"{ctx.run.name}/view?region={ctx.region}",
            "approval": {"pipelineName": ctx.run.name, "stageName": ctx.action.stage,
                         "actionName": ctx.action.name, "token": ctx.action.token,
                         "expires": (ctx.action.start_time + timedelta(seconds=APPROVAL_TIMEOUT_S)).strftime(
                             "%Y-%m-%dT%H:%MZ"),
                         "externalEntityLink": cfg.get("ExternalEntityLink"),
                         "approvalReviewLink": "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/"
                         f"{ctx.run.name}/view?region={ctx.region}#/{ctx.action.stage}/{ctx.action.name}/approve/"
                         f"{ctx.action.token}",
                         "customData": cfg.get("CustomData")},
        }
        try:
            ctx.client("sns").publish(TopicArn=cfg["NotificationArn"], Message=json.dumps(message),
                                      Subject=f"APPROVAL NEEDED: AWS CodePipeline {ctx.run.name}")
        except Exception:
            log.exception("approval notification to %s failed", cfg["NotificationArn"])
    ctx.wait(ctx.action.signal.is_set, APPROVAL_TIMEOUT_S, "manual approval")
    result = ctx.action.approval or {}
    ctx.action.summary = result.get("summary")
    if result.get("status") != "Approved":
        raise ActionFailed(f"Rejected: {result.get('summary') or ''}".strip())


# -- Invoke -----------------------------------------------------------------------------------------------
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
    try:
        execution_arn = sfn.start_execution(stateMachineArn=arn, name=name, input=payload)["executionArn"]
    except Exception as exc:
        raise ActionFailed(f"cannot start state machine {arn}: {exc}") from exc
    ctx.action.external_id = execution_arn
    ctx.action.external_url = (f"https://console.aws.amazon.com/states/home?region={ctx.region}"
                               f"#/executions/details/{execution_arn}")
    ctx.action.output_variables.update({"StateMachineArn": arn, "ExecutionArn": execution_arn})
    described: dict[str, Any] = {}

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


# -- dispatch ---------------------------------------------------------------------------------------------
def provider_for(type_id: dict[str, str]) -> Callable[[ActionContext], None]:
    """The function that runs an action of ``type_id``; ActionFailed naming the provider when none does."""
    category, provider = type_id.get("category"), type_id.get("provider")
    table: dict[tuple[str | None, str | None], Callable[[ActionContext], None]] = {
        ("Source", "S3"): source_s3, ("Source", "ECR"): source_ecr,
        ("Source", "CodeStarSourceConnection"): source_recorded, ("Source", "CodeCommit"): source_recorded,
        ("Source", "GitHub"): source_recorded,
        ("Build", "CodeBuild"): build_codebuild, ("Test", "CodeBuild"): build_codebuild,
        ("Deploy", "CloudFormation"): deploy_cloudformation, ("Deploy", "S3"): deploy_s3,
        ("Approval", "Manual"): approval_manual, ("Invoke", "Lambda"): invoke_lambda,
        ("Invoke", "StepFunctions"): invoke_stepfunctions,
    }
    found = table.get((category, provider))
    if found:
        return found
    if category == "Deploy":
        return deploy_recorded
    supported = sorted(f"{c}/{p}" for c, p in table)

    def unsupported(ctx: ActionContext) -> None:
        raise ActionFailed(f"action provider {category}/{provider} is not emulated by the local cloud; "
                           f"supported: {supported} and any other Deploy provider (recorded)", "ConfigurationError")
    return unsupported
