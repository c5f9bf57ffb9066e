"""The pattern catalogue against its samples: EventBridge itself (TestEventPattern) agrees with every expectation.

Sample shapes follow the AWS pages each builder cites (ECR, CloudFormation, Config, CodePipeline, Step Functions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eventdeploy import patterns, samples

ACCOUNT, REGION, PREFIX = "123456789012", "us-east-1", "evdpat"
ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
CATALOGUE = patterns.catalogue(PREFIX, REGION, ACCOUNT)
SAMPLES = samples.catalogue(PREFIX, ACCOUNT, REGION)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_sample_has_the_eventbridge_envelope(sample: samples.Sample) -> None:
    assert set(sample.event) == ENVELOPE
    assert sample.event["account"] == ACCOUNT and sample.event["region"] == REGION
    assert sample.matches <= {p.name for p in CATALOGUE}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_eventbridge_matches_exactly_the_expected_patterns(sample: samples.Sample, aws: Callable[..., Any]) -> None:
    events = aws("events")
    matched = {p.name for p in CATALOGUE if events.test_event_pattern(
        EventPattern=json.dumps(p.pattern), Event=json.dumps(sample.event))["Result"]}
    assert matched == set(sample.matches)


def test_every_pattern_is_accepted_by_put_rule_and_matched_by_some_sample(aws: Callable[..., Any]) -> None:
    events = aws("events")
    for pattern in CATALOGUE:
        events.put_rule(Name=f"{PREFIX}-{pattern.name}", EventPattern=json.dumps(pattern.pattern))
        assert any(pattern.name in s.matches for s in SAMPLES), f"no sample exercises {pattern.name}"


def test_synthetic_sources_match_the_same_rules(aws: Callable[..., Any]) -> None:
    """Injected events (eventdeploy.synthetic.<aws source>) go through the same rules as AWS's own."""
    event = samples.ecr_image_action(f"{PREFIX}-app", "v1.0.0", ACCOUNT, REGION)
    event["source"] = patterns.SYNTHETIC_PREFIX + "aws.ecr"
    pattern = next(p for p in CATALOGUE if p.name == "ecr-image-pushed")
    assert aws("events").test_event_pattern(EventPattern=json.dumps(pattern.pattern),
                                            Event=json.dumps(event))["Result"] is True
