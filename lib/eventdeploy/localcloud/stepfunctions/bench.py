"""Measure Step Functions in the local cloud: execution latency, throughput, and status-event delivery.

Run: ``.venv/bin/python -m eventdeploy.localcloud.stepfunctions.bench [--executions N] [--concurrency C]``.
It starts its own local cloud on a free port in a temporary folder and stops it at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import queue
import socket
import statistics
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from eventdeploy.localcloud import lifecycle

ROLE = "arn:aws:iam::123456789012:role/bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(endpoint: str, service: str) -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1").client(service, endpoint_url=endpoint)


def _run_one(sfn: Any, machine: str, limit: float = 60.0, poll: float = 0.005) -> float:
    """Seconds from StartExecution to DescribeExecution reporting SUCCEEDED (polled every ``poll`` s)."""
    began = time.perf_counter()
    arn = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    while True:
        status = sfn.describe_execution(executionArn=arn)["status"]
        if status == "SUCCEEDED":
            return time.perf_counter() - began
        if status != "RUNNING" or time.perf_counter() - began > limit:
            raise RuntimeError(f"benchmark execution {arn} ended {status}")
        time.sleep(poll)


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def _lambda_machine(endpoint: str, sfn: Any) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'n': event['n'] + 1}\n")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = _client(endpoint, "iam").create_role(RoleName=f"bench-{uuid.uuid4().hex[:6]}",
                                                AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    fn = _client(endpoint, "lambda").create_function(
        FunctionName=f"bench-{uuid.uuid4().hex[:6]}", Runtime="python3.11", Role=role, Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()})["FunctionArn"]
    definition = {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": fn, "End": True}}}
    return sfn.create_state_machine(name=f"bench-lambda-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition),
                                    roleArn=ROLE)["stateMachineArn"]


def _event_delay(endpoint: str, sfn: Any, machine: str) -> float:
    """Seconds from StartExecution until its SUCCEEDED status-change event is received from an SQS tap."""
    sqs, events = _client(endpoint, "sqs"), _client(endpoint, "events")
    url = sqs.create_queue(QueueName=f"bench-tap-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="bench-tap", EventPattern=json.dumps({"source": ["aws.states"],
                                                              "detail": {"status": ["SUCCEEDED"]}}))
    events.put_targets(Rule="bench-tap", Targets=[{"Id": "tap", "Arn": queue_arn}])
    began = time.perf_counter()
    sfn.start_execution(stateMachineArn=machine)
    while time.perf_counter() - began < 30:
        if sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"):
            return time.perf_counter() - began
    raise RuntimeError("no status-change event arrived within 30 s")


def main(argv: list[str] | None = None) -> None:
    """Start a local cloud, run the measurements, print them, stop it."""
    parser = argparse.ArgumentParser(prog="python -m eventdeploy.localcloud.stepfunctions.bench")
    parser.add_argument("--executions", type=int, default=40, help="executions per measurement (default 40)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel starters for throughput (default 8)")
    args = parser.parse_args(argv)
    if args.executions < 1 or args.concurrency < 1:
        parser.error(f"--executions ({args.executions}) and --concurrency ({args.concurrency}) must be >= 1")
    with tempfile.TemporaryDirectory() as folder:
        state_dir = Path(folder)
        status = lifecycle.start(port=_free_port(), state_dir=state_dir, time_scale=0.01)
        try:
            endpoint = status.endpoint or ""
            sfn = _client(endpoint, "stepfunctions")
            passing = sfn.create_state_machine(
                name="bench-pass", roleArn=ROLE,
                definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            )["stateMachineArn"]
            lambda_machine = _lambda_machine(endpoint, sfn)
            _run_one(sfn, lambda_machine)  # warm the function's worker
            for label, machine in (("Pass state", passing), ("Lambda task", lambda_machine)):
                samples = [_run_one(sfn, machine) for _ in range(args.executions)]
                print(f"{label}: start→SUCCEEDED latency over {args.executions} sequential executions: "
                      f"{_percentiles(samples)}")
            # Clients are made before the clock starts: building one costs more than a StartExecution.
            clients: queue.Queue[Any] = queue.Queue()
            for _ in range(args.concurrency):
                clients.put(_client(endpoint, "stepfunctions"))

            def start(_: int) -> str:
                """Start one execution with a pooled client; returns its ARN."""
                client = clients.get()
                try:
                    return client.start_execution(stateMachineArn=passing)["executionArn"]
                finally:
                    clients.put(client)

            began = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                arns = set(pool.map(start, range(args.executions)))
            started = time.perf_counter() - began
            while True:
                done = {e["executionArn"] for e in sfn.list_executions(
                    stateMachineArn=passing, statusFilter="SUCCEEDED", maxResults=1000)["executions"]}
                if arns <= done:
                    break
                time.sleep(0.01)
            elapsed = time.perf_counter() - began
            print(f"Pass state: {args.executions / elapsed:.1f} executions/s (started by {args.concurrency} "
                  f"concurrent callers in {started:.2f} s, all SUCCEEDED after {elapsed:.2f} s)")
            print(f"Status-change event (SUCCEEDED) on an SQS tap: {_event_delay(endpoint, sfn, passing) * 1000:.0f} "
                  "ms after StartExecution")
        finally:
            lifecycle.stop(state_dir)


if __name__ == "__main__":
    main()
