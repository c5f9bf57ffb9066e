"""Measure the Lambda runtime on this machine: ``python -m eventdeploy.localcloud.lambda_runtime.bench``.

Starts a local cloud of its own on a free port and prints: cold start, warm synchronous invoke round trip
through boto3, and asynchronous invoke → handler start latency and throughput (handlers write their start time
to a local file, so the figures measure the runtime, not another service the handler would call).
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


def main(argv: list[str] | None = None) -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m eventdeploy.localcloud.lambda_runtime.bench")
    parser.add_argument("--sync", type=int, default=300, help="warm synchronous invokes to time")
    parser.add_argument("--async-events", type=int, default=1000, help="asynchronous invokes to send")
    parser.add_argument("--senders", type=int, default=4, help="threads sending the asynchronous invokes")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.sync, args.async_events, args.senders), indent=2))


if __name__ == "__main__":
    main()
