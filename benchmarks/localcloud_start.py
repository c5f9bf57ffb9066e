"""Print how long the local cloud takes from start to healthy (target: under 5 s), over a few starts."""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from pathlib import Path

from eventdeploy.localcloud import lifecycle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(runs: int = 5) -> None:
    """Start and stop the local cloud ``runs`` times; print each start-to-healthy time and the median."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            lifecycle.start(port=_free_port(), state_dir=Path(tmp))
            times.append(time.perf_counter() - began)
            lifecycle.stop(Path(tmp))
    print(f"local cloud start to healthy over {runs} starts: "
          + ", ".join(f"{t:.2f}" for t in times) + f" s; median {statistics.median(times):.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
