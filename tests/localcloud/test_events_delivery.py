"""EventBridge delivery conformance: PutEvents, targets, input shaping, retries/DLQ, bus policies, metrics."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for

ACCOUNT = "123456789012"
OTHER = "111111111111"
REGION = "us-east-1"


def uid(prefix: str) -> str:
    """A unique resource name."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_queue(aws: Callable[..., Any], name: str | None = None, account: str = ACCOUNT,
               fifo: bool = False, content_dedup: bool = True) -> tuple[str, str]:
    """Create an SQS queue (a FIFO one with content-based deduplication unless told otherwise); (url, arn)."""
    sqs = aws("sqs", account_id=account)
    name = name or uid("q")
    attrs = {}
    if fifo:
        name += ".fifo"
        attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true" if content_dedup else "false"}
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(aws: Callable[..., Any], url: str, count: int = 1, account: str = ACCOUNT,
            timeout: float = 10.0) -> list[dict[str, Any]]:
    """Poll ``url`` until ``count`` messages arrived or the deadline passes."""
    sqs = aws("sqs", account_id=account)
    got: list[dict[str, Any]] = []
    deadline = time.time() + timeout
    while len(got) < count and time.time() < deadline:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                   MessageAttributeNames=["All"], AttributeNames=["All"])
        for message in resp.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(got) < count:
            time.sleep(0.05)
    return got


def rule_to(aws: Callable[..., Any], target: dict[str, Any], pattern: dict[str, Any] | None = None,
            bus: str = "default", account: str = ACCOUNT, source: str | None = None) -> tuple[str, str]:
    """A rule matching ``source`` (unique by default) with ``target``; (rule name, source)."""
    events = aws("events", account_id=account)
    source = source or uid("test.app")
    name = uid("rule")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern or {"source": [source]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "t1", **target}])
    return name, source


def put(aws: Callable[..., Any], source: str, detail: dict[str, Any] | None = None, bus: str = "default",
        account: str = ACCOUNT, detail_type: str = "Thing Happened", **extra: Any) -> dict[str, Any]:
    """PutEvents one entry; the response."""
    entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail or {"k": "v"}),
             "EventBusName": bus, **extra}
    return aws("events", account_id=account).put_events(Entries=[entry])


def stats(localcloud: Any) -> dict[str, Any]:
    """The engine's counters from /_localcloud/events-stats."""
    with urllib.request.urlopen(f"{localcloud.endpoint}/_localcloud/events-stats", timeout=5) as resp:
        return json.loads(resp.read())




# ---- PutEvents ----------------------------------------------------------------------------------------------


def test_put_events_per_entry_errors(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html: bad entries get ErrorCode
    (InvalidArgument, MalformedDetail, NotAuthorizedForSourceException, ResourceNotFoundException for a bus
    that does not exist -- see https://github.com/aws/aws-sdk/issues/186 for AWS's history there) without failing
    the call; the local cloud also counts the unknown-bus entry as no_such_bus."""
    events = aws("events")
    big = json.dumps({"blob": "x" * (256 * 1024)})
    entries_bus = uid("missing")
    resp = events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "ok", "Detail": "{}"},
        {"DetailType": "no source", "Detail": "{}"},
        {"Source": "my.app", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "no detail"},
        {"Source": "my.app", "DetailType": "bad", "Detail": "{not json"},
        {"Source": "my.app", "DetailType": "array", "Detail": "[1, 2]"},
        {"Source": "aws.ec2", "DetailType": "reserved", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "huge", "Detail": big},
        {"Source": "my.app", "DetailType": "nobus", "Detail": "{}", "EventBusName": entries_bus},
    ])
    codes = [e.get("ErrorCode") for e in resp["Entries"]]
    assert "EventId" in resp["Entries"][0]
    assert codes[1:] == ["InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail",
                         "MalformedDetail", "NotAuthorizedForSourceException", "InvalidArgument",
                         "ResourceNotFoundException"]
    assert resp["FailedEntryCount"] == 8
    assert "Source is a required argument" in resp["Entries"][1]["ErrorMessage"]
    missing = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{entries_bus}"
    assert stats(localcloud)["buses"][missing]["no_such_bus"] == 1


def test_put_events_more_than_ten_entries_is_validation_exception(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html: Entries holds 1 to 10."""
    entries = [{"Source": "my.app", "DetailType": "x", "Detail": "{}"}] * 11
    with pytest.raises(ClientError) as err:
        aws("events").put_events(Entries=entries)
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_envelope_has_account_and_all_fields(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html: the delivered event
    has version, id, detail-type, source, account, time, region, resources and detail."""
    url, arn = make_queue(aws)
    _, source = rule_to(aws, {"Arn": arn})
    resp = put(aws, source, {"n": 1}, Resources=["arn:aws:s3:::bucket"])
    [message] = receive(aws, url)
    event = json.loads(message["Body"])
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region",
                           "resources", "detail"]
    assert event["id"] == resp["Entries"][0]["EventId"]
    assert event["account"] == ACCOUNT and event["region"] == REGION and event["source"] == source
    assert event["detail"] == {"n": 1} and event["resources"] == ["arn:aws:s3:::bucket"]
    assert event["time"].endswith("Z") and event["version"] == "0"
    from datetime import UTC, datetime

    put(aws, source, Time=datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC))
    [stamped] = receive(aws, url)
    assert json.loads(stamped["Body"])["time"] == "2021-03-04T05:06:07Z"


def test_disabled_rule_delivers_nothing(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-disable.html: a DISABLED rule does not
    match events; an enabled twin on the same source proves the event was delivered at all."""
    off_url, off_arn = make_queue(aws)
    on_url, on_arn = make_queue(aws)
    off_rule, source = rule_to(aws, {"Arn": off_arn})
    rule_to(aws, {"Arn": on_arn}, source=source)
    aws("events").disable_rule(Name=off_rule)
    put(aws, source)
    assert len(receive(aws, on_url)) == 1
    assert receive(aws, off_url, timeout=0.5) == []


# ---- Targets ------------------------------------------------------------------------------------------------


def test_sqs_fifo_target_uses_message_group(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_SqsParameters.html: a FIFO queue target
    gets the target's MessageGroupId; the queue has content-based deduplication, as that page requires."""
    url, arn = make_queue(aws, fifo=True)
    _, source = rule_to(aws, {"Arn": arn, "SqsParameters": {"MessageGroupId": "group-7"}})
    put(aws, source, {"i": 1})
    put(aws, source, {"i": 2})
    messages = receive(aws, url, count=2)
    assert sorted(json.loads(m["Body"])["detail"]["i"] for m in messages) == [1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"group-7"}


def test_sqs_fifo_target_without_content_dedup_fails_to_the_dlq(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_SqsParameters.html: "If you specify an SQS
    FIFO queue as a target, the queue must have content-based deduplication enabled." Without it SQS refuses the
    message, so the event lands in the target's DLQ (a client error, not retried:
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html) and the queue stays empty."""
    url, arn = make_queue(aws, fifo=True, content_dedup=False)
    dlq_url, dlq_arn = make_queue(aws)
    _, source = rule_to(aws, {"Arn": arn, "SqsParameters": {"MessageGroupId": "g"},
                              "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws, source, {"i": 1})
    [dead] = receive(aws, dlq_url)
    assert attrs(dead)["ERROR_CODE"] == "INVALID_PARAMETER"
    assert "ContentBasedDeduplication" in attrs(dead)["ERROR_MESSAGE"]
    assert attrs(dead)["RETRY_ATTEMPTS"] == "0"
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []


def test_put_targets_requires_a_message_group_for_fifo_queues(aws: Callable[..., Any]) -> None:
    """A FIFO queue target without SqsParameters.MessageGroupId is refused by PutTargets with AWS's message
    ("Parameter(s) SqsParameters must be specified for target: <Id>."), API_PutTargets.html ValidationException."""
    _, arn = make_queue(aws, fifo=True)
    events = aws("events")
    name = uid("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    with pytest.raises(ClientError) as err:
        events.put_targets(Rule=name, Targets=[{"Id": "fifo-t", "Arn": arn}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "SqsParameters must be specified for target: fifo-t" in err.value.response["Error"]["Message"]
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []


def test_sns_target_fans_out_to_sqs_subscription(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html (SNS permissions): an
    SNS topic target publishes the event once the topic policy admits events.amazonaws.com; the topic's SQS
    subscription receives it. With the default topic policy the delivery is refused (NO_PERMISSIONS)."""
    sns = aws("sns")
    topic = sns.create_topic(Name=uid("topic"))["TopicArn"]
    url, qarn = make_queue(aws)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    dlq_url, dlq_arn = make_queue(aws)
    _, source = rule_to(aws, {"Arn": topic, "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws, source, {"via": "default policy"})
    [refused] = receive(aws, dlq_url)
    assert attrs(refused)["ERROR_CODE"] == "NO_PERMISSIONS"
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish", "Resource": topic}]}))
    put(aws, source, {"via": "sns"})
    [message] = receive(aws, url)
    assert json.loads(message["Body"])["detail"] == {"via": "sns"}


def test_cloudwatch_logs_target(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html: a log group target gets the
    event written as a log event."""
    logs = aws("logs")
    group = f"/aws/events/{uid('g')}"
    logs.create_log_group(logGroupName=group)
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    _, source = rule_to(aws, {"Arn": arn})
    put(aws, source, {"to": "logs"})

    def events_in_group() -> list[dict[str, Any]]:
        return logs.filter_log_events(logGroupName=group).get("events", [])

    [entry] = wait_for(events_in_group)
    assert json.loads(entry["message"])["detail"] == {"to": "logs"}


def test_step_functions_target_starts_execution(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html: a state machine target starts
    an execution whose input is the event."""
    sfn = aws("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    role = f"arn:aws:iam::{ACCOUNT}:role/events-sfn"
    sm = sfn.create_state_machine(name=uid("sm"), definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    _, source = rule_to(aws, {"Arn": sm, "RoleArn": role})
    resp = put(aws, source, {"go": True})
    [execution] = wait_for(lambda: sfn.list_executions(stateMachineArn=sm)["executions"])
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    payload = json.loads(described["input"])
    assert payload["id"] == resp["Entries"][0]["EventId"] and payload["detail"] == {"go": True}


# ---- Input shaping ------------------------------------------------------------------------------------------


def test_input_inputpath_and_transformer_reach_the_target(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html: Input is sent
    as is, InputPath selects, InputTransformer fills plain-text and JSON templates (unquoted string placeholders
    become JSON strings) and the predefined variables."""
    events = aws("events")
    source = uid("test.shape")
    name = uid("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    queues = {key: make_queue(aws) for key in ("input", "path", "text", "json")}
    events.put_targets(Rule=name, Targets=[
        {"Id": "input", "Arn": queues["input"][1], "Input": '{"constant": true}'},
        {"Id": "path", "Arn": queues["path"][1], "InputPath": "$.detail.items[1]"},
        {"Id": "text", "Arn": queues["text"][1], "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.who"}, "InputTemplate": '"<who> did it on <aws.events.rule-name>"'}},
        {"Id": "json", "Arn": queues["json"][1], "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.who", "n": "$.detail.n"},
            "InputTemplate": '{"who": <who>, "n": <n>, "rule": <aws.events.rule-arn>, "event": <aws.events.event.json>}'}},
    ])
    resp = put(aws, source, {"who": "alice", "n": 5, "items": [{"a": 1}, {"b": 2}]})
    bodies = {key: receive(aws, url)[0]["Body"] for key, (url, _) in queues.items()}
    assert json.loads(bodies["input"]) == {"constant": True}
    assert json.loads(bodies["path"]) == {"b": 2}
    assert bodies["text"] == f'"alice did it on {name}"'
    shaped = json.loads(bodies["json"])
    assert shaped["who"] == "alice" and shaped["n"] == 5
    assert shaped["rule"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
    assert shaped["event"]["id"] == resp["Entries"][0]["EventId"]


def test_put_targets_rejects_bad_input_and_retry_policy(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html: invalid Input JSON, two
    input kinds, a reserved InputPathsMap key, a FIFO DLQ or an input transformer on another account's bus are
    ValidationException; a sixth target on a rule is LimitExceededException."""
    events = aws("events")
    name = uid("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    _, arn = make_queue(aws)
    bad = [
        {"Input": "{not json"},
        {"Input": "{}", "InputPath": "$.detail"},
        {"InputTransformer": {"InputPathsMap": {"awsKey": "$.id"}, "InputTemplate": "<awsKey>"}},
        {"DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq.fifo"}},
        {"Arn": f"arn:aws:events:{REGION}:{OTHER}:event-bus/theirs", "InputPath": "$.detail"},
    ]
    for extra in bad:
        with pytest.raises(ClientError) as err:
            events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": arn, **extra}])
        assert err.value.response["Error"]["Code"] == "ValidationException", extra
    events.put_targets(Rule=name, Targets=[{"Id": f"t{i}", "Arn": arn} for i in range(5)])
    with pytest.raises(ClientError) as err:
        events.put_targets(Rule=name, Targets=[{"Id": "t5", "Arn": arn}])
    assert err.value.response["Error"]["Code"] == "LimitExceededException"
    events.put_targets(Rule=name, Targets=[{"Id": "t4", "Arn": arn, "Input": "{}"}])  # replacing is fine


# ---- Retries and dead-letter queues -------------------------------------------------------------------------


def inject(localcloud: Any, spec: dict[str, Any]) -> None:
    """Make deliveries to a target fail via /_localcloud/events-faults."""
    request = urllib.request.Request(f"{localcloud.endpoint}/_localcloud/events-faults",
                                     data=json.dumps(spec).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200


def attrs(message: dict[str, Any]) -> dict[str, str]:
    """A message's attributes as name -> string value."""
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def test_missing_target_goes_to_dlq_without_retries(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: a target resource that no
    longer exists is not retried; the event goes to the DLQ with RULE_ARN, TARGET_ARN, ERROR_CODE,
    ERROR_MESSAGE and RETRY_ATTEMPTS (no EXHAUSTED_RETRY_CONDITION, since no limit ended it)."""
    gone_url, gone_arn = make_queue(aws)
    dlq_url, dlq_arn = make_queue(aws)
    aws("sqs").delete_queue(QueueUrl=gone_url)
    rule, source = rule_to(aws, {"Arn": gone_arn, "DeadLetterConfig": {"Arn": dlq_arn}})
    resp = put(aws, source, {"lost": True})
    assert resp["FailedEntryCount"] == 0
    [message] = receive(aws, dlq_url)
    assert json.loads(message["Body"])["id"] == resp["Entries"][0]["EventId"]
    a = attrs(message)
    assert a["RULE_ARN"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
    assert a["TARGET_ARN"] == gone_arn and a["ERROR_CODE"] == "NO_RESOURCE" and a["ERROR_MESSAGE"]
    assert a["RETRY_ATTEMPTS"] == "0" and "EXHAUSTED_RETRY_CONDITION" not in a
    counters = stats(localcloud)["targets"][f"{a['RULE_ARN']}#t1"]
    assert counters["dlq"] == 1 and counters.get("retried", 0) == 0

    # A DLQ that is itself gone: the event is lost, counted as dlq_failed and dropped.
    dead_dlq_url, dead_dlq_arn = make_queue(aws)
    aws("sqs").delete_queue(QueueUrl=dead_dlq_url)
    rule2, source2 = rule_to(aws, {"Arn": gone_arn, "DeadLetterConfig": {"Arn": dead_dlq_arn}})
    put(aws, source2)
    key = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule2}#t1"
    lost = wait_for(lambda: stats(localcloud)["targets"].get(key, {}).get("dlq_failed") and
                    stats(localcloud)["targets"][key])
    assert lost["dropped"] == 1 and lost.get("dlq", 0) == 0


def test_throttled_target_retried_until_max_attempts_then_dlq(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html: throttling is
    retried up to MaximumRetryAttempts; then the DLQ message says EXHAUSTED_RETRY_CONDITION
    MaximumRetryAttempts with RETRY_ATTEMPTS equal to the limit."""
    _, target_arn = make_queue(aws)
    dlq_url, dlq_arn = make_queue(aws)
    rule, source = rule_to(aws, {"Arn": target_arn, "DeadLetterConfig": {"Arn": dlq_arn},
                                 "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 86400}})
    inject(localcloud, {"target_arn": target_arn, "error_code": "ThrottlingException"})
    put(aws, source)
    [message] = receive(aws, dlq_url, timeout=20)
    a = attrs(message)
    assert a["ERROR_CODE"] == "THROTTLING" and a["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert a["RETRY_ATTEMPTS"] == "3"
    counters = stats(localcloud)["targets"][f"{a['RULE_ARN']}#t1"]
    assert counters["retried"] == 3 and counters["failed"] == 1
    inject(localcloud, {"target_arn": target_arn, "clear": True})


def test_event_age_limit_ends_retries(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html: retries stop when
    the event is older than MaximumEventAgeInSeconds (emulated time), before MaximumRetryAttempts."""
    _, target_arn = make_queue(aws)
    dlq_url, dlq_arn = make_queue(aws)
    _, source = rule_to(aws, {"Arn": target_arn, "DeadLetterConfig": {"Arn": dlq_arn},
                              "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60}})
    inject(localcloud, {"target_arn": target_arn, "error_code": "InternalFailure", "status": 500})
    put(aws, source)
    [message] = receive(aws, dlq_url, timeout=20)
    a = attrs(message)
    assert a["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds" and a["ERROR_CODE"] == "ERROR_FROM_TARGET"
    assert 0 < int(a["RETRY_ATTEMPTS"]) < 185
    inject(localcloud, {"target_arn": target_arn, "clear": True})


def test_transient_failure_is_retried_then_delivered(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html: retriable errors
    are retried with backoff; once the target recovers the event arrives."""
    url, target_arn = make_queue(aws)
    rule, source = rule_to(aws, {"Arn": target_arn})
    inject(localcloud, {"target_arn": target_arn, "error_code": "ThrottlingException", "count": 2})
    put(aws, source, {"eventually": True})
    [message] = receive(aws, url, timeout=20)
    assert json.loads(message["Body"])["detail"] == {"eventually": True}
    counters = stats(localcloud)["targets"][f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}#t1"]
    assert counters["retried"] == 2 and counters["delivered"] == 1


def test_failure_without_dlq_is_dropped_and_counted(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html: with no DLQ an
    undeliverable event is dropped; the local cloud counts it in /_localcloud/events-stats."""
    gone_url, gone_arn = make_queue(aws)
    aws("sqs").delete_queue(QueueUrl=gone_url)
    rule, source = rule_to(aws, {"Arn": gone_arn})
    put(aws, source)
    key = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}#t1"
    counters = wait_for(lambda: stats(localcloud)["targets"].get(key, {}).get("dropped") and
                        stats(localcloud)["targets"][key])
    assert counters["dropped"] == 1 and counters["failed"] == 1 and counters.get("delivered", 0) == 0


# ---- Cross-account ------------------------------------------------------------------------------------------


def random_account() -> str:
    """A fresh 12-digit account id, so policies from other tests cannot interfere."""
    return str(uuid.uuid4().int % 10**12).rjust(12, "9")


def custom_bus_with_tap(aws: Callable[..., Any], account: str = ACCOUNT) -> tuple[str, str, str]:
    """A custom bus whose catch-all rule (by unique source) feeds a tap queue; (bus arn, tap url, source)."""
    events = aws("events", account_id=account)
    bus = uid("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    url, qarn = make_queue(aws, account=account)
    _, source = rule_to(aws, {"Arn": qarn}, bus=bus, account=account)
    return bus_arn, url, source


def test_cross_account_put_events_by_bus_arn_needs_policy(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html: another account may put
    events on a bus (EventBusName = the bus ARN) only if the bus policy allows it; otherwise the entry fails with
    AccessDeniedException. The delivered event keeps the sender's account."""
    sender = random_account()
    bus_arn, tap, source = custom_bus_with_tap(aws)
    denied = put(aws, source, bus=bus_arn, account=sender)
    assert denied["FailedEntryCount"] == 1 and denied["Entries"][0]["ErrorCode"] == "AccessDeniedException"
    aws("events").put_permission(EventBusName=bus_arn.split("/")[-1], Action="events:PutEvents",
                                 Principal=sender, StatementId=uid("allow"))
    allowed = put(aws, source, {"from": "sender"}, bus=bus_arn, account=sender)
    assert allowed["FailedEntryCount"] == 0
    [message] = receive(aws, tap)
    event = json.loads(message["Body"])
    assert event["account"] == sender and event["detail"] == {"from": "sender"}


def test_cross_account_policy_by_organization(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html: Principal "*" with
    Condition aws:PrincipalOrgID admits accounts of that organization only."""
    master = random_account()
    orgs = aws("organizations", account_id=master)
    org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    status = orgs.create_account(Email=f"{uid('m')}@example.com", AccountName="member")["CreateAccountStatus"]
    member = status["AccountId"]
    outsider = random_account()
    bus_arn, tap, source = custom_bus_with_tap(aws)
    aws("events").put_permission(EventBusName=bus_arn.split("/")[-1], Action="events:PutEvents", Principal="*",
                                 StatementId=uid("org"),
                                 Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": org_id})
    assert put(aws, source, bus=bus_arn, account=member)["FailedEntryCount"] == 0
    refused = put(aws, source, bus=bus_arn, account=outsider)
    assert refused["Entries"][0]["ErrorCode"] == "AccessDeniedException"
    [message] = receive(aws, tap)
    assert json.loads(message["Body"])["account"] == member


def test_cross_account_bus_target(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html: a rule may target another
    account's bus when that bus's policy allows the rule's account; the event keeps its account and source.
    Without permission the delivery fails (CROSS_ACCOUNT_INGESTION_FAILED in the DLQ)."""
    sender = random_account()
    bus_arn, tap, source = custom_bus_with_tap(aws)
    aws("events").put_permission(EventBusName=bus_arn.split("/")[-1], Action="events:PutEvents",
                                 Principal=sender, StatementId=uid("allow"))
    rule_to(aws, {"Arn": bus_arn}, account=sender, source=source)
    put(aws, source, {"hop": 1}, account=sender)
    [message] = receive(aws, tap)
    event = json.loads(message["Body"])
    assert event["account"] == sender and event["source"] == source and event["detail"] == {"hop": 1}

    closed_arn, closed_tap, closed_source = custom_bus_with_tap(aws)
    dlq_url, dlq_arn = make_queue(aws, account=sender)
    rule_to(aws, {"Arn": closed_arn, "DeadLetterConfig": {"Arn": dlq_arn}}, account=sender, source=closed_source)
    put(aws, closed_source, account=sender)
    [dead] = receive(aws, dlq_url, account=sender)
    assert attrs(dead)["ERROR_CODE"] == "CROSS_ACCOUNT_INGESTION_FAILED"
    assert receive(aws, closed_tap, timeout=0.3) == []


# ---- Metrics ------------------------------------------------------------------------------------------------


def metric_sum(aws: Callable[..., Any], name: str, rule: str, bus: str | None = None) -> float:
    """Sum of AWS/Events ``name`` for RuleName ``rule`` (and EventBusName ``bus``) over the last 10 minutes."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    dims = [{"Name": "RuleName", "Value": rule}]
    if bus:
        dims.insert(0, {"Name": "EventBusName", "Value": bus})
    points = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Events", MetricName=name, Dimensions=dims,
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=60,
        Statistics=["Sum"])["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_aws_events_metrics(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html: MatchedEvents,
    TriggeredRules, Invocations, InvocationAttempts per RuleName (default bus) or EventBusName+RuleName (custom
    bus); FailedInvocations and InvocationsSentToDlq for a failing target."""
    url, arn = make_queue(aws)
    ok_rule, source = rule_to(aws, {"Arn": arn})
    put(aws, source)
    put(aws, source)
    assert len(receive(aws, url, count=2)) == 2
    wait_for(lambda: metric_sum(aws, "Invocations", ok_rule) >= 2)
    assert metric_sum(aws, "MatchedEvents", ok_rule) == 2
    assert metric_sum(aws, "TriggeredRules", ok_rule) == 2
    assert metric_sum(aws, "InvocationAttempts", ok_rule) == 2

    bus = uid("bus")
    aws("events").create_event_bus(Name=bus)
    bus_url, bus_queue = make_queue(aws)
    bus_rule, bus_source = rule_to(aws, {"Arn": bus_queue}, bus=bus)
    put(aws, bus_source, bus=bus)
    receive(aws, bus_url)
    wait_for(lambda: metric_sum(aws, "Invocations", bus_rule, bus=bus) >= 1)
    assert metric_sum(aws, "Invocations", bus_rule) == 0  # RuleName alone means the default bus

    gone_url, gone_arn = make_queue(aws)
    dlq_url, dlq_arn = make_queue(aws)
    aws("sqs").delete_queue(QueueUrl=gone_url)
    bad_rule, bad_source = rule_to(aws, {"Arn": gone_arn, "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws, bad_source)
    receive(aws, dlq_url)
    wait_for(lambda: metric_sum(aws, "InvocationsSentToDlq", bad_rule) >= 1)
    assert metric_sum(aws, "FailedInvocations", bad_rule) == 1


# ---- Lambda -------------------------------------------------------------------------------------------------

LAMBDA_SOURCE = '''
import json, os
import boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["TAP_URL"], MessageBody=json.dumps(event))
    return {"ok": True}
'''


def test_lambda_target_runs_the_function(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html and
    https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge.html: EventBridge invokes the function
    asynchronously with the event; the handler really runs (it forwards what it got to a tap queue)."""
    import io
    import zipfile

    url, _ = make_queue(aws)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", LAMBDA_SOURCE)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = aws("iam").create_role(RoleName=uid("events-fn"), AssumeRolePolicyDocument=json.dumps(trust))
    function_arn = aws("lambda").create_function(
        FunctionName=uid("fn"), Runtime="python3.11", Role=role["Role"]["Arn"],
        Handler="index.handler", Code={"ZipFile": buffer.getvalue()}, Timeout=30,
        Environment={"Variables": {"TAP_URL": url}},
    )["FunctionArn"]
    _, source = rule_to(aws, {"Arn": function_arn})
    resp = put(aws, source, {"to": "lambda"})
    [message] = receive(aws, url, timeout=30)
    event = json.loads(message["Body"])
    assert event["id"] == resp["Entries"][0]["EventId"] and event["detail"] == {"to": "lambda"}
    assert event["account"] == ACCOUNT


# ---- CodeBuild and AWS service events -----------------------------------------------------------------------


def test_codebuild_target_starts_build_with_transformed_parameters(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html and
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StartBuild.html: a CodeBuild project target
    calls StartBuild; an InputTransformer can produce StartBuild parameters such as
    environmentVariablesOverride."""
    codebuild = aws("codebuild")
    project = uid("cb")
    codebuild.create_project(
        name=project, source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo $IMAGE_TAG\n"},
        artifacts={"type": "NO_ARTIFACTS"}, serviceRole=f"arn:aws:iam::{ACCOUNT}:role/codebuild-service-role",
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"})
    arn = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{project}"
    template = '{"environmentVariablesOverride": [{"name": "IMAGE_TAG", "value": <tag>, "type": "PLAINTEXT"}]}'
    _, source = rule_to(aws, {"Arn": arn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-codebuild",
                              "InputTransformer": {"InputPathsMap": {"tag": "$.detail.tag"},
                                                   "InputTemplate": template}})
    put(aws, source, {"tag": "v1.2.3"})
    [build_id] = wait_for(lambda: codebuild.list_builds_for_project(projectName=project)["ids"])
    build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
    overrides = {v["name"]: v["value"] for v in build["environment"].get("environmentVariables", [])}
    assert overrides.get("IMAGE_TAG") == "v1.2.3"


def test_service_events_bypass_reserved_source_check(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html: AWS services put aws.*
    events on the default bus (customers cannot); a rule on aws.states receives the execution status change
    with the account in the envelope."""
    url, qarn = make_queue(aws)
    sfn = aws("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    sm = sfn.create_state_machine(name=uid("sm"), definition=json.dumps(definition),
                                  roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
    rule_to(aws, {"Arn": qarn}, pattern={"source": ["aws.states"], "detail": {"stateMachineArn": [sm]}})
    sfn.start_execution(stateMachineArn=sm, input="{}")
    messages = receive(aws, url, count=2, timeout=15)
    assert messages, "no aws.states event arrived"
    event = json.loads(messages[0]["Body"])
    assert event["source"] == "aws.states" and event["account"] == ACCOUNT
    assert event["detail-type"] == "Step Functions Execution Status Change"



# ---- Scheduled rules ----------------------------------------------------------------------------------------


def test_scheduled_rule_fires_scheduled_event(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html: a rate() rule on
    the default bus sends its targets "Scheduled Event" from aws.events with the rule ARN as resource (here in
    emulated time: one minute passes in 0.6 s at the tests' time scale); invalid expressions are rejected."""
    events = aws("events")
    url, arn = make_queue(aws)
    name = uid("every-minute")
    rule_arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "t1", "Arn": arn}])
    first = receive(aws, url, timeout=15)
    events.disable_rule(Name=name)
    [message] = first
    event = json.loads(message["Body"])
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [rule_arn] and event["account"] == ACCOUNT and event["detail"] == {}
    with pytest.raises(ClientError) as err:
        events.put_rule(Name=uid("bad"), ScheduleExpression="cron(0 12 * * * *)")
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_bus_to_bus_loop_is_not_invoked(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html (DeadLetterInvocations):
    a target that would bring the event back to a bus it already passed through is not invoked."""
    events = aws("events")
    bus_a, bus_b = uid("bus-a"), uid("bus-b")
    arn_a = events.create_event_bus(Name=bus_a)["EventBusArn"]
    arn_b = events.create_event_bus(Name=bus_b)["EventBusArn"]
    source = uid("test.loop")
    rule_to(aws, {"Arn": arn_b}, bus=bus_a, source=source)
    back, _ = rule_to(aws, {"Arn": arn_a}, bus=bus_b, source=source)
    tap_url, tap_arn = make_queue(aws)
    rule_to(aws, {"Arn": tap_arn}, bus=bus_b, source=source)
    put(aws, source, bus=bus_a)
    assert len(receive(aws, tap_url)) == 1
    key = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus_b}/{back}#t1"
    counters = wait_for(lambda: stats(localcloud)["targets"].get(key))
    assert counters.get("dropped") == 1 and counters.get("delivered", 0) == 0
    assert receive(aws, tap_url, timeout=0.3) == []


def test_cross_region_bus_target_and_update_event_bus(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html: a rule may target a bus of
    the same account in another region; the event arrives there unchanged (its region stays the source's).
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_UpdateEventBus.html: UpdateEventBus changes
    the description."""
    west = "us-west-2"
    events_west = aws("events", region=west)
    bus = uid("west-bus")
    bus_arn = events_west.create_event_bus(Name=bus)["EventBusArn"]
    sqs_west = aws("sqs", region=west)
    url = sqs_west.create_queue(QueueName=uid("west-tap"))["QueueUrl"]
    qarn = sqs_west.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = uid("test.region")
    events_west.put_rule(Name=uid("tap"), EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
    rule_name = events_west.list_rules(EventBusName=bus)["Rules"][0]["Name"]
    events_west.put_targets(Rule=rule_name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": qarn}])
    rule_to(aws, {"Arn": bus_arn}, source=source)
    put(aws, source, {"to": "west"})
    [message] = receive(lambda service, account_id=ACCOUNT, region=REGION: aws(service, region=west), url)
    event = json.loads(message["Body"])
    assert event["region"] == REGION and event["detail"] == {"to": "west"}

    updated = events_west.update_event_bus(Name=bus, Description="deployments, west")
    assert updated["Arn"] == bus_arn
    assert events_west.describe_event_bus(Name=bus)["Description"] == "deployments, west"


def test_codepipeline_target_starts_execution(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html and
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ExecutionTrigger.html: a pipeline target
    starts an execution whose trigger is CloudWatchEvent with the rule's ARN."""
    import io
    import zipfile

    s3 = aws("s3")
    src, store = uid("evsrc"), uid("evstore")
    s3.create_bucket(Bucket=src)
    s3.create_bucket(Bucket=store)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "hello")
    s3.put_object(Bucket=src, Key="source.zip", Body=buffer.getvalue())
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    role = aws("iam").create_role(RoleName=uid("cp-role"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    name = uid("cp")
    codepipeline = aws("codepipeline")
    codepipeline.create_pipeline(pipeline={
        "name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": store}, "stages": [
            {"name": "Source", "actions": [{
                "name": "Fetch", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                                                  "version": "1"},
                "outputArtifacts": [{"name": "SourceOut"}],
                "configuration": {"S3Bucket": src, "S3ObjectKey": "source.zip", "PollForSourceChanges": "false"}}]},
            {"name": "Approve", "actions": [{
                "name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual",
                                                 "version": "1"}}]},
        ]})
    arn = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{name}"
    rule, source = rule_to(aws, {"Arn": arn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events-codepipeline"})
    put(aws, source)

    def started_by_call() -> list[dict[str, Any]]:
        # CreatePipeline may start a run of its own; only a StartPipelineExecution run proves the target fired.
        summaries = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        return [s for s in summaries if s.get("trigger", {}).get("triggerType") != "CreatePipeline"]

    [execution] = wait_for(started_by_call)
    assert execution["trigger"] == {"triggerType": "CloudWatchEvent",
                                    "triggerDetail": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"}


def test_queue_policy_must_admit_the_rule(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html: a target queue (and a
    DLQ) admits EventBridge through its policy, usually conditioned on aws:SourceArn = the rule; a policy that
    names another rule refuses delivery (NO_PERMISSIONS, not retried). (A queue with no policy at all is let
    through by the local cloud -- more lenient than AWS.)"""
    sqs = aws("sqs")

    def admit(url: str, arn: str, rule_arn: str) -> None:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})

    events = aws("events")
    source = uid("test.policy")
    good_rule, bad_rule = uid("admitted"), uid("refused")
    good_arn = events.put_rule(Name=good_rule, EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    bad_arn = events.put_rule(Name=bad_rule, EventPattern=json.dumps({"source": [source]}))["RuleArn"]
    good_url, good_q = make_queue(aws)
    bad_url, bad_q = make_queue(aws)
    dlq_url, dlq_arn = make_queue(aws)
    admit(good_url, good_q, good_arn)
    admit(bad_url, bad_q, good_arn)  # names the other rule
    admit(dlq_url, dlq_arn, bad_arn)
    events.put_targets(Rule=good_rule, Targets=[{"Id": "t1", "Arn": good_q}])
    events.put_targets(Rule=bad_rule, Targets=[{"Id": "t1", "Arn": bad_q, "DeadLetterConfig": {"Arn": dlq_arn}}])
    put(aws, source)
    assert len(receive(aws, good_url)) == 1
    [dead] = receive(aws, dlq_url)
    assert attrs(dead)["ERROR_CODE"] == "NO_PERMISSIONS" and attrs(dead)["RETRY_ATTEMPTS"] == "0"
    assert receive(aws, bad_url, timeout=0.3) == []
