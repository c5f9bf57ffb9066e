"""Unit tests of the Step Functions extension's pure rules (error names, wildcards, names, paging, JSON)."""

from __future__ import annotations

import datetime
import json

import pytest

from eventdeploy.localcloud import clock
from eventdeploy.localcloud.stepfunctions import (
    codebuild_task,
    emulated_time,
    error_matching,
    executions,
    json_values,
    lambda_errors,
    lambda_results,
    service_clients,
    status_events,
)


def test_function_errors_are_named_by_error_type_and_unhandled_ones_lambda_unknown() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html"""
    assert lambda_errors.function_error_name(json.dumps({"errorType": "PaymentDeclined", "errorMessage": "x"})) \
        == "PaymentDeclined"
    timeout = {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: 1 Error: Task timed out after 1.00 seconds"}
    assert lambda_errors.function_error_name(json.dumps(timeout)) == "Lambda.Unknown"
    assert lambda_errors.function_error_name(json.dumps({"errorMessage": "Task timed out after 3.00 seconds"})) \
        == "Lambda.Unknown"
    assert lambda_errors.function_error_name(json.dumps({"errorType": "Runtime.ExitError"})) == "Lambda.Unknown"
    assert lambda_errors.function_error_name("not json") == "Lambda.Unknown"
    assert lambda_errors.function_error_name("[1, 2]") == "Lambda.Unknown"


def test_lambda_api_errors_are_prefixed_with_lambda() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html"""
    response = {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": "r-1"}}
    assert lambda_errors.client_error_name(response) == "Lambda.TooManyRequestsException"
    assert lambda_errors.client_error_cause(response).startswith("Rate exceeded (Service: AWSLambda; Status Code: 429")
    assert lambda_errors.client_error_name({"ResponseMetadata": {"HTTPStatusCode": 500}}) \
        == "Lambda.AWSLambdaException"


@pytest.mark.parametrize(("error", "equals", "expected"), [
    ("MyError", ["States.ALL"], True),
    ("States.Runtime", ["States.ALL"], False),
    ("States.DataLimitExceeded", ["States.ALL"], False),
    ("States.DataLimitExceeded", ["States.DataLimitExceeded"], True),
    ("States.HeartbeatTimeout", ["States.TaskFailed"], True),
    ("Lambda.Unknown", ["States.TaskFailed"], True),
    ("States.Timeout", ["States.TaskFailed"], False),
    ("States.Timeout", ["States.Timeout"], True),
    ("MyError", ["OtherError"], False),
])
def test_error_equals_wildcards(error: str, equals: list[str], expected: bool) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"""
    assert error_matching.matches(error, equals) is expected


def test_execution_names_follow_start_execution_rules() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html"""
    assert executions.name_problem("deploy-42_ok.v1") is None
    for bad in ("", "x" * 81, "a b", "a/b", "a:b", "a*b", "a{b}", "tab\there"):
        assert executions.name_problem(bad) is not None, bad
    generated = executions.generated_name()
    assert executions.name_problem(generated) is None and len(generated) == 36


def test_history_pages_cover_every_event_once_in_either_order() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html"""
    events = [{"id": i} for i in range(1, 8)]
    for reverse in (False, True):
        seen, token = [], None
        while True:
            page, token = executions.history_page(events, 3, token, reverse)
            seen += page
            if token is None:
                break
        expected = list(reversed(events)) if reverse else events
        assert seen == expected
    with pytest.raises(ValueError):
        executions.history_page(events, 3, "garbage!", False)
    with pytest.raises(ValueError):
        executions.history_page(events, 1001, None, False)


def test_timestamps_become_epoch_seconds() -> None:
    """JSON-protocol AWS APIs send timestamps as epoch seconds."""
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC)
    converted = json_values.to_json_value({"a": [when], "b": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)})
    assert converted == {"a": [1704164645.678], "b": 1704153600}
    assert json.dumps(converted)
    assert status_events.epoch_millis(when) == 1704164645678


def test_codebuild_member_names_are_translated_both_ways() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html"""
    assert codebuild_task.lower_keys({"ProjectName": "p", "EnvironmentVariablesOverride": [{"Name": "A"}]}) \
        == {"projectName": "p", "environmentVariablesOverride": [{"name": "A"}]}
    assert codebuild_task.capitalise_keys({"build": {"buildStatus": "FAILED"}}) == {"Build": {"BuildStatus": "FAILED"}}
    assert codebuild_task.sync_outcome({"buildStatus": "IN_PROGRESS"}) == (False, None)
    finished, result = codebuild_task.sync_outcome({"buildStatus": "FAILED", "buildComplete": True})
    assert finished and result == {"Build": {"BuildStatus": "FAILED", "BuildComplete": True}}


def test_task_account_comes_from_the_role_arn() -> None:
    """Cross-account tasks act in their Credentials.RoleArn's account."""
    assert service_clients.account_of_role("arn:aws:iam::111122223333:role/x") == "111122223333"
    assert service_clients.account_of_role("arn:aws:iam:::role/x") is None
    assert service_clients.account_of_role(None) is None


def test_lambda_sdk_metadata_uses_the_sdk_header_names() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html"""
    metadata = lambda_results.sdk_metadata({"RequestId": "r-1", "HTTPStatusCode": 200, "HTTPHeaders": {
        "content-type": "application/json", "x-amzn-requestid": "r-1", "x-amz-executed-version": "$LATEST"}})
    assert metadata["SdkResponseMetadata"] == {"RequestId": "r-1"}
    assert metadata["SdkHttpMetadata"]["HttpHeaders"] == {
        "Content-Type": "application/json", "x-amzn-RequestId": "r-1", "X-Amz-Executed-Version": "$LATEST"}
    assert metadata["SdkHttpMetadata"]["AllHttpHeaders"]["Content-Type"] == ["application/json"]


def test_execution_clock_counts_overlapping_waits_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two branch waits overlapping in real time stand for one stretch of emulated time, not two."""
    now = [100.0]
    monkeypatch.setattr(emulated_time.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(clock, "scale", lambda: 0.01)
    execution = emulated_time.ExecutionClock()
    first = execution.begin()           # real 0.0
    now[0] += 0.5
    second = execution.begin()          # real 0.5
    now[0] += 0.5
    assert execution.extra() == pytest.approx(99.0)  # 1 s real of waiting = 100 s emulated
    execution.end(first)                # real 1.0
    now[0] += 0.5
    execution.end(second)               # real 1.5: one stretch of 1.5 s real
    assert execution.extra() == pytest.approx(148.5)
    now[0] += 10.0                      # real work between waits is not scaled
    assert execution.extra() == pytest.approx(148.5)
    third = execution.begin()
    now[0] += 0.1
    execution.end(third)
    assert execution.extra() == pytest.approx(148.5 + 9.9)
