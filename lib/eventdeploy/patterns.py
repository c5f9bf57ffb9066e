"""The event patterns the architecture uses, as a catalogue: each says what it reacts to and why.

Patterns are plain dicts in EventBridge's pattern language; ``provision.eventbridge.ensure_rule`` installs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLLBACK_SOURCE = "eventdeploy.orchestrator"
# Customers cannot put events whose source starts with "aws." (AWS owns those). Injected test events use this
# prefix before the AWS source ("eventdeploy.synthetic.aws.ecr"), and every rule accepts both, so load tests flow
# through the same rules and handlers as real service events.
SYNTHETIC_PREFIX = "eventdeploy.synthetic."


def sources(aws_source: str) -> list[str]:
    """The real AWS source and its synthetic twin, for a pattern's ``source`` field."""
    return [aws_source, SYNTHETIC_PREFIX + aws_source]
ROLLBACK_DETAIL_TYPE = "Deployment Rollback Requested"

FAILED_STACK_STATUSES = ["CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_FAILED",
                         "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"]


@dataclass(frozen=True)
class Pattern:
    """A named pattern and what it is for."""

    name: str
    purpose: str
    pattern: dict[str, Any]


def ecr_image_pushed(repositories: list[str], tag_prefixes: list[str]) -> Pattern:
    """A successful push to one of ``repositories`` with a tag starting with one of ``tag_prefixes``."""
    return Pattern("ecr-image-pushed", "a new image to deploy: successful pushes of release tags only", {
        "source": sources("aws.ecr"),
        "detail-type": ["ECR Image Action"],
        "detail": {
            "action-type": ["PUSH"],
            "result": ["SUCCESS"],
            "repository-name": sorted(repositories),
            "image-tag": [{"prefix": p} for p in sorted(tag_prefixes)],
        },
    })


def stack_failed(stack_name_prefix: str) -> Pattern:
    """A CloudFormation stack of ours reaching a failed or rolled-back status."""
    return Pattern("stack-failed", "a deployment stack failed or rolled back: request a rollback", {
        "source": sources("aws.cloudformation"),
        "detail-type": ["CloudFormation Stack Status Change"],
        "resources": [{"wildcard": f"arn:aws:cloudformation:*:*:stack/{stack_name_prefix}*"}],
        "detail": {"status-details": {"status": FAILED_STACK_STATUSES}},
    })


def config_noncompliant(rule_name_prefix: str) -> Pattern:
    """One of our AWS Config rules finding a resource newly non-compliant."""
    return Pattern("config-noncompliant", "a compliance violation: remediate or quarantine", {
        "source": sources("aws.config"),
        "detail-type": ["Config Rules Compliance Change"],
        "detail": {
            "messageType": ["ComplianceChangeNotification"],
            "configRuleName": [{"prefix": rule_name_prefix}],
            "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]},
        },
    })


def pipeline_failed(pipeline_prefix: str) -> Pattern:
    """One of our pipelines' executions failing."""
    return Pattern("pipeline-failed", "a pipeline execution failed: alert and keep the evidence", {
        "source": sources("aws.codepipeline"),
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"pipeline": [{"prefix": pipeline_prefix}], "state": ["FAILED"]},
    })


def execution_failed(state_machine_arn_prefix: str) -> Pattern:
    """One of our state machines' executions failing, timing out or being aborted."""
    return Pattern("execution-failed", "a deployment workflow did not succeed: alert", {
        "source": sources("aws.states"),
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"],
                   "stateMachineArn": [{"prefix": state_machine_arn_prefix}]},
    })


def rollback_requested() -> Pattern:
    """Our own orchestrator's request to roll a deployment back."""
    return Pattern("rollback-requested", "the orchestrator asks for a rollback", {
        "source": [ROLLBACK_SOURCE],
        "detail-type": [ROLLBACK_DETAIL_TYPE],
    })


def catalogue(prefix: str, region: str, account_id: str, repositories: list[str] | None = None,
              tag_prefixes: list[str] | None = None) -> list[Pattern]:
    """Every pattern the architecture uses, for a run with ``prefix``."""
    return [
        ecr_image_pushed(repositories or [f"{prefix}-app"], tag_prefixes or ["v", "release-"]),
        stack_failed(f"{prefix}-"),
        config_noncompliant(f"{prefix}-"),
        pipeline_failed(f"{prefix}-"),
        execution_failed(f"arn:aws:states:{region}:{account_id}:stateMachine:{prefix}-"),
        rollback_requested(),
    ]
