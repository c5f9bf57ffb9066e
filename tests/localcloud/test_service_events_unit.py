"""Unit checks of the service-event modules' pure logic: template pre-flight checks and Config compliance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventdeploy.localcloud.service_events import cfn_schema, cfn_template
from eventdeploy.localcloud.service_events.config_store import (
    ComplianceStore,
    EvaluationResult,
    change_detail,
    iso_millis,
    rule_compliance,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def result(compliance: str, resource: str = "b1", at: datetime = T0, rule: str = "r") -> EvaluationResult:
    """An evaluation result of rule ``rule`` for bucket ``resource``."""
    return EvaluationResult(rule, "AWS::S3::Bucket", resource, compliance, None, at, at, at)


def test_creation_order_follows_depends_on_ref_getatt_and_sub() -> None:
    """Implicit dependencies (Ref, Fn::GetAtt, Fn::Sub) order creation like DependsOn
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html)."""
    template = {"Parameters": {"Env": {"Type": "String"}}, "Resources": {
        "D": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${C.QueueName}-${Env}-${!Literal}"}}},
        "C": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [{"Value": {"Fn::GetAtt": "B.Arn"}}]}},
        "B": {"Type": "AWS::SQS::Queue", "DependsOn": ["A"], "Properties": {"QueueName": {"Ref": "AWS::StackName"}}},
        "A": {"Type": "AWS::SQS::Queue"},
        "E": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": ["${X}", {"X": {"Ref": "A"}}]}}},
    }}
    order = cfn_template.validate(template)
    assert order.index("A") < order.index("B") < order.index("C") < order.index("D")
    assert order.index("A") < order.index("E")
    assert sorted(order) == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize(("resources", "message"), [
    ({}, "At least one Resources member must be defined"),
    ({"X": {"Properties": {}}}, "[/Resources/X] Every Resources object must contain a Type member"),
    ({"X": {"Type": "SQS::Queue"}}, "Unrecognized resource types: [SQS::Queue]"),
    ({"X": {"Type": "AWS::SQS::Queue", "DependsOn": "Y"}}, "Unresolved resource dependencies [Y]"),
    ({"X": {"Type": "AWS::SQS::Queue", "Properties": {"A": {"Fn::Sub": "${Nope}"}}}},
     "Unresolved resource dependencies [Nope]"),
    ({"A": {"Type": "AWS::SQS::Queue", "Properties": {"Q": {"Ref": "B"}}},
      "B": {"Type": "AWS::SQS::Queue", "Properties": {"Q": {"Fn::GetAtt": ["A", "Arn"]}}}},
     "Circular dependency between resources: [A, B]"),
])
def test_template_errors_name_the_offender(resources: dict, message: str) -> None:
    """Each pre-flight error names what is wrong, in AWS's words."""
    with pytest.raises(cfn_template.TemplateError) as err:
        cfn_template.validate({"Resources": resources})
    assert message in str(err.value)


def test_custom_types_are_recognised() -> None:
    """Custom::Name and AWS::CloudFormation::CustomResource are resource types CloudFormation accepts."""
    cfn_template.validate({"Resources": {"A": {"Type": "Custom::Thing"},
                                         "B": {"Type": "AWS::CloudFormation::CustomResource"}}})


def test_compliance_changes_only_when_compliance_type_changes() -> None:
    """A repeated verdict is not a change; a different one is, and carries the old result."""
    store = ComplianceStore()
    assert store.record("1", "r", result("COMPLIANT")) == (True, None)
    first = store.for_rule("1", "r", "r")[0]
    assert store.record("1", "r", result("COMPLIANT", at=T0 + timedelta(seconds=1))) == (False, first)
    second = store.for_rule("1", "r", "r")[0]
    assert second.ordering_timestamp == T0 + timedelta(seconds=1)
    changed, old = store.record("1", "r", result("NON_COMPLIANT", at=T0 + timedelta(seconds=2)))
    assert changed and old == second


def test_late_older_verdict_and_not_applicable() -> None:
    """An older OrderingTimestamp does not replace a newer verdict; NOT_APPLICABLE removes the result."""
    store = ComplianceStore()
    store.record("1", "r", result("COMPLIANT", at=T0))
    assert store.record("1", "r", result("NON_COMPLIANT", at=T0 - timedelta(seconds=5)))[0] is False
    assert store.for_rule("1", "r", "r")[0].compliance_type == "COMPLIANT"
    assert store.record("1", "r", result("NOT_APPLICABLE", at=T0 + timedelta(seconds=5)))[0] is False
    assert store.for_rule("1", "r", "r") == []


def test_rule_compliance_summary() -> None:
    """NON_COMPLIANT if any resource is (with a capped count), COMPLIANT if all are, INSUFFICIENT_DATA if none
    (https://docs.aws.amazon.com/config/latest/APIReference/API_Compliance.html)."""
    assert rule_compliance([]) == {"ComplianceType": "INSUFFICIENT_DATA"}
    assert rule_compliance([result("COMPLIANT")]) == {"ComplianceType": "COMPLIANT"}
    many = [result("NON_COMPLIANT", resource=f"b{i}") for i in range(101)] + [result("COMPLIANT")]
    assert rule_compliance(many) == {"ComplianceType": "NON_COMPLIANT", "ComplianceContributorCount": {
        "CappedCount": 100, "CapExceeded": True}}


def test_change_detail_shape() -> None:
    """The notification detail of https://docs.aws.amazon.com/config/latest/developerguide/example-config-rule-compliance-notification.html."""
    detail = change_detail("123456789012", "us-east-2", "arn:aws:config:us-east-2:123456789012:config-rule/config-rule-x",
                           result("NON_COMPLIANT"), result("COMPLIANT"), now=T0)
    assert detail["notificationCreationTime"] == "2026-01-02T03:04:05.678Z" == iso_millis(T0)
    assert detail["newEvaluationResult"] == {
        "evaluationResultIdentifier": {
            "evaluationResultQualifier": {"configRuleName": "r", "resourceType": "AWS::S3::Bucket", "resourceId": "b1"},
            "orderingTimestamp": "2026-01-02T03:04:05.678Z"},
        "complianceType": "NON_COMPLIANT", "resultRecordedTime": "2026-01-02T03:04:05.678Z",
        "configRuleInvokedTime": "2026-01-02T03:04:05.678Z", "annotation": None, "resultToken": None}
    assert detail["oldEvaluationResult"]["complianceType"] == "COMPLIANT"
    assert detail["messageType"] == "ComplianceChangeNotification" and detail["recordVersion"] == "1.0"
    first = change_detail("1", "r", "arn", result("COMPLIANT"), None, now=T0)
    assert "oldEvaluationResult" not in first


def test_property_errors_follow_the_registry_schema() -> None:
    """Required/extraneous keys, types (numbers may be strings), enums and bounds, in the registry's words
    (https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html)."""
    region = "us-east-1"
    assert cfn_schema.property_errors(region, "AWS::SQS::Queue", {"MaximumMessageSize": "2048",
                                                                   "FifoQueue": "true"}) == []
    assert cfn_schema.property_errors(region, "AWS::SQS::Queue", {"QueueNam": "x", "DelaySeconds": "soon"}) == [
        "#: extraneous key [QueueNam] is not permitted", "#/DelaySeconds: expected type: Integer, found: String"]
    assert cfn_schema.property_errors(region, "AWS::Lambda::Function", {"Role": "r", "Runtime": "cobol"}) == [
        "#: required key [Code] not found", "#/Runtime: cobol is not a valid enum value"]
    assert cfn_schema.property_errors(region, "AWS::SQS::Queue", {"MaximumMessageSize": 100}) == [
        "#/MaximumMessageSize: 100 is not greater or equal to 1024"]
    assert cfn_schema.property_errors(region, "Custom::Anything", {"ServiceToken": "arn", "Whatever": 1}) == []
    assert cfn_schema.property_errors(region, "AWS::SQS::Queue", {"DelaySeconds": {"Fn::Cidr": ["x"]}}) == []
    assert cfn_schema.property_errors(region, "Custom::Anything", {"Whatever": 1}) == [
        "#: required key [ServiceToken] not found"]
    assert cfn_schema.unrecognized_types({"AWS::SQS::Queue", "AWS::Nope::Thing", "Custom::X"}, region) == [
        "AWS::Nope::Thing"]


def test_managed_rule_scope() -> None:
    """A rule's Scope limits which resources it judges (resource types, then one resource id)
    (https://docs.aws.amazon.com/config/latest/APIReference/API_Scope.html)."""
    from types import SimpleNamespace

    from eventdeploy.localcloud.service_events.config_managed_rules import in_scope

    assert in_scope(None, "AWS::S3::Bucket", "b")
    by_type = SimpleNamespace(compliance_resource_types=["AWS::ECR::Repository"], compliance_resource_id=None)
    assert in_scope(by_type, "AWS::ECR::Repository", "r") and not in_scope(by_type, "AWS::S3::Bucket", "b")
    by_id = SimpleNamespace(compliance_resource_types=["AWS::ECR::Repository"], compliance_resource_id="r")
    assert in_scope(by_id, "AWS::ECR::Repository", "r") and not in_scope(by_id, "AWS::ECR::Repository", "other")


def test_update_diff_ignores_empty_properties_and_follows_parameters() -> None:
    """An update touches only resources whose definition, or a parameter they use, changed
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html)."""
    old = {"A": {"Type": "AWS::SQS::Queue", "Properties": {}}, "B": {"Type": "AWS::SQS::Queue",
           "Properties": {"QueueName": {"Ref": "Name"}}}, "C": {"Type": "AWS::SNS::Topic"}}
    new = {"A": {"Type": "AWS::SQS::Queue"}, "B": dict(old["B"]), "D": {"Type": "AWS::SNS::Topic"}}
    assert cfn_template.resource_diff(old, new, set()) == {"Add": ["D"], "Modify": [], "Remove": ["C"]}
    assert cfn_template.resource_diff(old, new, {"Name"})["Modify"] == ["B"]


def test_periodic_rules_run_every_maximum_execution_frequency() -> None:
    """Periodic rules run once per MaximumExecutionFrequency (24 h by default); change-triggered ones never on a
    schedule (https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigRule.html). Outside the server the
    time scale is 1, so emulated and real seconds agree."""
    from types import SimpleNamespace

    from eventdeploy.localcloud.service_events.config_schedule import Scheduler, period_of

    def custom(arn: str, frequency: str | None, message_type: str = "ScheduledNotification") -> SimpleNamespace:
        detail = SimpleNamespace(message_type=message_type, maximum_execution_frequency=None)
        return SimpleNamespace(config_rule_arn=arn, config_rule_name=arn, maximum_execution_frequency=frequency,
                               source=SimpleNamespace(owner="CUSTOM_LAMBDA", source_details=[detail]))

    hourly, daily = custom("hourly", "One_Hour"), custom("daily", None)
    on_change = custom("on-change", None, "ConfigurationItemChangeNotification")
    managed = SimpleNamespace(config_rule_arn="managed", config_rule_name="managed", maximum_execution_frequency=None,
                              source=SimpleNamespace(owner="AWS", source_identifier="ECR_PRIVATE_IMAGE_SCANNING_ENABLED"))
    assert (period_of(hourly), period_of(daily), period_of(on_change), period_of(managed)) == (3600, 86400, None, 86400)
    runs: list[str] = []
    scheduler = Scheduler(lambda backend, rule: runs.append(rule.config_rule_arn))
    backend = SimpleNamespace(config_rules={r.config_rule_arn: r for r in (hourly, daily, on_change, managed)})
    assert scheduler.tick([backend], 0.0) == []
    assert scheduler.tick([backend], 3599.0) == []
    assert scheduler.tick([backend], 3600.0) == ["hourly"]
    assert scheduler.tick([backend], 86400.0) == ["hourly", "daily", "managed"]
    assert runs == ["hourly", "hourly", "daily", "managed"]
    del backend.config_rules["hourly"]
    scheduler.tick([backend], 86401.0)
    assert "hourly" not in scheduler.last_run


def test_stacks_from_before_a_reset_are_abandoned() -> None:
    """After a reset, a worker still finishing an old stack records and emits nothing for it."""
    from types import SimpleNamespace

    from eventdeploy.localcloud.service_events import cfn_events

    old = SimpleNamespace()
    assert not cfn_events.abandoned(old)
    cfn_events.reset()
    assert cfn_events.abandoned(old)
    assert not cfn_events.abandoned(SimpleNamespace())
