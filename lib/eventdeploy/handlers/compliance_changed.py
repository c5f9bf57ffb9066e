"""An AWS Config rule found a resource non-compliant: record it, then remediate or quarantine it.

S3 buckets are remediated (public access blocked); any other resource type is quarantined by a tag that SCPs and
pipelines honour, and a human decides.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .common import SYNTHETIC_PREFIX, InvalidEvent, client, logger, record_stage, trace_id

QUARANTINE_TAG = "eventdeploy:quarantine"


def remediate(resource_type: str, resource_id: str) -> str:
    """Apply the fix for the resource type; returns what was done."""
    if resource_type == "AWS::S3::Bucket":
        client("s3").put_public_access_block(Bucket=resource_id, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        return "remediated: public access blocked"
    return "quarantine requested"


@logger.inject_lambda_context(correlation_id_path="id")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point: one Config Rules Compliance Change event reporting NON_COMPLIANT."""
    if event.get("source") not in ("aws.config", SYNTHETIC_PREFIX + "aws.config"):
        raise InvalidEvent(f"not an AWS Config event: source={event.get('source')!r}")
    detail = event.get("detail") or {}
    new = (detail.get("newEvaluationResult") or {}).get("complianceType")
    resource_id, resource_type, rule = detail.get("resourceId"), detail.get("resourceType"), detail.get("configRuleName")
    if not resource_id or not resource_type or not rule or new is None:
        raise InvalidEvent("missing resourceId, resourceType, configRuleName or newEvaluationResult")
    trace = trace_id(event)
    logger.append_keys(trace_id=trace, resource_id=resource_id, rule=rule)
    if new != "NON_COMPLIANT":
        return {"action": "none", "compliance": new}
    action = remediate(resource_type, resource_id)
    record_stage(f"compliance-{resource_id}", "violation", rule=rule, resource_type=resource_type,
                 action=action, event_id=event.get("id"), trace_id=trace)
    if action == "quarantine requested":
        client("events").put_events(Entries=[{
            "Source": "eventdeploy.compliance", "DetailType": "Resource Quarantine Requested",
            "EventBusName": os.environ.get("EVENT_BUS_NAME", "default"),
            "Detail": json.dumps({"resource-id": resource_id, "resource-type": resource_type, "rule": rule,
                                  "tag": QUARANTINE_TAG, "trace-id": trace}),
        }])
    logger.info("violation handled", extra={"action": action})
    return {"action": action, "resource": resource_id}
