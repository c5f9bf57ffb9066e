"""One execution environment: a ``python -m awslambdaric`` process bound to its own Runtime API endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import awslambdaric

from eventdeploy.localcloud.lambda_runtime.credentials import Credentials
from eventdeploy.localcloud.lambda_runtime.runtime_api import Invocation, RuntimeApi
from eventdeploy.localcloud.lambda_runtime.spec import FunctionSpec

# Lambda's limit for the init phase of on-demand functions (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
INIT_LIMIT_S = 10.0
# Size at which a worker's captured-output file is emptied (after it was fully read).
_OUT_FILE_LIMIT = 4 * 1024 * 1024


@dataclass
class Outcome:
    """What one invocation produced, in the terms the Invoke API and the function's logs report it."""

    request_id: str
    status: str  # success | error | timeout | exit | init_error
    payload: bytes
    duration_ms: float
    init_duration_ms: float | None = None
    max_memory_mb: int = 0
    error_type: str | None = None
    lines: list[str] = field(default_factory=list)
    worker_dead: bool = False

    @property
    def function_error(self) -> str | None:
        """The ``X-Amz-Function-Error`` value: every failure of a Python handler is reported ``Unhandled``."""
        return None if self.status == "success" else "Unhandled"


def _error_payload(request_id: str, error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": error_type}).encode()


class Worker:
    """A warm-reusable execution environment of one function version (one invocation at a time)."""

    def __init__(self, spec: FunctionSpec, task_root: Path, extra_paths: list[Path], credentials: Credentials,
                 endpoint: str, scratch_dir: Path) -> None:
        self.spec = spec
        self.id = uuid.uuid4().hex
        self.fingerprint = spec.fingerprint
        now = datetime.now(UTC)
        self.log_stream = f"{now:%Y/%m/%d}/[{spec.version}]{self.id}"
        self.api = RuntimeApi()
        scratch_dir.mkdir(parents=True, exist_ok=True)
        self.out_path = scratch_dir / f"{self.id}.out"
        # Each execution environment has a /tmp of its own; tempfile and most libraries follow TMPDIR.
        self.tmp_dir = scratch_dir / f"{self.id}.tmp"
        self.tmp_dir.mkdir()
        # The child writes its stdout/stderr to a file; reading it after each reply keeps every line the handler
        # wrote before returning, with no pipe that could fill up and block the handler.
        # Append mode (inherited by the child) lets the file be truncated between invocations without holes.
        self._out = open(self.out_path, "ab")  # noqa: SIM115 - lives as long as the worker
        self._reader = open(self.out_path, "rb")  # noqa: SIM115
        self._status_fd: int | None = None
        self._kill_lock = threading.Lock()
        self.cold = True
        self.dead = False
        self.last_used = time.monotonic()
        self.invocations = 0
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", spec.handler],
            cwd=task_root, env=self._environment(task_root, extra_paths, credentials, endpoint),
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT, close_fds=True,
        )

    def _environment(self, task_root: Path, extra_paths: list[Path], creds: Credentials, endpoint: str) -> dict[str, str]:
        """The runtime environment variables Lambda defines, plus the function's own ones."""
        spec = self.spec
        env: dict[str, str] = {
            # Handlers' boto3 calls go to the local cloud (the function may override this with its own variable).
            "AWS_ENDPOINT_URL": endpoint,
        }
        env.update(dict(spec.environment))
        venv_bin = str(Path(sys.executable).parent)
        env.update({
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_SESSION_TOKEN": creds.session_token,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(awslambdaric.__file__).parent),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": os.pathsep.join([str(task_root), *(str(p) for p in extra_paths)]),
            "TMPDIR": str(self.tmp_dir),
        })
        return env

    # ------------------------------------------------------------------------------------------
    def _read_lines(self) -> list[str]:
        try:
            data = self._reader.read()
        except ValueError:  # closed: the worker was stopped by a reset while this invocation ran
            return []
        if not data:
            return []
        if self._reader.tell() > _OUT_FILE_LIMIT:
            # Everything so far was read: start the file over so a chatty worker does not fill the disk.
            os.truncate(self.out_path, 0)
            self._reader.seek(0)
        text = data.decode("utf-8", errors="replace")
        # Lambda splits records on newlines only; the runtime joins a traceback's lines with \r to keep it one record.
        return [line for line in text.rstrip("\n").split("\n")]

    def _memory_mb(self, field: str) -> int:
        """``VmHWM`` (peak) or ``VmRSS`` (current) resident memory of the process, rounded up to MB."""
        try:
            if self._status_fd is None:
                self._status_fd = os.open(f"/proc/{self.proc.pid}/status", os.O_RDONLY)
            # One pread on a kept descriptor: this runs on every invocation.
            text = os.pread(self._status_fd, 8192, 0).decode("ascii", errors="replace")
            start = text.index(field) + len(field)
            return max(1, -(-int(text[start:text.index("kB", start)]) // 1024))
        except (OSError, ValueError):
            return 0

    def _max_memory_mb(self) -> int:
        """Peak resident memory, as REPORT's Max Memory Used."""
        return self._memory_mb("VmHWM:")

    def _wait_init(self, request_id: str) -> Outcome | None:
        """Wait for the runtime's first ``/next``; an Outcome if init failed instead."""
        deadline = self.started + INIT_LIMIT_S
        while not self.api.ready.wait(0.01):
            reply = self.api.wait_reply(0)
            if reply is not None and reply.kind == "init_error":
                self.proc.wait(timeout=5)
                body = reply.body
                try:
                    error = json.loads(body)
                    if isinstance(error, dict) and not error.get("requestId"):
                        error["requestId"] = request_id
                        body = json.dumps(error).encode()
                    error_type = str(error.get("errorType") or reply.error_type or "Runtime.Unknown")
                except ValueError:
                    error_type = reply.error_type or "Runtime.Unknown"
                return self._finish_dead(request_id, "init_error", body, error_type)
            if self.proc.poll() is not None:
                return self._finish_dead(request_id, "exit", _error_payload(
                    request_id, "Runtime.ExitError", f"Runtime exited with error: {self._exit_text()}"),
                    "Runtime.ExitError")
            if time.perf_counter() > deadline:
                self.proc.kill()
                self.proc.wait(timeout=5)
                return self._finish_dead(request_id, "timeout", _error_payload(
                    request_id, "Sandbox.Timedout", f"Init phase did not complete within {INIT_LIMIT_S:.2f} seconds"),
                    "Sandbox.Timedout")
        return None

    def _exit_text(self) -> str:
        code = self.proc.returncode
        return f"signal: {-code}" if code is not None and code < 0 else f"exit status {code}"

    def _finish_dead(self, request_id: str, status: str, payload: bytes, error_type: str,
                     duration_ms: float = 0.0) -> Outcome:
        lines = self._read_lines()
        outcome = Outcome(request_id, status, payload, duration_ms, self._init_ms(), self._max_memory_mb(),
                          error_type, lines, worker_dead=True)
        self.kill()
        return outcome

    def _init_ms(self) -> float | None:
        if not self.cold:
            return None
        end = self.api.ready_at or time.perf_counter()
        return (end - self.started) * 1000.0

    def invoke(self, request_id: str, payload: bytes, invoked_arn: str, client_context: str | None = None,
               trace_id: str | None = None) -> Outcome:
        """Run one event through the handler; the worker is dead afterwards if the Outcome says so."""
        self.invocations += 1
        failed_init = self._wait_init(request_id) if self.cold else None
        if failed_init is not None:
            return failed_init
        init_ms = self._init_ms()
        self.cold = False
        timeout = self.spec.timeout_s
        pre_lines = self._read_lines()  # init output belongs in the log before START's records
        start = time.perf_counter()
        self.api.deliver(Invocation(request_id, payload, int((time.time() + timeout) * 1000), invoked_arn,
                                    client_context, trace_id))
        reply = None
        while reply is None:
            remaining = start + timeout - time.perf_counter()
            if remaining <= 0:
                break
            reply = self.api.wait_reply(min(remaining, 0.1))
            if reply is None and self._memory_mb("VmRSS:") > self.spec.memory_mb:
                # Over its memory size Lambda's sandbox kills the runtime (sampled here every 0.1 s).
                self.proc.kill()
                self.proc.wait(timeout=5)
                out = self._finish_dead(request_id, "exit", _error_payload(
                    request_id, "Runtime.OutOfMemory", "Runtime exited with error: signal: killed"),
                    "Runtime.OutOfMemory", (time.perf_counter() - start) * 1000.0)
                out.init_duration_ms, out.max_memory_mb = init_ms, self.spec.memory_mb
                out.lines = pre_lines + out.lines
                return out
            if reply is None and self.proc.poll() is not None:
                reply = self.api.wait_reply(0)
                if reply is None:
                    duration = (time.perf_counter() - start) * 1000.0
                    out = self._finish_dead(request_id, "exit", _error_payload(
                        request_id, "Runtime.ExitError", f"Runtime exited with error: {self._exit_text()}"),
                        "Runtime.ExitError", duration)
                    out.init_duration_ms = init_ms
                    out.lines = pre_lines + out.lines
                    return out
        if reply is None:
            duration = timeout * 1000.0
            memory = self._max_memory_mb()
            self.proc.kill()
            self.proc.wait(timeout=5)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            lines = pre_lines + self._read_lines()
            self.kill()
            lines.append(f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds")
            return Outcome(request_id, "timeout", _error_payload(
                request_id, "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds"),
                duration, init_ms, memory, "Sandbox.Timedout", lines, worker_dead=True)
        duration = (reply.at - start) * 1000.0
        self.last_used = time.monotonic()
        lines = pre_lines + self._read_lines()
        if reply.kind == "response":
            return Outcome(request_id, "success", reply.body, duration, init_ms, self._max_memory_mb(), None, lines)
        error_type = reply.error_type
        try:
            error_type = json.loads(reply.body).get("errorType") or error_type
        except (ValueError, AttributeError):
            pass
        return Outcome(request_id, "error", reply.body, duration, init_ms, self._max_memory_mb(),
                       error_type or "Runtime.Unknown", lines)

    def kill(self) -> None:
        """End the process and its Runtime API endpoint; safe to call twice."""
        with self._kill_lock:
            if self.dead:
                return
            self.dead = True
            self._stop_process()

    def _stop_process(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.api.close()
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None
        for handle in (self._out, self._reader):
            try:
                handle.close()
            except OSError:
                pass
        try:
            self.out_path.unlink()
        except OSError:
            pass
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
