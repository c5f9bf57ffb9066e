"""Run buildspec commands on the host shell, one at a time, carrying exported variables and the cwd across them.

CodeBuild (buildspec 0.2) runs every command of a build in the same shell session: an ``export`` or ``cd`` in
``install`` is still in effect in ``build``. Each command here runs in a fresh ``sh``/``bash`` that first restores
the session saved by the previous command and saves it again afterwards.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SHELL_PATHS = {"sh": "/bin/sh", "bash": "/bin/bash"}


class Interrupted(Exception):
    """The command was killed because the build was stopped or timed out (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Session:
    """A build's shell session: where its state is kept and what it started with."""

    state_dir: Path
    start_dir: Path
    env: dict[str, str]
    shell: str = "sh"
    # Set by the build itself after the session started (e.g. CODEBUILD_BUILD_SUCCEEDING=0 after a failure);
    # they win over what a command exported.
    forced: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "cwd").write_text(str(self.start_dir))


def _script(session: Session, command: str) -> str:
    state = session.state_dir
    forced = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (session.forced or {}).items())
    # Restore the previous command's exports (readonly-variable noise silenced) and directory, run the
    # command, then save both for the next one; the command's exit status is the script's.
    return (
        f'[ -f "{state}/env.sh" ] && . "{state}/env.sh" >/dev/null 2>&1\n'
        f"{forced}"
        f'cd "$(cat "{state}/cwd")" || exit 1\n'
        f"{command}\n"
        "__codebuild_rc=$?\n"
        f'export -p > "{state}/env.sh.tmp" && mv "{state}/env.sh.tmp" "{state}/env.sh"\n'
        f'pwd > "{state}/cwd"\n'
        "exit $__codebuild_rc\n"
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_command(
    session: Session, command: str, output: Callable[[str], None], deadline: float,
    stopped: threading.Event,
) -> int:
    """Run ``command``; stream its lines to ``output``; return its exit status or raise Interrupted."""
    proc = subprocess.Popen(
        [SHELL_PATHS[session.shell], "-c", _script(session, command)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=session.env, cwd=str(session.start_dir), start_new_session=True,
    )

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            output(raw.decode("utf-8", "replace").rstrip("\n"))

    reader = threading.Thread(target=pump, name="codebuild-output", daemon=True)
    reader.start()
    try:
        while True:
            try:
                code = proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            if stopped.is_set():
                _kill(proc)
                proc.wait()
                raise Interrupted("STOPPED")
            if time.monotonic() >= deadline:
                _kill(proc)
                proc.wait()
                raise Interrupted("TIMED_OUT")
    finally:
        # Background children of the command must not outlive it (CodeBuild tears the container down),
        # nor hold the output pipe open.
        _kill(proc)
        reader.join(timeout=2)
    return code


def read_variables(session: Session, names: list[str]) -> dict[str, str]:
    """The current values of ``names`` in the session (buildspec ``env/exported-variables``)."""
    if not names:
        return {}
    out = session.state_dir / "exported"
    out.mkdir(exist_ok=True)
    lines = "".join(f'printf "%s" "${{{n}}}" > "{out}/{n}"\n' for n in names if n.isidentifier())
    never = threading.Event()
    run_command(session, lines, lambda _line: None, time.monotonic() + 30, never)
    return {n: (out / n).read_text() for n in names if (out / n).is_file()}
