"""Conformance tests of the local cloud's Lambda runtime: real Python handlers, run as AWS Lambda runs them."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import textwrap
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventdeploy.localcloud import lifecycle
from tests.conftest import free_port

REGION = "us-east-1"


def zip_of(source: str, module: str = "app") -> bytes:
    """A deployment package holding ``<module>.py``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(f"{module}.py", textwrap.dedent(source))
    return buf.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def poll(probe: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def admin(endpoint: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the runtime's admin route (GET without body, POST with)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{endpoint}/_localcloud/lambda-runtime", data=data,
                                 method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def no_retry_lambda(localcloud: Any) -> Callable[[str], Any]:
    """Lambda clients that do not retry throttles, so a 429 is seen as the service answered it."""
    def make(account_id: str = "123456789012") -> Any:
        client = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                       region_name=REGION).client(
            "lambda", endpoint_url=localcloud.endpoint, config=Config(retries={"total_max_attempts": 1}))
        client.meta.events.register("before-send.*", lambda request, **_: request.headers.__setitem__(
            "x-moto-account-id", account_id))
        return client
    return make


@pytest.fixture(scope="module")
def make_function(aws: Callable[..., Any]) -> Callable[..., str]:
    """Create a python3.11 function from source (in any account, with an execution role); returns its name."""
    roles: dict[str, str] = {}

    def make(source: str, handler: str = "app.handler", account_id: str = "123456789012", **kwargs: Any) -> str:
        if account_id not in roles:
            roles[account_id] = aws("iam", account_id=account_id).create_role(
                RoleName=unique("lambda-role"), AssumeRolePolicyDocument=json.dumps({
                    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}),
            )["Role"]["Arn"]
        name = unique("fn")
        aws("lambda", account_id=account_id).create_function(
            FunctionName=name, Runtime=kwargs.pop("Runtime", "python3.11"), Role=roles[account_id],
            Handler=handler, Code={"ZipFile": zip_of(source)}, **kwargs)
        return name

    return make


def invoke_json(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    resp = client.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}).encode(),
                         **kwargs)
    return resp, json.loads(resp["Payload"].read())



def function_metric(aws: Callable[..., Any], name: str) -> Callable[..., float]:
    """``stat(metric, statistic="Sum")``: the function's AWS/Lambda metric summed over the 20 minutes around now."""
    cloudwatch = aws("cloudwatch")
    now = time.time()

    def stat(metric: str, statistic: str = "Sum") -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": name}],
            StartTime=now - 600, EndTime=now + 600, Period=60, Statistics=[statistic])["Datapoints"]
        return sum(p[statistic] for p in points)

    return stat


def test_context_fields_and_environment(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """Context object and runtime environment variables as Lambda defines them.

    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    """
    name = make_function("""
        import os, tempfile
        def handler(event, context):
            return {
                "event": event,
                "aws_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "env": dict(os.environ),
                "cwd": os.getcwd(),
                "client_custom": context.client_context.custom if context.client_context else None,
                "tmp": tempfile.gettempdir(),
                "tmp_writable": os.access(tempfile.gettempdir(), os.W_OK),
            }
    """, MemorySize=256, Timeout=7, Environment={"Variables": {"GREETING": "hello"}})
    resp, body = invoke_json(aws("lambda"), name, {"k": [1, 2]})
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert resp["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"k": [1, 2]}
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", body["aws_request_id"])
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
    assert str(body["memory_limit_in_mb"]) == "256"
    assert body["log_group_name"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", body["log_stream_name"])
    assert 5000 < body["remaining"] <= 7000
    env = body["env"]
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == REGION and env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["log_stream_name"]
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["AWS_LAMBDA_RUNTIME_API"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert body["tmp"] == env["TMPDIR"] and body["tmp_writable"]
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", env["_X_AMZN_TRACE_ID"])
    # With a qualifier the context carries the qualified ARN that was invoked.
    client_context = base64.b64encode(json.dumps({"custom": {"tenant": "t-1"}}).encode()).decode()
    resp, body = invoke_json(aws("lambda"), name, {}, Qualifier="$LATEST", ClientContext=client_context)
    assert body["invoked_function_arn"].endswith(f":function:{name}:$LATEST")
    assert body["client_custom"] == {"tenant": "t-1"}


def test_handler_boto3_calls_reach_local_cloud_as_function_account(
        aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """The handler's SDK calls use the execution role's credentials, in the function's account.

    https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
    """
    account = "210987654321"
    queue_name = unique("from-handler")
    queue_url = aws("sqs", account_id=account).create_queue(QueueName=queue_name)["QueueUrl"]
    table = unique("from-handler")
    aws("dynamodb", account_id=account).create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    name = make_function("""
        import boto3
        def handler(event, context):
            sqs = boto3.client("sqs")
            url = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="written by " + context.function_name)
            boto3.client("dynamodb").put_item(TableName=event["table"], Item={"pk": {"S": context.aws_request_id}})
            return boto3.client("sts").get_caller_identity()
    """, account_id=account)
    resp, identity = invoke_json(aws("lambda", account_id=account), name, {"queue": queue_name, "table": table})
    assert "FunctionError" not in resp, identity
    assert identity["Account"] == account
    assert ":assumed-role/" in identity["Arn"]
    messages = poll(lambda: aws("sqs", account_id=account).receive_message(
        QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages"))
    assert messages[0]["Body"] == f"written by {name}"
    items = aws("dynamodb", account_id=account).scan(TableName=table)["Items"]
    assert len(items) == 1


COUNTER = """
    import os
    INVOCATIONS = 0
    PID = os.getpid()
    def handler(event, context):
        global INVOCATIONS
        INVOCATIONS += 1
        return {"version": "%s", "invocations": INVOCATIONS, "pid": PID}
"""


def test_warm_reuse_cold_start_and_update_function_code(aws: Callable[..., Any],
                                                          make_function: Callable[..., str]) -> None:
    """Sequential invokes reuse one warm environment; new code gets a new one.

    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
    https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html
    """
    client = aws("lambda")
    name = make_function(COUNTER % "v1")
    results = [invoke_json(client, name)[1] for _ in range(3)]
    assert [r["invocations"] for r in results] == [1, 2, 3]
    assert len({r["pid"] for r in results}) == 1
    client.update_function_code(FunctionName=name, ZipFile=zip_of(COUNTER % "v2"))
    after = invoke_json(client, name)[1]
    assert after["version"] == "v2"
    assert after["invocations"] == 1  # a fresh execution environment: module state starts over
    assert after["pid"] != results[0]["pid"]


def test_reserved_concurrency_zero_throttles_every_invoke(make_function: Callable[..., str],
                                                          aws: Callable[..., Any],
                                                          no_retry_lambda: Callable[..., Any]) -> None:
    """Reserved concurrency 0 throttles every invocation with TooManyRequestsException (429).

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors
    """
    name = make_function("def handler(event, context):\n    return 'ran'\n")
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as info:
        no_retry_lambda().invoke(FunctionName=name, Payload=b"{}")
    err = info.value.response
    assert err["Error"]["Code"] == "TooManyRequestsException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    aws("lambda").delete_function_concurrency(FunctionName=name)
    assert json.loads(aws("lambda").invoke(FunctionName=name)["Payload"].read()) == "ran"


def test_account_concurrency_limit_throttles(localcloud: Any, aws: Callable[..., Any],
                                             make_function: Callable[..., str],
                                             no_retry_lambda: Callable[..., Any]) -> None:
    """Beyond the account's concurrency quota a synchronous invoke is throttled (ConcurrentInvocationLimitExceeded).

    https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
    """
    account = "310000000001"
    admin(localcloud.endpoint, {"account_concurrency": {account: 1}})
    queue_url = aws("sqs", account_id=account).create_queue(QueueName=unique("started"))["QueueUrl"]
    name = make_function("""
        import boto3, time
        def handler(event, context):
            boto3.client("sqs").send_message(QueueUrl=event["queue"], MessageBody="started")
            time.sleep(event["sleep"])
            return "done"
    """, account_id=account, Timeout=10)
    client = no_retry_lambda(account)
    first: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: first.update(invoke_json(
        client, name, {"queue": queue_url, "sleep": 2.0})[0]))
    runner.start()
    try:
        poll(lambda: aws("sqs", account_id=account).receive_message(QueueUrl=queue_url,
                                                                     WaitTimeSeconds=1).get("Messages"))
        with pytest.raises(ClientError) as info:
            client.invoke(FunctionName=name, Payload=json.dumps({"queue": queue_url, "sleep": 0}).encode())
        assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert info.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    finally:
        runner.join(timeout=15)
    assert first["StatusCode"] == 200 and "FunctionError" not in first


def test_timeout_kills_worker_and_reports_task_timed_out(aws: Callable[..., Any],
                                                         make_function: Callable[..., str]) -> None:
    """A handler running past Timeout is stopped; the payload says ``Task timed out after N.NN seconds``.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
    """
    name = make_function("""
        import os, time
        def handler(event, context):
            if event.get("sleep"):
                time.sleep(event["sleep"])
            return os.getpid()
    """, Timeout=1)
    client = aws("lambda")
    pid = invoke_json(client, name)[1]
    started = time.monotonic()
    resp, body = invoke_json(client, name, {"sleep": 30})
    assert time.monotonic() - started < 10
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    # The timed-out environment is gone: the next invoke runs in a new process.
    assert invoke_json(client, name)[1] != pid


def test_process_exit_is_runtime_exit_error(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """A handler that ends its process gets Runtime.ExitError, and the next invoke starts a new environment.

    https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
    """
    name = make_function("""
        import os
        def handler(event, context):
            if event.get("exit"):
                os._exit(3)
            return os.getpid()
    """)
    client = aws("lambda")
    pid = invoke_json(client, name)[1]
    resp, body = invoke_json(client, name, {"exit": True})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"] == (f"RequestId: {resp['ResponseMetadata']['RequestId']} "
                                    "Error: Runtime exited with error: exit status 3")
    assert invoke_json(client, name)[1] != pid


def test_memory_over_memory_size_is_runtime_out_of_memory(aws: Callable[..., Any],
                                                          make_function: Callable[..., str]) -> None:
    """A handler whose memory outgrows MemorySize is killed: Runtime.OutOfMemory, REPORT with the error type.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    """
    name = make_function("""
        import time
        def handler(event, context):
            hog = b"x" * (300 * 1024 * 1024)
            time.sleep(2)
            return len(hog)
    """, MemorySize=128, Timeout=10)
    resp = aws("lambda").invoke(FunctionName=name, LogType="Tail")
    body = json.loads(resp["Payload"].read())
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "Max Memory Used: 128 MB" in log and "Status: error\tError Type: Runtime.OutOfMemory" in log


def test_unhandled_exception_shape(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """An exception raised by the handler comes back as FunctionError Unhandled with Lambda's error object.

    https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
    """
    name = make_function("""
        class OrderRejected(Exception):
            pass
        def handler(event, context):
            raise OrderRejected("order 42 has no items")
    """)
    resp, body = invoke_json(aws("lambda"), name)
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "OrderRejected"
    assert body["errorMessage"] == "order 42 has no items"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["requestId"])
    assert body["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert isinstance(body["stackTrace"], list) and 'line 5, in handler' in body["stackTrace"][-1]


def test_log_type_tail_returns_last_4kb(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """LogType=Tail returns the last 4 KB of the invocation's log, base64-encoded.

    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax
    """
    name = make_function("""
        def handler(event, context):
            for i in range(200):
                print(f"line {i:03d} " + "x" * 40)
            print("last handler line")
            return 1
    """)
    client = aws("lambda")
    resp = client.invoke(FunctionName=name, LogType="Tail")
    log = base64.b64decode(resp["LogResult"])
    assert len(log) <= 4096
    text = log.decode()
    assert "last handler line" in text
    assert "line 000" not in text  # the head was cut: only the tail is returned
    assert re.search(r"END RequestId: [0-9a-f-]{36}\nREPORT RequestId: [0-9a-f-]{36}\tDuration: ", text)
    assert "LogResult" not in client.invoke(FunctionName=name)


def test_cloudwatch_logs_start_end_report(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """Handler output and START/END/REPORT records land in /aws/lambda/<name>; Init Duration only on a cold start.

    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
    """
    name = make_function("""
        def handler(event, context):
            print("processing", event["n"])
            return event["n"]
    """)
    client = aws("lambda")
    for n in (1, 2):
        client.invoke(FunctionName=name, Payload=json.dumps({"n": n}).encode())
    logs = aws("logs")
    group = f"/aws/lambda/{name}"

    def reports() -> list[dict[str, Any]]:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return events if sum(e["message"].startswith("REPORT ") for e in events) == 2 else []

    events = poll(reports)
    messages = [e["message"] for e in events]
    assert sum(m.startswith("START RequestId: ") and m.endswith("Version: $LATEST") for m in messages) == 2
    assert sum(m.startswith("END RequestId: ") for m in messages) == 2
    assert "processing 1" in messages and "processing 2" in messages
    report_lines = [m for m in messages if m.startswith("REPORT ")]
    pattern = (r"REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t"
               r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d{2} ms\t)?")
    assert all(re.fullmatch(pattern, line) for line in report_lines), report_lines
    assert sum("Init Duration" in line for line in report_lines) == 1
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", streams[0]["logStreamName"])


def _destination_queue(aws: Callable[..., Any]) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=unique("dest"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _bodies(aws: Callable[..., Any], url: str, count: int, timeout: float = 20.0) -> list[str]:
    """At least ``count`` message bodies from the queue at ``url`` (deleted as they are read)."""
    got: list[str] = []

    def probe() -> bool:
        sqs = aws("sqs")
        for msg in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(msg["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        return len(got) >= count

    poll(probe, timeout=timeout)
    return got


def _records(aws: Callable[..., Any], url: str, count: int) -> list[dict[str, Any]]:
    return [json.loads(body) for body in _bodies(aws, url, count)]


def test_async_success_sends_on_success_record(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """InvocationType=Event answers 202 at once; a success sends the invocation record to OnSuccess.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    url, arn = _destination_queue(aws)
    name = make_function("def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
    client = aws("lambda")
    client.put_function_event_invoke_config(FunctionName=name,
                                            DestinationConfig={"OnSuccess": {"Destination": arn}})
    resp = client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 21}')
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""
    (record,) = _records(aws, url, 1)
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", record["timestamp"])
    ctx = record["requestContext"]
    assert ctx["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert ctx["functionArn"] == f"arn:aws:lambda:{REGION}:123456789012:function:{name}:$LATEST"
    assert ctx["condition"] == "Success" and ctx["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"n": 21}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"doubled": 42}


FAILING_COUNTED = """
    import boto3
    def handler(event, context):
        boto3.client("sqs").send_message(QueueUrl=event["attempts"], MessageBody=context.aws_request_id)
        raise RuntimeError("always fails")
"""


def test_async_failure_retried_then_on_failure_record(aws: Callable[..., Any],
                                                      make_function: Callable[..., str]) -> None:
    """A failing async event runs 1 + MaximumRetryAttempts times, then goes to OnFailure as RetriesExhausted.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    """
    url, arn = _destination_queue(aws)
    attempts_url = aws("sqs").create_queue(QueueName=unique("attempts"))["QueueUrl"]
    name = make_function(FAILING_COUNTED)
    client = aws("lambda")
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=2,
                                            DestinationConfig={"OnFailure": {"Destination": arn}})
    resp = client.invoke(FunctionName=name, InvocationType="Event",
                         Payload=json.dumps({"attempts": attempts_url}).encode())
    assert resp["StatusCode"] == 202
    (record,) = _records(aws, url, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "always fails"
    attempts = _bodies(aws, attempts_url, 3)
    assert len(attempts) == 3
    # Every retry carries the event's one request id, as Lambda's retries do.
    assert set(attempts) == {resp["ResponseMetadata"]["RequestId"]}


def test_max_event_age_exceeded(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """An event older than MaximumEventAgeInSeconds is discarded with condition EventAgeExceeded.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
    """
    url, arn = _destination_queue(aws)
    attempts_url = aws("sqs").create_queue(QueueName=unique("attempts"))["QueueUrl"]
    name = make_function(FAILING_COUNTED)
    client = aws("lambda")
    # The first retry comes 60 s (emulated) after the failure: by then the event is 60 s old.
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60,
                                            DestinationConfig={"OnFailure": {"Destination": arn}})
    client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"attempts": attempts_url}).encode())
    (record,) = _records(aws, url, 1)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"attempts": attempts_url}
    assert len(_bodies(aws, attempts_url, 1)) == 1


def test_dry_run_answers_204_without_running(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """InvocationType=DryRun validates and answers 204.

    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    """
    name = make_function("def handler(event, context):\n    raise SystemExit('must not run')\n")
    resp = aws("lambda").invoke(FunctionName=name, InvocationType="DryRun")
    assert resp["StatusCode"] == 204


def test_powertools_importable_in_handler(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """Powertools for AWS Lambda (Python) works inside a handler, as from its public layer.

    https://docs.powertools.aws.dev/lambda/python/latest/
    """
    name = make_function("""
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.utilities.typing import LambdaContext
        logger = Logger(service="orders")
        @logger.inject_lambda_context
        def handler(event: dict, context: LambdaContext) -> dict:
            logger.info("handled", extra={"order": event["order"]})
            return {"service": logger.service}
    """)
    resp, body = invoke_json(aws("lambda"), name, {"order": 7}, LogType="Tail")
    assert "FunctionError" not in resp, body
    assert body == {"service": "orders"}
    structured = [json.loads(line) for line in base64.b64decode(resp["LogResult"]).decode().splitlines()
                  if line.startswith("{")]
    assert structured and structured[0]["message"] == "handled" and structured[0]["order"] == 7
    assert structured[0]["function_name"] == name


def test_metrics_published(localcloud: Any, aws: Callable[..., Any], make_function: Callable[..., str],
                           no_retry_lambda: Callable[..., Any]) -> None:
    """Invocations, Errors, Throttles and Duration are published in AWS/Lambda per FunctionName.

    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
    """
    name = make_function("""
        def handler(event, context):
            if event.get("fail"):
                raise ValueError("fail")
            return "ok"
    """)
    client = aws("lambda")
    for event in ({}, {}, {"fail": True}):
        client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        no_retry_lambda().invoke(FunctionName=name)
    stat = function_metric(aws, name)

    poll(lambda: stat("Throttles") == 1 and stat("Invocations") == 3)
    assert stat("Errors") == 1
    assert stat("Duration", "SampleCount") == 3
    assert stat("ConcurrentExecutions", "Maximum") >= 1


def test_init_error_reported_as_unhandled(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """A handler module that fails to import returns Runtime.ImportModuleError as an Unhandled error.

    https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
    """
    name = make_function("import module_that_is_not_there\ndef handler(event, context):\n    return 1\n")
    resp, body = invoke_json(aws("lambda"), name)
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == ("Unable to import module 'app': No module named 'module_that_is_not_there'")


def test_code_from_s3_layers_and_published_versions(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """Code from S3, a layer's python/ folder on sys.path, and a published version running its own code.

    https://docs.aws.amazon.com/lambda/latest/dg/python-package.html
    https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html
    """
    layer_zip = io.BytesIO()
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/shared_greeting.py", "GREETING = 'from the layer'\n")
    layer_arn = aws("lambda").publish_layer_version(
        LayerName=unique("layer"), Content={"ZipFile": layer_zip.getvalue()},
        CompatibleRuntimes=["python3.11"])["LayerVersionArn"]
    bucket = unique("code")
    aws("s3").create_bucket(Bucket=bucket)
    source = ("import shared_greeting\ndef handler(event, context):\n"
              "    return [shared_greeting.GREETING, '%s', context.invoked_function_arn.split(':')[-1]]\n")
    aws("s3").put_object(Bucket=bucket, Key="v1.zip", Body=zip_of(source % "v1"))
    name = make_function("def handler(event, context):\n    return 'inline'\n", Layers=[layer_arn])
    client = aws("lambda")
    client.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="v1.zip")
    assert invoke_json(client, name)[1] == ["from the layer", "v1", name]
    version = client.publish_version(FunctionName=name)["Version"]
    client.update_function_code(FunctionName=name, ZipFile=zip_of(source % "v2"))
    assert invoke_json(client, name)[1] == ["from the layer", "v2", name]
    resp, body = invoke_json(client, name, Qualifier=version)
    assert body == ["from the layer", "v1", version]
    assert resp["ExecutedVersion"] == version
    # An alias runs the version it points to; the context carries the alias ARN that was invoked.
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    resp, body = invoke_json(client, f"{name}:live")
    assert body == ["from the layer", "v1", "live"]
    assert resp["ExecutedVersion"] == version


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_reset_and_stop_end_every_worker(tmp_path: Any) -> None:
    """Resetting or stopping the local cloud leaves no worker process behind (no Lambda equivalent: hygiene)."""
    state_dir = tmp_path / "own-cloud"
    status = lifecycle.start(port=free_port(), state_dir=state_dir, time_scale=0.01)
    try:
        def client(service: str) -> Any:
            return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                         region_name=REGION).client(service, endpoint_url=status.endpoint)

        def start_worker() -> int:
            role = client("iam").create_role(RoleName=unique("r"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            name = unique("fn")
            client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                             Handler="app.handler", Code={"ZipFile": zip_of(COUNTER % "x")})
            return int(invoke_json(client("lambda"), name)[1]["pid"])

        pid = start_worker()
        assert not _gone(pid)
        lifecycle.reset(state_dir)
        poll(lambda: _gone(pid), timeout=10)
        pid = start_worker()
    finally:
        lifecycle.stop(state_dir)
    poll(lambda: _gone(pid), timeout=10)


def test_async_metrics_and_destination_delivery_failure(aws: Callable[..., Any],
                                                        make_function: Callable[..., str]) -> None:
    """AsyncEventsReceived, AsyncEventAge, AsyncEventsDropped and DestinationDeliveryFailures are published.

    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html#async-invocation-metrics
    """
    name = make_function("def handler(event, context):\n    raise ValueError('no')\n")
    client = aws("lambda")
    missing_queue = f"arn:aws:sqs:{REGION}:123456789012:{unique('no-such-queue')}"
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                            DestinationConfig={"OnFailure": {"Destination": missing_queue}})
    assert client.invoke(FunctionName=name, InvocationType="Event")["StatusCode"] == 202
    stat = function_metric(aws, name)

    poll(lambda: stat("DestinationDeliveryFailures") == 1)
    assert stat("AsyncEventsReceived") == 1
    assert stat("AsyncEventsDropped") == 1
    assert stat("AsyncEventAge", "SampleCount") == 1
    assert stat("Invocations") == 1 and stat("Errors") == 1


def test_async_on_success_lambda_destination(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """A Lambda destination is invoked asynchronously with the invocation record as its event.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    url = aws("sqs").create_queue(QueueName=unique("seen-by-destination"))["QueueUrl"]
    destination = make_function("""
        import boto3, json, os
        def handler(event, context):
            boto3.client("sqs").send_message(QueueUrl=os.environ["TAP"], MessageBody=json.dumps(event))
    """, Environment={"Variables": {"TAP": url}})
    destination_arn = aws("lambda").get_function(FunctionName=destination)["Configuration"]["FunctionArn"]
    name = make_function("def handler(event, context):\n    return 'fine'\n")
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": destination_arn}})
    aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b'{"x": 1}')
    (record,) = _records(aws, url, 1)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"x": 1} and record["responsePayload"] == "fine"


def test_payload_limits_and_deprecated_invoke_async(aws: Callable[..., Any], make_function: Callable[..., str],
                                                    no_retry_lambda: Callable[..., Any]) -> None:
    """Payloads over 6 MB (sync) or 1 MB (async) are refused with 413; InvokeAsync queues the event.

    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    https://docs.aws.amazon.com/lambda/latest/api/API_InvokeAsync.html
    """
    url = aws("sqs").create_queue(QueueName=unique("invoke-async"))["QueueUrl"]
    name = make_function("""
        import boto3, os
        def handler(event, context):
            boto3.client("sqs").send_message(QueueUrl=os.environ["TAP"], MessageBody=event["note"])
            return "ran"
    """, Environment={"Variables": {"TAP": url}})
    client = no_retry_lambda()
    big = json.dumps({"note": "x" * (1024 * 1024)}).encode()
    with pytest.raises(ClientError) as info:
        client.invoke(FunctionName=name, InvocationType="Event", Payload=big)
    assert info.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    huge = json.dumps({"note": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as info:
        client.invoke(FunctionName=name, Payload=huge)
    assert info.value.response["Error"]["Code"] == "RequestTooLargeException"
    resp = aws("lambda").invoke_async(FunctionName=name, InvokeArgs=b'{"note": "queued by InvokeAsync"}')
    assert resp["Status"] == 202
    assert _bodies(aws, url, 1) == ["queued by InvokeAsync"]


def test_dead_letter_queue_gets_discarded_event(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """A discarded async event goes to the DeadLetterConfig queue with RequestID/ErrorCode/ErrorMessage attributes.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function("def handler(event, context):\n    raise KeyError('missing order')\n",
                         DeadLetterConfig={"TargetArn": arn})
    client = aws("lambda")
    assert client.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {"TargetArn": arn}
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    resp = client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"order": 9}')

    def message() -> Any:
        got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages")
        return got[0] if got else None

    msg = poll(message)
    assert json.loads(msg["Body"]) == {"order": 9}
    attributes = {k: v["StringValue"] for k, v in msg["MessageAttributes"].items()}
    assert attributes["RequestID"] == resp["ResponseMetadata"]["RequestId"]
    assert attributes["ErrorCode"] == "200"
    assert attributes["ErrorMessage"] == "'missing order'"


def test_sqs_event_source_mapping_runs_handler(aws: Callable[..., Any], make_function: Callable[..., str]) -> None:
    """An SQS event source mapping hands queue messages to the handler as ``Records``.

    https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    sqs = aws("sqs")
    source_url = sqs.create_queue(QueueName=unique("esm-source"))["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    tap_url = sqs.create_queue(QueueName=unique("esm-tap"))["QueueUrl"]
    name = make_function("""
        import boto3, os
        def handler(event, context):
            for record in event["Records"]:
                boto3.client("sqs").send_message(QueueUrl=os.environ["TAP"],
                                                 MessageBody=record["eventSource"] + ":" + record["body"])
    """, Environment={"Variables": {"TAP": tap_url}})
    aws("lambda").create_event_source_mapping(EventSourceArn=source_arn, FunctionName=name, BatchSize=1)
    sqs.send_message(QueueUrl=source_url, MessageBody="order-17")
    assert _bodies(aws, tap_url, 1) == ["aws:sqs:order-17"]


def test_async_on_failure_eventbridge_and_sns_destinations(aws: Callable[..., Any],
                                                           make_function: Callable[..., str]) -> None:
    """OnFailure to an EventBridge bus puts a ``Lambda Function Invocation Result - Failure`` event (source
    ``lambda``, detail = record); OnSuccess to an SNS topic publishes the record.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    tap_url, tap_arn = _destination_queue(aws)
    events = aws("events")
    bus = unique("results")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.put_rule(Name=unique("failures"), EventBusName=bus,
                    EventPattern=json.dumps({"source": ["lambda"]}))
    rule = events.list_rules(EventBusName=bus)["Rules"][0]["Name"]
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "tap", "Arn": tap_arn}])
    topic_arn = aws("sns").create_topic(Name=unique("results"))["TopicArn"]
    aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn,
                         Attributes={"RawMessageDelivery": "true"})
    name = make_function("""
        def handler(event, context):
            if event["fail"]:
                raise ValueError("bad")
            return "good"
    """)
    client = aws("lambda")
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": bus_arn}, "OnSuccess": {"Destination": topic_arn}})
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"fail": true}')
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"fail": false}')
    messages = [json.loads(body) for body in _bodies(aws, tap_url, 2)]
    (event,) = [m for m in messages if "detail-type" in m]
    (record,) = [m for m in messages if "detail-type" not in m]
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert event["detail"]["responsePayload"]["errorMessage"] == "bad"
    assert record["requestContext"]["condition"] == "Success" and record["responsePayload"] == "good"


def test_account_settings_report_the_local_quota(localcloud: Any, aws: Callable[..., Any],
                                                 make_function: Callable[..., str]) -> None:
    """GetAccountSettings reports the concurrency quota and the unreserved pool after reservations.

    https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html
    """
    account = "310000000002"
    admin(localcloud.endpoint, {"account_concurrency": {account: 20}})
    name = make_function("def handler(event, context):\n    return 1\n", account_id=account)
    client = aws("lambda", account_id=account)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 20
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 15
    assert settings["AccountUsage"]["FunctionCount"] == 1
    assert settings["AccountUsage"]["TotalCodeSize"] > 0


def test_async_system_error_retried_until_event_age(aws: Callable[..., Any]) -> None:
    """An event the runtime cannot start (here: a package that is not a zip) is retried with backoff, not counted
    as a function error, and discarded as EventAgeExceeded when too old.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    """
    url, arn = _destination_queue(aws)
    role = aws("iam").create_role(RoleName=unique("r"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = unique("fn")
    client = aws("lambda")
    client.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                           Code={"ZipFile": b"this is not a zip archive"})
    client.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60,
                                            DestinationConfig={"OnFailure": {"Destination": arn}})
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    (record,) = _records(aws, url, 1)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record
