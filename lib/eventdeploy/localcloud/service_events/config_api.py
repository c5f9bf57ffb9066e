"""AWS Config evaluations and compliance queries on moto's Config backend, with compliance change events.

Adds what moto lacks, per the Config API reference (https://docs.aws.amazon.com/config/latest/APIReference/):
``PutEvaluations`` with a real ResultToken (issued when Config invokes a custom rule's Lambda),
``StartConfigRulesEvaluation`` (invokes each custom Lambda rule with the rule event of
https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_example-events.html, as a
ScheduledNotification), ``DescribeComplianceByConfigRule``, ``DescribeComplianceByResource``,
``GetComplianceDetailsByConfigRule``, ``GetComplianceDetailsByResource`` and ``DeleteEvaluationResults``.
Managed rules listed in ``config_managed_rules`` are evaluated when put and on StartConfigRulesEvaluation; a
custom rule with a ScheduledNotification trigger is invoked when put, as AWS evaluates a new or changed rule.
A result that changes a resource's compliance emits ``Config Rules Compliance Change`` (source ``aws.config``,
``resources`` empty) on the default bus (https://docs.aws.amazon.com/config/latest/developerguide/monitor-config-with-cloudwatchevents.html).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud import internal
from eventdeploy.localcloud.service_events import config_managed_rules as managed_rules
from eventdeploy.localcloud.service_events.config_store import (
    COMPLIANCE_TYPES,
    EvaluationResult,
    change_detail,
    iso_millis,
    rule_compliance,
    store,
)
from eventdeploy.localcloud.service_events.emitter import emit_event

log = logging.getLogger("eventdeploy.localcloud.service_events")

SOURCE = "aws.config"
DETAIL_TYPE = "Config Rules Compliance Change"
PUT_COMPLIANCE_TYPES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")
MAX_EVALUATIONS = 100


def _errors() -> Any:
    from moto.config import exceptions

    return exceptions


def issue_result_token(account_id: str, region: str, rule_name: str, invoked: datetime) -> str:
    """An opaque ResultToken naming the invocation of ``rule_name`` it belongs to."""
    payload = {"a": account_id, "r": region, "n": rule_name, "t": invoked.timestamp(), "id": uuid.uuid4().hex}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def read_result_token(token: str | None, account_id: str, region: str) -> tuple[str, datetime]:
    """(rule name, invocation time) of a token this account/region was issued; InvalidResultTokenException if not."""
    try:
        payload = json.loads(base64.urlsafe_b64decode((token or "").encode()))
        if payload["a"] != account_id or payload["r"] != region:
            raise ValueError("token of another account or region")
        return str(payload["n"]), datetime.fromtimestamp(float(payload["t"]), UTC)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _errors().InvalidResultTokenException() from None


def _timestamp(value: Any, field: str) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _errors().InvalidParameterValueException(f"{field} must be a timestamp, got {value!r}")


def _rule(backend: Any, name: str) -> Any:
    rule = backend.config_rules.get(name)
    if rule is None:
        raise _errors().NoSuchConfigRuleException(name)
    return rule


def put_evaluations(self: Any, evaluations: list[dict[str, Any]] | None = None, result_token: str | None = None,
                    test_mode: bool | None = False) -> dict[str, list[Any]]:
    """PutEvaluations: store each verdict; a compliance change emits the compliance change event."""
    errors = _errors()
    if not evaluations:
        raise errors.InvalidParameterValueException(
            "The Evaluations object in your request cannot be null.Add the required parameters and try again.")
    if len(evaluations) > MAX_EVALUATIONS:
        raise errors.InvalidParameterValueException(
            f"Evaluations has {len(evaluations)} members; at most {MAX_EVALUATIONS} are allowed per call")
    if not result_token:
        raise errors.InvalidResultTokenException()
    rule_name, invoked = read_result_token(result_token, self.account_id, self.region_name)
    rule = _rule(self, rule_name)
    now = datetime.now(UTC)
    parsed = []
    for number, evaluation in enumerate(evaluations, start=1):
        compliance = evaluation.get("ComplianceType")
        if compliance not in PUT_COMPLIANCE_TYPES:
            raise errors.InvalidParameterValueException(
                f"Evaluations.{number}.ComplianceType must be one of {', '.join(PUT_COMPLIANCE_TYPES)} "
                f"(got {compliance!r}); PutEvaluations does not accept INSUFFICIENT_DATA")
        for field in ("ComplianceResourceType", "ComplianceResourceId", "OrderingTimestamp"):
            if not evaluation.get(field):
                raise errors.InvalidParameterValueException(f"Evaluations.{number}.{field} is required")
        annotation = evaluation.get("Annotation")
        if annotation is not None and len(annotation) > 256:
            raise errors.InvalidParameterValueException(
                f"Evaluations.{number}.Annotation is {len(annotation)} characters; at most 256 are allowed")
        parsed.append(EvaluationResult(
            rule_name=rule_name, resource_type=evaluation["ComplianceResourceType"],
            resource_id=evaluation["ComplianceResourceId"], compliance_type=compliance, annotation=annotation,
            ordering_timestamp=_timestamp(evaluation["OrderingTimestamp"], f"Evaluations.{number}.OrderingTimestamp"),
            result_recorded_time=now, config_rule_invoked_time=invoked,
        ))
    if test_mode:
        return {"FailedEvaluations": []}  # TestMode checks the call but records nothing
    record_results(self, rule, parsed)
    return {"FailedEvaluations": []}


def record_results(backend: Any, rule: Any, results: list[EvaluationResult]) -> None:
    """Store results; each that changes a resource's compliance emits a compliance change event."""
    for result in results:
        changed, old = store.record(backend.account_id, backend.region_name, result)
        if changed:
            emit_event(backend.account_id, backend.region_name, SOURCE, DETAIL_TYPE,
                       change_detail(backend.account_id, backend.region_name, rule.config_rule_arn, result, old), [])


def evaluate_managed_rule(backend: Any, rule: Any) -> bool:
    """Evaluate an emulated managed rule now; False if the local cloud does not emulate it."""
    found = managed_rules.verdicts(rule, backend.account_id, backend.region_name)
    if found is None:
        log.warning("managed config rule %s (%s) is not evaluated by the local cloud", rule.config_rule_name,
                    rule.source.source_identifier)
        return False
    now = datetime.now(UTC)
    results = [EvaluationResult(rule.config_rule_name, rtype, rid, compliance, annotation, now, now, now)
               for rtype, rid, compliance, annotation in found]
    # Resources that are gone no longer have a verdict.
    present = {(r.resource_type, r.resource_id) for r in results}
    store.keep_only(backend.account_id, backend.region_name, rule.config_rule_name, present)
    record_results(backend, rule, results)
    return True


def _filter(results: list[EvaluationResult], compliance_types: list[str] | None) -> list[EvaluationResult]:
    if not compliance_types:
        return results
    unknown = [t for t in compliance_types if t not in COMPLIANCE_TYPES]
    if unknown:
        raise _errors().InvalidParameterValueException(
            f"ComplianceTypes {unknown} are not valid; use {', '.join(COMPLIANCE_TYPES)}")
    return [r for r in results if r.compliance_type in compliance_types]


def get_compliance_details_by_config_rule(self: Any, rule_name: str, compliance_types: list[str] | None,
                                          ) -> list[dict[str, Any]]:
    """GetComplianceDetailsByConfigRule: the rule's stored results."""
    _rule(self, rule_name)
    results = store.for_rule(self.account_id, self.region_name, rule_name)
    return [r.to_api() for r in _filter(results, compliance_types)]


def get_compliance_details_by_resource(self: Any, resource_type: str, resource_id: str,
                                       compliance_types: list[str] | None) -> list[dict[str, Any]]:
    """GetComplianceDetailsByResource: every rule's result for one resource."""
    results = store.for_resource(self.account_id, self.region_name, resource_type, resource_id)
    return [r.to_api() for r in _filter(results, compliance_types)]


def describe_compliance_by_config_rule(self: Any, rule_names: list[str] | None, compliance_types: list[str] | None,
                                       ) -> list[dict[str, Any]]:
    """DescribeComplianceByConfigRule: each rule's overall compliance."""
    names = rule_names or sorted(self.config_rules)
    answers = []
    for name in names:
        _rule(self, name)
        compliance = rule_compliance(store.for_rule(self.account_id, self.region_name, name))
        if not compliance_types or compliance["ComplianceType"] in compliance_types:
            answers.append({"ConfigRuleName": name, "Compliance": compliance})
    return answers


def describe_compliance_by_resource(self: Any, resource_type: str | None, resource_id: str | None,
                                    compliance_types: list[str] | None) -> list[dict[str, Any]]:
    """DescribeComplianceByResource: each evaluated resource's overall compliance."""
    rules = sorted(self.config_rules)
    resources: dict[tuple[str, str], list[EvaluationResult]] = {}
    for name in rules:
        for result in store.for_rule(self.account_id, self.region_name, name):
            if resource_type and result.resource_type != resource_type:
                continue
            if resource_id and result.resource_id != resource_id:
                continue
            resources.setdefault((result.resource_type, result.resource_id), []).append(result)
    answers = []
    for (rtype, rid), results in sorted(resources.items()):
        compliance = rule_compliance(results)
        if not compliance_types or compliance["ComplianceType"] in compliance_types:
            answers.append({"ResourceType": rtype, "ResourceId": rid, "Compliance": compliance})
    return answers


def rule_invocation_event(account_id: str, region: str, rule: Any, invoked: datetime) -> dict[str, Any]:
    """The event Config invokes a custom rule's Lambda function with (periodic form)."""
    invoking = {"awsAccountId": account_id, "notificationCreationTime": iso_millis(invoked),
                "messageType": "ScheduledNotification", "recordVersion": "1.0"}
    return {
        "configRuleId": rule.config_rule_id,
        "version": "1.0",
        "configRuleName": rule.config_rule_name,
        "configRuleArn": rule.config_rule_arn,
        "invokingEvent": json.dumps(invoking),
        "resultToken": issue_result_token(account_id, region, rule.config_rule_name, invoked),
        "eventLeftScope": False,
        "ruleParameters": rule.input_parameters or "{}",
        "executionRoleArn": f"arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/"
                            "AWSServiceRoleForConfig",
        "accountId": account_id,
    }


def start_config_rules_evaluation(self: Any, rule_names: list[str] | None) -> None:
    """StartConfigRulesEvaluation: invoke each custom Lambda rule; evaluate each emulated managed rule."""
    names = rule_names or sorted(self.config_rules)
    rules = [_rule(self, name) for name in names]
    for rule in rules:
        if rule.source.owner == "AWS":
            evaluate_managed_rule(self, rule)
            continue
        invoke_custom_rule(self, rule)


def invoke_custom_rule(backend: Any, rule: Any) -> None:
    """Invoke a custom rule's Lambda function asynchronously with a periodic rule event and a fresh ResultToken."""
    event = rule_invocation_event(backend.account_id, backend.region_name, rule, datetime.now(UTC))
    internal.client("lambda", backend.account_id, backend.region_name).invoke(
        FunctionName=rule.source.source_identifier, InvocationType="Event", Payload=json.dumps(event).encode())


def delete_evaluation_results(self: Any, rule_name: str) -> None:
    """DeleteEvaluationResults: forget the rule's results."""
    _rule(self, rule_name)
    store.drop_rule(self.account_id, self.region_name, rule_name)


def _wrap_put_config_rule(previous: Callable[..., Any]) -> Callable[..., Any]:
    def put_config_rule(self: Any, config_rule: dict[str, Any], tags: list[dict[str, str]] | None = None) -> str:
        answer = previous(self, config_rule, tags)
        name = config_rule.get("ConfigRuleName") or next(
            (r.config_rule_name for r in self.config_rules.values()
             if config_rule.get("ConfigRuleArn") in (None, r.config_rule_arn)
             and config_rule.get("ConfigRuleId") in (None, r.config_rule_id)), None)
        rule = self.config_rules.get(name) if name else None
        # AWS Config evaluates a rule as soon as it is added or changed.
        if rule is not None and rule.source.owner == "AWS":
            evaluate_managed_rule(self, rule)
        elif rule is not None and any(getattr(d, "message_type", None) == "ScheduledNotification"
                                      for d in rule.source.source_details or []):
            invoke_custom_rule(self, rule)
        return answer

    return put_config_rule


def _wrap_delete_config_rule(previous: Callable[..., Any]) -> Callable[..., Any]:
    def delete_config_rule(self: Any, rule_name: str) -> None:
        previous(self, rule_name)
        store.drop_rule(self.account_id, self.region_name, rule_name)

    return delete_config_rule


def _responses() -> dict[str, Callable[[Any], str]]:
    def put(self: Any) -> str:
        return json.dumps(self.config_backend.put_evaluations(
            self._get_param("Evaluations"), self._get_param("ResultToken"), self._get_param("TestMode")))

    def details_by_rule(self: Any) -> str:
        return json.dumps({"EvaluationResults": self.config_backend.get_compliance_details_by_config_rule(
            self._get_param("ConfigRuleName"), self._get_param("ComplianceTypes"))})

    def details_by_resource(self: Any) -> str:
        return json.dumps({"EvaluationResults": self.config_backend.get_compliance_details_by_resource(
            self._get_param("ResourceType"), self._get_param("ResourceId"), self._get_param("ComplianceTypes"))})

    def by_rule(self: Any) -> str:
        return json.dumps({"ComplianceByConfigRules": self.config_backend.describe_compliance_by_config_rule(
            self._get_param("ConfigRuleNames"), self._get_param("ComplianceTypes"))})

    def by_resource(self: Any) -> str:
        return json.dumps({"ComplianceByResources": self.config_backend.describe_compliance_by_resource(
            self._get_param("ResourceType"), self._get_param("ResourceId"), self._get_param("ComplianceTypes"))})

    def start(self: Any) -> str:
        self.config_backend.start_config_rules_evaluation(self._get_param("ConfigRuleNames"))
        return "{}"

    def delete_results(self: Any) -> str:
        self.config_backend.delete_evaluation_results(self._get_param("ConfigRuleName"))
        return "{}"

    return {
        "put_evaluations": put,
        "get_compliance_details_by_config_rule": details_by_rule,
        "get_compliance_details_by_resource": details_by_resource,
        "describe_compliance_by_config_rule": by_rule,
        "describe_compliance_by_resource": by_resource,
        "start_config_rules_evaluation": start,
        "delete_evaluation_results": delete_results,
    }


def install() -> None:
    """Add the evaluation and compliance operations to moto's Config backend and responses."""
    from moto.config.models import ConfigBackend
    from moto.config.responses import ConfigResponse

    ConfigBackend.put_evaluations = put_evaluations  # type: ignore[method-assign]
    ConfigBackend.get_compliance_details_by_config_rule = get_compliance_details_by_config_rule  # type: ignore[attr-defined]
    ConfigBackend.get_compliance_details_by_resource = get_compliance_details_by_resource  # type: ignore[attr-defined]
    ConfigBackend.describe_compliance_by_config_rule = describe_compliance_by_config_rule  # type: ignore[attr-defined]
    ConfigBackend.describe_compliance_by_resource = describe_compliance_by_resource  # type: ignore[attr-defined]
    ConfigBackend.start_config_rules_evaluation = start_config_rules_evaluation  # type: ignore[attr-defined]
    ConfigBackend.delete_evaluation_results = delete_evaluation_results  # type: ignore[attr-defined]
    ConfigBackend.put_config_rule = _wrap_put_config_rule(ConfigBackend.put_config_rule)  # type: ignore[method-assign]
    ConfigBackend.delete_config_rule = _wrap_delete_config_rule(  # type: ignore[method-assign]
        ConfigBackend.delete_config_rule)
    for name, handler in _responses().items():
        setattr(ConfigResponse, name, handler)
