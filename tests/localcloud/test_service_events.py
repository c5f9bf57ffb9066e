"""Conformance: ECR, CloudFormation and AWS Config service events on the default bus, observed on an SQS tap.

Each test runs in an account of its own, so its tap sees only its own service events.
"""

from __future__ import annotations

import datetime
import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from eventdeploy.triggers import push_image

REGION = "us-east-1"
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def new_account() -> str:
    """A fresh 12-digit account id: its default bus carries only this test's events."""
    return str(random.randint(10**11, 10**12 - 1))


class Tap:
    """An SQS queue receiving every event of ``source`` from the account's default bus."""

    def __init__(self, aws: Callable[..., Any], account: str, source: str) -> None:
        self.sqs = aws("sqs", account_id=account)
        events = aws("events", account_id=account)
        name = f"tap-{uuid.uuid4().hex[:12]}"
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
        events.put_targets(Rule=name, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 40.0) -> list[dict[str, Any]]:
        """Receive until ``done(events so far)`` holds; fail with what arrived when the deadline passes."""
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            if time.monotonic() > deadline:
                pytest.fail(f"tap did not get the expected events in {timeout}s; got: "
                            f"{json.dumps(self.seen, indent=1)[:4000]}")
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen

    def settle(self, seconds: float = 1.0) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` more (to show that no further event came)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen


def check_envelope(event: dict[str, Any], account: str, source: str, detail_type: str) -> None:
    """The envelope fields every EventBridge event has, with this service's values."""
    assert set(event) == ENVELOPE_KEYS, event
    assert event["version"] == "0"
    assert event["source"] == source
    assert event["detail-type"] == detail_type
    assert event["account"] == account
    assert event["region"] == REGION
    uuid.UUID(event["id"])
    time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")


def push(ecr: Any, repo: str, tag: str) -> str:
    """Push an image with a layer of its own (layer and config uploaded first, as PutImage requires); its digest."""
    return push_image(ecr, repo, tag, f"layer {uuid.uuid4()}")


def test_ecr_push_and_delete_emit_image_action_events(aws: Callable[..., Any]) -> None:
    """ECR Image Action PUSH on PutImage and DELETE on BatchDeleteImage, as in
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html (resources is [] in every sample)."""
    account = new_account()
    tap = Tap(aws, account, "aws.ecr")
    ecr = aws("ecr", account_id=account)
    repo = f"app-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo)
    digest = push(ecr, repo, "v1")
    pushed = tap.wait_for(lambda seen: len(seen) >= 1)[0]
    check_envelope(pushed, account, "aws.ecr", "ECR Image Action")
    assert pushed["resources"] == []
    assert pushed["detail"] == {"result": "SUCCESS", "repository-name": repo, "image-digest": digest,
                                "action-type": "PUSH", "image-tag": "v1"}

    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    deleted = tap.wait_for(lambda seen: len(seen) >= 2)[1]
    check_envelope(deleted, account, "aws.ecr", "ECR Image Action")
    assert deleted["detail"] == {"result": "SUCCESS", "repository-name": repo, "image-digest": digest,
                                 "action-type": "DELETE", "image-tag": "v1"}


def test_ecr_rejected_push_emits_nothing(aws: Callable[..., Any]) -> None:
    """A push refused for tag immutability is an API error and, as AWS documents no event for it
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html), emits none."""
    account = new_account()
    tap = Tap(aws, account, "aws.ecr")
    ecr = aws("ecr", account_id=account)
    repo = f"app-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo, imageTagMutability="IMMUTABLE")
    push(ecr, repo, "v1")
    with pytest.raises(ecr.exceptions.ImageTagAlreadyExistsException):
        push(ecr, repo, "v1")
    push(ecr, repo, "v2")
    # Anything the rejected push emitted went on the bus before v2's event did.
    tap.wait_for(lambda seen: {e["detail"].get("image-tag") for e in seen} >= {"v1", "v2"})
    assert sorted((e["detail"]["action-type"], e["detail"]["result"], e["detail"]["image-tag"])
                  for e in tap.settle(0.5)) == [("PUSH", "SUCCESS", "v1"), ("PUSH", "SUCCESS", "v2")]


def stack_template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    """A JSON CloudFormation template with these resources."""
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        body["Outputs"] = outputs
    return json.dumps(body)


def stack_history(cfn: Any, stack_id: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of every stack event, oldest first."""
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""))
            for e in reversed(events)]


def cfn_changes(events: list[dict[str, Any]], stack_id: str) -> list[tuple[str, str, str]]:
    """(logical id or '' for the stack, status, reason) of the tap's CloudFormation events for one stack."""
    found = []
    for event in events:
        detail = event["detail"]
        if detail["stack-id"] != stack_id:
            continue
        logical = detail.get("logical-resource-id", "")
        found.append((logical, detail["status-details"]["status"], detail["status-details"]["status-reason"]))
    return found


def wait_stack(cfn: Any, stack_id: str, done: set[str], timeout: float = 40.0) -> dict[str, Any]:
    """Describe the stack until its status is one of ``done``."""
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        if stack["StackStatus"] in done:
            return stack
        if time.monotonic() > deadline:
            pytest.fail(f"stack stayed {stack['StackStatus']} for {timeout}s")
        time.sleep(0.05)


def test_stack_create_update_delete_emit_every_status(aws: Callable[..., Any]) -> None:
    """Stack and resource status changes through create, update and delete, as in
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html and
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-resource-status-change.html."""
    account = new_account()
    tap = Tap(aws, account, "aws.cloudformation")
    cfn = aws("cloudformation", account_id=account)
    name = f"ok-{uuid.uuid4().hex[:8]}"
    template = stack_template(
        {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q"}},
         "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${Queue.QueueName}-t"}}}},
        {"QueueUrl": {"Value": {"Ref": "Queue"}}})
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template, ClientRequestToken="tok-create")["StackId"]
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert described["Outputs"][0]["OutputValue"].endswith(f"/{name}-q")
    expected_create = [
        (name, "CREATE_IN_PROGRESS", "User Initiated"),
        ("Queue", "CREATE_IN_PROGRESS", ""),
        ("Queue", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("Queue", "CREATE_COMPLETE", ""),
        ("Topic", "CREATE_IN_PROGRESS", ""),
        ("Topic", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("Topic", "CREATE_COMPLETE", ""),
        (name, "CREATE_COMPLETE", ""),
    ]
    assert stack_history(cfn, stack_id) == expected_create
    seen = tap.wait_for(lambda s: len(cfn_changes(s, stack_id)) >= len(expected_create))
    as_events = [(lid or name, status, reason) for lid, status, reason in cfn_changes(seen, stack_id)]
    assert sorted(as_events) == sorted(expected_create)
    stack_event = next(e for e in seen if e["detail-type"] == "CloudFormation Stack Status Change")
    check_envelope(stack_event, account, "aws.cloudformation", "CloudFormation Stack Status Change")
    assert stack_event["resources"] == [stack_id]
    assert set(stack_event["detail"]) == {"stack-id", "status-details", "client-request-token"}
    assert stack_event["detail"]["client-request-token"] == "tok-create"
    queue_done = next(e for e in seen if e["detail"].get("logical-resource-id") == "Queue"
                      and e["detail"]["status-details"]["status"] == "CREATE_COMPLETE")
    check_envelope(queue_done, account, "aws.cloudformation", "CloudFormation Resource Status Change")
    assert queue_done["resources"] == [stack_id]
    assert queue_done["detail"]["resource-type"] == "AWS::SQS::Queue"
    assert queue_done["detail"]["physical-resource-id"].endswith(f"/{name}-q")
    assert set(queue_done["detail"]) == {"stack-id", "logical-resource-id", "physical-resource-id",
                                         "status-details", "resource-type", "client-request-token"}

    updated = stack_template(
        {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q"}},
         "Extra": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-extra"}}})
    cfn.update_stack(StackName=name, TemplateBody=updated)
    cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    statuses = [s for lid, s, _ in stack_history(cfn, stack_id) if lid == name]
    assert statuses[-3:] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert [s for lid, s, _ in stack_history(cfn, stack_id) if lid == "Queue"] == [
        "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"], "an unchanged resource is not updated"
    topic_events = [s for lid, s, _ in stack_history(cfn, stack_id) if lid == "Topic"]
    assert topic_events[-2:] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    resources = cfn.describe_stack_resources(StackName=name)["StackResources"]
    assert {r["LogicalResourceId"] for r in resources} == {"Queue", "Extra"}
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" and r["Timestamp"].year >= 2025 for r in resources)
    updated_stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert updated_stack["LastUpdatedTime"] >= updated_stack["CreationTime"]

    cfn.update_termination_protection(StackName=name, EnableTerminationProtection=True)
    with pytest.raises(cfn.exceptions.ClientError, match="cannot be deleted while TerminationProtection is enabled"):
        cfn.delete_stack(StackName=name)
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is True
    cfn.update_termination_protection(StackName=name, EnableTerminationProtection=False)
    cfn.delete_stack(StackName=name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    assert [s for lid, s, _ in stack_history(cfn, stack_id) if lid == name][-2:] == [
        "DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["DeletionTime"] >= updated_stack["LastUpdatedTime"]
    sqs = aws("sqs", account_id=account)
    assert not [u for u in sqs.list_queues().get("QueueUrls", []) if name in u]
    tap.wait_for(lambda s: ("", "DELETE_COMPLETE", "") in cfn_changes(s, stack_id))


def test_stack_create_failure_rolls_back_with_reasons(aws: Callable[..., Any]) -> None:
    """A resource CloudFormation cannot create fails the stack: CREATE_FAILED → ROLLBACK_IN_PROGRESS →
    ROLLBACK_COMPLETE (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html)."""
    account = new_account()
    tap = Tap(aws, account, "aws.cloudformation")
    cfn = aws("cloudformation", account_id=account)
    name = f"bad-{uuid.uuid4().hex[:8]}"
    template = stack_template({
        "Good": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-good"}},
        "Bad": {"Type": "AWS::SQS::Queue", "DependsOn": "Good",
                "Properties": {"QueueName": f"{name}-bad", "MaximumMessageSize": 100}},
    })
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template)["StackId"]
    with pytest.raises(Exception, match="ROLLBACK_COMPLETE|terminal failure"):
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    described = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = "The following resource(s) failed to create: [Bad]. Rollback requested by user."
    assert described["StackStatusReason"] == reason
    history = stack_history(cfn, stack_id)
    failed = [h for h in history if h[1] == "CREATE_FAILED"]
    assert len(failed) == 1 and failed[0][0] == "Bad" and "MaximumMessageSize" in failed[0][2]
    after_failure = [(lid, status) for lid, status, _ in history[history.index(failed[0]):]]
    assert after_failure == [("Bad", "CREATE_FAILED"), (name, "ROLLBACK_IN_PROGRESS"),
                             ("Bad", "DELETE_IN_PROGRESS"), ("Bad", "DELETE_COMPLETE"),
                             ("Good", "DELETE_IN_PROGRESS"), ("Good", "DELETE_COMPLETE"),
                             (name, "ROLLBACK_COMPLETE")]
    assert failed[0][2] == ("Properties validation failed for resource Bad with message: "
                            "[#/MaximumMessageSize: 100 is not greater or equal to 1024]")
    assert (name, "ROLLBACK_IN_PROGRESS", reason) in history
    sqs = aws("sqs", account_id=account)
    assert not [u for u in sqs.list_queues().get("QueueUrls", []) if name in u]
    seen = tap.wait_for(lambda s: ("", "ROLLBACK_COMPLETE", "") in cfn_changes(s, stack_id))
    changes = cfn_changes(seen, stack_id)
    assert ("", "ROLLBACK_IN_PROGRESS", reason) in changes
    assert ("Bad", "CREATE_FAILED", failed[0][2]) in changes
    with pytest.raises(cfn.exceptions.ClientError, match="ROLLBACK_COMPLETE state and can not be updated"):
        cfn.update_stack(StackName=name, TemplateBody=template.replace("-good", "-good2"))


def test_wait_condition_timeout_with_on_failure_do_nothing(aws: Callable[..., Any]) -> None:
    """The documented way to fail a stack on purpose: an unsignalled WaitCondition with Timeout 1
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitcondition.html);
    OnFailure DO_NOTHING leaves it CREATE_FAILED."""
    account = new_account()
    cfn = aws("cloudformation", account_id=account)
    name = f"wait-{uuid.uuid4().hex[:8]}"
    template = stack_template({
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                 "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "1", "Count": "1"}},
    })
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template, OnFailure="DO_NOTHING")["StackId"]
    described = wait_stack(cfn, stack_id, {"CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_COMPLETE"})
    assert described["StackStatus"] == "CREATE_FAILED"
    assert described["StackStatusReason"] == "The following resource(s) failed to create: [Wait]. "
    assert described["DisableRollback"] is True
    wait_failed = [h for h in stack_history(cfn, stack_id) if h[0] == "Wait" and h[1] == "CREATE_FAILED"]
    assert wait_failed == [("Wait", "CREATE_FAILED",
                            "WaitCondition timed out. Received 0 conditions when expecting 1")]
    handle = next(r for r in cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
                  if r["LogicalResourceId"] == "Handle")
    assert handle["ResourceStatus"] == "CREATE_COMPLETE"


def test_wait_condition_signalled_on_its_handle_url_completes(aws: Callable[..., Any]) -> None:
    """A SUCCESS signal PUT to the handle's URL completes the WaitCondition and its Data is readable
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-waitcondition.html)."""
    import urllib.request

    account = new_account()
    cfn = aws("cloudformation", account_id=account)
    name = f"sig-{uuid.uuid4().hex[:8]}"
    template = stack_template(
        {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
         "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                  "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "43200"}}},
        {"Data": {"Value": {"Fn::GetAtt": ["Wait", "Data"]}}})
    stack_id = cfn.create_stack(StackName=name, TemplateBody=template)["StackId"]
    deadline = time.monotonic() + 30
    url = ""
    while not url:
        for resource in cfn.describe_stack_resources(StackName=stack_id)["StackResources"]:
            if resource["LogicalResourceId"] == "Handle":
                url = resource["PhysicalResourceId"]
        assert time.monotonic() < deadline, "the handle was never created"
        time.sleep(0.05)
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    signal = json.dumps({"Status": "SUCCESS", "UniqueId": "one", "Data": "ready", "Reason": "done"}).encode()
    urllib.request.urlopen(urllib.request.Request(url, data=signal, method="PUT"), timeout=10).read()
    cfn.get_waiter("stack_create_complete").wait(StackName=stack_id, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    outputs = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["Outputs"]
    assert json.loads(outputs[0]["OutputValue"]) == {"one": "ready"}


def test_stack_update_failure_rolls_back(aws: Callable[..., Any]) -> None:
    """A failed update: UPDATE_IN_PROGRESS → UPDATE_ROLLBACK_IN_PROGRESS → UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS
    → UPDATE_ROLLBACK_COMPLETE, new resources removed, old ones kept
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html)."""
    account = new_account()
    tap = Tap(aws, account, "aws.cloudformation")
    cfn = aws("cloudformation", account_id=account)
    name = f"upd-{uuid.uuid4().hex[:8]}"
    original = stack_template({"Keep": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-keep"}}})
    stack_id = cfn.create_stack(StackName=name, TemplateBody=original)["StackId"]
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    broken = stack_template({
        "Keep": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-keep"}},
        "Added": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-added"}},
        "Broken": {"Type": "AWS::SQS::Queue", "DependsOn": "Added",
                   "Properties": {"QueueName": f"{name}-broken", "MaximumMessageSize": 5}},
    })
    cfn.update_stack(StackName=name, TemplateBody=broken)
    with pytest.raises(Exception, match="UPDATE_ROLLBACK_COMPLETE|terminal failure"):
        cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    described = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reason = "The following resource(s) failed to create: [Broken]. "
    stack_statuses = [(s, r) for lid, s, r in stack_history(cfn, stack_id) if lid == name]
    assert stack_statuses[-4:] == [("UPDATE_IN_PROGRESS", "User Initiated"), ("UPDATE_ROLLBACK_IN_PROGRESS", reason),
                                   ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", ""),
                                   ("UPDATE_ROLLBACK_COMPLETE", "")]
    sqs = aws("sqs", account_id=account)
    queues = [u.rsplit("/", 1)[1] for u in sqs.list_queues().get("QueueUrls", []) if name in u]
    assert queues == [f"{name}-keep"]
    assert cfn.get_template(StackName=stack_id)["TemplateBody"] in (original, json.loads(original))
    seen = tap.wait_for(lambda s: ("", "UPDATE_ROLLBACK_COMPLETE", "") in cfn_changes(s, stack_id))
    assert ("", "UPDATE_ROLLBACK_IN_PROGRESS", reason) in cfn_changes(seen, stack_id)


@pytest.mark.parametrize(("resources", "message"), [
    ({"X": {"Type": "AWS::Nope"}}, "Unrecognized resource types: [AWS::Nope]"),
    ({"X": {"Type": "AWS::Nope::Thing"}, "Y": {"Type": "AWS::SQS::Queue"}},
     "Unrecognized resource types: [AWS::Nope::Thing]"),
    ({"X": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Missing"}}}},
     "Unresolved resource dependencies [Missing]"),
    ({"A": {"Type": "AWS::SQS::Queue", "DependsOn": "B"}, "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"}},
     "Circular dependency between resources: [A, B]"),
])
def test_template_errors_are_rejected_before_any_stack_exists(
    aws: Callable[..., Any], resources: dict[str, Any], message: str,
) -> None:
    """Template errors are answered as ValidationError by CreateStack itself
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html)."""
    cfn = aws("cloudformation", account_id=new_account())
    name = f"tpl-{uuid.uuid4().hex[:8]}"
    with pytest.raises(cfn.exceptions.ClientError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cfn.create_stack(StackName=name, TemplateBody=stack_template(resources))
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name]


RULE_HANDLER = '''
import datetime
import json

import boto3


def handler(event, context):
    params = json.loads(event["ruleParameters"])
    boto3.client("config").put_evaluations(
        Evaluations=[{
            "ComplianceResourceType": "AWS::S3::Bucket",
            "ComplianceResourceId": params["bucket"],
            "ComplianceType": params["verdict"],
            "Annotation": params["note"],
            "OrderingTimestamp": datetime.datetime.now(datetime.timezone.utc),
        }],
        ResultToken=event["resultToken"],
    )
    return {"invoked": event["configRuleName"], "messageType": json.loads(event["invokingEvent"])["messageType"]}
'''


def handler_function(aws: Callable[..., Any], account: str, source: str, prefix: str) -> str:
    """A python3.11 Lambda function in ``account`` whose ``index.handler`` is ``source``; its ARN."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = aws("iam", account_id=account).create_role(
        RoleName=f"{prefix}-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))
    return aws("lambda", account_id=account).create_function(
        FunctionName=f"{prefix}-{uuid.uuid4().hex[:8]}", Runtime="python3.11", Role=role["Role"]["Arn"],
        Handler="index.handler", Code={"ZipFile": buffer.getvalue()}, Timeout=30)["FunctionArn"]


def custom_rule_function(aws: Callable[..., Any], account: str) -> str:
    """A Lambda function that reports the verdict its rule parameters name, as a custom Config rule does."""
    return handler_function(aws, account, RULE_HANDLER, "rule")


def put_rule(config: Any, name: str, function_arn: str, bucket: str, verdict: str, note: str) -> None:
    """Create or update the custom rule with the verdict its function should report."""
    config.put_config_rule(ConfigRule={
        "ConfigRuleName": name,
        "Source": {"Owner": "CUSTOM_LAMBDA", "SourceIdentifier": function_arn,
                   "SourceDetails": [{"EventSource": "aws.config", "MessageType": "ScheduledNotification",
                                      "MaximumExecutionFrequency": "One_Hour"}]},
        "InputParameters": json.dumps({"bucket": bucket, "verdict": verdict, "note": note}),
    })


def now_millis() -> datetime.datetime:
    """Now, cut to the millisecond precision Config reports ConfigRuleInvokedTime with."""
    now = datetime.datetime.now(datetime.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def result_of_invocation(config: Any, rule: str, since: datetime.datetime) -> dict[str, Any]:
    """Wait for the result of the rule invocation that began at or after ``since``.

    Each invocation is asynchronous; waiting for "some new result" would let an earlier invocation's late result stand
    in for this one and leave this one in flight, to land in the middle of the next step."""
    deadline = time.monotonic() + 60
    while True:
        results = config.get_compliance_details_by_config_rule(ConfigRuleName=rule)["EvaluationResults"]
        if results and results[0]["ConfigRuleInvokedTime"] >= since:
            return results[0]
        if time.monotonic() > deadline:
            pytest.fail(f"rule {rule} recorded no result of an invocation since {since} in 60s (have {results})")
        time.sleep(0.1)


def test_config_compliance_change_only_on_change(aws: Callable[..., Any]) -> None:
    """A custom Lambda rule (invoked when put, and by StartConfigRulesEvaluation) reporting COMPLIANT, COMPLIANT, then
    NON_COMPLIANT emits two Config Rules Compliance Change events, the second with the old result
    (https://docs.aws.amazon.com/config/latest/developerguide/example-config-rule-compliance-notification.html,
    https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_example-events.html)."""
    account = new_account()
    tap = Tap(aws, account, "aws.config")
    config = aws("config", account_id=account)
    function_arn = custom_rule_function(aws, account)
    rule, bucket = f"rule-{uuid.uuid4().hex[:8]}", f"bucket-{uuid.uuid4().hex[:8]}"
    since = now_millis()
    put_rule(config, rule, function_arn, bucket, "COMPLIANT", "versioned")
    rule_arn = config.describe_config_rules(ConfigRuleNames=[rule])["ConfigRules"][0]["ConfigRuleArn"]
    first = result_of_invocation(config, rule, since)  # putting the rule invoked it
    assert first["ComplianceType"] == "COMPLIANT" and first["Annotation"] == "versioned"
    with pytest.raises(config.exceptions.NoSuchConfigRuleException):
        config.start_config_rules_evaluation(ConfigRuleNames=[rule, "no-such-rule"])
    [event] = tap.wait_for(lambda seen: len(seen) >= 1)
    check_envelope(event, account, "aws.config", "Config Rules Compliance Change")
    assert event["resources"] == []
    detail = event["detail"]
    assert "oldEvaluationResult" not in detail
    assert {k: v for k, v in detail.items() if k not in ("newEvaluationResult", "notificationCreationTime")} == {
        "resourceId": bucket, "awsRegion": REGION, "awsAccountId": account, "configRuleName": rule,
        "recordVersion": "1.0", "configRuleARN": rule_arn, "messageType": "ComplianceChangeNotification",
        "resourceType": "AWS::S3::Bucket"}
    new = detail["newEvaluationResult"]
    assert new["evaluationResultIdentifier"]["evaluationResultQualifier"] == {
        "configRuleName": rule, "resourceType": "AWS::S3::Bucket", "resourceId": bucket}
    assert new["complianceType"] == "COMPLIANT" and new["annotation"] == "versioned"
    for stamp in (new["resultRecordedTime"], new["configRuleInvokedTime"],
                  new["evaluationResultIdentifier"]["orderingTimestamp"], detail["notificationCreationTime"]):
        time.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")

    since = now_millis()
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    second = result_of_invocation(config, rule, since)
    assert second["ComplianceType"] == "COMPLIANT"

    since = now_millis()
    put_rule(config, rule, function_arn, bucket, "NON_COMPLIANT", "versioning suspended")
    third = result_of_invocation(config, rule, since)
    assert third["ComplianceType"] == "NON_COMPLIANT"
    tap.wait_for(lambda seen: any(e["detail"]["newEvaluationResult"]["complianceType"] == "NON_COMPLIANT"
                                  for e in seen))
    # A change event for the repeated COMPLIANT verdict would have been on the bus before this one.
    assert len(tap.settle(0.5)) == 2, "the same compliance again must not emit a change"
    changed = tap.seen[1]["detail"]
    assert changed["oldEvaluationResult"]["complianceType"] == "COMPLIANT"
    assert changed["newEvaluationResult"]["complianceType"] == "NON_COMPLIANT"
    assert changed["newEvaluationResult"]["annotation"] == "versioning suspended"

    assert config.describe_compliance_by_config_rule(ConfigRuleNames=[rule])["ComplianceByConfigRules"] == [
        {"ConfigRuleName": rule, "Compliance": {"ComplianceType": "NON_COMPLIANT", "ComplianceContributorCount": {
            "CappedCount": 1, "CapExceeded": False}}}]
    by_resource = config.get_compliance_details_by_resource(ResourceType="AWS::S3::Bucket", ResourceId=bucket)
    assert [(r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ConfigRuleName"], r["ComplianceType"])
            for r in by_resource["EvaluationResults"]] == [(rule, "NON_COMPLIANT")]
    assert config.get_compliance_details_by_config_rule(
        ConfigRuleName=rule, ComplianceTypes=["COMPLIANT"])["EvaluationResults"] == []


def test_config_put_evaluations_rejects_bad_tokens_and_unknown_rules(aws: Callable[..., Any]) -> None:
    """PutEvaluations needs the ResultToken Config issued (InvalidResultTokenException otherwise); compliance of
    an unknown rule is NoSuchConfigRuleException (https://docs.aws.amazon.com/config/latest/APIReference/API_PutEvaluations.html)."""
    config = aws("config", account_id=new_account())
    evaluation = {"ComplianceResourceType": "AWS::S3::Bucket", "ComplianceResourceId": "b",
                  "ComplianceType": "COMPLIANT", "OrderingTimestamp": time.time()}
    with pytest.raises(config.exceptions.InvalidResultTokenException):
        config.put_evaluations(Evaluations=[evaluation], ResultToken="not-a-token")
    with pytest.raises(config.exceptions.NoSuchConfigRuleException):
        config.get_compliance_details_by_config_rule(ConfigRuleName="no-such-rule")
    with pytest.raises(config.exceptions.NoSuchConfigRuleException):
        config.describe_compliance_by_config_rule(ConfigRuleNames=["no-such-rule"])


PROVIDER_HANDLER = '''
import json
import urllib.request

import boto3


def handler(event, context):
    props = event["ResourceProperties"]
    if event["RequestType"] == "Delete" and props.get("DeleteLog"):
        boto3.client("sqs").send_message(QueueUrl=props["DeleteLog"], MessageBody=event["PhysicalResourceId"])
    failed = event["RequestType"] != "Delete" and props.get("Fail") == "yes"
    body = {"Status": "FAILED" if failed else "SUCCESS", "Reason": "the provider said no",
            "PhysicalResourceId": ("replaced-" + event["LogicalResourceId"]
                                   if event["RequestType"] == "Update" and props.get("Replace") == "yes"
                                   else event.get("PhysicalResourceId") or "answer-" + event["LogicalResourceId"]),
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"], "Data": {"Answer": "42"}}
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT",
                                     headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=10).read()
'''


def provider_function(aws: Callable[..., Any], account: str) -> str:
    """A Lambda custom resource provider speaking the cfn-response protocol."""
    return handler_function(aws, account, PROVIDER_HANDLER, "prov")


def test_custom_resource_success_data_delete_and_failed_answer(aws: Callable[..., Any]) -> None:
    """A Lambda-backed custom resource: SUCCESS with Data (Fn::GetAtt), an Update answered with a new physical id
    (old one deleted in cleanup), Delete on stack deletion, and a FAILED answer failing the stack and being sent a
    Delete on rollback (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html)."""
    account = new_account()
    cfn, sqs = aws("cloudformation", account_id=account), aws("sqs", account_id=account)
    provider = provider_function(aws, account)
    delete_log = sqs.create_queue(QueueName=f"deletes-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    good = stack_template(
        {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": provider, "DeleteLog": delete_log}}},
        {"Answer": {"Value": {"Fn::GetAtt": ["Thing", "Answer"]}}})
    name = f"custom-{uuid.uuid4().hex[:8]}"
    stack_id = cfn.create_stack(StackName=name, TemplateBody=good)["StackId"]
    described = wait_stack(cfn, stack_id, {"CREATE_COMPLETE", "ROLLBACK_COMPLETE"}, timeout=40)
    assert described["StackStatus"] == "CREATE_COMPLETE", stack_history(cfn, stack_id)
    assert described["Outputs"][0]["OutputValue"] == "42"
    [thing] = cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
    assert thing["PhysicalResourceId"] == "answer-Thing" and thing["ResourceStatus"] == "CREATE_COMPLETE"

    def deleted_ids() -> list[str]:
        got = sqs.receive_message(QueueUrl=delete_log, WaitTimeSeconds=5).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=delete_log, ReceiptHandle=message["ReceiptHandle"])
        return [m["Body"] for m in got]

    replacing = good.replace('"DeleteLog"', '"Replace": "yes", "DeleteLog"')
    cfn.update_stack(StackName=stack_id, TemplateBody=replacing)
    assert wait_stack(cfn, stack_id, {"UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}, timeout=40)["StackStatus"] == (
        "UPDATE_COMPLETE")
    [thing] = cfn.describe_stack_resources(StackName=stack_id)["StackResources"]
    assert thing["PhysicalResourceId"] == "replaced-Thing" and thing["ResourceStatus"] == "UPDATE_COMPLETE"
    assert deleted_ids() == ["answer-Thing"], "the cleanup phase deletes the replaced physical resource"
    cfn.delete_stack(StackName=stack_id)
    wait_stack(cfn, stack_id, {"DELETE_COMPLETE", "DELETE_FAILED"}, timeout=40)
    assert deleted_ids() == ["replaced-Thing"]

    bad = stack_template({"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": provider, "Fail": "yes",
                                                                            "DeleteLog": delete_log}}})
    bad_id = cfn.create_stack(StackName=f"{name}-bad", TemplateBody=bad)["StackId"]
    assert wait_stack(cfn, bad_id, {"CREATE_COMPLETE", "ROLLBACK_COMPLETE"}, timeout=40)["StackStatus"] == (
        "ROLLBACK_COMPLETE")
    [(_, _, reason)] = [h for h in stack_history(cfn, bad_id) if h[1] == "CREATE_FAILED"]
    assert reason.startswith("Received response status [FAILED] from custom resource. Message returned: "
                             "the provider said no (RequestId: ")
    assert deleted_ids() == ["answer-Thing"], "the rollback must send the provider a Delete"


def test_change_sets_run_through_the_same_lifecycle(aws: Callable[..., Any]) -> None:
    """ExecuteChangeSet creates/updates like CreateStack/UpdateStack, with rollback on failure
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html)."""
    account = new_account()
    cfn = aws("cloudformation", account_id=account)
    name = f"cs-{uuid.uuid4().hex[:8]}"
    first = stack_template({"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q"}}})
    created = cfn.create_change_set(StackName=name, ChangeSetName="one", TemplateBody=first, ChangeSetType="CREATE")
    stack_id = created["StackId"]
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    cfn.execute_change_set(ChangeSetName=created["Id"])
    assert wait_stack(cfn, stack_id, {"CREATE_COMPLETE", "ROLLBACK_COMPLETE"})["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.describe_change_set(ChangeSetName=created["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert [r["ResourceStatus"] for r in cfn.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]] == [
        "CREATE_COMPLETE"]

    broken = stack_template({"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q"}},
                             "R": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 9999}}})
    second = cfn.create_change_set(StackName=name, ChangeSetName="two", TemplateBody=broken, ChangeSetType="UPDATE")
    cfn.execute_change_set(ChangeSetName=second["Id"])
    final = wait_stack(cfn, stack_id, {"UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"})
    assert final["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    deadline = time.monotonic() + 20
    while cfn.describe_change_set(ChangeSetName=second["Id"])["ExecutionStatus"] != "EXECUTE_FAILED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [(_, _, reason)] = [h for h in stack_history(cfn, stack_id) if h[1] == "CREATE_FAILED"]
    assert reason == ("Properties validation failed for resource R with message: "
                      "[#/DelaySeconds: 9999 is not less or equal to 900]")


def test_ecr_image_scan_event_agrees_with_scan_findings(aws: Callable[..., Any]) -> None:
    """StartImageScan emits ECR Image Scan with the severity counts DescribeImageScanFindings reports
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html, 'Event for an image scan')."""
    account = new_account()
    tap = Tap(aws, account, "aws.ecr")
    ecr = aws("ecr", account_id=account)
    repo = f"scan-{uuid.uuid4().hex[:8]}"
    repo_arn = ecr.create_repository(repositoryName=repo)["repository"]["repositoryArn"]
    digest = push(ecr, repo, "v2")
    ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v2"})
    findings = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": "v2"})
    expected_counts: dict[str, int] = {}
    for finding in findings["imageScanFindings"]["findings"]:
        expected_counts[finding["severity"]] = expected_counts.get(finding["severity"], 0) + 1
    seen = tap.wait_for(lambda s: any(e["detail-type"] == "ECR Image Scan" for e in s))
    scan = next(e for e in seen if e["detail-type"] == "ECR Image Scan")
    check_envelope(scan, account, "aws.ecr", "ECR Image Scan")
    assert scan["resources"] == [repo_arn]
    assert scan["detail"] == {"scan-status": "COMPLETE", "repository-name": repo,
                              "finding-severity-counts": expected_counts, "image-digest": digest,
                              "image-tags": ["v2"]}


def test_managed_rule_evaluates_local_resources_and_reports_changes(aws: Callable[..., Any]) -> None:
    """ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED is evaluated when put and on StartConfigRulesEvaluation; fixing the
    repository emits one change NON_COMPLIANT → COMPLIANT
    (https://docs.aws.amazon.com/config/latest/developerguide/ecr-private-tag-immutability-enabled.html)."""
    account = new_account()
    tap = Tap(aws, account, "aws.config")
    config, ecr = aws("config", account_id=account), aws("ecr", account_id=account)
    repo = f"mutable-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=repo)
    rule = f"immutable-tags-{uuid.uuid4().hex[:6]}"
    config.put_config_rule(ConfigRule={
        "ConfigRuleName": rule, "Scope": {"ComplianceResourceTypes": ["AWS::ECR::Repository"]},
        "Source": {"Owner": "AWS", "SourceIdentifier": "ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED"}})
    first = tap.wait_for(lambda s: len(s) >= 1)[0]["detail"]
    assert (first["resourceId"], first["resourceType"]) == (repo, "AWS::ECR::Repository")
    assert first["newEvaluationResult"]["complianceType"] == "NON_COMPLIANT" and "oldEvaluationResult" not in first

    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    second = tap.wait_for(lambda s: len(s) >= 2)[1]["detail"]
    assert second["oldEvaluationResult"]["complianceType"] == "NON_COMPLIANT"
    assert second["newEvaluationResult"]["complianceType"] == "COMPLIANT"
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="MUTABLE")
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    # The repeated COMPLIANT evaluation came first; only the change back to NON_COMPLIANT may follow.
    third = tap.wait_for(lambda s: len(s) >= 3)[2]["detail"]
    assert (third["oldEvaluationResult"]["complianceType"], third["newEvaluationResult"]["complianceType"]) == (
        "COMPLIANT", "NON_COMPLIANT")
    assert len(tap.settle(0.5)) == 3
    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    tap.wait_for(lambda s: len(s) >= 4)
    [result] = config.get_compliance_details_by_resource(ResourceType="AWS::ECR::Repository",
                                                         ResourceId=repo)["EvaluationResults"]
    assert result["ComplianceType"] == "COMPLIANT"
    assert config.describe_compliance_by_resource(ResourceType="AWS::ECR::Repository")["ComplianceByResources"] == [
        {"ResourceType": "AWS::ECR::Repository", "ResourceId": repo, "Compliance": {"ComplianceType": "COMPLIANT"}}]


def test_on_failure_delete_and_a_missing_reference(aws: Callable[..., Any]) -> None:
    """A resource that names something missing fails (HandlerErrorCode NotFound); OnFailure DELETE rolls back and
    then deletes the stack; OnFailure with DisableRollback is refused
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html)."""
    account = new_account()
    cfn = aws("cloudformation", account_id=account)
    template = stack_template({"Allow": {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": f"missing-{uuid.uuid4().hex[:6]}", "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com"}}})
    with pytest.raises(cfn.exceptions.ClientError, match="either DisableRollback or OnFailure"):
        cfn.create_stack(StackName=f"both-{uuid.uuid4().hex[:6]}", TemplateBody=template, OnFailure="DELETE",
                         DisableRollback=True)
    stack_id = cfn.create_stack(StackName=f"gone-{uuid.uuid4().hex[:8]}", TemplateBody=template,
                                OnFailure="DELETE")["StackId"]
    assert wait_stack(cfn, stack_id, {"DELETE_COMPLETE", "ROLLBACK_COMPLETE"})["StackStatus"] == "DELETE_COMPLETE"
    history = stack_history(cfn, stack_id)
    assert [s for lid, s, _ in history if lid != "Allow"] == [
        "CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    [(_, _, reason)] = [h for h in history if h[1] == "CREATE_FAILED"]
    assert "Function not found" in reason and "HandlerErrorCode: NotFound" in reason


def test_stack_timeout_cancels_creation_and_rolls_back(aws: Callable[..., Any]) -> None:
    """TimeoutInMinutes (emulated time) cancels the resource still being created and rolls the stack back
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html, TimeoutInMinutes)."""
    cfn = aws("cloudformation", account_id=new_account())
    template = stack_template({
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                 "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "3600"}},
    })
    stack_id = cfn.create_stack(StackName=f"slow-{uuid.uuid4().hex[:8]}", TemplateBody=template,
                                TimeoutInMinutes=1)["StackId"]
    described = wait_stack(cfn, stack_id, {"ROLLBACK_COMPLETE", "CREATE_COMPLETE"})
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    history = stack_history(cfn, stack_id)
    assert ("Wait", "CREATE_FAILED", "Resource creation cancelled") in history
    assert any(status == "ROLLBACK_IN_PROGRESS" and reason == (
        "Stack creation time exceeded the specified timeout. Rollback requested by user.")
        for _, status, reason in history)


def test_public_bucket_rule_goes_compliant_after_remediation(aws: Callable[..., Any]) -> None:
    """S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED: a bucket without a public access block is NON_COMPLIANT until one
    blocks everything (https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-level-public-access-prohibited.html)."""
    account = new_account()
    tap = Tap(aws, account, "aws.config")
    config, s3 = aws("config", account_id=account), aws("s3", account_id=account)
    bucket = f"public-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    rule = f"no-public-{uuid.uuid4().hex[:6]}"
    config.put_config_rule(ConfigRule={"ConfigRuleName": rule, "Source": {
        "Owner": "AWS", "SourceIdentifier": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED"}})
    violation = tap.wait_for(lambda s: len(s) >= 1)[0]["detail"]
    assert (violation["resourceId"], violation["newEvaluationResult"]["complianceType"]) == (bucket, "NON_COMPLIANT")
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    fixed = tap.wait_for(lambda s: len(s) >= 2)[1]["detail"]
    assert (fixed["oldEvaluationResult"]["complianceType"], fixed["newEvaluationResult"]["complianceType"]) == (
        "NON_COMPLIANT", "COMPLIANT")


def test_recorded_changes_reevaluate_managed_rules(aws: Callable[..., Any]) -> None:
    """With a recorder recording, creating a public bucket and then blocking public access each re-evaluate the
    change-triggered rule, emitting NON_COMPLIANT then COMPLIANT for that bucket
    (https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config-rules.html)."""
    account = new_account()
    tap = Tap(aws, account, "aws.config")
    config, s3 = aws("config", account_id=account), aws("s3", account_id=account)
    block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}
    delivery = f"config-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=delivery)
    s3.put_public_access_block(Bucket=delivery, PublicAccessBlockConfiguration=block)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{account}:role/config",
        "recordingGroup": {"allSupported": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": delivery})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    config.put_config_rule(ConfigRule={"ConfigRuleName": f"no-public-{uuid.uuid4().hex[:6]}", "Source": {
        "Owner": "AWS", "SourceIdentifier": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED"}})
    bucket = f"app-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)

    def verdicts(seen: list[dict[str, Any]]) -> list[str]:
        return [e["detail"]["newEvaluationResult"]["complianceType"] for e in seen
                if e["detail"]["resourceId"] == bucket]

    tap.wait_for(lambda seen: verdicts(seen) == ["NON_COMPLIANT"])
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    tap.wait_for(lambda seen: verdicts(seen) == ["NON_COMPLIANT", "COMPLIANT"])


def test_nested_stack_failure_fails_and_rolls_back_the_parent(aws: Callable[..., Any]) -> None:
    """An AWS::CloudFormation::Stack whose template fails makes the parent's resource CREATE_FAILED ("Embedded stack
    ... was not successfully created") and the parent's rollback deletes the child
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html)."""
    account = new_account()
    cfn, s3 = aws("cloudformation", account_id=account), aws("s3", account_id=account)
    bucket = f"templates-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="child.json", Body=stack_template(
        {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 5000}}}))
    parent = stack_template({"Child": {"Type": "AWS::CloudFormation::Stack",
                                       "Properties": {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/child.json"}}})
    name = f"parent-{uuid.uuid4().hex[:8]}"
    stack_id = cfn.create_stack(StackName=name, TemplateBody=parent)["StackId"]
    assert wait_stack(cfn, stack_id, {"ROLLBACK_COMPLETE", "CREATE_COMPLETE"})["StackStatus"] == "ROLLBACK_COMPLETE"
    [(_, _, reason)] = [h for h in stack_history(cfn, stack_id) if h[1] == "CREATE_FAILED"]
    assert reason.startswith("Embedded stack arn:aws:cloudformation:") and "was not successfully created" in reason
    children = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"].startswith(f"{name}-Child-")]
    assert [c["StackStatus"] for c in children] == ["DELETE_COMPLETE"]


def test_cancel_update_stack_rolls_the_update_back(aws: Callable[..., Any]) -> None:
    """CancelUpdateStack interrupts the resource being created ("Resource creation cancelled") and rolls the
    update back ("Stack update cancelled"); outside UPDATE_IN_PROGRESS it is refused
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html)."""
    cfn = aws("cloudformation", account_id=new_account())
    name = f"cancel-{uuid.uuid4().hex[:8]}"
    original = stack_template({"Keep": {"Type": "AWS::SQS::Queue"}})
    stack_id = cfn.create_stack(StackName=name, TemplateBody=original)["StackId"]
    wait_stack(cfn, stack_id, {"CREATE_COMPLETE"})
    with pytest.raises(cfn.exceptions.ClientError, match="CancelUpdateStack cannot be called"):
        cfn.cancel_update_stack(StackName=name)
    slow = stack_template({"Keep": {"Type": "AWS::SQS::Queue"},
                           "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
                           "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                                    "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "43200"}}})
    cfn.update_stack(StackName=name, TemplateBody=slow)
    deadline = time.monotonic() + 30
    while ("Wait", "CREATE_IN_PROGRESS", "") not in stack_history(cfn, stack_id):
        assert time.monotonic() < deadline, "the wait condition never started"
        time.sleep(0.05)
    cfn.cancel_update_stack(StackName=name)
    assert wait_stack(cfn, stack_id, {"UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE"})["StackStatus"] == (
        "UPDATE_ROLLBACK_COMPLETE")
    history = stack_history(cfn, stack_id)
    assert ("Wait", "CREATE_FAILED", "Resource creation cancelled") in history
    assert (name, "UPDATE_ROLLBACK_IN_PROGRESS", "Stack update cancelled") in history
    assert {r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName=name)["StackResources"]} == {"Keep"}
