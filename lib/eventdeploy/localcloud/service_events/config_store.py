"""AWS Config evaluation results per (rule, resource), and the compliance change each new result makes.

Follows https://docs.aws.amazon.com/config/latest/developerguide/example-config-rule-compliance-notification.html
(the ``Config Rules Compliance Change`` detail: ``newEvaluationResult``, ``oldEvaluationResult`` absent on a first
evaluation, ``messageType`` ComplianceChangeNotification, ``recordVersion`` 1.0) and
https://docs.aws.amazon.com/config/latest/APIReference/API_DescribeComplianceByConfigRule.html (a rule is
NON_COMPLIANT if any resource is, COMPLIANT if all evaluated ones are, INSUFFICIENT_DATA when none is).
NOT_APPLICABLE results are not kept: AWS Config does not return them in compliance results.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

COMPLIANCE_TYPES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA")
CONTRIBUTOR_CAP = 100


def iso_millis(when: datetime) -> str:
    """A timestamp as Config writes it in notifications: 2016-09-27T19:48:40.619Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class EvaluationResult:
    """One rule's verdict on one resource."""

    rule_name: str
    resource_type: str
    resource_id: str
    compliance_type: str
    annotation: str | None
    ordering_timestamp: datetime
    result_recorded_time: datetime
    config_rule_invoked_time: datetime

    def to_api(self) -> dict[str, Any]:
        """The EvaluationResult shape of the Config API (timestamps as epoch seconds)."""
        result: dict[str, Any] = {
            "EvaluationResultIdentifier": {
                "EvaluationResultQualifier": {"ConfigRuleName": self.rule_name, "ResourceType": self.resource_type,
                                              "ResourceId": self.resource_id, "EvaluationMode": "DETECTIVE"},
                "OrderingTimestamp": self.ordering_timestamp.timestamp(),
            },
            "ComplianceType": self.compliance_type,
            "ResultRecordedTime": self.result_recorded_time.timestamp(),
            "ConfigRuleInvokedTime": self.config_rule_invoked_time.timestamp(),
        }
        if self.annotation:
            result["Annotation"] = self.annotation
        return result

    def to_notification(self) -> dict[str, Any]:
        """The evaluation-result shape inside a compliance change notification."""
        return {
            "evaluationResultIdentifier": {
                "evaluationResultQualifier": {"configRuleName": self.rule_name, "resourceType": self.resource_type,
                                              "resourceId": self.resource_id},
                "orderingTimestamp": iso_millis(self.ordering_timestamp),
            },
            "complianceType": self.compliance_type,
            "resultRecordedTime": iso_millis(self.result_recorded_time),
            "configRuleInvokedTime": iso_millis(self.config_rule_invoked_time),
            "annotation": self.annotation,
            "resultToken": None,
        }


def change_detail(
    account_id: str, region: str, rule_arn: str, new: EvaluationResult, old: EvaluationResult | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Detail of a Config Rules Compliance Change event."""
    detail: dict[str, Any] = {
        "resourceId": new.resource_id,
        "awsRegion": region,
        "awsAccountId": account_id,
        "configRuleName": new.rule_name,
        "recordVersion": "1.0",
        "configRuleARN": rule_arn,
        "messageType": "ComplianceChangeNotification",
        "newEvaluationResult": new.to_notification(),
        "notificationCreationTime": iso_millis(now or datetime.now(UTC)),
        "resourceType": new.resource_type,
    }
    if old is not None:
        detail["oldEvaluationResult"] = old.to_notification()
    return detail


def rule_compliance(results: list[EvaluationResult]) -> dict[str, Any]:
    """The Compliance of a rule (or a resource) from its stored results."""
    non_compliant = sum(1 for r in results if r.compliance_type == "NON_COMPLIANT")
    if non_compliant:
        return {"ComplianceType": "NON_COMPLIANT",
                "ComplianceContributorCount": {"CappedCount": min(non_compliant, CONTRIBUTOR_CAP),
                                               "CapExceeded": non_compliant > CONTRIBUTOR_CAP}}
    if any(r.compliance_type == "COMPLIANT" for r in results):
        return {"ComplianceType": "COMPLIANT"}
    return {"ComplianceType": "INSUFFICIENT_DATA"}


class ComplianceStore:
    """Every account/region's current evaluation results."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], dict[tuple[str, str, str], EvaluationResult]] = {}
        self._lock = threading.Lock()

    def record(self, account_id: str, region: str, result: EvaluationResult,
               ) -> tuple[bool, EvaluationResult | None]:
        """Store ``result``; returns (did the resource's compliance change, the previous result)."""
        key = (result.rule_name, result.resource_type, result.resource_id)
        with self._lock:
            results = self._results.setdefault((account_id, region), {})
            old = results.get(key)
            if result.compliance_type == "NOT_APPLICABLE":
                results.pop(key, None)
                return False, old
            if old is not None and old.ordering_timestamp > result.ordering_timestamp:
                return False, old  # an older verdict arriving late does not replace a newer one
            results[key] = result
        return old is None or old.compliance_type != result.compliance_type, old

    def for_rule(self, account_id: str, region: str, rule_name: str) -> list[EvaluationResult]:
        """The rule's results, ordered by resource."""
        with self._lock:
            results = list(self._results.get((account_id, region), {}).values())
        return sorted((r for r in results if r.rule_name == rule_name), key=lambda r: (r.resource_type, r.resource_id))

    def for_resource(self, account_id: str, region: str, resource_type: str, resource_id: str,
                     ) -> list[EvaluationResult]:
        """The resource's results, ordered by rule."""
        with self._lock:
            results = list(self._results.get((account_id, region), {}).values())
        return sorted((r for r in results if r.resource_type == resource_type and r.resource_id == resource_id),
                      key=lambda r: r.rule_name)

    def drop_rule(self, account_id: str, region: str, rule_name: str) -> None:
        """Forget a rule's results (the rule or its results were deleted)."""
        with self._lock:
            results = self._results.get((account_id, region), {})
            for key in [k for k in results if k[0] == rule_name]:
                del results[key]

    def keep_only(self, account_id: str, region: str, rule_name: str, resources: set[tuple[str, str]]) -> None:
        """Forget the rule's results for resources not in ``resources`` (type, id)."""
        with self._lock:
            results = self._results.get((account_id, region), {})
            for key in [k for k in results if k[0] == rule_name and (k[1], k[2]) not in resources]:
                del results[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._results.clear()


store = ComplianceStore()
