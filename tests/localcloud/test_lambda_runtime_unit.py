"""Unit tests of the Lambda runtime's pure logic (no server)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from moto.awslambda.exceptions import LambdaClientError

from eventdeploy.localcloud.lambda_runtime.concurrency import (
    ACCOUNT_LIMIT,
    RESERVED_LIMIT,
    Limiter,
    Throttled,
)
from eventdeploy.localcloud.lambda_runtime.cwlogs import report_line, tail
from eventdeploy.localcloud.lambda_runtime.destinations import invocation_record
from eventdeploy.localcloud.lambda_runtime.errors import InvalidRequestContentException
from eventdeploy.localcloud.lambda_runtime.patch import qualifier_of
from eventdeploy.localcloud.lambda_runtime.service import normalise_payload
from eventdeploy.localcloud.lambda_runtime.settings import RuntimeSettings
from eventdeploy.localcloud.lambda_runtime.spec import FunctionSpec, spec_of
from eventdeploy.localcloud.lambda_runtime.worker import Outcome

SPEC = FunctionSpec("123456789012", "us-east-1", "fn", "$LATEST", "arn:aws:lambda:us-east-1:123456789012:function:fn",
                    "app.handler", "python3.11", "arn:aws:iam::123456789012:role/r", 256, 3.0, (), "sha", (),
                    "/aws/lambda/fn")


@pytest.mark.parametrize(("name", "explicit", "expected"), [
    ("fn", None, None),
    ("fn", "live", "live"),
    ("fn:live", None, "live"),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn", None, None),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:3", None, "3"),
    ("123456789012:function:fn:$LATEST", None, "$LATEST"),
    ("123456789012:function:fn", None, None),
])
def test_qualifier_of_every_function_name_form(name: str, explicit: str | None, expected: str | None) -> None:
    """https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax (FunctionName forms)."""
    assert qualifier_of(name, explicit) == expected


def test_reserved_concurrency_is_a_cap_and_zero_throttles() -> None:
    """https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"""
    limiter = Limiter(RuntimeSettings(account_concurrency=10))
    with pytest.raises(Throttled) as info:
        limiter.acquire("a", "r", "f", 0, 0)
    assert info.value.reason == RESERVED_LIMIT
    slot, running = limiter.acquire("a", "r", "f", 1, 0)
    assert running == 1
    with pytest.raises(Throttled):
        limiter.acquire("a", "r", "f", 1, 0)
    limiter.release(slot)
    limiter.acquire("a", "r", "f", 1, 0)


def test_unreserved_pool_is_quota_minus_reservations() -> None:
    """https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html (unreserved account concurrency)."""
    limiter = Limiter(RuntimeSettings(account_concurrency=3))
    limiter.acquire("a", "r", "f", None, 1)
    limiter.acquire("a", "r", "g", None, 1)
    with pytest.raises(Throttled) as info:
        limiter.acquire("a", "r", "h", None, 1)
    assert info.value.reason == ACCOUNT_LIMIT
    # Another account and another Region have quotas of their own.
    limiter.acquire("b", "r", "f", None, 1)
    limiter.acquire("a", "r2", "f", None, 1)
    assert limiter.running("a", "r") == 2


def test_unreserved_pool_never_below_a_tenth_of_the_quota() -> None:
    """https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html (100 of 1000 always unreserved)."""
    limiter = Limiter(RuntimeSettings(account_concurrency=10))
    limiter.acquire("a", "r", "f", None, 50)
    with pytest.raises(Throttled):
        limiter.acquire("a", "r", "g", None, 50)


def test_account_override_of_the_quota() -> None:
    settings = RuntimeSettings(account_concurrency=10, account_overrides={"a": 1})
    limiter = Limiter(settings)
    limiter.acquire("a", "r", "f", None, 0)
    with pytest.raises(Throttled):
        limiter.acquire("a", "r", "f", None, 0)


def test_report_line_fields_cold_and_timeout() -> None:
    """https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html (REPORT line fields)."""
    cold = Outcome("rid", "success", b"1", 12.344, init_duration_ms=150.5, max_memory_mb=40)
    assert report_line(SPEC, cold) == ("REPORT RequestId: rid\tDuration: 12.34 ms\tBilled Duration: 163 ms\t"
                                       "Memory Size: 256 MB\tMax Memory Used: 40 MB\tInit Duration: 150.50 ms\t")
    timeout = Outcome("rid", "timeout", b"", 3000.0, max_memory_mb=41, error_type="Sandbox.Timedout")
    assert report_line(SPEC, timeout).endswith("Max Memory Used: 41 MB\tStatus: timeout\t")


def test_tail_keeps_the_last_4kb() -> None:
    """https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (LogResult: last 4 KB)."""
    events = [{"message": f"{i:05d}" + "x" * 95} for i in range(100)]
    text = tail(events)
    assert len(text) == 4096 and text.endswith(b"x\n") and b"00099" in text and b"00000" not in text


def test_invocation_record_without_a_run_has_no_response() -> None:
    """https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"""
    record = invocation_record("rid", "arn:fn:$LATEST", "EventAgeExceeded", 0, b'{"a": 1}', None, None, None)
    assert record["requestContext"] == {"requestId": "rid", "functionArn": "arn:fn:$LATEST",
                                        "condition": "EventAgeExceeded", "approximateInvokeCount": 0}
    assert record["requestPayload"] == {"a": 1}
    assert "responseContext" not in record and "responsePayload" not in record


def test_payload_must_be_json() -> None:
    """https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors (InvalidRequestContentException)."""
    assert normalise_payload(b"") == b"{}"
    assert normalise_payload('{"a": 1}') == b'{"a": 1}'
    with pytest.raises(InvalidRequestContentException):
        normalise_payload(b"not json")


def test_unsupported_runtime_and_image_are_refused_with_advice() -> None:
    """https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors (InvalidRuntimeException)."""
    base = dict(function_name="fn", package_type="Zip", run_time="nodejs20.x", handler="index.handler")
    with pytest.raises(LambdaClientError) as info:
        spec_of(SimpleNamespace(**base))
    assert info.value.error_type == "InvalidRuntimeException" and "python3.11" in info.value.message
    with pytest.raises(LambdaClientError) as info:
        spec_of(SimpleNamespace(**{**base, "package_type": "Image"}))
    assert info.value.error_type == "InvalidRuntimeException"
