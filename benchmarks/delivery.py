"""Delivery benchmark of the local cloud: EventBridge → Lambda latency and throughput, EventBridge → SQS throughput.

Run: ``.venv/bin/python benchmarks/delivery.py`` (add ``--quick`` for shorter phases). It starts its own local cloud
and a bare ``moto.server`` (the baseline) on free ports in temporary folders, prints one table, stops both and
writes nothing into the repository. Absolute figures depend on the machine's load; the baseline ratios do not as
much, because both servers are measured in the same run, and the server CPU per 1,000 events (read from /proc)
hardly does. The baseline's queue-depth figure stops at 500: filling moto's list-scanning queue costs time that
grows with the square of the depth.

Targets: put_events → handler start p50 ≤ 20 ms and p99 ≤ 150 ms at 100 events/s; ≥ 300 events/s end to end
through rule → Lambda → DynamoDB; ≥ 2,000 events/s accepted with 8 producers into an SQS target while a consumer
drains it; put_events latency at queue depth 2,000 about the same as at depth 0.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
TIME_LIMIT_S = 170.0
BASELINE_DEPTH = 500
DRAIN_WAIT_S = 8.0  # the consumers may stop after this long without draining anything
DRAIN_LIMIT_S = 45.0  # and stop after this long in any case


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(endpoint: str, service: str) -> Any:
    """A boto3 client on ``endpoint`` with room for many concurrent connections and no retries."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client(service, endpoint_url=endpoint,
             config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=32,
                           read_timeout=60))


class RawJsonClient:
    """A minimal AWS JSON-protocol client on one kept-alive connection, for load phases.

    boto3 spends milliseconds of client CPU per call; eight boto3 producers in one process measure the client's
    GIL, not the server. The request is what boto3 sends (same target header, body and credential scope); the
    server does not check signatures, so none is computed.
    """

    def __init__(self, endpoint: str, service: str, target_prefix: str, content_type: str) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        self.prefix = target_prefix
        self.headers = {
            "Content-Type": content_type,
            "Authorization": (f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, "
                              "SignedHeaders=host;x-amz-date, Signature=0"),
        }

    def call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one action; the parsed JSON reply, or RuntimeError with the server's answer."""
        self.conn.request("POST", "/", body=json.dumps(body),
                          headers={**self.headers, "X-Amz-Target": f"{self.prefix}.{action}"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{action} answered HTTP {resp.status}: {data[:200]!r}")
        return json.loads(data) if data else {}

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def raw_events(endpoint: str) -> RawJsonClient:
    """Raw EventBridge client (JSON 1.1, AWSEvents target)."""
    return RawJsonClient(endpoint, "events", "AWSEvents", "application/x-amz-json-1.1")


def raw_sqs(endpoint: str) -> RawJsonClient:
    """Raw SQS client (JSON 1.0, AmazonSQS target)."""
    return RawJsonClient(endpoint, "sqs", "AmazonSQS", "application/x-amz-json-1.0")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# ---- servers -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A server under test: where it answers and which process does the work."""

    endpoint: str
    pid: int


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def local_cloud() -> Iterator[Server]:
    """The eventdeploy local cloud (all extensions), real time scale, in a temporary state folder."""
    from eventdeploy.localcloud import lifecycle

    with tempfile.TemporaryDirectory(prefix="bench-localcloud-") as state:
        status = lifecycle.start(port=free_port(), state_dir=Path(state), time_scale=1.0)
        try:
            yield Server(str(status.endpoint), int(status.pid or 0))
        finally:
            lifecycle.stop(Path(state))


@contextmanager
def moto_baseline() -> Iterator[Server]:
    """moto's own server, no eventdeploy extensions: the baseline."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-moto-") as folder:
        log = open(Path(folder) / "moto.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)
        endpoint = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"moto.server did not start on port {port}") from None
                    time.sleep(0.1)
            yield Server(endpoint, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# ---- EventBridge → SQS -------------------------------------------------------------------------------------------


@dataclass
class SqsSetup:
    """A bus rule that sends every ``bench.sqs`` event of one source to one queue."""

    source: str
    queue_url: str


def setup_sqs_target(endpoint: str) -> SqsSetup:
    """Create a queue and a default-bus rule targeting it; return what producers and consumers need."""
    events, sqs = client(endpoint, "events"), client(endpoint, "sqs")
    tag = uuid.uuid4().hex[:8]
    queue_url = sqs.create_queue(QueueName=f"bench-{tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = f"bench.sqs.{tag}"
    events.put_rule(Name=f"bench-sqs-{tag}", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=f"bench-sqs-{tag}", Targets=[{"Id": "q", "Arn": queue_arn}])
    return SqsSetup(source=source, queue_url=queue_url)


def _entries(source: str, n: int = 10) -> list[dict[str, Any]]:
    return [{"Source": source, "DetailType": "bench", "Detail": json.dumps({"n": i, "pad": "x" * 64})}
            for i in range(n)]


@dataclass
class SqsThroughput:
    """Events accepted per second by put_events with a draining consumer, and how many reached the queue."""

    producers: int
    accepted: int
    seconds: float
    drained: int
    errors: int
    server_cpu_s: float
    drain_s: float = 0.0

    @property
    def cpu_ms_per_1000(self) -> float:
        """Server CPU milliseconds spent per 1,000 events (accepting, delivering and draining them)."""
        return self.server_cpu_s * 1000 * 1000 / self.accepted if self.accepted else float("nan")

    @property
    def rate(self) -> float:
        """Accepted events per second."""
        return self.accepted / self.seconds if self.seconds else 0.0


def sqs_throughput(server: Server, producers: int, seconds: float, consumers: int = 2,
                   drain_wait: float = 0.0) -> SqsThroughput:
    """``producers`` threads put 10-event batches for ``seconds`` while ``consumers`` threads drain the queue."""
    endpoint = server.endpoint
    setup = setup_sqs_target(endpoint)
    accepted = [0] * producers
    errors = [0] * producers
    drained = [0] * consumers
    stop_producing = threading.Event()
    stop_draining = threading.Event()
    batch = _entries(setup.source)

    def produce(i: int) -> None:
        events = raw_events(endpoint)
        try:
            while not stop_producing.is_set():
                try:
                    resp = events.call("PutEvents", {"Entries": batch})
                    accepted[i] += len(batch) - resp.get("FailedEntryCount", 0)
                except Exception:
                    errors[i] += 1
        finally:
            events.close()

    def drain(i: int) -> None:
        sqs = raw_sqs(endpoint)
        try:
            while not stop_draining.is_set():
                got = sqs.call("ReceiveMessage", {"QueueUrl": setup.queue_url, "MaxNumberOfMessages": 10,
                                                  "WaitTimeSeconds": 1}).get("Messages", [])
                if got:
                    sqs.call("DeleteMessageBatch", {"QueueUrl": setup.queue_url, "Entries": [
                        {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)]})
                    drained[i] += len(got)
        finally:
            sqs.close()

    consumer_threads = [threading.Thread(target=drain, args=(i,), daemon=True) for i in range(consumers)]
    producer_threads = [threading.Thread(target=produce, args=(i,), daemon=True) for i in range(producers)]
    for t in consumer_threads:
        t.start()
    cpu_before = process_cpu_seconds(server.pid)
    started = time.perf_counter()
    for t in producer_threads:
        t.start()
    time.sleep(seconds)
    stop_producing.set()
    for t in producer_threads:
        t.join()
    elapsed = time.perf_counter() - started
    # Let the consumers finish what was accepted, so "drained" shows nothing was lost: as long as they make progress
    # (delivery may trail acceptance), up to a bound.
    total = sum(accepted)
    drain_began = time.monotonic()
    idle_limit = drain_wait or DRAIN_WAIT_S
    last_count, last_progress = sum(drained), drain_began
    while sum(drained) < total:
        now = time.monotonic()
        if sum(drained) != last_count:
            last_count, last_progress = sum(drained), now
        if now - last_progress > idle_limit or now - drain_began > DRAIN_LIMIT_S:
            break
        time.sleep(0.1)
    drain_seconds = time.monotonic() - drain_began
    stop_draining.set()
    for t in consumer_threads:
        t.join()
    cpu = process_cpu_seconds(server.pid) - cpu_before
    return SqsThroughput(producers, total, elapsed, sum(drained), sum(errors), cpu, drain_seconds)


def put_latency_at_depth(endpoint: str, depths: tuple[int, ...] = (0, 2000),
                         samples: int = 30) -> dict[str, dict[int, float]]:
    """Median latency in ms, per queue depth, of put_events (10 entries → SQS target) and of a direct SendMessage.

    The local cloud delivers put_events asynchronously, so the SendMessage figure is where its queue depth would
    show; moto delivers inside put_events, so there both figures grow.

    One queue (and rule) per depth, filled first; the samples then alternate between them, so a change in the
    machine's load during the phase affects every depth alike instead of biasing the last one.
    """
    targets = {depth: setup_sqs_target(endpoint) for depth in depths}
    events, sqs = raw_events(endpoint), raw_sqs(endpoint)
    timings: dict[int, list[float]] = {depth: [] for depth in depths}
    sends: dict[int, list[float]] = {depth: [] for depth in depths}
    try:
        for depth, setup in targets.items():
            for _ in range(0, depth, 10):
                sqs.call("SendMessageBatch", {"QueueUrl": setup.queue_url, "Entries": [
                    {"Id": str(k), "MessageBody": "fill"} for k in range(10)]})
        for _ in range(samples):
            for depth, setup in targets.items():
                batch = _entries(setup.source)
                started = time.perf_counter()
                events.call("PutEvents", {"Entries": batch})
                timings[depth].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                sqs.call("SendMessage", {"QueueUrl": setup.queue_url, "MessageBody": "probe"})
                sends[depth].append((time.perf_counter() - started) * 1000)
    finally:
        events.close()
        sqs.close()
    return {"put_events": {depth: statistics.median(v) for depth, v in timings.items()},
            "send_message": {depth: statistics.median(v) for depth, v in sends.items()}}


# ---- EventBridge → Lambda ----------------------------------------------------------------------------------------

HANDLER = '''
import os, time, boto3
_table = boto3.resource("dynamodb", endpoint_url=os.environ["BENCH_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing").Table(os.environ["BENCH_TABLE"])

def handler(event, context):
    started = time.time()
    _table.put_item(Item={"id": event["id"], "sent": str(event["detail"]["sent"]), "started": str(started)})
    return {"ok": True}
'''


@dataclass
class LambdaSetup:
    """A rule → Lambda → DynamoDB pipeline for one event source."""

    source: str
    table: str


def setup_lambda_pipeline(endpoint: str) -> LambdaSetup:
    """Create the table, the function (handler records its start time), and a rule targeting the function."""
    tag = uuid.uuid4().hex[:8]
    ddb, lam, events, iam = (client(endpoint, s) for s in ("dynamodb", "lambda", "events", "iam"))
    table = f"bench-{tag}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    role = iam.create_role(RoleName=f"bench-{tag}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("bench_handler.py", HANDLER)
    fn = lam.create_function(FunctionName=f"bench-{tag}", Runtime="python3.11", Role=role,
                             Handler="bench_handler.handler", Code={"ZipFile": code.getvalue()}, Timeout=30,
                             MemorySize=256,
                             Environment={"Variables": {"BENCH_ENDPOINT": endpoint, "BENCH_TABLE": table}})
    source = f"bench.lambda.{tag}"
    events.put_rule(Name=f"bench-lambda-{tag}", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=f"bench-lambda-{tag}", Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    lam.add_permission(FunctionName=fn["FunctionName"], StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com")
    return LambdaSetup(source=source, table=table)


def _records(endpoint: str, table: str) -> list[dict[str, Any]]:
    ddb = client(endpoint, "dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _count(endpoint: str, table: str) -> int:
    ddb = client(endpoint, "dynamodb")
    total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _wait_for_records(endpoint: str, table: str, want: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while _count(endpoint, table) < want and time.monotonic() < deadline:
        time.sleep(0.3)
    return _records(endpoint, table)


def _lambda_event(source: str) -> dict[str, Any]:
    return {"Source": source, "DetailType": "bench", "Detail": json.dumps({"sent": time.time()})}


def warm_up(endpoint: str, setup: LambdaSetup, n: int = 20) -> None:
    """Send a few events and wait for them, so the measured runs hit warm workers."""
    events = client(endpoint, "events")
    for _ in range(n):
        events.put_events(Entries=[_lambda_event(setup.source)])
    _wait_for_records(endpoint, setup.table, n, timeout=60)


@dataclass
class LambdaLatency:
    """put_events → handler start latency at a paced rate."""

    sent: int
    recorded: int
    latencies_ms: list[float] = field(default_factory=list)


def lambda_latency(endpoint: str, setup: LambdaSetup, rate: float, seconds: float) -> LambdaLatency:
    """Send one event per put_events at ``rate``/s for ``seconds``; latency = handler start − client send time."""
    events = raw_events(endpoint)
    before = {item["id"]["S"] for item in _records(endpoint, setup.table)}
    n = int(rate * seconds)
    started = time.perf_counter()
    try:
        for i in range(n):
            due = started + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            events.call("PutEvents", {"Entries": [_lambda_event(setup.source)]})
    finally:
        events.close()
    items = _wait_for_records(endpoint, setup.table, len(before) + n, timeout=30)
    fresh = [it for it in items if it["id"]["S"] not in before]
    latencies = [(float(it["started"]["S"]) - float(it["sent"]["S"])) * 1000 for it in fresh]
    return LambdaLatency(sent=n, recorded=len(fresh), latencies_ms=latencies)


@dataclass
class LambdaThroughput:
    """Events per second through rule → Lambda → DynamoDB, from first send to last handler start."""

    sent: int
    recorded: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events that completed end to end per second."""
        return self.recorded / self.seconds if self.seconds else 0.0


def lambda_throughput(endpoint: str, setup: LambdaSetup, producers: int, total: int,
                      timeout: float = 30.0) -> LambdaThroughput:
    """``producers`` threads put ``total`` events in 10-event batches at full speed; time them end to end."""
    before = {item["id"]["S"] for item in _records(endpoint, setup.table)}
    sent = [0] * producers
    per_thread = total // producers

    def produce(i: int) -> None:
        events = raw_events(endpoint)
        try:
            while sent[i] < per_thread:
                resp = events.call("PutEvents", {"Entries": [_lambda_event(setup.source) for _ in range(10)]})
                sent[i] += 10 - resp.get("FailedEntryCount", 0)
        finally:
            events.close()

    first_send = time.time()
    threads = [threading.Thread(target=produce, args=(i,), daemon=True) for i in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = _wait_for_records(endpoint, setup.table, len(before) + sum(sent), timeout=timeout)
    fresh = [it for it in items if it["id"]["S"] not in before]
    last = max((float(it["started"]["S"]) for it in fresh), default=first_send)
    return LambdaThroughput(sent=sum(sent), recorded=len(fresh), seconds=max(1e-9, last - first_send))


# ---- report ------------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """Rows of (measure, value, target or baseline) printed as one table."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, name: str, value: str, note: str = "") -> None:
        """Append one row and echo it, so a long run shows progress."""
        self.rows.append((name, value, note))
        print(f"  .. {name}: {value} {note}", file=sys.stderr, flush=True)

    def render(self) -> str:
        """The table as text."""
        width = [max(len(r[i]) for r in [("measure", "value", "target / baseline"), *self.rows]) for i in range(3)]
        lines = [f"{'measure':<{width[0]}}  {'value':>{width[1]}}  target / baseline", "-" * (sum(width) + 4)]
        lines += [f"{a:<{width[0]}}  {b:>{width[1]}}  {c}" for a, b, c in self.rows]
        return "\n".join(lines)


def _guarded(report: Report, what: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:  # one broken part must not hide the others' figures
        report.add(what, "FAILED", f"{type(exc).__name__}: {str(exc)[:160]}")


def run(quick: bool, with_lambda: bool, with_baseline: bool) -> Report:
    """Run every phase and return the report."""
    report = Report()
    phase = 3.0 if quick else 5.0
    began = time.monotonic()
    with local_cloud() as server:
        endpoint = server.endpoint
        if with_lambda:
            def lambda_parts() -> None:
                setup = setup_lambda_pipeline(endpoint)
                warm_up(endpoint, setup)
                lat = lambda_latency(endpoint, setup, rate=100, seconds=phase)
                report.add("lambda: handler-start latency p50 @100 ev/s",
                           f"{percentile(lat.latencies_ms, 0.5):.1f} ms",
                           f"target <= 20 ms ({lat.recorded}/{lat.sent} recorded)")
                report.add("lambda: handler-start latency p99 @100 ev/s",
                           f"{percentile(lat.latencies_ms, 0.99):.1f} ms", "target <= 150 ms")
                thr = lambda_throughput(endpoint, setup, producers=4, total=int(300 * phase))
                report.add("lambda: end-to-end rule->Lambda->DynamoDB", f"{thr.rate:.0f} ev/s",
                           f"target >= 300 ({thr.recorded}/{thr.sent} recorded)")
            _guarded(report, "lambda", lambda_parts)
        ours: dict[int, SqsThroughput] = {}

        def sqs_parts() -> None:
            for producers in (1, 8):
                ours[producers] = sqs_throughput(server, producers, phase)
                r = ours[producers]
                report.add(f"sqs: put_events accepted, {producers} producer(s)", f"{r.rate:.0f} ev/s",
                           ("target >= 2000; " if producers == 8 else "")
                           + f"drained {r.drained}/{r.accepted} {r.drain_s:.1f} s after the producers stopped,"
                           f" errors {r.errors}")
                report.add(f"sqs: server CPU per 1000 events, {producers} producer(s)",
                           f"{r.cpu_ms_per_1000:.0f} ms", "put + deliver + receive + delete")
            found = put_latency_at_depth(endpoint)
            for what, label in (("put_events", "put_events(10)"), ("send_message", "SendMessage")):
                depth = found[what]
                report.add(f"sqs: {label} p50 at queue depth 0", f"{depth[0]:.1f} ms")
                report.add(f"sqs: {label} p50 at queue depth 2000", f"{depth[2000]:.1f} ms",
                           f"ratio {depth[2000] / depth[0]:.2f}x (no collapse: ~1x)")
        _guarded(report, "sqs", sqs_parts)
    if with_baseline and time.monotonic() - began < TIME_LIMIT_S - 2 * phase - 40:
        with moto_baseline() as server:
            def baseline_parts() -> None:
                for producers in (1, 8):
                    r = sqs_throughput(server, producers, phase, drain_wait=3.0)
                    mine = ours.get(producers)
                    ratio = f"local cloud is {mine.rate / r.rate:.1f}x; " if mine and r.rate else ""
                    report.add(f"baseline moto: accepted, {producers} producer(s)", f"{r.rate:.0f} ev/s",
                               f"{ratio}drained {r.drained}/{r.accepted} {r.drain_s:.1f} s after, errors {r.errors}")
                    cpu_ratio = (f"local cloud uses {mine.cpu_ms_per_1000 / r.cpu_ms_per_1000:.2f}x"
                                 if mine and r.accepted else "")
                    report.add(f"baseline moto: server CPU per 1000 events, {producers} producer(s)",
                               f"{r.cpu_ms_per_1000:.0f} ms", cpu_ratio)
                # moto's fill cost grows with the square of the depth (~70 s to reach 2,000 here): stop at 500.
                found = put_latency_at_depth(server.endpoint, depths=(0, BASELINE_DEPTH), samples=6)
                for what, label in (("put_events", "put_events(10)"), ("send_message", "SendMessage")):
                    depth = found[what]
                    report.add(f"baseline moto: {label} p50 at depth 0", f"{depth[0]:.1f} ms")
                    report.add(f"baseline moto: {label} p50 at depth {BASELINE_DEPTH}",
                               f"{depth[BASELINE_DEPTH]:.1f} ms", f"ratio {depth[BASELINE_DEPTH] / depth[0]:.2f}x")
            _guarded(report, "baseline", baseline_parts)
    else:
        report.add("baseline moto", "skipped", "time budget" if with_baseline else "--no-baseline")
    report.add("benchmark wall time", f"{time.monotonic() - began:.0f} s", "bound < 180 s")
    return report


def main(argv: list[str] | None = None) -> None:
    """Parse options, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s phases instead of 5 s")
    parser.add_argument("--no-lambda", action="store_true", help="skip the Lambda phases")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare moto baseline")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    report = run(quick=args.quick, with_lambda=not args.no_lambda, with_baseline=not args.no_baseline)
    print(report.render())


if __name__ == "__main__":
    main()
