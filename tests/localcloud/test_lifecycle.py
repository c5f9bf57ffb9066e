"""The local cloud's lifecycle: start, reuse, refuse a busy port, status, reset, stop."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest

from eventdeploy.localcloud import lifecycle
from tests.conftest import free_port


def _sqs(endpoint: str):
    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_start_reuse_reset_stop(tmp_path: Path) -> None:
    port = free_port()
    first = lifecycle.start(port=port, state_dir=tmp_path)
    try:
        assert first.running and first.endpoint == f"http://127.0.0.1:{port}" and not first.reused
        assert (tmp_path / "server.json").is_file() and Path(first.log_file or "").is_file()
        again = lifecycle.start(port=port, state_dir=tmp_path)
        assert again.reused and again.pid == first.pid
        sqs = _sqs(first.endpoint or "")
        sqs.create_queue(QueueName="before-reset")
        lifecycle.reset(tmp_path)
        assert not sqs.list_queues().get("QueueUrls")
        assert lifecycle.status(tmp_path).running
    finally:
        assert lifecycle.stop(tmp_path)
    assert not lifecycle.status(tmp_path).running
    assert not lifecycle.stop(tmp_path)


def test_port_in_use_by_another_program_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(lifecycle.LocalCloudError, match=f"port {port} .* in use by another program"):
            lifecycle.start(port=port, state_dir=tmp_path)


def test_reset_without_server_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(lifecycle.LocalCloudError, match="eventdeploy localcloud start"):
        lifecycle.reset(tmp_path)
