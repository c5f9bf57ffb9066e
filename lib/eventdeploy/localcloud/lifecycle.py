"""Start, stop, inspect and reset the local cloud's background server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
STATE_FILE = "server.json"
LOG_FILE = "localcloud.log"


class LocalCloudError(RuntimeError):
    """The local cloud could not be started, reached or stopped; the message says what to do."""


@dataclass
class LocalCloudStatus:
    """Where the local cloud runs (or that it does not)."""

    running: bool
    endpoint: str | None = None
    pid: int | None = None
    host: str | None = None
    port: int | None = None
    log_file: str | None = None
    state_dir: str | None = None
    time_scale: float | None = None
    extensions: list[str] | None = None
    reused: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON output."""
        return asdict(self)


def default_state_dir() -> Path:
    """``$EVENTDEPLOY_LOCALCLOUD_DIR``, else ``.localcloud`` at the project root above the cwd, else a user cache."""
    env = os.environ.get("EVENTDEPLOY_LOCALCLOUD_DIR")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder / ".localcloud"
    return Path.home() / ".cache" / "eventdeploy" / "localcloud"


def _health(host: str, port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_localcloud/health", timeout=timeout) as resp:
            data = json.loads(resp.read())
            return data if isinstance(data, dict) and data.get("status") == "running" else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / STATE_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _status_from(state: dict[str, Any], health: dict[str, Any], state_dir: Path, reused: bool) -> LocalCloudStatus:
    return LocalCloudStatus(
        running=True,
        endpoint=health["endpoint"],
        pid=int(health["pid"]),
        host=state.get("host"),
        port=int(state["port"]),
        log_file=state.get("log_file"),
        state_dir=str(state_dir),
        time_scale=health.get("time_scale"),
        extensions=health.get("extensions"),
        reused=reused,
    )


def status(state_dir: Path | None = None) -> LocalCloudStatus:
    """Whether the local cloud recorded in ``state_dir`` runs, and where."""
    state_dir = state_dir or default_state_dir()
    state = _read_state(state_dir)
    if not state:
        return LocalCloudStatus(running=False, state_dir=str(state_dir))
    health = _health(state["host"], int(state["port"]))
    if health is None or int(health["pid"]) != int(state["pid"]):
        return LocalCloudStatus(running=False, state_dir=str(state_dir), log_file=state.get("log_file"))
    return _status_from(state, health, state_dir, reused=False)


def start(
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    state_dir: Path | None = None,
    time_scale: float = 1.0,
    timeout: float = 30.0,
) -> LocalCloudStatus:
    """Start the local cloud in a background process (or reuse the running one) and wait until it answers."""
    state_dir = (state_dir or default_state_dir()).resolve()
    current = status(state_dir)
    if current.running:
        if current.port != port or current.host != host:
            raise LocalCloudError(
                f"a local cloud already runs at {current.endpoint} (state in {state_dir}); "
                f"stop it with `eventdeploy localcloud stop` before starting one on {host}:{port}"
            )
        current.reused = True
        return current
    if _port_open(host, port):
        health = _health(host, port)
        what = f"another eventdeploy local cloud (pid {health['pid']})" if health else "another program"
        raise LocalCloudError(
            f"port {port} on {host} is already in use by {what}; stop it, or start with --port <free port>"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    cmd = [
        sys.executable, "-m", "eventdeploy.localcloud.server",
        "--host", host, "--port", str(port), "--state-dir", str(state_dir), "--time-scale", str(time_scale),
    ]
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log_path, "ab") as log:
        # A session of its own: stopping the server must also end the Lambda workers it spawned.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    state = {"pid": proc.pid, "host": host, "port": port, "log_file": str(log_path),
             "started_at": time.time(), "time_scale": time_scale}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise LocalCloudError(f"the local cloud exited with code {proc.returncode} while starting; "
                                  f"log {log_path}:\n{tail}")
        health = _health(host, port, timeout=0.5)
        if health and int(health["pid"]) == proc.pid:
            (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
            return _status_from(state, health, state_dir, reused=False)
        time.sleep(0.05)
    _terminate(proc.pid)
    raise LocalCloudError(f"the local cloud did not answer within {timeout:.0f} s; see {log_path}")


def _terminate(pid: int, grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
                if waited == pid:
                    return
            except ChildProcessError:
                if not _pid_alive(pid):
                    return
            time.sleep(0.05)


def stop(state_dir: Path | None = None) -> bool:
    """Stop the local cloud recorded in ``state_dir``; True if one was running."""
    state_dir = (state_dir or default_state_dir()).resolve()
    state = _read_state(state_dir)
    if not state:
        return False
    pid = int(state["pid"])
    was_running = _pid_alive(pid) and _health(state["host"], int(state["port"])) is not None
    if _pid_alive(pid):
        _terminate(pid)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return was_running


def reset(state_dir: Path | None = None) -> None:
    """Clear every resource and all state in the running local cloud."""
    current = status(state_dir)
    if not current.running:
        raise LocalCloudError("no local cloud is running; start one with `eventdeploy localcloud start`")
    req = urllib.request.Request(f"{current.endpoint}/_localcloud/reset", data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        if resp.status != 200:
            raise LocalCloudError(f"reset failed with HTTP {resp.status}")
