"""Sample events in the shapes AWS documents, for every pattern in ``eventdeploy.patterns``.

Each sample says which patterns it must match, so the catalogue can be checked against EventBridge itself
(``test_event_pattern``) and against real delivery.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventdeploy.patterns import ROLLBACK_DETAIL_TYPE, ROLLBACK_SOURCE


@dataclass(frozen=True)
class Sample:
    """An event and the names of the patterns it must match (empty: it must match none)."""

    name: str
    event: dict[str, Any]
    matches: frozenset[str] = field(default_factory=frozenset)


def envelope(source: str, detail_type: str, detail: dict[str, Any], account: str, region: str,
             resources: list[str] | None = None) -> dict[str, Any]:
    """An EventBridge event envelope as AWS delivers it."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": account, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": resources or [], "detail": detail}


def digest(text: str) -> str:
    """A stable image digest for ``text``."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def ecr_image_action(repository: str, tag: str, account: str, region: str, action: str = "PUSH",
                     result: str = "SUCCESS") -> dict[str, Any]:
    """ECR Image Action (Amazon ECR User Guide, 'Amazon ECR events and EventBridge')."""
    return envelope("aws.ecr", "ECR Image Action", {
        "result": result, "repository-name": repository, "image-digest": digest(f"{repository}:{tag}"),
        "action-type": action, "image-tag": tag,
    }, account, region, [])  # AWS's own ECR Image Action samples carry no resources


def stack_status(stack: str, status: str, reason: str, account: str, region: str) -> dict[str, Any]:
    """CloudFormation Stack Status Change (CloudFormation User Guide, 'EventBridge events')."""
    stack_id = f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/{uuid.uuid5(uuid.NAMESPACE_URL, stack)}"
    return envelope("aws.cloudformation", "CloudFormation Stack Status Change", {
        "stack-id": stack_id, "status-details": {"status": status, "status-reason": reason},
        "client-request-token": "",
    }, account, region, [stack_id])


def compliance_change(rule: str, resource_id: str, new: str, old: str | None, account: str,
                      region: str) -> dict[str, Any]:
    """Config Rules Compliance Change (AWS Config Developer Guide, 'Monitoring AWS Config with EventBridge')."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def result(compliance: str) -> dict[str, Any]:
        return {"evaluationResultIdentifier": {"evaluationResultQualifier": {
                    "configRuleName": rule, "resourceType": "AWS::S3::Bucket", "resourceId": resource_id},
                    "orderingTimestamp": now},
                "complianceType": compliance, "resultRecordedTime": now, "configRuleInvokedTime": now}

    detail: dict[str, Any] = {
        "resourceId": resource_id, "awsRegion": region, "awsAccountId": account, "configRuleName": rule,
        "recordVersion": "1.0", "configRuleARN": f"arn:aws:config:{region}:{account}:config-rule/config-rule-x",
        "messageType": "ComplianceChangeNotification", "newEvaluationResult": result(new),
        "notificationCreationTime": now, "resourceType": "AWS::S3::Bucket",
    }
    if old:
        detail["oldEvaluationResult"] = result(old)
    return envelope("aws.config", "Config Rules Compliance Change", detail, account, region)


def pipeline_state(pipeline: str, state: str, account: str, region: str) -> dict[str, Any]:
    """CodePipeline Pipeline Execution State Change (CodePipeline User Guide, 'Monitoring CodePipeline events')."""
    return envelope("aws.codepipeline", "CodePipeline Pipeline Execution State Change", {
        "pipeline": pipeline, "execution-id": str(uuid.uuid4()), "state": state, "version": 1,
    }, account, region, [f"arn:aws:codepipeline:{region}:{account}:{pipeline}"])


def execution_status(state_machine: str, status: str, account: str, region: str) -> dict[str, Any]:
    """Step Functions Execution Status Change (Step Functions Developer Guide, 'EventBridge events')."""
    sm_arn = f"arn:aws:states:{region}:{account}:stateMachine:{state_machine}"
    name = str(uuid.uuid4())
    return envelope("aws.states", "Step Functions Execution Status Change", {
        "executionArn": f"arn:aws:states:{region}:{account}:execution:{state_machine}:{name}",
        "stateMachineArn": sm_arn, "name": name, "status": status, "startDate": 1_700_000_000_000,
        "stopDate": None if status == "RUNNING" else 1_700_000_060_000, "input": "{}", "output": None,
    }, account, region, [sm_arn])


def rollback_request(deployment_id: str, reason: str, account: str, region: str) -> dict[str, Any]:
    """Our orchestrator's Deployment Rollback Requested event."""
    return envelope(ROLLBACK_SOURCE, ROLLBACK_DETAIL_TYPE, {"deployment-id": deployment_id, "reason": reason},
                    account, region)


def catalogue(prefix: str, account: str, region: str) -> list[Sample]:
    """Matching and non-matching samples for every pattern of ``patterns.catalogue(prefix, ...)``."""
    def s(name: str, event: dict[str, Any], *matches: str) -> Sample:
        return Sample(name, event, frozenset(matches))

    return [
        s("ecr push release tag", ecr_image_action(f"{prefix}-app", "v1.4.0", account, region), "ecr-image-pushed"),
        s("ecr push dev tag", ecr_image_action(f"{prefix}-app", "dev-42", account, region)),
        s("ecr push other repo", ecr_image_action("someone-elses", "v1.0.0", account, region)),
        s("ecr push failed", ecr_image_action(f"{prefix}-app", "v1.4.1", account, region, result="FAILURE")),
        s("ecr delete", ecr_image_action(f"{prefix}-app", "v1.3.0", account, region, action="DELETE")),
        s("stack rolled back", stack_status(f"{prefix}-web", "ROLLBACK_COMPLETE", "Resource creation cancelled",
                                            account, region), "stack-failed"),
        s("stack update rolled back", stack_status(f"{prefix}-web", "UPDATE_ROLLBACK_COMPLETE", "Update failed",
                                                   account, region), "stack-failed"),
        s("stack created", stack_status(f"{prefix}-web", "CREATE_COMPLETE", "", account, region)),
        s("other stack failed", stack_status("unrelated", "CREATE_FAILED", "x", account, region)),
        s("config non-compliant", compliance_change(f"{prefix}-s3-encrypted", "bucket-a", "NON_COMPLIANT",
                                                    "COMPLIANT", account, region), "config-noncompliant"),
        s("config first non-compliant", compliance_change(f"{prefix}-s3-encrypted", "bucket-b", "NON_COMPLIANT",
                                                          None, account, region), "config-noncompliant"),
        s("config compliant again", compliance_change(f"{prefix}-s3-encrypted", "bucket-a", "COMPLIANT",
                                                      "NON_COMPLIANT", account, region)),
        s("pipeline failed", pipeline_state(f"{prefix}-pipeline", "FAILED", account, region), "pipeline-failed"),
        s("pipeline succeeded", pipeline_state(f"{prefix}-pipeline", "SUCCEEDED", account, region)),
        s("execution failed", execution_status(f"{prefix}-deploy", "FAILED", account, region), "execution-failed"),
        s("execution timed out", execution_status(f"{prefix}-deploy", "TIMED_OUT", account, region),
          "execution-failed"),
        s("execution succeeded", execution_status(f"{prefix}-deploy", "SUCCEEDED", account, region)),
        s("rollback requested", rollback_request("dep-1", "stack failed", account, region), "rollback-requested"),
    ]
