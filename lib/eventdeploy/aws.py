"""AWS access for the runbooks: boto3 sessions and cached clients for the target, per account.

This module and the runner are the only places that know whether the target is the local cloud or AWS;
everything else asks for ``access.client("events")`` and talks plain boto3.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from eventdeploy.params import Parameters

# botocore's standard retry mode: exponential backoff with jitter on throttling and transient errors.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)
# botocore prefixes some operations' hosts (StartSyncExecution → "sync-<host>"): right for AWS's DNS names, wrong
# for the local cloud's IP endpoint.
LOCAL_CONFIG = RETRY_CONFIG.merge(Config(inject_host_prefix=False))
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ENDPOINT_ENV = "EVENTDEPLOY_ENDPOINT_URL"
# When no role is named for a member account, assume the role AWS Organizations creates in new accounts.
DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"


class AccountNotAllowedError(PermissionError):
    """The credentials resolve to an account outside ``allowed_account_ids``; nothing was created."""


@dataclass(frozen=True)
class Identity:
    """Who the runbooks act as."""

    account: str
    arn: str
    region: str


def local_endpoint(params: Parameters) -> str:
    """The local cloud's endpoint: ``$EVENTDEPLOY_ENDPOINT_URL`` (set by the runner), else start or reuse one."""
    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        return endpoint
    from eventdeploy.localcloud import lifecycle

    current = lifecycle.status()
    if current.running and current.endpoint:
        return current.endpoint
    started = lifecycle.start(port=params.localcloud_port, time_scale=params.time_scale)
    return str(started.endpoint)


class AwsAccess:
    """Sessions and clients for every account of a run; clients are cached per (account, service, region)."""

    def __init__(self, params: Parameters) -> None:
        self.params = params
        self.endpoint_url = local_endpoint(params) if params.target == "local" else None
        self._sessions: dict[str, boto3.session.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        """True on the local cloud (for reporting only; logic must not branch on it outside this module)."""
        return self.params.target == "local"

    def _base_session(self) -> boto3.session.Session:
        if self.params.target == "local":
            return boto3.session.Session(region_name=self.params.region, **LOCAL_CREDENTIALS)
        return boto3.session.Session(profile_name=self.params.profile, region_name=self.params.region)

    def _raw_client(self, session: boto3.session.Session, service: str, region: str) -> Any:
        config = LOCAL_CONFIG if self.endpoint_url else RETRY_CONFIG
        return session.client(service, region_name=region, endpoint_url=self.endpoint_url, config=config)

    def role_arn(self, account: str) -> str | None:
        """The role assumed to act in ``account`` (None: the base credentials are used as they are)."""
        spec = self.params.accounts[account]
        if spec.role_arn:
            return spec.role_arn
        if account == self.params.home_account:
            return None
        return f"arn:aws:iam::{spec.account_id}:role/{DEFAULT_MEMBER_ROLE}"

    def session(self, account: str | None = None) -> boto3.session.Session:
        """A boto3 session acting in ``account`` (a key of ``accounts``; default the home account)."""
        name = account or self.params.home_account
        if name not in self.params.accounts:
            raise KeyError(f"account {name!r} is not in the parameters' accounts ({', '.join(self.params.accounts)})")
        with self._lock:
            if name in self._sessions:
                return self._sessions[name]
        base = self._base_session()
        role = self.role_arn(name)
        if role is None:
            session = base
        else:
            sts = self._raw_client(base, "sts", self.params.region)
            creds = sts.assume_role(RoleArn=role, RoleSessionName=f"{self.params.prefix}-{self.params.run_id}")[
                "Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"], region_name=self.params.region,
            )
        with self._lock:
            self._sessions[name] = session
        return session

    def client(self, service: str, account: str | None = None, region: str | None = None) -> Any:
        """A cached boto3 client for ``service`` in ``account`` (default home) and ``region`` (default the run's)."""
        name = account or self.params.home_account
        region = region or self.params.region
        key = (name, service, region)
        with self._lock:
            found = self._clients.get(key)
        if found is not None:
            return found
        made = self._raw_client(self.session(name), service, region)
        with self._lock:
            return self._clients.setdefault(key, made)

    def whoami(self, account: str | None = None) -> Identity:
        """Account, ARN and region the credentials resolve to; refuses an account outside allowed_account_ids."""
        name = account or self.params.home_account
        found = self.client("sts", name).get_caller_identity()
        identity = Identity(account=found["Account"], arn=found["Arn"], region=self.params.region)
        if identity.account not in self.params.allowed_account_ids:
            raise AccountNotAllowedError(
                f"the credentials for account {name!r} resolve to account {identity.account} ({identity.arn}), "
                f"which is not in allowed_account_ids {self.params.allowed_account_ids}. Nothing was created. "
                "Switch profile/credentials, or add the id to allowed_account_ids if this account is really meant."
            )
        expected = self.params.accounts[name].account_id
        if identity.account != expected:
            raise AccountNotAllowedError(
                f"accounts.{name}.account_id is {expected} but the credentials resolve to {identity.account} "
                f"({identity.arn}). Nothing was created. Fix accounts.{name} or the credentials."
            )
        return identity

    def describe_target(self) -> dict[str, Any]:
        """What this run talks to, for the preflight report."""
        return {"target": self.params.target, "region": self.params.region,
                "endpoint": self.endpoint_url or f"AWS public endpoints ({self.params.region})",
                "profile": self.params.profile}


def connect(params: Parameters) -> AwsAccess:
    """Access to the target of ``params`` (starting the local cloud first if the target is local and none runs)."""
    return AwsAccess(params)
