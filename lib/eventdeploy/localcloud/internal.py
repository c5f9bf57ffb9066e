"""boto3 clients that extensions use to call the local cloud's own API as a given account.

Extensions deliver to targets through the public API (as AWS's services do), so what a delivery does is
exactly what a caller would see. The ``x-moto-account-id`` header makes moto act as ``account_id``.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from eventdeploy.localcloud.extensions import Settings

_settings: Settings | None = None
_clients: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()

TEST_ACCESS_KEY = "testing"
TEST_SECRET_KEY = "testing"


def configure(settings: Settings) -> None:
    """Remember the server's endpoint; called once by the server before extensions install."""
    global _settings
    _settings = settings


def settings() -> Settings:
    """The running server's settings."""
    if _settings is None:
        raise RuntimeError("eventdeploy.localcloud.internal used outside the local cloud server process")
    return _settings


def client(service: str, account_id: str, region: str) -> Any:
    """A cached boto3 client for ``service`` acting as ``account_id`` in ``region`` against this server."""
    key = (service, account_id, region)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        # boto3 clients are safe to share between threads once made; making them is not, and the server starts a
        # thread per request, so one client per (service, account, region), made under the lock.
        found = _clients.get(key)
        if found is not None:
            return found
        made = _make(service, account_id, region)
        _clients[key] = made
        return made


def _make(service: str, account_id: str, region: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=TEST_ACCESS_KEY, aws_secret_access_key=TEST_SECRET_KEY, region_name=region
    )
    new = session.client(
        service,
        endpoint_url=settings().endpoint,
        # inject_host_prefix off: the endpoint is an address, where "sync-" (StartSyncExecution) and the like
        # would make a host that does not resolve.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=64,
                      connect_timeout=5, read_timeout=120, inject_host_prefix=False),
    )

    def _as_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    new.meta.events.register("before-send.*", _as_account)
    return new
