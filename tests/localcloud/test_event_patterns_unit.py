"""Unit: the pattern matcher and validator, one table per EventBridge documentation page (match and non-match)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from eventdeploy.localcloud.events.patterns import (
    CompiledPattern,
    InvalidEventPattern,
    InvalidTestEvent,
    compile_pattern,
    parse_test_event,
)


def envelope(detail: Any = None, **fields: Any) -> dict[str, Any]:
    """An event as EventBridge delivers it (the example event of eb-event-patterns.html)."""
    event = {
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "111122223333",
        "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"} if detail is None else detail,
    }
    event.update(fields)
    return event


def check(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    compiled = compile_pattern(json.dumps(pattern))
    assert compiled.matches(event) is expected, (pattern, event)


def cases(table: list[tuple[str, dict[str, Any], dict[str, Any], bool]]) -> Any:
    return pytest.mark.parametrize(("case", "pattern", "event", "expected"), table, ids=[row[0] for row in table])


SYNTAX = [
    ("documented example matches", {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                                    "detail": {"state": ["terminated"]}}, envelope(), True),
    ("every field must match (AND)", {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, envelope(), False),
    ("any listed value matches (OR)", {"source": ["aws.ec2", "aws.fargate"]}, envelope(), True),
    ("no listed value matches", {"source": ["aws.s3", "aws.fargate"]}, envelope(), False),
    ("fields not in the pattern are ignored", {"region": ["us-west-1"]}, envelope(), True),
    ("same nesting required", {"state": ["terminated"]}, envelope(), False),
    ("field missing from event", {"detail": {"zone": ["a"]}}, envelope(), False),
    ("exact, case-sensitive", {"detail": {"state": ["Terminated"]}}, envelope(), False),
    ("account envelope field", {"account": ["111122223333"]}, envelope(), True),
    ("number equals number", {"detail": {"risk": [80]}}, envelope({"risk": 80}), True),
    ("numbers compare by value: 300 and 300.0", {"detail": {"n": [300]}}, envelope({"n": 300.0}), True),
    ("numbers compare by value: 3.0e2", {"detail": {"n": [3.0e2]}}, envelope({"n": 300}), True),
    ("different number", {"detail": {"n": [300]}}, envelope({"n": 301}), False),
    ("number does not equal its string", {"detail": {"n": [300]}}, envelope({"n": "300"}), False),
    ("true equals true", {"detail": {"b": [True]}}, envelope({"b": True}), True),
    ("true never equals 1", {"detail": {"b": [True]}}, envelope({"b": 1}), False),
    ("1 never equals true", {"detail": {"b": [1]}}, envelope({"b": True}), False),
    ("false never equals 0", {"detail": {"b": [False]}}, envelope({"b": 0}), False),
    ("large account-like number equals itself", {"detail": {"acct": [123456789012]}},
     envelope({"acct": 123456789012}), True),
    ("nested object value", {"detail": {"trigger": {"risk": [8]}}}, envelope({"trigger": {"risk": 8}}), True),
    ("object in event is not a value", {"detail": {"trigger": ["x"]}}, envelope({"trigger": {"risk": 8}}), False),
]


@cases(SYNTAX)
def test_event_pattern_syntax(case: str, pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-filtering-data-types.html"""
    check(pattern, event, expected)


NULLS = [
    ("empty string matches empty string", {"detail": {"eventVersion": [""]}}, envelope({"eventVersion": ""}), True),
    ("null matches null", {"detail": {"responseElements": [None]}}, envelope({"responseElements": None}), True),
    ("empty string does not match null", {"detail": {"v": [""]}}, envelope({"v": None}), False),
    ("null does not match empty string", {"detail": {"v": [None]}}, envelope({"v": ""}), False),
    ("null does not match a missing field", {"detail": {"v": [None]}}, envelope({}), False),
]


@cases(NULLS)
def test_null_values_and_empty_strings(case: str, pattern: dict[str, Any], event: dict[str, Any],
                                       expected: bool) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html"""
    check(pattern, event, expected)


RESOURCES = ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56:autoScalingGroupName/ASGTerminate",
             "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]
EMPLOYEES = {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"},
                           {"firstName": "Peter", "lastName": "Jones"}]}
ARRAYS = [
    ("intersection non-empty", {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                                              "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]},
     envelope(resources=RESOURCES), True),
    ("intersection empty", {"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]},
     envelope(resources=RESOURCES), False),
    ("empty event array matches no value", {"resources": ["x"]}, envelope(resources=[]), False),
    ("array of objects: key applies to each object", {"detail": {"employees": {"firstName": ["Anna"]}}},
     envelope(EMPLOYEES), True),
    ("array of objects: no object has it", {"detail": {"employees": {"firstName": ["Zoe"]}}},
     envelope(EMPLOYEES), False),
    ("array of objects: both keys from one object", {"detail": {"employees": {"firstName": ["Anna"],
                                                                              "lastName": ["Smith"]}}},
     envelope(EMPLOYEES), True),
    ("array of objects: keys from different objects", {"detail": {"employees": {"firstName": ["Anna"],
                                                                                "lastName": ["Jones"]}}},
     envelope(EMPLOYEES), False),
    ("multi-level arrays are crushed", {"detail": {"employees": {"firstName": ["Peter"]}}},
     envelope({"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]}), True),
    ("array of scalars inside array of objects", {"detail": {"o": {"tags": ["b"]}}},
     envelope({"o": [{"tags": ["a"]}, {"tags": ["b", "c"]}]}), True),
    ("independent arrays do not constrain each other", {"detail": {"a": {"x": [1]}, "b": {"y": [2]}}},
     envelope({"a": [{"x": 0}, {"x": 1}], "b": [{"y": 2}, {"y": 3}]}), True),
    ("consistency across nested arrays", {"detail": {"o": {"i": {"k": ["1"], "v": ["b"]}}}},
     envelope({"o": [{"i": [{"k": "1", "v": "a"}, {"k": "2", "v": "b"}]}]}), False),
]


@cases(ARRAYS)
def test_arrays(case: str, pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html (arrays of objects,
    on which the guide is silent: the array-consistent matching of AWS's Event Ruler,
    https://github.com/aws/event-ruler#json-array-matching)"""
    check(pattern, event, expected)


def d(**detail: Any) -> dict[str, Any]:
    return envelope(detail)


PREFIX_SUFFIX = [
    ("prefix", {"time": [{"prefix": "2017-12-22"}]}, envelope(), True),
    ("prefix miss", {"time": [{"prefix": "2017-10-02"}]}, envelope(), False),
    ("prefix only on strings", {"detail": {"n": [{"prefix": "12"}]}}, d(n=123), False),
    ("prefix is case-sensitive", {"detail": {"s": [{"prefix": "event"}]}}, d(s="EventBridge"), False),
    ("prefix equals-ignore-case", {"detail": {"s": [{"prefix": {"equals-ignore-case": "EVENTB"}}]}},
     d(s="eventbridge"), True),
    ("prefix equals-ignore-case miss", {"detail": {"s": [{"prefix": {"equals-ignore-case": "x"}}]}},
     d(s="eventbridge"), False),
    ("suffix", {"detail": {"FileName": [{"suffix": ".png"}]}}, d(FileName="a.png"), True),
    ("suffix miss", {"detail": {"FileName": [{"suffix": ".png"}]}}, d(FileName="a.PNG"), False),
    ("suffix equals-ignore-case", {"detail": {"f": [{"suffix": {"equals-ignore-case": ".png"}}]}}, d(f="A.PNG"),
     True),
    ("suffix on array element", {"detail": {"f": [{"suffix": ".png"}]}}, d(f=["a.jpg", "b.png"]), True),
    ("empty value via [\"\"]", {"detail": {"LastName": [""]}}, d(LastName=""), True),
]

ANYTHING_BUT = [
    ("anything-but string", {"detail": {"state": [{"anything-but": "initializing"}]}}, d(state="running"), True),
    ("anything-but string excluded", {"detail": {"state": [{"anything-but": "initializing"}]}},
     d(state="initializing"), False),
    ("anything-but needs the field", {"detail": {"state": [{"anything-but": "initializing"}]}}, d(), False),
    ("anything-but number", {"detail": {"x": [{"anything-but": 123}]}}, d(x=124), True),
    ("anything-but number excluded (by value)", {"detail": {"x": [{"anything-but": 123}]}}, d(x=123.0), False),
    ("anything-but string list", {"detail": {"s": [{"anything-but": ["stopped", "overloaded"]}]}}, d(s="ok"),
     True),
    ("anything-but string list excluded", {"detail": {"s": [{"anything-but": ["stopped", "overloaded"]}]}},
     d(s="stopped"), False),
    ("anything-but number list excluded", {"detail": {"x": [{"anything-but": [100, 200, 300]}]}}, d(x=200),
     False),
    ("anything-but strings lets numbers through", {"detail": {"x": [{"anything-but": ["100"]}]}}, d(x=100), True),
    ("anything-but prefix", {"detail": {"r": [{"anything-but": {"prefix": "us-"}}]}}, d(r="eu-west-1"), True),
    ("anything-but prefix excluded", {"detail": {"r": [{"anything-but": {"prefix": "us-"}}]}}, d(r="us-east-1"),
     False),
    ("anything-but suffix excluded", {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}}, d(f="a.png"),
     False),
    ("anything-but suffix", {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}}, d(f="a.jpg"), True),
    ("anything-but equals-ignore-case excluded",
     {"detail": {"s": [{"anything-but": {"equals-ignore-case": "initializing"}}]}}, d(s="INITIALIZING"), False),
    ("anything-but equals-ignore-case list",
     {"detail": {"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}}, d(s="C"), True),
    ("anything-but wildcard excluded", {"detail": {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
     d(p="src/lib/x"), False),
    ("anything-but wildcard", {"detail": {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, d(p="src/bin/x"),
     True),
    ("anything-but on array: some element differs", {"detail": {"s": [{"anything-but": "a"}]}}, d(s=["a", "b"]),
     True),
    ("anything-but on array: every element excluded", {"detail": {"s": [{"anything-but": "a"}]}}, d(s=["a", "a"]),
     False),
]

NUMERIC = [
    ("range inside", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, d(c=5), True),
    ("range open bottom", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, d(c=0), False),
    ("range above", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, d(c=5.000001), False),
    ("less than", {"detail": {"c": [{"numeric": ["<", 10]}]}}, d(c=9.99), True),
    ("less than equal bound", {"detail": {"c": [{"numeric": ["<", 10]}]}}, d(c=10), False),
    ("at least", {"detail": {"c": [{"numeric": [">=", 10]}]}}, d(c=10), True),
    ("at most", {"detail": {"c": [{"numeric": ["<=", -1]}]}}, d(c=-1.5), True),
    ("equals 3.018e2", {"detail": {"x": [{"numeric": ["=", 3.018e2]}]}}, d(x=301.8), True),
    ("equals miss", {"detail": {"x": [{"numeric": ["=", 3.018e2]}]}}, d(x=301.9), False),
    ("six decimal places", {"detail": {"x": [{"numeric": ["=", 1.0000001]}]}}, d(x=1.0000002), True),
    ("only JSON numbers", {"detail": {"x": [{"numeric": [">", 0]}]}}, d(x="5"), False),
    ("booleans are not numbers", {"detail": {"x": [{"numeric": [">", 0]}]}}, d(x=True), False),
    ("event value beyond 5e9", {"detail": {"x": [{"numeric": [">", 0]}]}}, d(x=6e9), False),
    ("value bound 5e9 inclusive", {"detail": {"x": [{"numeric": ["<=", 5e9]}]}}, d(x=5e9), True),
    ("any array element in range", {"detail": {"x": [{"numeric": [">", 10]}]}}, d(x=[1, 20]), True),
]

IP_ADDRESSES = [
    ("cidr v4 inside", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, d(ip="10.0.0.24"), True),
    ("cidr v4 outside", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, d(ip="10.0.1.1"), False),
    ("cidr v6 inside", {"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, d(ip="2001:db8:ffff::1"), True),
    ("cidr v6 outside", {"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, d(ip="2001:db9::1"), False),
    ("cidr not an address", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, d(ip="example.com"), False),
    ("cidr v4 block does not hold v6", {"detail": {"ip": [{"cidr": "0.0.0.0/0"}]}}, d(ip="::1"), False),
    ("exact IPv6 in any notation", {"detail": {"ip": ["::1"]}}, d(ip="0:0:0:0:0:0:0:1"), True),
    ("cidr block is the network, whatever host bits are written", {"detail": {"ip": [{"cidr": "10.0.0.77/24"}]}},
     d(ip="10.0.0.1"), True),
    ("IPv4 octets read as decimal", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, d(ip="010.000.000.009"), True),
]

EXISTS = [
    ("exists true", {"detail": {"c": [{"exists": True}]}}, d(c=5), True),
    ("exists true, missing", {"detail": {"c": [{"exists": True}]}}, d(), False),
    ("exists true on null", {"detail": {"c": [{"exists": True}]}}, d(c=None), True),
    ("exists false, missing", {"detail": {"c-count": [{"exists": False}]}}, d(state=["initializing"]), True),
    ("exists false, present", {"detail": {"c": [{"exists": False}]}}, d(c=0), False),
    ("exists false on intermediate node", {"detail": {"c-count": [{"exists": False}]}}, d(**{"c-count": {"c1": 1}}),
     True),
    ("exists true on intermediate node", {"detail": {"c": [{"exists": True}]}}, d(c={"c1": 1}), False),
    ("exists true on empty array", {"detail": {"c": [{"exists": True}]}}, d(c=[]), False),
    ("exists false on empty array", {"detail": {"c": [{"exists": False}]}}, d(c=[]), True),
    ("exists false on a missing detail", {"detail": {"c": [{"exists": False}]}}, {"source": "x"}, True),
    ("exists false or a value", {"detail": {"c": ["on", {"exists": False}]}}, d(c="on"), True),
]

IGNORE_CASE_AND_WILDCARD = [
    ("equals-ignore-case", {"detail": {"name": [{"equals-ignore-case": "alice"}]}}, d(name="ALICE"), True),
    ("equals-ignore-case miss", {"detail": {"name": [{"equals-ignore-case": "alice"}]}}, d(name="alicia"), False),
    ("equals-ignore-case only strings", {"detail": {"n": [{"equals-ignore-case": "1"}]}}, d(n=1), False),
    ("equals-ignore-case: an operand letter stands for both its cases", {"detail": {"s": [{"equals-ignore-case":
                                                                                          "straße"}]}},
     d(s="STRASSE"), True),
    ("equals-ignore-case is not symmetric", {"detail": {"s": [{"equals-ignore-case": "STRASSE"}]}}, d(s="straße"),
     False),
    ("equals-ignore-case does not fold other letters", {"detail": {"s": [{"equals-ignore-case": "k"}]}},
     d(s="\u212a"), False),
    ("prefix ignore case beyond ASCII", {"detail": {"s": [{"prefix": {"equals-ignore-case": "éa"}}]}},
     d(s="ÉAbc"), True),
    ("suffix ignore case beyond ASCII", {"detail": {"s": [{"suffix": {"equals-ignore-case": "ß"}}]}},
     d(s="grOSS"), True),
    ("wildcard any run", {"detail": {"f": [{"wildcard": "dir/*.png"}]}}, d(f="dir/a/b.png"), True),
    ("wildcard empty run", {"detail": {"f": [{"wildcard": "dir/*.png"}]}}, d(f="dir/.png"), True),
    ("wildcard miss", {"detail": {"f": [{"wildcard": "dir/*.png"}]}}, d(f="dir/a.jpg"), False),
    ("wildcard several", {"detail": {"s": [{"wildcard": "Simple*Service*"}]}}, d(s="Simple Queue Service"), True),
    ("wildcard whole value", {"detail": {"s": [{"wildcard": "a*"}]}}, d(s="ba"), False),
    ("wildcard escaped star is literal", {"detail": {"s": [{"wildcard": "a\\*b"}]}}, d(s="a*b"), True),
    ("wildcard escaped star not a wildcard", {"detail": {"s": [{"wildcard": "a\\*b"}]}}, d(s="axb"), False),
    ("wildcard escaped backslash", {"detail": {"s": [{"wildcard": "a\\\\*"}]}}, d(s="a\\bc"), True),
    ("wildcard is case-sensitive", {"detail": {"s": [{"wildcard": "A*"}]}}, d(s="abc"), False),
    ("wildcard star then same literal", {"detail": {"s": [{"wildcard": "a*a"}]}}, d(s="a"), False),
    ("wildcard overlapping runs", {"detail": {"s": [{"wildcard": "*ab*ba*"}]}}, d(s="xabax"), False),
    ("wildcard runs in order", {"detail": {"s": [{"wildcard": "*ab*ba*"}]}}, d(s="xab-bax"), True),
    ("exactly", {"detail": {"s": [{"exactly": "a*"}]}}, d(s="a*"), True),
]

OR = [
    ("$or first branch", {"source": ["aws.ec2"], "$or": [{"detail": {"state": ["terminated"]}},
                                                        {"region": ["eu-west-1"]}]}, envelope(), True),
    ("$or second branch", {"$or": [{"detail": {"state": ["running"]}}, {"region": ["us-west-1"]}]}, envelope(),
     True),
    ("$or no branch", {"$or": [{"detail": {"state": ["running"]}}, {"region": ["eu-west-1"]}]}, envelope(), False),
    ("$or AND outside still applies", {"source": ["aws.s3"], "$or": [{"detail": {"state": ["terminated"]}},
                                                                    {"region": ["us-west-1"]}]}, envelope(), False),
    ("$or nested in object", {"detail": {"$or": [{"c": [{"numeric": [">", 0, "<=", 5]}]}, {"d": [{"numeric":
                                                                                                  ["<", 10]}]}]}},
     d(c=50, d=3), True),
    ("$or branch with AND inside", {"$or": [{"detail": {"a": [1], "b": [2]}}, {"detail": {"c": [3]}}]},
     d(a=1, b=3), False),
    ("nested $or", {"source": ["aws.ec2"], "$or": [
        {"detail": {"m": ["x"]}},
        {"detail": {"t": ["T"], "$or": [{"id": [1]}, {"sp": [2]}]}}]},
     d(t="T", sp=2), True),
    ("nested $or miss", {"source": ["aws.ec2"], "$or": [
        {"detail": {"m": ["x"]}},
        {"detail": {"t": ["T"], "$or": [{"id": [1]}, {"sp": [2]}]}}]},
     d(t="T", sp=3), False),
    ("parallel $or", {"$or": [{"a": ["1"]}, {"b": ["2"]}], "detail": {"$or": [{"x": [1]}, {"y": [2]}]}},
     envelope({"y": 2}, b="2"), True),
]


@cases(PREFIX_SUFFIX + ANYTHING_BUT + NUMERIC + IP_ADDRESSES + EXISTS + IGNORE_CASE_AND_WILDCARD + OR)
def test_comparison_operators(case: str, pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"""
    check(pattern, event, expected)


COMPLEX = {"time": [{"prefix": "2017-10-02"}], "detail": {
    "state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
    "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}],
    "source-ip": [{"cidr": "10.0.0.0/8"}]}}
RULER_EVENT = {"time": "2017-10-02T16:24:49Z", "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8,
                                                           "source-ip": "10.0.0.33", "state": "running"}}
CONTENT = [
    ("complex example matches", COMPLEX, RULER_EVENT, True),
    ("complex example: one field fails", COMPLEX, {**RULER_EVENT, "detail": {**RULER_EVENT["detail"], "x-limit": 300}},
     False),
]


@cases(CONTENT)
def test_content_filtering_complex_example(case: str, pattern: dict[str, Any], event: dict[str, Any],
                                           expected: bool) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html"""
    check(pattern, event, expected)


INVALID = [
    ('{"source": "aws.ec2"}', '"source" must be an object or an array at field "source"'),
    ('{"detail": {"n": [{"numeric": [">", 5, ">", 6]}]}}', 'Bad numeric range operator: > at field "detail.n"'),
    ('{"detail": {"n": [{"numeric": [">=", 5, "<=", 5]}]}}', "Bottom must be less than top"),
    ('{"detail": {"n": [{"numeric": []}]}}', "Invalid member in numeric match: ]"),
    ('{"detail": {"n": [{"numeric": [5, ">"]}]}}', "Invalid member in numeric match: 5"),
    ('{"detail": {"n": [{"numeric": ["="]}]}}', "Value of equals must be numeric"),
    ('{"detail": {"n": [{"numeric": [">", 1, "<"]}]}}', "Value of < must be numeric"),
    ('{"detail": {"n": [{"numeric": [">", 1, 2]}]}}', "Bad value in numeric range: 2"),
    ('{"detail": {"n": [{"anything-but": [5e10]}]}}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
    ('{"detail": {"s": [{"anything-but": {"prefix": "a"}, "x": 1}]}}', "Too many elements in numeric expression"),
    ('{"detail": {"s": [{"anything-but": {}}]}}', "Anything-But expression name not found"),
    ('{"detail": {"s": [{"anything-but": {"equals-ignore-case": [1]}}]}}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
    ('{"detail": {"s": [{"anything-but": {"suffix": [1]}}]}}', "prefix/suffix match pattern must be a string"),
    ('{"detail": {"s": [{"anything-but": {"prefix": {"x": "y"}}}]}}',
     "Value of anything-but must be an array or single string/number value."),
    ('{"detail": {"s": [{"suffix": {}}]}}', "Suffix expression name not found"),
    ('{"detail": {"s": [{"wildcard": "a\\\\"}]}}', "Invalid escape character at pos 2"),
    ('{"detail": {"s": [{"wildcard": "é**"}]}}', "Consecutive wildcard characters at pos 3"),
    ('{"detail": {"s": [{"exists": null}]}}', "exists match pattern must be either true or false."),
    ('{"detail": {"s": [{"exactly": 1}]}}', "exact match pattern must be a string"),
    ('{"detail": {"ip": [{"cidr": "10.0.0.0/"}]}}', "Malformed CIDR"),
    ('{"detail": {"$or": [{"a": [1]}, {"b": {"numeric": [1]}}]}}', "numeric is Ruler reserved fieldName"),
    ('{"a": [NaN]}', "not valid JSON"),
    ("", "not valid JSON"),
    ("null", "Filter is not an object"),
    ('{"detail": {"s": [{"wildcard": "*a*a*a*a*a*a*a*a*a*a*a*"}]}}', "Rule is too complex - try using fewer wildcard"),
    (json.dumps({"detail": {"s": [{"wildcard": f"*x{n}*"} for n in range(11)]}}), "Rule is too complex"),
    (json.dumps({"detail": {"s": [{"anything-but": {"wildcard": [f"*x{n}*" for n in range(11)]}}]}}),
     "Rule is too complex"),
    # 11 independent two-way $or expand to 2**11 branches.
    (json.dumps({f"k{n}": {"$or": [{"a": [1]}, {"b": [2]}]} for n in range(11)}), "Rule is too complex"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID, ids=[r for _, r in INVALID])
def test_invalid_patterns_are_rejected_with_aws_reasons(text: str, reason: str) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html (InvalidEventPatternException);
    reasons as EventBridge's engine words them (https://github.com/aws/event-ruler, JsonRuleCompiler)."""
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(text)
    assert str(caught.value).startswith("Event pattern is not valid. Reason: ")
    assert reason in caught.value.reason


VALID = [
    '{"detail": {"s": [{"wildcard": "a\\\\*b\\\\\\\\c"}]}}',
    '{"detail": {"s": [{"anything-but": {"prefix": ["a", "b"]}}]}}',
    '{"detail": {"n": [{"numeric": [">", -5e9, "<", 5e9]}]}}',
    '{"$or": [{"a": [1]}, {"b": [2]}], "x": [1]}',
    '{"detail": {"ip": [{"cidr": "10.0.0.5/24"}, {"cidr": "::/0"}]}}',
    '{"replay-name": [{"exists": false}]}',
    '{"detail": {"s": [{"wildcard": "*a*a*a*a*"}], "t": [{"wildcard": "arn:aws:*:us-east-1:*:function/*"}]}}',
    json.dumps({"detail": {"s": [{"wildcard": f"*x{n}*"} for n in range(3)]}}),
]


@pytest.mark.parametrize("text", VALID)
def test_valid_patterns_compile(text: str) -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"""
    assert isinstance(compile_pattern(text), CompiledPattern)


def test_test_event_requires_the_mandatory_envelope() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html"""
    event = envelope()
    assert parse_test_event(json.dumps(event)) == event
    for missing in ("id", "account", "source", "time", "region", "resources", "detail-type"):
        partial = {k: v for k, v in event.items() if k != missing}
        with pytest.raises(InvalidTestEvent, match=missing):
            parse_test_event(json.dumps(partial))
    with pytest.raises(InvalidTestEvent):
        parse_test_event("[]")


def test_wildcards_do_not_backtrack_on_long_near_misses() -> None:
    """A many-star wildcard against a long value that just misses stays fast (rules run on every event).

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
    """
    compiled = compile_pattern('{"detail": {"key": [{"wildcard": "*/*/*/*/*.json"}]}}')
    value = "a/" * 400 + "x.jsno"
    began = time.perf_counter()
    assert not compiled.matches(envelope({"key": value}))
    assert compiled.matches(envelope({"key": value[:-6] + "x.json"}))
    assert time.perf_counter() - began < 0.05


def test_deeply_nested_event_arrays_are_bounded() -> None:
    """Arrays nested absurdly deep in an event cannot exhaust the stack; they are simply not searched.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
    """
    nested: Any = "x"
    for _ in range(500):
        nested = [nested]
    assert not compile_pattern('{"detail": {"v": ["x"]}}').matches(envelope({"v": nested}))
    assert compile_pattern('{"detail": {"v": ["x"]}}').matches(envelope({"v": [[["x"]]]}))


def test_matching_a_compiled_pattern_takes_microseconds() -> None:
    """Compile once per rule, match many events: well under a millisecond each (EventBridge matches at line rate).

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
    """
    compiled = compile_pattern(json.dumps({**COMPLEX, "source": [{"prefix": "aws."}],
                                           "detail-type": ["EC2 Instance State-change Notification"]}))
    event = {**envelope(), **RULER_EVENT, "resources": [f"arn:{i}" for i in range(20)]}
    assert compiled.matches(event)
    rounds = 5000
    began = time.perf_counter()
    for _ in range(rounds):
        compiled.matches(event)
    per_match_us = (time.perf_counter() - began) / rounds * 1e6
    assert per_match_us < 100, f"{per_match_us:.1f} µs per match"


def test_extension_makes_moto_validate_and_match_like_aws(tmp_path: Any) -> None:
    """moto's own EventPattern (rules, archives) validates and matches with this engine once the extension is in.

    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
    """
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPattern, EventsBackend
    from moto.events.responses import EventsHandler

    from eventdeploy.localcloud.ext import event_patterns
    from eventdeploy.localcloud.extensions import ExtensionContext, Settings

    saved = {(cls, name): cls.__dict__[name] for cls, name in [
        (EventPattern, "load"), (EventPattern, "matches_event"), (EventsBackend, "test_event_pattern"),
        (EventsHandler, "test_event_pattern")]}
    try:
        event_patterns.install(ExtensionContext(Settings(host="127.0.0.1", port=1, state_dir=tmp_path)))
        with pytest.raises(InvalidEventPatternException, match="Unrecognized match type Prefix"):
            EventPattern.load('{"source": [{"Prefix": "aws."}]}')
        rule_pattern = EventPattern.load('{"detail": {"items": {"sku": ["B"], "gift": [true]}}}')
        assert rule_pattern.matches_event(envelope({"items": [{"sku": "A"}, {"sku": "B", "gift": True}]}))
        assert not rule_pattern.matches_event(envelope({"items": [{"sku": "B", "gift": 1}]}))
        assert not rule_pattern.matches_event(envelope({"items": [{"sku": "B"}, {"gift": True}]}))
        assert EventPattern.load(None).matches_event(envelope()), "an archive without a pattern takes every event"
    finally:
        for (cls, name), original in saved.items():
            setattr(cls, name, original)
