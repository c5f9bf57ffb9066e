"""Measure the Lambda runtime on this machine: ``python -m eventdeploy.localcloud.lambda_runtime.bench``.

Starts a local cloud of its own on a free port and prints: cold start, warm synchronous invoke round trip
through boto3, and asynchronous invoke → handler start latency and throughput (handlers write their start time
to a local file, so the figures measure the runtime, not another service the handler would call).
``--in-process`` measures the runtime without HTTP in front, the way EventBridge delivery calls it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3

from eventdeploy.localcloud import lifecycle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", source)
    return buf.getvalue()


def run(sync_count: int, async_count: int, senders: int) -> dict[str, Any]:
    """Run the measurements and return the figures."""
    with tempfile.TemporaryDirectory(prefix="lambda-bench-") as tmp:
        state = Path(tmp) / "cloud"
        starts = Path(tmp) / "starts.txt"
        status = lifecycle.start(port=_free_port(), state_dir=state, time_scale=0.01)
        try:
            def client(service: str) -> Any:
                return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                             region_name="us-east-1").client(service, endpoint_url=status.endpoint)

            role = client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            lam = client("lambda")
            lam.create_function(FunctionName="echo", Runtime="python3.11", Role=role, Handler="app.handler",
                                Code={"ZipFile": _zip("def handler(event, context):\n    return event\n")})
            began = time.perf_counter()
            lam.invoke(FunctionName="echo", Payload=b"{}")
            cold_ms = (time.perf_counter() - began) * 1000
            warm = []
            for _ in range(sync_count):
                began = time.perf_counter()
                lam.invoke(FunctionName="echo", Payload=b'{"a": 1}')
                warm.append((time.perf_counter() - began) * 1000)
            recorder = ("import os, time\n"
                        f"fd = os.open({str(starts)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
                        "def handler(event, context):\n"
                        "    os.write(fd, ('%r %r\\n' % (event['sent'], time.time())).encode())\n")
            lam.create_function(FunctionName="recorder", Runtime="python3.11", Role=role, Handler="app.handler",
                                Code={"ZipFile": _zip(recorder)})
            lam.invoke(FunctionName="recorder", Payload=b'{"sent": 0}')

            def send(count: int) -> None:
                own = client("lambda")
                for _ in range(count):
                    own.invoke(FunctionName="recorder", InvocationType="Event",
                               Payload=json.dumps({"sent": time.time()}).encode())

            began_wall = time.time()
            threads = [threading.Thread(target=send, args=(async_count // senders,)) for _ in range(senders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            accepted_s = time.time() - began_wall
            expected = (async_count // senders) * senders
            deadline = time.time() + 120
            lines: list[list[str]] = []
            while time.time() < deadline:
                lines = [line.split() for line in starts.read_text().splitlines() if not line.startswith("0 ")]
                if len(lines) >= expected:
                    break
                time.sleep(0.05)
            latencies = [(float(end) - float(sent)) * 1000 for sent, end in lines]
            handled_s = max(float(end) for _, end in lines) - began_wall
        finally:
            lifecycle.stop(state)
    return {
        "cold_start_invoke_ms": round(cold_ms, 1),
        "warm_sync_invoke_ms": {"p50": round(statistics.median(warm), 2), "p95": round(_pct(warm, 0.95), 2)},
        "async_events": len(lines),
        "async_accept_per_s": round(expected / accepted_s),
        "async_handled_per_s": round(len(lines) / handled_s),
        "async_invoke_to_handler_start_ms": {"p50": round(statistics.median(latencies), 2),
                                             "p95": round(_pct(latencies, 0.95), 2)},
        "load_average": os.getloadavg()[0],
    }


def run_in_process(count: int, rate: float) -> dict[str, Any]:
    """The runtime inside this process, without HTTP in front (the path EventBridge delivery takes).

    A local cloud is started only for STS (workers assume their role there); functions live in this process's
    moto backends. Measures a synchronous invoke's wall and CPU time, and Event invokes offered at ``rate``/s.
    """
    import base64

    from moto.awslambda.utils import get_backend
    from moto.core.config import default_user_config
    from moto.iam.models import iam_backends

    from eventdeploy.localcloud import internal
    from eventdeploy.localcloud.extensions import Settings
    from eventdeploy.localcloud.lambda_runtime import patch
    from eventdeploy.localcloud.lambda_runtime.service import LambdaRuntime
    from eventdeploy.localcloud.lambda_runtime.settings import RuntimeSettings

    with tempfile.TemporaryDirectory(prefix="lambda-bench-") as tmp:
        state = Path(tmp) / "cloud"
        starts = Path(tmp) / "starts.txt"
        status = lifecycle.start(port=_free_port(), state_dir=state, time_scale=0.01)
        runtime = None
        try:
            default_user_config["lambda"]["use_docker"] = False
            assert status.host is not None and status.port is not None
            internal.configure(Settings(host=status.host, port=status.port, state_dir=Path(tmp) / "in-process"))
            runtime = LambdaRuntime(RuntimeSettings.from_env(), Path(tmp) / "in-process", status.endpoint)
            patch.install(runtime)
            account, region = "123456789012", "us-east-1"
            role = iam_backends[account]["aws"].create_role("bench", "{}", "/", None, "", [], None).arn
            recorder = ("import os, time\n"
                        f"fd = os.open({str(starts)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
                        "def handler(event, context):\n"
                        "    os.write(fd, ('%r %r\\n' % (event['sent'], time.time())).encode())\n")
            backend = get_backend(account, region)
            backend.create_function({"FunctionName": "recorder", "Runtime": "python3.11", "Role": role,
                                     "Handler": "app.handler",
                                     "Code": {"ZipFile": base64.b64encode(_zip(recorder)).decode()}})
            backend.invoke("recorder", None, '{"sent": 0}', {}, {})
            sync_n = 1000
            began, cpu = time.perf_counter(), time.process_time()
            for _ in range(sync_n):
                backend.invoke("recorder", None, '{"sent": 0}', {}, {})
            sync_wall_ms = (time.perf_counter() - began) * 1000 / sync_n
            sync_cpu_ms = (time.process_time() - cpu) * 1000 / sync_n

            def offer(n: int) -> float:
                began = time.time()
                for i in range(n):
                    backend.invoke("recorder", None, json.dumps({"sent": time.time()}),
                                   {"X-Amz-Invocation-Type": "Event"}, {})
                    pause = began + (i + 1) / rate - time.time()
                    if pause > 0:
                        time.sleep(pause)
                return began

            # Warm-up: the asynchronous threads scale out to several workers; their cold starts are not measured.
            offer(200)
            time.sleep(3)
            starts.write_text("")
            began_wall = offer(count)
            offered_s = time.time() - began_wall
            deadline = time.time() + 120
            lines: list[list[str]] = []
            while time.time() < deadline:
                lines = [line.split() for line in starts.read_text().splitlines() if not line.startswith("0 ")]
                if len(lines) >= count:
                    break
                time.sleep(0.05)
            latencies = [(float(end) - float(sent)) * 1000 for sent, end in lines]
            handled_s = max(float(end) for _, end in lines) - began_wall
        finally:
            if runtime is not None:
                runtime.shutdown()
            lifecycle.stop(state)
    return {
        "in_process_sync_invoke_ms": {"wall": round(sync_wall_ms, 3), "server_cpu": round(sync_cpu_ms, 3)},
        "in_process_async_offered_per_s": round(count / offered_s),
        "in_process_async_handled_per_s": round(len(lines) / handled_s),
        "in_process_async_enqueue_to_handler_start_ms": {"p50": round(statistics.median(latencies), 2),
                                                         "p95": round(_pct(latencies, 0.95), 2)},
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m eventdeploy.localcloud.lambda_runtime.bench")
    parser.add_argument("--sync", type=int, default=300, help="warm synchronous invokes to time")
    parser.add_argument("--async-events", type=int, default=1000, help="asynchronous invokes to send")
    parser.add_argument("--senders", type=int, default=4, help="threads sending the asynchronous invokes")
    parser.add_argument("--in-process", action="store_true",
                        help="measure the runtime inside this process (no HTTP in front), as EventBridge uses it")
    parser.add_argument("--rate", type=float, default=350.0, help="Event invokes offered per second (--in-process)")
    args = parser.parse_args(argv)
    if args.in_process:
        print(json.dumps(run_in_process(args.async_events, args.rate), indent=2))
    else:
        print(json.dumps(run(args.sync, args.async_events, args.senders), indent=2))


if __name__ == "__main__":
    main()
