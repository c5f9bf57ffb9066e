"""Handlers and the deployment state machine, deployed by the provisioning library on the local cloud.

Handlers: idempotency under duplicates, the rollback request, remediation vs quarantine, bad events rejected.
State machine: success, retry on Lambda throttling then rollback, and rollback on a bad request.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from eventdeploy import aws, observe, params, samples
from eventdeploy.architecture import bus, names, orchestration, processors, rules
from eventdeploy.provision import Provisioner, sqs


@pytest.fixture(scope="module")
def p(localcloud: Any, tmp_path_factory: pytest.TempPathFactory) -> Provisioner:
    mp = pytest.MonkeyPatch()
    mp.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    prefix = "d" + uuid.uuid4().hex[:7]
    parameters = params.validate({"target": "local", "prefix": prefix, "run_id": "deploy-test"}, "test")
    prov = Provisioner(aws=aws.connect(parameters), run_dir=tmp_path_factory.mktemp("deploy"), notebook="test")
    deployments = bus.ensure_event_bus(prov)
    rules.ensure_rules(prov, deployments["bus_arn"])
    processors.ensure_processors(prov, deployments["bus_arn"])
    yield prov
    mp.undo()


def test_duplicate_push_starts_one_deployment(p: Provisioner) -> None:
    event = samples.ecr_image_action(p.name(names.REPOSITORY), f"v1.{uuid.uuid4().hex[:6]}", p.account_id, p.region)
    proof = dict(zip(*processors.duplicate_proof(p, event).T.values, strict=True))
    assert proof["same answer both times"] is True
    assert proof["executions with this deployment's name"] == 1
    assert proof["ledger 'execution_requested' rows"] == 1


def test_a_different_digest_is_a_different_deployment(p: Provisioner) -> None:
    first = processors.invoke(p, "image-pushed", samples.ecr_image_action(p.name("app"), "v2.0", p.account_id,
                                                                         p.region))
    second = processors.invoke(p, "image-pushed", samples.ecr_image_action(p.name("app"), "v2.1", p.account_id,
                                                                          p.region))
    assert first["response"]["deployment_id"] != second["response"]["deployment_id"]


def test_stack_failure_requests_a_rollback_on_the_bus(p: Provisioner) -> None:
    tap = str(sqs.queue_url(p, p.name(names.TAP)))
    observe.drain_queue(p.client("sqs"), tap, timeout_s=2, quiet_s=0.3)
    stack = f"{p.name('web')}-{uuid.uuid4().hex[:6]}"
    answer = processors.invoke(p, "stack-failed", samples.stack_status(stack, "UPDATE_ROLLBACK_COMPLETE", "boom",
                                                                       p.account_id, p.region))
    assert answer["function_error"] is None and answer["response"]["rollback_requested"] == stack
    tapped = observe.drain_queue(p.client("sqs"), tap, expect=1, timeout_s=30)
    requests = [b["event"] for b in tapped["body"] if b["rule"] == p.name(names.RULES["rollback-requested"])]
    assert requests and requests[0]["detail"]["deployment-id"] == f"stack-{stack}"
    assert requests[0]["detail"]["status"] == "UPDATE_ROLLBACK_COMPLETE"


def test_noncompliant_bucket_is_remediated(p: Provisioner) -> None:
    bucket = f"{p.prefix}-{uuid.uuid4().hex[:8]}"
    p.client("s3").create_bucket(Bucket=bucket)
    event = samples.compliance_change(f"{p.prefix}-s3-public", bucket, "NON_COMPLIANT", "COMPLIANT", p.account_id,
                                      p.region)
    answer = processors.invoke(p, "compliance-changed", event)
    assert answer["response"] == {"action": "remediated: public access blocked", "resource": bucket}
    block = p.client("s3").get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_handlers_reject_events_they_do_not_handle(p: Provisioner) -> None:
    wrong = samples.pipeline_state(p.name("pipeline"), "FAILED", p.account_id, p.region)
    for function in ("image-pushed", "stack-failed", "compliance-changed"):
        answer = processors.invoke(p, function, wrong)
        assert answer["function_error"] == "Unhandled" and answer["response"]["errorType"] == "InvalidEvent"


def test_state_machine_success_path(p: Provisioner) -> None:
    done = orchestration.run(p, orchestration.sample_input(p, "ok", good=True))
    assert done["status"] == "SUCCEEDED", done
    ledger = orchestration.ledger_for(p, done["output"]["deployment_id"])
    assert list(ledger["stage"]) == ["validated", "built", "deployed", "promoted"]


def test_state_machine_rolls_back_a_bad_request(p: Provisioner) -> None:
    done = orchestration.run(p, orchestration.sample_input(p, "bad", good=False))
    assert done["status"] == "FAILED" and done["error"] == "DeploymentFailed"
    states = orchestration.timeline(p, done["execution_arn"])
    assert list(states["state"]) == ["Validate", "Rollback", "Notify", "DeploymentFailed"]
    ledger = orchestration.ledger_for(p, done["execution_arn"].rsplit(":", 1)[-1])
    assert ledger["error"].tolist() == ["InvalidDeployment"]


def test_state_machine_retries_throttling_then_rolls_back(p: Provisioner) -> None:
    """Lambda.TooManyRequestsException is retried (its own retrier: MaxAttempts 6) with backoff, then caught."""
    lam = p.client("lambda")
    validate = p.name("deploy-validate")
    lam.put_function_concurrency(FunctionName=validate, ReservedConcurrentExecutions=0)
    try:
        done = orchestration.run(p, orchestration.sample_input(p, "throttled", good=True))
    finally:
        lam.delete_function_concurrency(FunctionName=validate)
    assert done["status"] == "FAILED"
    history = p.client("stepfunctions").get_execution_history(executionArn=done["execution_arn"])["events"]
    failures = [e for e in history if e["type"] == "TaskFailed"]
    assert len(failures) == 7, "one attempt and six retries"
    assert all(e["taskFailedEventDetails"]["error"] == "Lambda.TooManyRequestsException" for e in failures)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"] == "TaskStateEntered"]
    assert entered[-2:] == ["Rollback", "Notify"]
    assert json.loads(json.dumps(done["cause"])).startswith("the deployment was rolled back")
