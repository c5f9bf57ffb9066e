"""What each action provider does in the local cloud, and which function runs which action type.

Per the action structure reference (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference.html):
Source S3 / ECR (real), other sources recorded (empty artifact); Build/Test CodeBuild (a real build);
Deploy CloudFormation (a real stack) and S3 (real upload), other Deploy providers recorded; Approval Manual
(waits for PutApprovalResult); Invoke Lambda (the job event, waiting for PutJobSuccessResult /
PutJobFailureResult) and StepFunctions (a real state machine execution).
"""

from __future__ import annotations

from collections.abc import Callable

from eventdeploy.localcloud.codepipeline.providers.approval import approval_manual
from eventdeploy.localcloud.codepipeline.providers.build import build_codebuild
from eventdeploy.localcloud.codepipeline.providers.context import Abandoned, ActionContext
from eventdeploy.localcloud.codepipeline.providers.deploy import (
    deploy_cloudformation,
    deploy_recorded,
    deploy_s3,
)
from eventdeploy.localcloud.codepipeline.providers.invoke import invoke_lambda, invoke_stepfunctions
from eventdeploy.localcloud.codepipeline.providers.source import source_ecr, source_recorded, source_s3
from eventdeploy.localcloud.codepipeline.store import ActionFailed

__all__ = ["Abandoned", "ActionContext", "provider_for"]


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
