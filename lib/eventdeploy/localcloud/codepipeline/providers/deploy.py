"""Deploy actions: CloudFormation stacks and S3 uploads for real; other providers recorded only.

https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html,
https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-S3Deploy.html
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from eventdeploy.localcloud.codepipeline.providers.context import ActionContext
from eventdeploy.localcloud.codepipeline.store import ActionFailed, read_member, zip_of

# Deploy providers the local cloud does not emulate: the action records the request and succeeds.
RECORDED_DEPLOY_NOTE = "recorded only: the local cloud does not emulate {provider} deployments"


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


MODES = ("CREATE_UPDATE", "REPLACE_ON_FAILURE", "DELETE_ONLY", "CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE")


def _template_kwargs(ctx: ActionContext, name: str) -> dict[str, Any]:
    """CreateStack/UpdateStack/CreateChangeSet arguments from TemplatePath, TemplateConfiguration,
    ParameterOverrides, Capabilities and RoleArn."""
    cfg = ctx.config
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
    return kwargs


def _settle(ctx: ActionContext, cfn: Any, stack_id: str, name: str) -> None:
    """Wait for the stack to leave *_IN_PROGRESS; fail on a failed/rolled-back stack; publish its outputs."""
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
    if ctx.config.get("OutputFileName"):
        ctx.emit_output(zip_of({ctx.config["OutputFileName"]: json.dumps(outputs).encode()}))
    ctx.action.summary = f"Stack {name} {status['StackStatus']}"


def _change_set(ctx: ActionContext, cfn: Any, name: str, current: dict[str, Any] | None) -> None:
    """CHANGE_SET_REPLACE: (re)create ChangeSetName for the stack; CHANGE_SET_EXECUTE: execute it."""
    mode, change_set = ctx.config.get("ActionMode"), ctx.config.get("ChangeSetName")
    if not change_set:
        raise ActionFailed(f"ActionMode {mode} needs ChangeSetName", "ConfigurationError")
    if mode == "CHANGE_SET_EXECUTE":
        try:
            cfn.execute_change_set(ChangeSetName=change_set, StackName=name)
        except Exception as exc:
            raise ActionFailed(f"cannot execute change set {change_set} of stack {name}: {exc}") from exc
        stack = _stack(cfn, name)
        _settle(ctx, cfn, stack["StackId"] if stack else name, name)
        return
    kwargs = _template_kwargs(ctx, name)
    if current and current["StackStatus"] != "REVIEW_IN_PROGRESS":
        try:
            cfn.delete_change_set(ChangeSetName=change_set, StackName=name)
        except Exception:  # no previous change set of that name: nothing to replace
            pass
    kind = "UPDATE" if current and current["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
    try:
        created = cfn.create_change_set(ChangeSetName=change_set, ChangeSetType=kind, **kwargs)
    except Exception as exc:
        raise ActionFailed(f"CloudFormation rejected change set {change_set} for stack {name}: {exc}") from exc
    described: dict[str, Any] = {}

    def ready() -> bool:
        described.update(cfn.describe_change_set(ChangeSetName=created["Id"], StackName=name))
        return not str(described.get("Status", "")).endswith("_IN_PROGRESS") and \
            described.get("Status") != "CREATE_PENDING"

    ctx.wait(ready, 3600, f"change set {change_set}")
    if described.get("Status") == "FAILED":
        raise ActionFailed(f"Change set {change_set} failed: {described.get('StatusReason', '')}")
    ctx.action.external_id = created["Id"]
    ctx.action.summary = f"Change set {change_set} {described.get('Status')} for stack {name}"


def deploy_cloudformation(ctx: ActionContext) -> None:
    """Deploy/CloudFormation: CREATE_UPDATE, REPLACE_ON_FAILURE, DELETE_ONLY, CHANGE_SET_REPLACE or
    CHANGE_SET_EXECUTE on a stack in the local cloud."""
    cfg = ctx.config
    mode, name = cfg.get("ActionMode"), cfg.get("StackName")
    if not name:
        raise ActionFailed("CloudFormation action needs StackName", "ConfigurationError")
    if mode not in MODES:
        raise ActionFailed(f"ActionMode {mode!r} is not one of {list(MODES)}", "ConfigurationError")
    cfn = ctx.client("cloudformation")
    ctx.action.external_url = f"https://console.aws.amazon.com/cloudformation/home?region={ctx.region}#/stacks"
    current = _stack(cfn, name)
    if mode in ("CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE"):
        _change_set(ctx, cfn, name, current)
        return
    if mode == "DELETE_ONLY" or (mode == "REPLACE_ON_FAILURE" and current and current["StackStatus"] in FAILED_STACK):
        if current:
            cfn.delete_stack(StackName=name)
            ctx.wait(lambda: (_stack(cfn, name) or {}).get("StackStatus") in (None, "DELETE_COMPLETE"), 3600,
                     f"deleting stack {name}")
        current = None
        if mode == "DELETE_ONLY":
            ctx.action.summary = f"Stack {name} deleted"
            return
    kwargs = _template_kwargs(ctx, name)
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
    _settle(ctx, cfn, stack_id, name)


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
