"""Approval/Manual: notify the NotificationArn topic, then wait for PutApprovalResult (7 days at most).

https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals.html
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

from eventdeploy.localcloud.codepipeline.providers.context import ActionContext
from eventdeploy.localcloud.codepipeline.store import ActionFailed

log = logging.getLogger("eventdeploy.localcloud.codepipeline")
APPROVAL_TIMEOUT_S = 7 * 24 * 3600


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
