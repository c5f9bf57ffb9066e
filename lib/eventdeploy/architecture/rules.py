"""02 · Rules and patterns: service events forwarded to the deployments bus, one rule per pattern, and a tap.

The tap is one SQS queue that every rule also targets through an input transformer which wraps the event with the
name of the rule that matched it, so one queue shows which rule saw which event.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pandas as pd

from eventdeploy import observe, patterns, samples, triggers
from eventdeploy.architecture import names
from eventdeploy.provision import Provisioner, ecr, eventbridge, iam, sqs

TAP_TEMPLATE = '{"rule": "<aws.events.rule-name>", "event": <aws.events.event.json>}'


def catalogue(p: Provisioner) -> list[patterns.Pattern]:
    """The run's pattern catalogue (repository ``<prefix>-app``, stacks/rules/pipelines named ``<prefix>-*``)."""
    return patterns.catalogue(p.prefix, p.region, p.account_id, repositories=[p.name(names.REPOSITORY)])


def ensure_forwarding(p: Provisioner, bus_arn: str) -> str:
    """A default-bus rule that forwards AWS service events to the deployments bus (with a role allowed only that)."""
    role = iam.ensure_role(p, names.FORWARD_ROLE, "events.amazonaws.com", {
        "put-to-deployments-bus": iam.policy(iam.allow(["events:PutEvents"], [bus_arn]))},
        "EventBridge: forward service events from the default bus to the deployments bus")
    eventbridge.ensure_rule(p, names.FORWARD_RULE, {"source": names.FORWARDED_SOURCES}, "default",
                            "AWS service events land on the default bus; the deployments bus is where rules live")
    eventbridge.ensure_targets(p, names.FORWARD_RULE, [eventbridge.Target(
        id="deployments-bus", arn=bus_arn, role_arn=role, max_retries=185, max_event_age_s=86400)])
    return role


def ensure_rules(p: Provisioner, bus_arn: str) -> pd.DataFrame:
    """Forwarding, the tap with its DLQ, and one rule per pattern on the deployments bus targeting the tap."""
    bus = p.name(names.BUS)
    ensure_forwarding(p, bus_arn)
    tap = sqs.ensure_queue(p, names.TAP)
    tap_dlq = sqs.ensure_queue(p, names.TAP_DLQ)
    rows = []
    for pattern in catalogue(p):
        suffix = names.RULES[pattern.name]
        arn = eventbridge.ensure_rule(p, suffix, pattern.pattern, bus, pattern.purpose)
        eventbridge.ensure_targets(p, suffix, [eventbridge.Target(
            id="tap", arn=tap, dlq_arn=tap_dlq, max_retries=8, max_event_age_s=3600, input_template=TAP_TEMPLATE)],
            bus)
        rows.append({"pattern": pattern.name, "rule": p.name(suffix), "bus": bus, "purpose": pattern.purpose,
                     "rule_arn": arn})
    frame = pd.DataFrame(rows)
    rule_arns = list(frame["rule_arn"])
    sqs.allow_senders(p, tap, "events.amazonaws.com", rule_arns, "EventBridgeRulesToTap")
    sqs.allow_senders(p, tap_dlq, "events.amazonaws.com", rule_arns, "EventBridgeDeadLetters")
    return frame


def match_matrix(p: Provisioner) -> pd.DataFrame:
    """Every sample event against every pattern, judged by EventBridge itself (TestEventPattern)."""
    events = p.client("events")
    rows = []
    for sample in samples.catalogue(p.prefix, p.account_id, p.region):
        for pattern in catalogue(p):
            matched = events.test_event_pattern(EventPattern=json.dumps(pattern.pattern),
                                                Event=json.dumps(sample.event))["Result"]
            rows.append({"sample": sample.name, "pattern": pattern.name, "matched": bool(matched),
                         "expected": pattern.name in sample.matches})
    return pd.DataFrame(rows)


def trigger_real_events(p: Provisioner) -> pd.DataFrame:
    """Make AWS emit real events: push a release and a dev image, fail a stack, request a rollback.

    One row per trigger with its ``key`` (how its event is recognised) and the pattern it should match (or none).
    """
    run = uuid.uuid4().hex[:8]
    repo = p.name(names.REPOSITORY)
    ecr.ensure_repository(p, names.REPOSITORY)
    rows = []
    for tag, expected in ((f"v1.0.{run}", "ecr-image-pushed"), (f"dev-{run}", None)):
        triggers.push_image(p.client("ecr"), repo, tag, f"runbook 02 {tag}")
        rows.append({"trigger": f"push {repo}:{tag}", "key": tag, "expected": expected})
    stack = fail_stack(p)
    rows.append({"trigger": f"stack {stack['StackName']} → {stack['StackStatus']}", "key": stack["StackId"],
                 "expected": "stack-failed"})
    request = str(uuid.uuid4())
    answer = p.client("events").put_events(Entries=[{
        "EventBusName": p.name(names.BUS), "Source": patterns.ROLLBACK_SOURCE,
        "DetailType": patterns.ROLLBACK_DETAIL_TYPE,
        "Detail": json.dumps({"deployment-id": f"runbook-02-{run}", "reason": "demonstration", "request-id": request})}])
    if answer["FailedEntryCount"]:
        raise RuntimeError(f"PutEvents refused the rollback request: {answer['Entries']}")
    rows.append({"trigger": "put Deployment Rollback Requested", "key": request, "expected": "rollback-requested"})
    return pd.DataFrame(rows)


def fail_stack(p: Provisioner) -> dict[str, Any]:
    """Create ``<prefix>-broken-stack``, which fails and rolls back (replacing the one a previous run left)."""
    cfn = p.client("cloudformation")
    name = p.name(names.FAILING_STACK)
    try:
        old = cfn.describe_stacks(StackName=name)["Stacks"][0]
        cfn.delete_stack(StackName=old["StackId"])
        cfn.get_waiter("stack_delete_complete").wait(StackName=old["StackId"],
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    except cfn.exceptions.ClientError as exc:
        if "does not exist" not in str(exc):
            raise
    stack = triggers.fail_stack(cfn, name, p.tags)
    p.record("cloudformation", "stack", name, stack["StackId"])
    return stack


def _key_of(event: dict[str, Any]) -> str | None:
    """How a tapped event is traced back to its trigger: image tag, request id, or the stack id."""
    detail = event.get("detail") or {}
    if event.get("source") == "aws.ecr":
        return detail.get("image-tag")
    if event.get("source") == patterns.ROLLBACK_SOURCE:
        return detail.get("request-id") or detail.get("deployment-id")
    return detail.get("stack-id") or next(iter(event.get("resources") or []), None)


def observe_tap(p: Provisioner, fired: pd.DataFrame, timeout_s: float = 60.0) -> pd.DataFrame:
    """Which rule saw each trigger's event on the tap, next to what was expected."""
    url = sqs.queue_url(p, p.name(names.TAP))
    wanted = set(fired.loc[fired["expected"].notna(), "key"])
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not wanted <= {s["key"] for s in seen}:
        batch = observe.drain_queue(p.client("sqs"), str(url), timeout_s=2.0, quiet_s=0.5)
        for body in batch["body"]:
            event = body.get("event", {}) if isinstance(body, dict) else {}
            seen.append({"key": _key_of(event), "rule": body.get("rule") if isinstance(body, dict) else None,
                         "detail_type": event.get("detail-type"), "time": event.get("time")})
    observed = pd.DataFrame(seen, columns=["key", "rule", "detail_type", "time"])
    rule_to_pattern = {p.name(v): k for k, v in names.RULES.items()}
    observed["pattern"] = observed["rule"].map(rule_to_pattern)
    merged = fired.merge(observed.groupby("key")["pattern"].agg(lambda s: sorted(set(s))).rename("observed"),
                         left_on="key", right_index=True, how="left")
    merged["observed"] = merged["observed"].apply(lambda v: v if isinstance(v, list) else [])
    merged["as_expected"] = merged.apply(
        lambda r: r["observed"] == ([r["expected"]] if isinstance(r["expected"], str) else []), axis=1)
    return merged
