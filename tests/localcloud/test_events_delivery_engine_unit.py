"""Unit tests of the delivery engine's own lifecycle and policy logic (in-process moto backends, no server)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from eventdeploy.localcloud.events import policy
from eventdeploy.localcloud.events.engine import Engine
from eventdeploy.localcloud.events.retry import RetryPolicy, backoff
from tests.conftest import wait_for

REGION = "us-east-1"




def setup_rule(account: str) -> tuple[str, Any]:
    """A default-bus rule on a unique source with an SQS target, in this process's moto backends."""
    from moto.events.models import events_backends
    from moto.sqs.models import sqs_backends

    source = f"unit.{uuid.uuid4().hex[:8]}"
    queue = f"q-{uuid.uuid4().hex[:8]}"
    sqs_backends[account][REGION].create_queue(queue)
    events = events_backends[account][REGION]
    events.put_rule("r", event_pattern=json.dumps({"source": [source]}))
    events.put_targets("r", None, [{"Id": "t", "Arn": f"arn:aws:sqs:{REGION}:{account}:{queue}"}])
    return source, sqs_backends[account][REGION].get_queue(queue)


def event(account: str, source: str) -> dict[str, Any]:
    """A minimal envelope."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "T", "source": source, "account": account,
            "time": "2024-01-01T00:00:00Z", "region": REGION, "resources": [], "detail": {}}


def test_reset_drops_pending_retries_and_counters_and_keeps_delivering() -> None:
    """Reset (the local cloud's, not an AWS API) leaves no retry of the old state, zeroes the counters, and the
    engine keeps delivering afterwards."""
    account = "210987654321"
    source, queue = setup_rule(account)
    engine = Engine(workers=2)
    try:
        engine.faults.configure({"target_arn": queue.queue_arn, "error_code": "ThrottlingException"})
        engine.ingest(account, REGION, "default", event(account, source))
        wait_for(lambda: engine.snapshot()["pending_retries"] >= 1)
        engine.reset()
        after = engine.snapshot()
        assert after["pending_retries"] == 0 and after["queued"] == 0 and after["targets"] == {}
        assert all(v == 0 for v in after["totals"].values())
        engine.ingest(account, REGION, "default", event(account, source))
        wait_for(lambda: queue.approximate_number_of_messages >= 1)
        assert engine.snapshot()["totals"]["delivered"] == 1
    finally:
        engine.shutdown()


def test_retry_policy_defaults_ranges_and_backoff_growth() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html: 185 attempts and
    24 hours by default; exponential backoff with jitter."""
    assert RetryPolicy.from_target({}) == RetryPolicy(185, 86400)
    for bad in ({"MaximumRetryAttempts": 186}, {"MaximumEventAgeInSeconds": 59}):
        try:
            RetryPolicy.from_target({"RetryPolicy": bad})
        except ValueError as exc:
            assert str(next(iter(bad))) in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
    assert 0.5 <= backoff(1) <= 1.0 and 4.0 <= backoff(4) <= 8.0 and backoff(30) <= 300.0


def test_bus_policy_evaluation() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html: principals by account
    id or root ARN, Deny wins, events:source / events:detail-type conditions."""
    bus = "arn:aws:events:us-east-1:111111111111:event-bus/b"
    allow = {"Version": "2012-10-17", "Statement": [
        {"Sid": "a", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::222222222222:root", "333333333333"]},
         "Action": "events:PutEvents", "Resource": bus,
         "Condition": {"StringEquals": {"events:source": ["app.orders"]}}},
        {"Sid": "d", "Effect": "Deny", "Principal": {"AWS": "333333333333"}, "Action": "events:PutEvents",
         "Resource": bus, "Condition": {"StringLike": {"events:detail-type": "Secret*"}}},
    ]}
    text = json.dumps(allow)

    def ok(sender: str, source: str = "app.orders", detail_type: str = "Order") -> bool:
        return policy.is_allowed(text, bus, "111111111111", sender, source, detail_type)

    assert ok("111111111111", "anything")  # the owner needs no policy
    assert ok("222222222222") and ok("333333333333")
    assert not ok("222222222222", source="app.other")
    assert not ok("333333333333", detail_type="Secret Thing")
    assert not ok("444444444444")
    assert not policy.is_allowed(None, bus, "111111111111", "222222222222", "s", "d")


def test_schedule_expressions() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html: rate units are
    singular for 1; cron has six fields with '?' in exactly one day field; L is the month's last day."""
    from datetime import UTC, datetime

    import pytest

    from eventdeploy.localcloud.events.schedule import InvalidSchedule, parse_schedule

    assert parse_schedule("rate(1 minute)").period == 60
    assert parse_schedule("rate(5 hours)").period == 5 * 3600
    for bad in ("rate(1 minutes)", "rate(2 hour)", "rate(0 minutes)", "cron(0 12 * * * *)",
                "cron(0 12 * *)", "cron(61 * * * ? *)", "cron(0 12 ? * MON#2 *)", "every minute"):
        with pytest.raises(InvalidSchedule):
            parse_schedule(bad)
    start = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)  # a Wednesday
    assert parse_schedule("cron(0 12 * * ? *)").next_after(start) == datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
    assert parse_schedule("cron(15 10 ? * MON-FRI *)").next_after(start) == datetime(2024, 2, 1, 10, 15, tzinfo=UTC)
    assert parse_schedule("cron(0/15 * * * ? *)").next_after(start) == datetime(2024, 1, 31, 12, 15, tzinfo=UTC)
    assert parse_schedule("cron(0 8 L * ? *)").next_after(start) == datetime(2024, 2, 29, 8, 0, tzinfo=UTC)
    assert parse_schedule("cron(0 0 1 JAN ? 2025)").next_after(start) == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert parse_schedule("cron(30 9 ? * SUN *)").next_after(start) == datetime(2024, 2, 4, 9, 30, tzinfo=UTC)


def test_bus_target_hop_rules() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html (THIRD_ACCOUNT_HOP_DETECTED,
    CROSS_ACCOUNT_INGESTION_FAILED): one account crossing is allowed when the receiving bus's policy admits the
    sender (with a RoleArn when the grant is a wildcard/organization one, per PutTargets); a second crossing, a
    closed bus or a missing bus fails; coming back to a bus already crossed is a loop."""
    import pytest
    from moto.events.models import events_backends

    from eventdeploy.localcloud.events.bus_target import LoopDetected, check_bus_target
    from eventdeploy.localcloud.events.targets import Arn, DeliveryError

    a, b, c = "310000000001", "310000000002", "310000000003"
    for account in (b, c):
        backend = events_backends[account][REGION]
        backend.create_event_bus("open")
        backend.put_permission("open", "events:PutEvents", "*", f"all-{account}", None, None)
        backend.create_event_bus("closed")
    event = {"id": "e1", "source": "s", "detail-type": "d"}
    to_b = Arn.parse(f"arn:aws:events:{REGION}:{b}:event-bus/open")
    # "open" admits everyone (a wildcard grant, like an organization's): the target must carry a RoleArn.
    with pytest.raises(DeliveryError) as err:
        check_bus_target(to_b, (a, REGION, "default"), (), event)
    assert err.value.code == "CROSS_ACCOUNT_INGESTION_FAILED" and "RoleArn" in err.value.message
    role = f"arn:aws:iam::{a}:role/put-to-b"
    dest = check_bus_target(to_b, (a, REGION, "default"), (), event, role)
    assert (dest.account, dest.bus_name, dest.hops) == (b, "open", ((a, REGION, "default"),))
    to_c = Arn.parse(f"arn:aws:events:{REGION}:{c}:event-bus/open")
    with pytest.raises(DeliveryError) as err:
        check_bus_target(to_c, (b, REGION, "open"), dest.hops, event, role)
    assert err.value.code == "THIRD_ACCOUNT_HOP_DETECTED"
    for bus, code in (("closed", "CROSS_ACCOUNT_INGESTION_FAILED"), ("gone", "CROSS_ACCOUNT_INGESTION_FAILED")):
        with pytest.raises(DeliveryError) as err:
            check_bus_target(Arn.parse(f"arn:aws:events:{REGION}:{b}:event-bus/{bus}"), (a, REGION, "default"),
                             (), event, role)
        assert err.value.code == code and not err.value.retriable
    with pytest.raises(LoopDetected):
        check_bus_target(Arn.parse(f"arn:aws:events:{REGION}:{a}:event-bus/default"), (b, REGION, "open"),
                         dest.hops, event, role)


def test_target_resource_policy_evaluation() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html: the service principal,
    the action (wildcards allowed), ArnLike/ArnEquals on aws:SourceArn (keys case-insensitive), Deny wins."""
    rule = "arn:aws:events:us-east-1:123456789012:rule/r1"
    fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    lambda_policy = json.dumps({"Statement": [{
        "Sid": "s", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": fn,
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/r*"}}}]})
    ctx = {"aws:SourceArn": rule, "aws:SourceAccount": "123456789012"}
    assert policy.service_allowed(lambda_policy, "events.amazonaws.com", "lambda:InvokeFunction", fn, ctx)
    other = {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/x", "aws:SourceAccount": "123456789012"}
    assert not policy.service_allowed(lambda_policy, "events.amazonaws.com", "lambda:InvokeFunction", fn, other)
    assert not policy.service_allowed(lambda_policy, "sns.amazonaws.com", "lambda:InvokeFunction", fn, ctx)
    queue = "arn:aws:sqs:us-east-1:123456789012:q"
    deny = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": queue},
        {"Effect": "Deny", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": queue, "Condition": {"StringNotEquals": {"aws:SourceAccount": "123456789012"}}}]})
    assert policy.service_allowed(deny, "events.amazonaws.com", "sqs:SendMessage", queue, ctx)
    foreign = {"aws:SourceArn": rule.replace("123456789012", "999999999999"), "aws:SourceAccount": "999999999999"}
    assert not policy.service_allowed(deny, "events.amazonaws.com", "sqs:SendMessage", queue, foreign)
