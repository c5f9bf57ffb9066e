"""Step Functions conformance: executions really run Lambda handlers and service integrations, in the state
machine's account, with AWS's error names, API shapes and status-change events."""

from __future__ import annotations

import datetime
import io
import json
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import DEFAULT_ACCOUNT, REGION

OTHER_ACCOUNT = "111111111111"
TIME_SCALE = 0.01


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def role(account: str = DEFAULT_ACCOUNT) -> str:
    """An execution role ARN in ``account``."""
    return f"arn:aws:iam::{account}:role/sfn-role"


def make_machine(sfn: Any, definition: dict[str, Any], account: str = DEFAULT_ACCOUNT, **extra: Any) -> str:
    """Create a state machine from ``definition``; returns its ARN."""
    return sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition), roleArn=role(account),
                                    **extra)["stateMachineArn"]


def wait_done(sfn: Any, execution_arn: str, limit: float = 20.0) -> dict[str, Any]:
    """Poll DescribeExecution until the execution leaves RUNNING (fail after ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_arn} still RUNNING after {limit}s")
        time.sleep(0.05)


def run(sfn: Any, machine_arn: str, payload: dict[str, Any] | None = None, limit: float = 20.0) -> dict[str, Any]:
    """Start an execution of ``machine_arn`` and wait for its end."""
    started = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(payload or {}))
    return wait_done(sfn, started["executionArn"], limit)


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of the execution, oldest first."""
    return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def make_function(aws: Callable[..., Any], source: str, timeout: int = 10, account: str = DEFAULT_ACCOUNT) -> str:
    """A python3.11 Lambda function whose handler is ``source``'s ``handler``; returns its ARN."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", textwrap.dedent(source))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role_arn = aws("iam", account_id=account).create_role(
        RoleName=unique("lambda-role"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return aws("lambda", account_id=account).create_function(
        FunctionName=unique("fn"), Runtime="python3.11", Role=role_arn,
        Handler="index.handler", Code={"ZipFile": buffer.getvalue()}, Timeout=timeout,
    )["FunctionArn"]


class Tap:
    """An SQS queue fed by a default-bus rule: how tests observe the events a service emits."""

    def __init__(self, aws: Callable[..., Any], pattern: dict[str, Any], account: str = DEFAULT_ACCOUNT) -> None:
        self.sqs, events = aws("sqs", account_id=account), aws("events", account_id=account)
        name = unique("tap")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], limit: float = 15.0) -> list[dict[str, Any]]:
        """Receive events until ``predicate(all events so far)`` holds; return them all."""
        deadline = time.monotonic() + limit
        while not predicate(self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met; saw {[e.get('detail') for e in self.seen]}")
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen


@pytest.fixture()
def sfn(aws: Callable[..., Any]) -> Any:
    """Step Functions client of the default account."""
    return aws("stepfunctions")


# --- Lambda tasks --------------------------------------------------------------------------------------------

DOUBLER = """
def handler(event, context):
    return {"doubled": event["n"] * 2}
"""


def test_lambda_task_output_flows_to_next_state(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html : the legacy function-ARN form
    passes the handler's result on as the state's result; ``lambda:invoke`` returns Payload, StatusCode,
    ExecutedVersion and the SDK's HTTP and response metadata."""
    fn = make_function(aws, DOUBLER)
    machine = make_machine(sfn, {"StartAt": "Double", "States": {
        "Double": {"Type": "Task", "Resource": fn, "ResultPath": "$.first", "Next": "Again"},
        "Again": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": fn, "Payload": {"n.$": "$.first.doubled"}},
                  "ResultPath": "$.second", "End": True},
    }})
    done = run(sfn, machine, {"n": 3})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["n"] == 3 and output["first"] == {"doubled": 6}
    assert output["second"]["Payload"] == {"doubled": 12}
    assert output["second"]["StatusCode"] == 200 and output["second"]["ExecutedVersion"] == "$LATEST"
    http = output["second"]["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200 and http["HttpHeaders"]["X-Amz-Executed-Version"] == "$LATEST"
    assert output["second"]["SdkResponseMetadata"]["RequestId"] == http["HttpHeaders"]["x-amzn-RequestId"]
    types = [e["type"] for e in history(sfn, done["executionArn"])]
    assert types[:6] == ["ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
                         "LambdaFunctionSucceeded", "TaskStateExited"]
    assert {"TaskScheduled", "TaskStarted", "TaskSucceeded"} <= set(types) and types[-1] == "ExecutionSucceeded"


def test_failing_lambda_is_retried_then_caught_keeping_input(aws: Callable[..., Any], sfn: Any,
                                                            tmp_path: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html : Retry re-runs the
    task MaxAttempts more times; Catch with ResultPath "$.error" adds {Error, Cause} to the state's input."""
    counter = tmp_path / "invocations.txt"
    fn = make_function(aws, """
        class FlakyError(Exception):
            pass

        def handler(event, context):
            with open(event["counter"], "a") as f:
                f.write("x")
            raise FlakyError("database is flaky")
    """)
    machine = make_machine(sfn, {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": fn,
                 "Retry": [{"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}],
                 "End": True},
        "Handled": {"Type": "Pass", "End": True},
    }})
    done = run(sfn, machine, {"counter": str(counter), "order": 7})
    assert done["status"] == "SUCCEEDED", done
    assert counter.read_text() == "xxx", "one attempt plus MaxAttempts=2 retries"
    output = json.loads(done["output"])
    assert output["order"] == 7 and output["counter"] == str(counter)
    assert output["error"]["Error"] == "FlakyError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "FlakyError" and cause["errorMessage"] == "database is flaky"
    failed = [e for e in history(sfn, done["executionArn"]) if e["type"] == "LambdaFunctionFailed"]
    assert len(failed) == 3 and failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "FlakyError"


def test_custom_error_type_is_matched_by_name_and_fails_execution_uncaught(aws: Callable[..., Any],
                                                                          sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html : a handler's
    exception class is the error name Catch matches; uncaught it becomes the execution's error."""
    fn = make_function(aws, """
        class PaymentDeclined(Exception):
            pass

        def handler(event, context):
            raise PaymentDeclined("card 4242 declined")
    """)
    caught = make_machine(sfn, {"StartAt": "Pay", "States": {
        "Pay": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn, "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["SomethingElse"], "Next": "Wrong"},
                          {"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.why", "Next": "Declined"}],
                "End": True},
        "Wrong": {"Type": "Fail", "Error": "WrongCatcher"},
        "Declined": {"Type": "Pass", "End": True},
    }})
    done = run(sfn, caught, {"amount": 5})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["why"]["Error"] == "PaymentDeclined"

    uncaught = make_machine(sfn, {"StartAt": "Pay", "States": {
        "Pay": {"Type": "Task", "Resource": fn, "End": True}}})
    failed = run(sfn, uncaught)
    assert failed["status"] == "FAILED"
    assert failed["error"] == "PaymentDeclined"
    assert json.loads(failed["cause"])["errorMessage"] == "card 4242 declined"


def test_lambda_timeout_is_lambda_unknown_and_service_errors_are_named(aws: Callable[..., Any],
                                                                       sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html : function
    timeouts are reported as Lambda.Unknown; Lambda API errors (missing function, throttling) as
    Lambda.<ErrorCode>."""
    slow = make_function(aws, """
        import time

        def handler(event, context):
            time.sleep(5)
    """, timeout=1)
    machine = make_machine(sfn, {"StartAt": "Slow", "States": {
        "Slow": {"Type": "Task", "Resource": slow,
                 "Catch": [{"ErrorEquals": ["Lambda.Unknown"], "Next": "TimedOut"}], "End": True},
        "TimedOut": {"Type": "Pass", "Result": "lambda-unknown", "End": True},
    }})
    done = run(sfn, machine)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == "lambda-unknown", done

    missing = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT}:function:{unique('nope')}"
    gone = make_machine(sfn, {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": missing}, "End": True}}})
    failed = run(sfn, gone)
    assert failed["status"] == "FAILED" and failed["error"] == "Lambda.ResourceNotFoundException", failed

    throttled = make_function(aws, DOUBLER)
    aws("lambda").put_function_concurrency(FunctionName=throttled, ReservedConcurrentExecutions=0)
    busy = make_machine(sfn, {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": throttled, "Payload": {"n": 1}},
                 "Catch": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "ResultPath": "$.throttled",
                            "Next": "Later"}], "End": True},
        "Later": {"Type": "Pass", "End": True}}})
    later = run(sfn, busy)
    assert later["status"] == "SUCCEEDED", later
    assert json.loads(later["output"])["throttled"]["Error"] == "Lambda.TooManyRequestsException"


# --- emulated time ---------------------------------------------------------------------------------------------


def _gaps(events: list[dict[str, Any]], after: str, before: str) -> list[float]:
    """Seconds from each ``after`` event to the next ``before`` event."""
    gaps, since = [], None
    for event in events:
        if event["type"] == after:
            since = event["timestamp"]
        elif event["type"] == before and since is not None:
            gaps.append((event["timestamp"] - since).total_seconds())
            since = None
    return gaps


def test_wait_state_and_retry_backoff_run_in_emulated_time(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html and
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html : a 60 s Wait and
    retries after IntervalSeconds x BackoffRate^n capped at MaxDelaySeconds, at the local cloud's time scale."""
    waiting = make_machine(sfn, {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 60, "End": True}}})
    done = run(sfn, waiting)
    assert done["status"] == "SUCCEEDED"
    [nap] = _gaps(history(sfn, done["executionArn"]), "WaitStateEntered", "WaitStateExited")
    assert 60 * TIME_SCALE * 0.9 <= nap < 10, nap

    missing = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT}:function:{unique('nope')}"
    retrying = make_machine(sfn, {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": missing},
        "Retry": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "IntervalSeconds": 30, "BackoffRate": 3,
                   "MaxAttempts": 2, "MaxDelaySeconds": 40}],
        "End": True}}})
    failed = run(sfn, retrying)
    assert failed["status"] == "FAILED"
    first, second = _gaps(history(sfn, failed["executionArn"]), "TaskFailed", "TaskScheduled")
    assert first >= 30 * TIME_SCALE * 0.95, first
    # 30 x 3 = 90 s is capped at MaxDelaySeconds 40.
    assert 40 * TIME_SCALE * 0.95 <= second < 90 * TIME_SCALE * 0.95, second


def test_state_machine_timeout_counts_emulated_wait_time(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html : TimeoutSeconds is the
    longest an execution may run; a Wait longer than it times the execution out, a shorter one does not."""
    def machine(wait: int) -> str:
        return make_machine(sfn, {"TimeoutSeconds": 30, "StartAt": "Nap", "States": {
            "Nap": {"Type": "Wait", "Seconds": wait, "End": True}}})

    too_long = run(sfn, machine(100))
    assert too_long["status"] == "TIMED_OUT", too_long
    # 30 emulated seconds are 0.3 s at the tests' time scale; the 100 s Wait alone would take 1 s.
    assert (too_long["stopDate"] - too_long["startDate"]).total_seconds() < 100 * TIME_SCALE * 0.9
    assert run(sfn, machine(10))["status"] == "SUCCEEDED"


def test_full_jitter_spreads_retry_waits_below_the_interval(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html : JitterStrategy FULL
    waits a random time between 0 and the computed interval before each retry."""
    missing = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT}:function:{unique('nope')}"
    machine = make_machine(sfn, {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": missing},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 50, "BackoffRate": 1, "MaxAttempts": 4,
                   "JitterStrategy": "FULL"}],
        "End": True}}})
    failed = run(sfn, machine)
    gaps = _gaps(history(sfn, failed["executionArn"]), "TaskFailed", "TaskScheduled")
    assert len(gaps) == 4
    interval = 50 * TIME_SCALE
    assert all(gap < interval + 0.25 for gap in gaps), gaps
    # Without jitter every gap would be >= the interval; with FULL jitter all four are so with probability 1e-4.
    assert min(gaps) < interval * 0.9, gaps


# --- execution API shapes ------------------------------------------------------------------------------------

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_unnamed_executions_get_uuid_names_and_bad_names_are_refused(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html : without a
    name, a UUID is generated; names with forbidden characters are InvalidName."""
    machine = make_machine(sfn, PASS)
    first = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert first != second
    for arn in (first, second):
        name = arn.rsplit(":", 1)[1]
        assert str(uuid.UUID(name)) == name
        assert wait_done(sfn, arn)["name"] == name
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine, name="has space")
    assert refused.value.response["Error"]["Code"] == "InvalidName"


def test_eventbridge_rule_starts_an_unnamed_execution_per_event(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html : a rule targeting a state machine
    starts one execution per matching event, with the event as input (no name, so each gets a UUID)."""
    machine = make_machine(sfn, {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"image.$": "$.detail.image"}, "End": True}}})
    events, rule = aws("events"), unique("to-sfn")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [rule]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "sfn", "Arn": machine,
                                            "RoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/events-to-sfn"}])
    for image in ("app:1", "app:2"):
        events.put_events(Entries=[{"Source": rule, "DetailType": "Image Pushed",
                                    "Detail": json.dumps({"image": image})}])
    deadline = time.monotonic() + 15
    while True:
        done = sfn.list_executions(stateMachineArn=machine, statusFilter="SUCCEEDED")["executions"]
        if len(done) == 2:
            break
        assert time.monotonic() < deadline, sfn.list_executions(stateMachineArn=machine)["executions"]
        time.sleep(0.05)
    outputs = sorted(json.loads(sfn.describe_execution(executionArn=e["executionArn"])["output"])["image"]
                     for e in done)
    assert outputs == ["app:1", "app:2"]
    assert all(str(uuid.UUID(e["name"])) == e["name"] for e in done)


def test_timestamps_in_task_output_are_json_numbers(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html : an aws-sdk task's
    result carries the service's timestamps; DescribeExecution still answers, with JSON output."""
    sfn = aws("stepfunctions", account_id=OTHER_ACCOUNT)
    table = unique("tbl")
    aws("dynamodb", account_id=OTHER_ACCOUNT).create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    machine = make_machine(sfn, {"StartAt": "Describe", "States": {"Describe": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
        "Parameters": {"TableName": table}, "End": True}}}, account=OTHER_ACCOUNT)
    done = run(sfn, machine)
    assert done["status"] == "SUCCEEDED", done
    created = json.loads(done["output"])["Table"]["CreationDateTime"]
    assert isinstance(created, (int, float)) and abs(created - time.time()) < 600


def test_history_shape_order_paging_and_reverse(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html : events
    have increasing ids and timestamps, previousEventId links, maxResults/nextToken paging, reverseOrder and
    includeExecutionData."""
    machine = make_machine(sfn, {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "Next": "B"},
        "B": {"Type": "Wait", "Seconds": 1, "Next": "C"},
        "C": {"Type": "Pass", "End": True}}})
    done = run(sfn, machine, {"in": True})
    events = history(sfn, done["executionArn"])
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"in": True}
    assert all(e["previousEventId"] < e["id"] for e in events)
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps) and stamps[0] >= done["startDate"] - datetime.timedelta(seconds=1)
    assert [e["type"] for e in events[1:-1]] == ["PassStateEntered", "PassStateExited", "WaitStateEntered",
                                                 "WaitStateExited", "PassStateEntered", "PassStateExited"]
    paged, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=done["executionArn"], maxResults=3,
                                         **({"nextToken": token} if token else {}))
        assert len(page["events"]) <= 3
        paged += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert [e["id"] for e in paged] == [e["id"] for e in events]
    backwards = sfn.get_execution_history(executionArn=done["executionArn"], reverseOrder=True)["events"]
    assert [e["id"] for e in backwards] == [e["id"] for e in reversed(events)]
    bare = sfn.get_execution_history(executionArn=done["executionArn"], includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]


def test_describe_and_list_executions_shapes(sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html and
    API_ListExecutions.html : status, dates, input/output with their details, error/cause; statusFilter."""
    ok = make_machine(sfn, PASS)
    done = run(sfn, ok, {"a": 1})
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"a": 1}
    assert done["input"] == '{"a":1}' and done["inputDetails"] == {"included": True}
    assert done["outputDetails"] == {"included": True} and done["stopDate"] >= done["startDate"]
    failing = make_machine(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E1", "Cause": "C1"}}})
    failed = run(sfn, failing)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "E1", "C1") and "output" not in failed
    run(sfn, failing)
    listed = sfn.list_executions(stateMachineArn=failing, statusFilter="FAILED")["executions"]
    assert len(listed) == 2 and all(e["status"] == "FAILED" and "stopDate" in e for e in listed)
    assert sfn.list_executions(stateMachineArn=failing, statusFilter="SUCCEEDED")["executions"] == []


def test_express_start_sync_execution(aws: Callable[..., Any], localcloud: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html : Express
    machines answer with the finished execution; Standard ones are StateMachineTypeNotSupported."""
    import boto3

    # StartSyncExecution's endpoint has the host prefix "sync-", which an IP endpoint cannot take.
    sfn = boto3.client("stepfunctions", endpoint_url=localcloud.endpoint, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=Config(inject_host_prefix=False))
    express = make_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.v"},
                                                                  "End": True}}}, type="EXPRESS")
    answer = sfn.start_sync_execution(stateMachineArn=express, input='{"v": 5}')
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"got": 5}
    assert ":express:" in answer["executionArn"] and answer["stopDate"] >= answer["startDate"]
    assert answer["billingDetails"]["billedDurationInMilliseconds"] >= 100
    failing = make_machine(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "X", "Cause": "Y"}}},
                           type="EXPRESS")
    failed = sfn.start_sync_execution(stateMachineArn=failing)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "X", "Y")
    with pytest.raises(ClientError) as refused:
        sfn.start_sync_execution(stateMachineArn=make_machine(sfn, PASS))
    assert refused.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_express_machines_refuse_sync_and_callback_integrations(aws: Callable[..., Any]) -> None:
    """Express workflows support neither job-run (.sync) nor callback (.waitForTaskToken) integrations
    (https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html): CreateStateMachine and
    UpdateStateMachine answer InvalidDefinition for them; a Standard machine takes the same definition."""
    sfn = aws("stepfunctions")
    callback = {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                       "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    nested_sync = {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Build", "States": {"Build": {"Type": "Task", "Resource": "arn:aws:states:::codebuild:startBuild.sync",
                                                  "Parameters": {"ProjectName": "p"}, "End": True}}}]}}}
    for definition, pattern in ((callback, ".waitForTaskToken"), (nested_sync, ".sync")):
        with pytest.raises(ClientError) as refused:
            make_machine(sfn, definition, type="EXPRESS")
        assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
        assert f"'{pattern}'" in refused.value.response["Error"]["Message"]
        make_machine(sfn, definition)  # Standard
    express = make_machine(sfn, PASS, type="EXPRESS")
    with pytest.raises(ClientError) as refused:
        sfn.update_state_machine(stateMachineArn=express, definition=json.dumps(callback))
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"


def test_parallel_waits_overlap_on_the_execution_clock(aws: Callable[..., Any]) -> None:
    """Parallel branches run concurrently (https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html),
    so two branches that each Wait 50 s take 50 s, well inside a 90 s TimeoutSeconds
    (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html), however time is scaled."""
    sfn = aws("stepfunctions")
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 50, "End": True}}}
    machine = make_machine(sfn, {"TimeoutSeconds": 90, "StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [wait, wait], "End": True}}})
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"


def test_express_start_execution_runs_asynchronously_and_is_not_described(aws: Callable[..., Any]) -> None:
    """StartExecution on an Express machine answers at once with an ``:express:`` ARN and runs it
    (https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html: asynchronous Express
    workflows); DescribeExecution, GetExecutionHistory and StopExecution do not take Express executions
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html) and ListExecutions
    answers StateMachineTypeNotSupported for the machine
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html)."""
    sfn = aws("stepfunctions")
    url = aws("sqs").create_queue(QueueName=unique("express"))["QueueUrl"]
    machine = make_machine(sfn, {"StartAt": "Send", "States": {"Send": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": url, "MessageBody.$": "$.note"}, "End": True}}}, type="EXPRESS")
    started = sfn.start_execution(stateMachineArn=machine, name="nightly", input=json.dumps({"note": "ran"}))
    arn = started["executionArn"]
    parts = arn.split(":")
    assert parts[5] == "express" and parts[6] == machine.split(":")[-1] and parts[7] == "nightly"
    assert started["startDate"]
    deadline = time.monotonic() + 10
    bodies: list[str] = []
    while not bodies and time.monotonic() < deadline:
        bodies = [m["Body"] for m in aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])]
    assert bodies == ["ran"]
    for call in (lambda: sfn.describe_execution(executionArn=arn),
                 lambda: sfn.get_execution_history(executionArn=arn),
                 lambda: sfn.stop_execution(executionArn=arn)):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "InvalidArn"
    with pytest.raises(ClientError) as refused:
        sfn.list_executions(stateMachineArn=machine)
    assert refused.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
    # The same name again is a new execution: Express has no name idempotency to refuse it.
    again = sfn.start_execution(stateMachineArn=machine, name="nightly", input=json.dumps({"note": "again"}))
    assert again["executionArn"] != arn


# --- callbacks -----------------------------------------------------------------------------------------------


def _token_machine(aws: Callable[..., Any], sfn: Any, **task: Any) -> tuple[str, str]:
    """A machine whose task sends its task token to a new queue and waits; returns (machine ARN, queue URL)."""
    url = aws("sqs").create_queue(QueueName=unique("tokens"))["QueueUrl"]
    machine = make_machine(sfn, {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
        "End": True, **task}}})
    return machine, url


def _token(aws: Callable[..., Any], url: str, limit: float = 10.0) -> str:
    """The task token the machine sent to ``url``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        messages = aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return json.loads(messages[0]["Body"])["token"]
    raise AssertionError("no task token arrived")


def test_wait_for_task_token_success_failure_and_heartbeat(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token :
    SendTaskSuccess's output is the result (InvalidOutput if not JSON, InvalidToken for unknown tokens),
    SendTaskFailure's error/cause fail the task, heartbeats keep it alive."""
    machine, url = _token_machine(aws, sfn)
    started = sfn.start_execution(stateMachineArn=machine, input='{"order": 1}')["executionArn"]
    token = _token(aws, url)
    with pytest.raises(ClientError) as not_json:
        sfn.send_task_success(taskToken=token, output="approved")
    assert not_json.value.response["Error"]["Code"] == "InvalidOutput"
    with pytest.raises(ClientError) as unknown:
        sfn.send_task_success(taskToken="not-a-token", output="{}")
    assert unknown.value.response["Error"]["Code"] == "InvalidToken"
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    assert json.loads(wait_done(sfn, started)["output"]) == {"approved": True}

    started = sfn.start_execution(stateMachineArn=machine, input='{"order": 2}')["executionArn"]
    sfn.send_task_failure(taskToken=_token(aws, url), error="Rejected", cause="out of stock")
    failed = wait_done(sfn, started)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Rejected", "out of stock")

    beating, url = _token_machine(aws, sfn, HeartbeatSeconds=1)
    started = sfn.start_execution(stateMachineArn=beating, input='{"order": 3}')["executionArn"]
    token = _token(aws, url)
    for _ in range(3):
        time.sleep(0.4)
        sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='"late but alive"')
    assert json.loads(wait_done(sfn, started)["output"]) == "late but alive"
    # A missed heartbeat: test_task_failed_wildcard_catches_heartbeat_timeout_but_not_timeout.


def test_task_failed_wildcard_catches_heartbeat_timeout_but_not_timeout(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html : States.TaskFailed
    matches any error name except States.Timeout; a missed heartbeat is States.HeartbeatTimeout; the closed
    task's token then answers TaskTimedOut (API_SendTaskSuccess.html)."""
    url = aws("sqs").create_queue(QueueName=unique("tokens"))["QueueUrl"]

    def asking(**task: Any) -> dict[str, Any]:
        return {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}}, **task}

    machine = make_machine(sfn, {"StartAt": "Beat", "States": {
        "Beat": asking(HeartbeatSeconds=1, Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.beat",
                                                   "Next": "Slow"}]),
        "Slow": asking(TimeoutSeconds=1, Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                                                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.slow",
                                                 "Next": "Done"}]),
        "Wrong": {"Type": "Fail", "Error": "TaskFailedCaughtATimeout"},
        "Done": {"Type": "Pass", "End": True},
    }})
    done = run(sfn, machine)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["beat"]["Error"] == "States.HeartbeatTimeout" and output["slow"]["Error"] == "States.Timeout"
    # The closed tasks' tokens are TaskTimedOut, not accepted late.
    late_token = _token(aws, url)
    for send in (lambda: sfn.send_task_success(taskToken=late_token, output="{}"),
                 lambda: sfn.send_task_heartbeat(taskToken=late_token)):
        with pytest.raises(ClientError) as late:
            send()
        assert late.value.response["Error"]["Code"] == "TaskTimedOut"


# --- service integrations in the owning account ----------------------------------------------------------------


def test_dynamodb_sqs_and_events_integrations_act_in_the_machines_account(aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html, connect-sqs.html and
    connect-eventbridge.html : the tasks call the services with the execution role, in its account."""
    sfn, ddb, sqs = (aws(s, account_id=OTHER_ACCOUNT) for s in ("stepfunctions", "dynamodb", "sqs"))
    table = unique("tbl")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    queue = sqs.create_queue(QueueName=unique("out"))["QueueUrl"]
    tap = Tap(aws, {"source": ["my.orders"]}, account=OTHER_ACCOUNT)
    machine = make_machine(sfn, {"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"pk": {"S": "o1"}, "qty": {"N.$": "$.qty"}}},
                "ResultPath": None, "Next": "Bump"},
        "Bump": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                 "Parameters": {"TableName": table, "Key": {"pk": {"S": "o1"}},
                                "UpdateExpression": "SET qty = qty + :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_NEW"},
                 "ResultPath": "$.updated", "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"pk": {"S": "o1"}}}, "ResultPath": "$.got",
                "Next": "Send"},
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": queue, "MessageBody.$": "$.got.Item"}, "ResultPath": "$.sent",
                 "Next": "Announce"},
        "Announce": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                     "Parameters": {"Entries": [{"Source": "my.orders", "DetailType": "Order Placed",
                                                 "Detail": {"qty.$": "$.got.Item.qty.N"}}]},
                     "ResultPath": "$.announced", "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                   "Parameters": {"TableName": table, "Key": {"pk": {"S": "o1"}}}, "ResultPath": None,
                   "End": True},
    }}, account=OTHER_ACCOUNT)
    done = run(sfn, machine, {"qty": "4"})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["updated"]["Attributes"]["qty"] == {"N": "5"} and output["got"]["Item"]["qty"] == {"N": "5"}
    assert output["announced"]["FailedEntryCount"] == 0 and output["sent"]["MessageId"]
    raw = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"][0]["Body"]
    body = json.loads(raw)
    assert body["pk"] == {"S": "o1"} and raw == json.dumps(body, separators=(",", ":")), "compact JSON, as AWS"
    [event] = tap.wait_for(lambda seen: len(seen) >= 1)
    assert event["account"] == OTHER_ACCOUNT and event["detail"] == {"qty": "5"}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "o1"}})
    with pytest.raises(ClientError):
        aws("dynamodb").describe_table(TableName=table)


def test_map_nested_sync_execution_and_camel_case_sdk_services_in_the_machines_account(
        aws: Callable[..., Any]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html,
    https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html and
    https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html : Map iterations call
    Lambda, startExecution.sync:2 runs a child to its end, aws-sdk tasks take and return PascalCase members
    (even for camelCase APIs such as ECR), all in the machine's account."""
    sfn = aws("stepfunctions", account_id=OTHER_ACCOUNT)
    fn = make_function(aws, DOUBLER, account=OTHER_ACCOUNT)
    child = make_machine(sfn, {"StartAt": "Sum", "States": {"Sum": {
        "Type": "Pass", "Parameters": {"total.$": "States.MathAdd($.values[0], $.values[1])"}, "End": True}}},
        account=OTHER_ACCOUNT)
    repository = unique("repo")
    machine = make_machine(sfn, {"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.doubled",
                 "ItemProcessor": {"StartAt": "Double", "States": {"Double": {
                     "Type": "Task", "Resource": fn, "ResultSelector": {"v.$": "$.doubled"}, "End": True}}},
                 "Next": "Child"},
        "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                  "Parameters": {"StateMachineArn": child, "Input": {"values.$": "$.doubled[*].v"}},
                  "ResultSelector": {"total.$": "$.Output.total", "status.$": "$.Status"}, "ResultPath": "$.child",
                  "Next": "Repo"},
        "Repo": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ecr:createRepository",
                 "Parameters": {"RepositoryName": repository}, "ResultSelector": {"name.$": "$.Repository.RepositoryName"},
                 "ResultPath": "$.repo", "End": True},
    }}, account=OTHER_ACCOUNT)
    done = run(sfn, machine, {"items": [{"n": 2}, {"n": 5}]})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["doubled"] == [{"v": 4}, {"v": 10}]
    assert output["child"] == {"total": 14, "status": "SUCCEEDED"}
    assert output["repo"] == {"name": repository}
    assert aws("ecr", account_id=OTHER_ACCOUNT).describe_repositories(repositoryNames=[repository])["repositories"]
    with pytest.raises(ClientError):
        aws("ecr").describe_repositories(repositoryNames=[repository])


# --- CodeBuild .sync ---------------------------------------------------------------------------------------------


def _project(aws: Callable[..., Any], commands: list[str]) -> str:
    """A NO_SOURCE CodeBuild project running ``commands``; returns its name."""
    name = unique("cb")
    buildspec = json.dumps({"version": 0.2, "phases": {"build": {"commands": commands}}})
    aws("codebuild").create_project(
        name=name, source={"type": "NO_SOURCE", "buildspec": buildspec}, artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/codebuild-role")
    return name


def test_codebuild_start_build_sync_waits_and_fails_with_the_build(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html : startBuild.sync waits for
    the build; a failed build fails the task with States.TaskFailed and the build as the cause."""
    def machine_for(project: str) -> str:
        return make_machine(sfn, {"StartAt": "Build", "States": {"Build": {
            "Type": "Task", "Resource": "arn:aws:states:::codebuild:startBuild.sync",
            "Parameters": {"ProjectName": project, "EnvironmentVariablesOverride": [
                {"Name": "GREETING", "Value.$": "$.greeting", "Type": "PLAINTEXT"}]},
            "End": True}}})

    good = run(sfn, machine_for(_project(aws, ['test "$GREETING" = hello'])), {"greeting": "hello"}, limit=30)
    assert good["status"] == "SUCCEEDED", good
    build = json.loads(good["output"])["Build"]
    assert build["BuildStatus"] == "SUCCEEDED" and build["BuildComplete"] is True
    assert isinstance(build["StartTime"], (int, float)) and build["EndTime"] >= build["StartTime"]

    bad = run(sfn, machine_for(_project(aws, ["exit 3"])), {"greeting": "hello"}, limit=30)
    assert (bad["status"], bad["error"]) == ("FAILED", "States.TaskFailed"), bad
    assert json.loads(bad["cause"])["Build"]["BuildStatus"] == "FAILED"


# --- status-change events and metrics -------------------------------------------------------------------------


def test_status_change_events_reach_the_default_bus(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html : every status change
    of a Standard execution is a "Step Functions Execution Status Change" event from aws.states."""
    ok, failing, waiting = (make_machine(sfn, d) for d in (
        PASS,
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}},
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}}},
    ))
    tap = Tap(aws, {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {"stateMachineArn": [ok, failing, waiting]}})
    succeeded = run(sfn, ok, {"k": "v"})
    failed = run(sfn, failing)
    stopping = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    stopped = sfn.stop_execution(executionArn=stopping)
    assert sfn.describe_execution(executionArn=stopping)["status"] == "ABORTED"

    def statuses(seen: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(e["detail"]["executionArn"], e["detail"]["status"]) for e in seen}

    wanted = {(succeeded["executionArn"], "RUNNING"), (succeeded["executionArn"], "SUCCEEDED"),
              (failed["executionArn"], "RUNNING"), (failed["executionArn"], "FAILED"),
              (stopping, "RUNNING"), (stopping, "ABORTED")}
    seen = tap.wait_for(lambda s: wanted <= statuses(s))
    by_key = {(e["detail"]["executionArn"], e["detail"]["status"]): e for e in seen}
    done = by_key[(succeeded["executionArn"], "SUCCEEDED")]
    assert done["source"] == "aws.states" and done["account"] == DEFAULT_ACCOUNT
    assert done["resources"] == [succeeded["executionArn"]]
    detail = done["detail"]
    assert detail["stateMachineArn"] == ok and detail["name"] == succeeded["name"]
    assert detail["startDate"] == int(succeeded["startDate"].timestamp() * 1000)
    assert isinstance(detail["stopDate"], int) and detail["stopDate"] >= detail["startDate"]
    assert json.loads(detail["input"]) == {"k": "v"} and json.loads(detail["output"]) == {"k": "v"}
    assert detail["inputDetails"] == {"included": True} and detail["outputDetails"] == {"included": True}
    assert detail["error"] is None and detail["cause"] is None
    running = by_key[(succeeded["executionArn"], "RUNNING")]["detail"]
    assert running["stopDate"] is None and running["output"] is None
    fail = by_key[(failed["executionArn"], "FAILED")]["detail"]
    assert (fail["error"], fail["cause"], fail["output"]) == ("Broken", "on purpose", None)
    aborted = by_key[(stopping, "ABORTED")]["detail"]
    assert aborted["stopDate"] == int(stopped["stopDate"].timestamp() * 1000)


def test_stop_and_timeout_end_executions_as_aws_reports(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html and
    https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html (TimeoutSeconds): a task
    still waiting for its token does not keep a stopped (ABORTED, with the request's error and cause) or
    timed-out (TIMED_OUT, ExecutionTimedOut) execution from ending so, and each sends its status event."""
    url = aws("sqs").create_queue(QueueName=unique("tokens"))["QueueUrl"]
    ask = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
           "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}
    stoppable = make_machine(sfn, {"StartAt": "Ask", "States": {"Ask": ask}})
    # A task waiting for its token runs in real time, so this is 3 real seconds: long enough for the task to be
    # submitted before the execution times out even on a loaded machine (1 s was not, once in CI).
    bounded = make_machine(sfn, {"TimeoutSeconds": 3, "StartAt": "Ask", "States": {"Ask": ask}})
    tap = Tap(aws, {"source": ["aws.states"], "detail": {"stateMachineArn": [stoppable, bounded],
                                                         "status": ["ABORTED", "TIMED_OUT"]}})

    def submitted(arn: str) -> None:
        # The message (and so the token) reaches the queue a moment before the interpreter records TaskSubmitted;
        # stopping in that moment would rightly leave the history at TaskStarted.
        deadline = time.monotonic() + 10
        while "TaskSubmitted" not in [e["type"] for e in history(sfn, arn)]:
            assert time.monotonic() < deadline, history(sfn, arn)
            time.sleep(0.02)

    stopping = sfn.start_execution(stateMachineArn=stoppable)["executionArn"]
    token = _token(aws, url)
    submitted(stopping)
    sfn.stop_execution(executionArn=stopping, error="Halt", cause="operator said so")
    stopped = sfn.describe_execution(executionArn=stopping)
    assert (stopped["status"], stopped["error"], stopped["cause"]) == ("ABORTED", "Halt", "operator said so")
    with pytest.raises(ClientError) as late:
        sfn.send_task_success(taskToken=token, output="{}")
    assert late.value.response["Error"]["Code"] == "TaskTimedOut"
    timing_out = sfn.start_execution(stateMachineArn=bounded)["executionArn"]
    _token(aws, url)
    submitted(timing_out)
    assert wait_done(sfn, timing_out)["status"] == "TIMED_OUT"

    def last_type(arn: str, wanted: str) -> bool:
        return history(sfn, arn)[-1]["type"] == wanted

    deadline = time.monotonic() + 5
    while not (last_type(stopping, "ExecutionAborted") and last_type(timing_out, "ExecutionTimedOut")):
        assert time.monotonic() < deadline, (history(sfn, stopping)[-1], history(sfn, timing_out)[-1])
        time.sleep(0.05)
    for arn in (stopping, timing_out):
        types = [e["type"] for e in history(sfn, arn)]
        assert types[-2] == "TaskSubmitted" and not {"TaskTimedOut", "TaskFailed", "ExecutionFailed"} & set(types)
    aborted = history(sfn, stopping)[-1]["executionAbortedEventDetails"]
    assert (aborted["error"], aborted["cause"]) == ("Halt", "operator said so")
    seen = tap.wait_for(lambda s: {e["detail"]["status"] for e in s} == {"ABORTED", "TIMED_OUT"})
    assert sorted(e["detail"]["executionArn"] for e in seen) == sorted([stopping, timing_out])


def test_execution_metrics_are_published(aws: Callable[..., Any], sfn: Any) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html : AWS/States
    ExecutionsStarted/Succeeded/Failed and ExecutionTime per StateMachineArn."""
    machine = make_machine(sfn, PASS)
    run(sfn, machine)
    run(sfn, machine)
    cloudwatch = aws("cloudwatch")
    end = time.time() + 60

    def total(name: str, stat: str = "Sum") -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/States", MetricName=name, Dimensions=[{"Name": "StateMachineArn", "Value": machine}],
            StartTime=end - 600, EndTime=end, Period=60, Statistics=[stat])["Datapoints"]
        return sum(p[stat] for p in points)

    assert total("ExecutionsStarted") == 2 and total("ExecutionsSucceeded") == 2
    assert total("ExecutionsFailed") == 0 and total("ExecutionTime", "SampleCount") == 2
