"""Shared fixtures: one local cloud per test worker, and plain boto3 clients that talk to it."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from eventdeploy.localcloud import lifecycle

DEFAULT_ACCOUNT = "123456789012"
REGION = "us-east-1"
# Emulator waits (retry backoff, Wait states, poll intervals) run at 1/100 of real time in tests.
TEST_TIME_SCALE = 0.01


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy and return it; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def localcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lifecycle.LocalCloudStatus]:
    """A local cloud of this test worker's own, on a free port, stopped at the end of the session."""
    state_dir = tmp_path_factory.mktemp("localcloud")
    status = lifecycle.start(port=free_port(), state_dir=state_dir, time_scale=TEST_TIME_SCALE)
    try:
        yield status
    finally:
        lifecycle.stop(state_dir)


@pytest.fixture(scope="session")
def aws(localcloud: lifecycle.LocalCloudStatus) -> Callable[..., Any]:
    """``aws("sqs")`` → a plain boto3 client on the local cloud; ``account_id=`` acts as another account."""
    cache: dict[tuple[str, str, str], Any] = {}

    def make(service: str, account_id: str = DEFAULT_ACCOUNT, region: str = REGION) -> Any:
        key = (service, account_id, region)
        if key not in cache:
            client = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            ).client(service, endpoint_url=localcloud.endpoint,
                     config=Config(retries={"max_attempts": 2, "mode": "standard"}))
            if account_id != DEFAULT_ACCOUNT:
                def as_account(request: Any, _acct: str = account_id, **_: Any) -> None:
                    request.headers["x-moto-account-id"] = _acct
                client.meta.events.register("before-send.*", as_account)
            cache[key] = client
        return cache[key]

    return make
