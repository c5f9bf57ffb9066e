"""Provisioning is idempotent: every ensure_* twice gives the same ARN and the second run changes nothing."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from eventdeploy import aws, params
from eventdeploy.provision import Provisioner, codebuild, dynamodb, ecr, eventbridge, iam, lambdas, s3, sqs
from eventdeploy.provision import stepfunctions as sfn
from eventdeploy.provision.context import manifest


@pytest.fixture
def p(localcloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Provisioner:
    monkeypatch.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    prefix = "t" + uuid.uuid4().hex[:8]
    parameters = params.validate({"target": "local", "prefix": prefix, "run_id": "prov-test"}, "test")
    return Provisioner(aws=aws.connect(parameters), run_dir=tmp_path, notebook="test")


def twice(p: Provisioner, ensure: Any, *args: Any, **kwargs: Any) -> str:
    first = ensure(p, *args, **kwargs)
    assert p.changes, f"{ensure.__name__} created nothing on the first run"
    p.changes.clear()
    second = ensure(p, *args, **kwargs)
    assert second == first
    assert p.changes == [], f"{ensure.__name__} changed {p.changes} on the second run"
    return first


def test_queue_and_sender_policy(p: Provisioner) -> None:
    arn = twice(p, sqs.ensure_queue, "dlq", {"VisibilityTimeout": "45"})
    assert arn.endswith(f":{p.prefix}-dlq")
    rule_arn = f"arn:aws:events:us-east-1:123456789012:rule/{p.prefix}-r"
    twice(p, sqs.allow_senders, arn, "events.amazonaws.com", [rule_arn], "EventBridge")
    url = sqs.queue_url(p, f"{p.prefix}-dlq")
    policy = json.loads(p.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                        ["Attributes"]["Policy"])
    assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == [rule_arn]
    # A changed attribute is brought back to the desired state.
    p.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    sqs.ensure_queue(p, "dlq", {"VisibilityTimeout": "45"})
    assert p.changes == [{"action": "update", "kind": "sqs queue", "name": f"{p.prefix}-dlq"}]


def test_fifo_queue(p: Provisioner) -> None:
    assert twice(p, sqs.ensure_queue, "ordered", fifo=True).endswith(".fifo")


def test_table_with_ttl(p: Provisioner) -> None:
    arn = twice(p, dynamodb.ensure_table, "ledger", "deployment_id", "stage", ttl_attribute="expires")
    assert arn.endswith(f"table/{p.prefix}-ledger")
    with pytest.raises(ValueError, match="key schema cannot change"):
        dynamodb.ensure_table(p, "ledger", "other_key")


def test_role_with_least_privilege_policies(p: Provisioner) -> None:
    doc = iam.policy(iam.allow(["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:123456789012:x"]))
    arn = twice(p, iam.ensure_role, "fn-role", "lambda.amazonaws.com", {"send": doc})
    assert arn.endswith(f":role/{p.prefix}-fn-role")
    iam.ensure_role(p, "fn-role", "lambda.amazonaws.com", {})
    assert p.client("iam").list_role_policies(RoleName=f"{p.prefix}-fn-role")["PolicyNames"] == []
    with pytest.raises(ValueError, match="wildcard action"):
        iam.allow(["sqs:*"], ["*"])


def test_bus_archive_rule_targets(p: Provisioner) -> None:
    bus_arn = twice(p, eventbridge.ensure_bus, "bus", ["123456789012", "210987654321"])
    policy = json.loads(p.client("events").describe_event_bus(Name=f"{p.prefix}-bus")["Policy"])
    assert policy["Statement"][0]["Action"] == "events:PutEvents"
    twice(p, eventbridge.ensure_archive, "archive", bus_arn, {"source": ["aws.ecr"]})
    pattern = {"source": ["aws.ecr"], "detail-type": ["ECR Image Action"]}
    rule_arn = twice(p, eventbridge.ensure_rule, "rule", pattern, f"{p.prefix}-bus")
    assert rule_arn.endswith(f"rule/{p.prefix}-bus/{p.prefix}-rule")
    queue = sqs.ensure_queue(p, "tap")
    dlq = sqs.ensure_queue(p, "tap-dlq")
    target = eventbridge.Target(id="tap", arn=queue, dlq_arn=dlq, max_retries=3, max_event_age_s=300,
                                input_paths={"repo": "$.detail.repository-name"},
                                input_template='{"repository": <repo>}')
    twice(p, eventbridge.ensure_targets, "rule", [target], f"{p.prefix}-bus")
    other = eventbridge.Target(id="other", arn=sqs.ensure_queue(p, "other"))
    eventbridge.ensure_targets(p, "rule", [other], f"{p.prefix}-bus")
    ids = {t["Id"] for t in p.client("events").list_targets_by_rule(Rule=f"{p.prefix}-rule",
                                                                    EventBusName=f"{p.prefix}-bus")["Targets"]}
    assert ids == {"tap", "other"}, "targets another notebook owns stay"
    eventbridge.ensure_targets(p, "rule", [], f"{p.prefix}-bus", remove=["tap", "other"])
    assert p.client("events").list_targets_by_rule(Rule=f"{p.prefix}-rule", EventBusName=f"{p.prefix}-bus")[
        "Targets"] == []


def test_function_zip_is_deterministic_and_code_updates_only_on_change(p: Provisioner) -> None:
    assert lambdas.package() == lambdas.package()
    names = zipfile.ZipFile(io.BytesIO(lambdas.package())).namelist()
    assert "handlers/image_pushed.py" in names and "handlers/common.py" in names
    role = iam.ensure_role(p, "fn", "lambda.amazonaws.com", {})
    arn = twice(p, lambdas.ensure_function, "steps", "handlers.deploy_steps.validate", role, {"A": "1"})
    lambdas.ensure_function(p, "steps", "handlers.deploy_steps.validate", role, {"A": "2"})
    assert [c["kind"] for c in p.changes] == ["lambda configuration"]
    p.changes.clear()
    twice(p, lambdas.ensure_async_config, arn, 1, 300, on_failure_arn=sqs.ensure_queue(p, "fn-failures"))
    rule = f"arn:aws:events:us-east-1:123456789012:rule/{p.prefix}-x"
    twice(p, lambdas.ensure_invoke_permission, arn, "events-x", "events.amazonaws.com", rule)


def test_state_machine_repository_project_bucket(p: Provisioner) -> None:
    role = iam.ensure_role(p, "sfn", "states.amazonaws.com", {})
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    twice(p, sfn.ensure_state_machine, "sm", definition, role)
    twice(p, ecr.ensure_repository, "app")
    cb_role = iam.ensure_role(p, "cb", "codebuild.amazonaws.com", {})
    twice(p, codebuild.ensure_project, "build", "version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n",
          cb_role, {"STAGE": "test"})
    twice(p, s3.ensure_bucket, "artifacts")


def test_deploy_asl_renders_and_reports_missing_values() -> None:
    with pytest.raises(KeyError, match=r"needs a value for \$\{"):
        sfn.render("deploy.asl.json", {})


def test_everything_is_recorded_once_in_the_manifest(p: Provisioner) -> None:
    sqs.ensure_queue(p, "a")
    sqs.ensure_queue(p, "a")
    dynamodb.ensure_table(p, "t", "pk")
    entries = manifest(p.run_dir)
    assert [(e["kind"], e["name"]) for e in entries] == [("queue", f"{p.prefix}-a"), ("table", f"{p.prefix}-t")]
    assert all(e["account_id"] == "123456789012" and e["notebook"] == "test" for e in entries)
    tags = p.client("sqs").list_queue_tags(QueueUrl=sqs.queue_url(p, f"{p.prefix}-a"))["Tags"]
    assert tags["eventdeploy:run-id"] == "prov-test" and tags["eventdeploy:project"] == "eventdeploy"
