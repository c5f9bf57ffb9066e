"""Conformance: EventBridge pattern validation (PutRule, TestEventPattern) and matching, through plain boto3."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

OPERATORS_DOC = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"


def _event(detail: dict[str, Any] | None = None, **envelope: Any) -> str:
    event = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Order Placed", "source": "com.example.shop",
        "account": "123456789012", "time": "2026-12-04T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": detail if detail is not None else {},
    }
    event.update(envelope)
    return json.dumps(event)


def _name() -> str:
    return f"pat-{uuid.uuid4().hex[:12]}"


# (pattern, text the InvalidEventPatternException message must contain) — every one of these AWS rejects.
REJECTED = [
    ("not json", "not valid JSON"),
    ('["source"]', "Filter is not an object"),
    ("{}", "Empty objects are not allowed"),
    ('{"source": "aws.ec2"}', '"source" must be an object or an array'),
    ('{"source": []}', 'Empty arrays are not allowed at field "source"'),
    ('{"detail": {}}', 'Empty objects are not allowed at field "detail"'),
    ('{"source": [["a"]]}', "Match value must be String, number, true, false, or null"),
    ('{"detail": {"name": [{"Prefix": "a"}]}}', 'Unrecognized match type Prefix at field "detail.name"'),
    ('{"detail": {"name": [{"anythingbut": "a"}]}}', "Unrecognized match type anythingbut"),
    ('{"detail": {"n": [{"numerics": [">", 1]}]}}', "Unrecognized match type numerics"),
    ('{"detail": {"name": [{}]}}', "Match expression name not found"),
    ('{"detail": {"name": [{"prefix": "a", "suffix": "b"}]}}', "Only one key allowed in match expression"),
    ('{"detail": {"name": [{"prefix": 5}]}}', "prefix match pattern must be a string"),
    ('{"detail": {"name": [{"prefix": {"equals-ignore-case": 5}}]}}',
     "equals-ignore-case match pattern must be a string"),
    ('{"detail": {"name": [{"prefix": {"wildcard": "a*"}}]}}', "Unsupported prefix pattern: wildcard"),
    ('{"detail": {"name": [{"suffix": ["a"]}]}}', "suffix match pattern must be a string"),
    ('{"detail": {"name": [{"wildcard": 1}]}}', "wildcard match pattern must be a string"),
    ('{"detail": {"name": [{"wildcard": "a**b"}]}}', "Consecutive wildcard characters at pos 2"),
    ('{"detail": {"name": [{"wildcard": "a\\\\b"}]}}', "Invalid escape character at pos 2"),
    ('{"detail": {"name": [{"equals-ignore-case": ["a"]}]}}', "equals-ignore-case match pattern must be a string"),
    ('{"detail": {"name": [{"exists": "true"}]}}', "exists match pattern must be either true or false."),
    ('{"detail": {"n": [{"numeric": ">"}]}}', "Value of numeric must be an array."),
    ('{"detail": {"n": [{"numeric": [">", "x"]}]}}', "Value of > must be numeric"),
    ('{"detail": {"n": [{"numeric": [">", 5, ">", 6]}]}}', "Bad numeric range operator: >"),
    ('{"detail": {"n": [{"numeric": [">", 6, "<", 5]}]}}', "Bottom must be less than top"),
    ('{"detail": {"n": [{"numeric": ["!=", 5]}]}}', "Unrecognized numeric range operator: !="),
    ('{"detail": {"n": [{"numeric": ["=", 1, 2]}]}}', "Too many elements in numeric expression"),
    ('{"detail": {"n": [{"numeric": [">", 1, "<", 9, 10]}]}}', "Too many terms in numeric range expression"),
    ('{"detail": {"n": [{"numeric": ["<", 6e9]}]}}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
    ('{"detail": {"n": [{"numeric": [">", true]}]}}', "Value of > must be numeric"),
    ('{"detail": {"ip": [{"cidr": "10.0.0.0"}]}}', "one '/' required"),
    ('{"detail": {"ip": [{"cidr": "10.0.0.0/x"}]}}', "mask bits must be an integer"),
    ('{"detail": {"ip": [{"cidr": "10.0.0.300/24"}]}}', "Invalid IP address: 10.0.0.300"),
    ('{"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}}', "IPv4 mask bits must be < 32"),
    ('{"detail": {"ip": [{"cidr": "2001:db8::/129"}]}}', "IPv6 mask bits must be < 128"),
    ('{"detail": {"ip": [{"cidr": 10}]}}', "prefix match pattern must be a string"),
    ('{"detail": {"ip": [{"cidr": "example.com/8"}]}}', "Nonstandard IP address: example.com"),
    ('{"detail": {"s": [{"anything-but": {"anything-but": "a"}}]}}', "Unsupported anything-but pattern: anything-but"),
    ('{"detail": {"s": [{"anything-but": {"exists": true}}]}}', "Unsupported anything-but pattern: exists"),
    ('{"detail": {"s": [{"anything-but": []}]}}', "either all values are number or string"),
    ('{"detail": {"s": [{"anything-but": ["a", 1]}]}}', "mixed type is not supported"),
    ('{"detail": {"s": [{"anything-but": [null]}]}}', "start|null|boolean is not supported"),
    ('{"detail": {"s": [{"anything-but": true}]}}', "must be an array or single string/number value"),
    ('{"detail": {"s": [{"anything-but": {"prefix": ""}}]}}', "Null prefix/suffix not allowed"),
    ('{"detail": {"s": [{"anything-but": {"wildcard": "a**"}}]}}', "Consecutive wildcard characters"),
    ('{"detail": {"name": [{"wildcard": "*a*a*a*a*a*a*a*a*a*a*a*"}]}}', "Rule is too complex"),
    ('{"$or": {"source": ["a"]}}', "It must be an Array followed with $or."),
    ('{"$or": [{"source": ["a"]}]}', "There must have at least 2 Objects in $or relationship."),
    ('{"$or": [{"source": ["a"]}, "b"]}', "Only JSON object is allowed in array of $or relationship."),
    ('{"$or": [{"source": ["a"]}, {"prefix": ["b"]}]}', "prefix is Ruler reserved fieldName"),
    (json.dumps({"detail": {"k": ["x" * 2100]}}), "at most 2048 (the 'Event pattern size' quota)"),
]


@pytest.mark.parametrize(("pattern", "reason"), REJECTED, ids=[r for _, r in REJECTED])
def test_put_rule_rejects_what_aws_rejects(aws: Callable[..., Any], pattern: str, reason: str) -> None:
    """PutRule answers InvalidEventPatternException for every malformed pattern, naming the problem and the field.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (InvalidEventPatternException),
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (operator syntax),
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html (2048-character pattern limit).
    """
    events = aws("events")
    name = _name()
    with pytest.raises(ClientError) as caught:
        events.put_rule(Name=name, EventPattern=pattern)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"].startswith("Event pattern is not valid. Reason: ")
    assert reason in error["Message"]
    assert name not in [r["Name"] for r in events.list_rules(NamePrefix=name)["Rules"]]


def test_pattern_length_limits(aws: Callable[..., Any]) -> None:
    """TestEventPattern takes patterns up to the API maximum of 4096 characters; longer is a ValidationException.
    (A rule's pattern is further held to the 2048-character quota: see the PutRule rejections.)

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    """
    events = aws("events")
    long_ok = json.dumps({"source": ["com.example.shop"], "detail": {"k": ["x" * 3000]}})
    assert events.test_event_pattern(EventPattern=long_ok, Event=_event({"k": "x" * 3000}))["Result"] is True
    too_long = json.dumps({"source": ["com.example.shop"], "detail": {"k": ["x" * 4100]}})
    with pytest.raises(ClientError) as caught:
        events.test_event_pattern(EventPattern=too_long, Event=_event())
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "4096" in caught.value.response["Error"]["Message"]


def test_test_event_pattern_rejects_the_same_patterns(aws: Callable[..., Any]) -> None:
    """TestEventPattern validates its pattern like PutRule (misspelt operator).

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
    """
    with pytest.raises(ClientError) as caught:
        aws("events").test_event_pattern(EventPattern='{"source": [{"Prefix": "com."}]}', Event=_event())
    assert caught.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "Unrecognized match type Prefix" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize("missing", ["id", "account", "source", "time", "region", "resources", "detail-type"])
def test_test_event_pattern_requires_the_envelope(aws: Callable[..., Any], missing: str) -> None:
    """The Event must carry id, account, source, time, region, resources and detail-type.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
    """
    event = json.loads(_event())
    del event[missing]
    with pytest.raises(ClientError) as caught:
        aws("events").test_event_pattern(EventPattern='{"source": ["com.example.shop"]}', Event=json.dumps(event))
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("Parameter Event is not valid.") and missing in error["Message"]


def test_test_event_pattern_rejects_an_event_that_is_not_an_object(aws: Callable[..., Any]) -> None:
    """The Event must be a JSON object in the AWS event format.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
    """
    for bad in ("not json", "[1, 2]"):
        with pytest.raises(ClientError) as caught:
            aws("events").test_event_pattern(EventPattern='{"source": ["x"]}', Event=bad)
        assert caught.value.response["Error"]["Code"] == "ValidationException"


# (case, pattern, detail or full-event overrides, expected Result)
RESULTS = [
    ("envelope source", {"source": ["com.example.shop"]}, {}, True),
    ("envelope source other", {"source": ["aws.ec2"]}, {}, False),
    ("detail nested", {"detail": {"order": {"state": ["PAID"]}}}, {"order": {"state": "PAID"}}, True),
    # moto answers True here: it compares 1 == true in Python.
    ("boolean never equals a number", {"detail": {"flag": [True]}}, {"flag": 1}, False),
    ("number never equals a boolean", {"detail": {"n": [1]}}, {"n": True}, False),
    ("300 matches 300.0", {"detail": {"n": [300]}}, {"n": 300.0}, True),
    ("string never equals number", {"detail": {"n": ["300"]}}, {"n": 300}, False),
    # moto treats an empty array as an existing field.
    ("exists true on empty array", {"detail": {"tags": [{"exists": True}]}}, {"tags": []}, False),
    ("exists false on empty array", {"detail": {"tags": [{"exists": False}]}}, {"tags": []}, True),
    ("exists false on missing", {"detail": {"tags": [{"exists": False}]}}, {}, True),
    ("exists true on object", {"detail": {"c": [{"exists": True}]}}, {"c": {"c1": 1}}, False),
    # moto flattens arrays of objects away and never matches these.
    ("array of objects", {"detail": {"items": {"sku": ["B"]}}}, {"items": [{"sku": "A"}, {"sku": "B"}]}, True),
    ("array of objects needs one element",
     {"detail": {"items": {"sku": ["A"], "qty": [2]}}}, {"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},
     False),
    ("array of objects same element",
     {"detail": {"items": {"sku": ["B"], "qty": [2]}}}, {"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},
     True),
    ("anything-but missing field", {"detail": {"s": [{"anything-but": "x"}]}}, {}, False),
    ("numeric range", {"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, {"n": 5}, True),
    ("numeric on string", {"detail": {"n": [{"numeric": [">", 0]}]}}, {"n": "5"}, False),
    ("cidr v6", {"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, {"ip": "2001:db8::7"}, True),
    ("wildcard", {"detail": {"path": [{"wildcard": "*/lib/*.py"}]}}, {"path": "src/lib/x.py"}, True),
    ("$or", {"$or": [{"source": ["nope"]}, {"detail": {"s": ["on"]}}]}, {"s": "on"}, True),
]


@pytest.mark.parametrize(("case", "pattern", "detail", "expected"), RESULTS, ids=[c[0] for c in RESULTS])
def test_test_event_pattern_result(aws: Callable[..., Any], case: str, pattern: dict[str, Any],
                                   detail: dict[str, Any], expected: bool) -> None:
    """TestEventPattern answers {"Result": bool} by AWS's matching rules, including cases moto gets wrong.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
    """
    answer = aws("events").test_event_pattern(EventPattern=json.dumps(pattern), Event=_event(detail))
    assert answer["Result"] is expected, case


def test_put_rule_accepts_every_documented_operator(aws: Callable[..., Any]) -> None:
    """Every comparison operator in the operator table is accepted, and DescribeRule returns the pattern as sent.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
    """
    pattern = json.dumps({
        "source": [{"prefix": "com."}, {"prefix": {"equals-ignore-case": "COM."}}],
        "detail-type": [{"suffix": "Placed"}, {"suffix": {"equals-ignore-case": "placed"}}, {"wildcard": "Order*"}],
        "detail": {
            "state": [{"anything-but": ["stopped", "overloaded"]}],
            "region": [{"anything-but": {"prefix": "us-"}}],
            "file": [{"anything-but": {"suffix": ".png"}}, {"anything-but": {"wildcard": "*/lib/*"}}],
            "name": [{"anything-but": {"equals-ignore-case": "alice"}}, {"equals-ignore-case": "bob"}],
            "n": [{"numeric": [">=", 0, "<", 10]}, {"numeric": ["=", 3.018e2]}, {"anything-but": 123}],
            "ip": [{"cidr": "10.0.0.0/24"}, {"cidr": "2001:db8::/64"}],
            "gone": [{"exists": False}],
            "$or": [{"a": [None]}, {"b": [""]}],
        },
    })
    events = aws("events")
    name = _name()
    events.put_rule(Name=name, EventPattern=pattern)
    try:
        assert events.describe_rule(Name=name)["EventPattern"] == pattern
    finally:
        events.delete_rule(Name=name)


def test_rules_deliver_only_matching_events(aws: Callable[..., Any]) -> None:
    """A rule's target receives exactly the events its pattern matches (arrays of objects, booleans, exists on []).

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
    """
    events, sqs = aws("events"), aws("sqs")
    name = _name()
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = f"com.example.{name}"
    events.put_rule(Name=name, EventPattern=json.dumps({
        "source": [source],
        "detail": {"items": {"sku": ["B"], "gift": [True]}, "notes": [{"exists": False}]},
    }))
    events.put_targets(Rule=name, Targets=[{"Id": "tap", "Arn": queue_arn}])
    try:
        entries = [
            ("match", {"items": [{"sku": "A", "gift": False}, {"sku": "B", "gift": True}], "notes": []}),
            ("split-across-elements", {"items": [{"sku": "B", "gift": False}, {"sku": "A", "gift": True}]}),
            ("number-not-boolean", {"items": [{"sku": "B", "gift": 1}]}),
            ("has-notes", {"items": [{"sku": "B", "gift": True}], "notes": ["x"]}),
        ]
        events.put_events(Entries=[
            {"Source": source, "DetailType": "Order", "Detail": json.dumps({"case": case, **detail})}
            for case, detail in entries
        ])
        received: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not received:
            for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=1).get("Messages", []):
                received.append(json.loads(message["Body"])["detail"]["case"])
        # The other events were put in the same call: had any matched, it would be in the queue by now as well.
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            received.append(json.loads(message["Body"])["detail"]["case"])
        assert received == ["match"]
    finally:
        events.remove_targets(Rule=name, Ids=["tap"])
        events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=queue_url)


def test_at_most_30_wildcard_rules_per_bus(aws: Callable[..., Any]) -> None:
    """Rules containing wildcards: 30 per event bus, not adjustable; other rules and updates are unaffected.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    """
    events = aws("events")
    bus = _name()
    events.create_event_bus(Name=bus)
    wildcard = json.dumps({"detail": {"path": [{"wildcard": "*/lib/*"}]}})
    try:
        for n in range(30):
            events.put_rule(Name=f"w{n}", EventBusName=bus, EventPattern=wildcard)
        with pytest.raises(ClientError) as caught:
            events.put_rule(Name="w30", EventBusName=bus, EventPattern=wildcard)
        assert caught.value.response["Error"]["Code"] == "LimitExceededException"
        assert "30" in caught.value.response["Error"]["Message"]
        events.put_rule(Name="w0", EventBusName=bus, EventPattern=wildcard.replace("lib", "bin"))
        events.put_rule(Name="plain", EventBusName=bus, EventPattern='{"source": ["x"]}')
        events.put_rule(Name="w1", EventBusName=bus, EventPattern='{"source": ["x"]}')
        events.put_rule(Name="w30", EventBusName=bus, EventPattern=wildcard)
    finally:
        for rule in events.list_rules(EventBusName=bus)["Rules"]:
            events.delete_rule(Name=rule["Name"], EventBusName=bus)
        events.delete_event_bus(Name=bus)
