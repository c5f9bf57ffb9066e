"""Unit tests of target input shaping (Input, InputPath, InputTransformer) and its PutTargets validation.

Spec: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html and
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
"""

from __future__ import annotations

import json

import pytest

from eventdeploy.localcloud.events.jsonpath import MISSING, InvalidJsonPath, compile_path
from eventdeploy.localcloud.events.transform import InvalidTargetInput, RenderContext, compile_target_input

EVENT = {
    "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "123456789012",
    "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3,
               "tags": [{"k": "a"}, {"k": "b"}], "note": 'say "hi"\n'},
}
CTX = RenderContext("arn:aws:events:us-east-2:123456789012:rule/example", "example", "2024-01-01T00:00:00.000Z")
PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state"}


def render(target: dict) -> str:
    """Compile ``target``'s input spec and render EVENT."""
    return compile_target_input(target).render(EVENT, CTX)


def transformer(template: str, paths: dict | None = None) -> str:
    """Render an InputTransformer."""
    return render({"Id": "t", "InputTransformer": {"InputPathsMap": PATHS if paths is None else paths,
                                                   "InputTemplate": template}})


def test_no_input_spec_delivers_the_event() -> None:
    """No Input/InputPath/InputTransformer: the target gets the whole event."""
    assert json.loads(render({"Id": "t"})) == EVENT


def test_constant_input_and_input_path() -> None:
    """Input is passed as is; InputPath selects part of the event."""
    assert render({"Id": "t", "Input": '{"fixed": 1}'}) == '{"fixed": 1}'
    assert json.loads(render({"Id": "t", "InputPath": "$.detail"})) == EVENT["detail"]
    assert render({"Id": "t", "InputPath": "$.detail.tags[1].k"}) == '"b"'


def test_plain_text_template_with_quoted_string() -> None:
    """The documented 'simple string' example: placeholders inside the string get the bare value."""
    assert transformer('"instance <instance> is in <state>"') == '"instance i-0123456789 is in RUNNING"'


def test_unquoted_string_placeholder_in_json_is_quoted() -> None:
    """The documented 'simple properties' example: unquoted string placeholders become JSON strings."""
    out = transformer('{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}')
    assert json.loads(out) == {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"}
    assert out == '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}'  # minified


def test_strings_are_escaped_inside_quotes_and_objects_lose_quotes() -> None:
    """Values in a JSON string keep the output valid (quotes escaped); an object there loses internal quotes."""
    out = transformer('{"note": "n=<note>", "tags": "<tags>", "count": <count>, "raw": <tags>}',
                      {"note": "$.detail.note", "tags": "$.detail.tags", "count": "$.detail.count"})
    assert json.loads(out) == {"note": 'n=say "hi"\n', "tags": "[{k:a},{k:b}]", "count": 3,
                               "raw": [{"k": "a"}, {"k": "b"}]}


def test_predefined_variables() -> None:
    """aws.events.rule-arn, rule-name, event.ingestion-time, event (no detail) and event.json (whole event)."""
    out = json.loads(transformer(
        '{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name> triggered", '
        '"at": <aws.events.event.ingestion-time>, "ev": <aws.events.event>, "full": <aws.events.event.json>}'))
    assert out["arn"] == CTX.rule_arn and out["name"] == "example triggered"
    assert out["at"] == CTX.ingestion_time
    assert "detail" not in out["ev"] and out["ev"]["id"] == EVENT["id"]
    assert out["full"] == EVENT


def test_missing_path_is_empty_in_string_and_null_outside() -> None:
    """A path the event lacks creates no value: empty inside a string, null as a JSON value."""
    out = json.loads(transformer('{"a": "<gone>", "b": <gone>}', {"gone": "$.detail.nope"}))
    assert out == {"a": "", "b": None}


def test_multiline_text_template_kept_as_text() -> None:
    """Text output as several quoted lines is delivered as written, placeholders filled."""
    assert transformer('"Instance: <instance>"\n"State: <state>"') == '"Instance: i-0123456789"\n"State: RUNNING"'


def test_wildcard_path() -> None:
    """JSONPath wildcards (*) collect every match into a list."""
    assert compile_path("$.detail.tags[*].k").find(EVENT) == ["a", "b"]
    assert compile_path("$.detail.nothing").find(EVENT) is MISSING


@pytest.mark.parametrize(("target", "fragment"), [
    ({"Input": "{}", "InputPath": "$.detail"}, "only one of"),
    ({"Input": "not json"}, "not valid JSON"),
    ({"InputPath": "detail"}, "must start with"),
    ({"InputTransformer": {"InputPathsMap": {"aws.x": "$.id"}, "InputTemplate": "<aws.x>"}}, "not valid"),
    ({"InputTransformer": {"InputPathsMap": {"AWSthing": "$.id"}, "InputTemplate": "<AWSthing>"}}, "reserved"),
    ({"InputTransformer": {"InputPathsMap": {f"k{i}": "$.id" for i in range(101)}, "InputTemplate": "x"}}, "101"),
    ({"InputTransformer": {"InputPathsMap": {"a": "$.id"}, "InputTemplate": '{<a>: 1}'}}, "object keys"),
    ({"InputTransformer": {"InputPathsMap": {"a": "$..id"}, "InputTemplate": '"<a>"'}}, "not valid"),
    ({"InputTransformer": {"InputPathsMap": {}, "InputTemplate": ""}}, "1 to 8192"),
])
def test_put_targets_validation(target: dict, fragment: str) -> None:
    """Invalid input specs are rejected at PutTargets with a message naming the problem."""
    with pytest.raises(InvalidTargetInput, match=fragment):
        compile_target_input({"Id": "t", **target})


def test_invalid_json_path_message_names_path() -> None:
    """A bad path's error names it and says what to do."""
    with pytest.raises(InvalidJsonPath, match=r"\$\.a\[x\]"):
        compile_path("$.a[x]")
