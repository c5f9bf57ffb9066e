"""Execution-role credentials for workers: assumed through the local STS, as Lambda does, and cached per role."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from eventdeploy.localcloud import internal

# Refresh a cached session this long before STS says it expires.
_REFRESH_MARGIN_S = 600.0
_DURATION_S = 3600


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of the function's execution role."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float


_cache: dict[tuple[str, str, str], Credentials] = {}
_lock = threading.Lock()


def for_role(account_id: str, region: str, role_arn: str, session_name: str) -> Credentials:
    """Credentials for ``role_arn`` (moto maps their key to the role's account), reused while fresh."""
    key = (account_id, region, role_arn)
    now = time.time()
    with _lock:
        found = _cache.get(key)
    if found is not None and found.expires_at - now > _REFRESH_MARGIN_S:
        return found
    sts = internal.client("sts", account_id, region)
    # Lambda names the session after the function; STS wants 2-64 characters.
    session = session_name[:64] if len(session_name) >= 2 else f"{session_name}_"
    resp = sts.assume_role(RoleArn=role_arn, RoleSessionName=session, DurationSeconds=_DURATION_S)
    creds = resp["Credentials"]
    made = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], now + _DURATION_S)
    with _lock:
        _cache[key] = made
    return made


def clear() -> None:
    """Forget every cached session (on reset the STS backend forgets them too)."""
    with _lock:
        _cache.clear()
