"""Service calls made by Task states reach the local cloud as the account that owns the state machine.

moto's interpreter builds its boto3 clients without an account, so every integration (Lambda, SQS, DynamoDB,
EventBridge, aws-sdk:*) would run in moto's default account. AWS runs them with the execution role, i.e. in
the state machine's account, or in the account of the task's ``Credentials.RoleArn`` when one is given.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Every interpreter module that imported ``boto_client_for`` by name; each holds its own reference.
_CLIENT_USERS = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
)

_cache: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()
_client_for: Callable[..., Any] | None = None


def account_of_role(role_arn: str | None) -> str | None:
    """The account id in an IAM role ARN (``arn:aws:iam::123456789012:role/x``), or None if it has none."""
    if not role_arn:
        return None
    parts = role_arn.split(":")
    if len(parts) >= 5 and parts[2] == "iam" and parts[4].isdigit() and len(parts[4]) == 12:
        return parts[4]
    return None


def _make_credentials_class() -> type:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials

    @dataclass
    class AccountStateCredentials(StateCredentials):
        """The interpreter's task credentials plus the account the task acts as."""

        account: str = ""

    return AccountStateCredentials


def _wrap_eval_state_credentials(previous: Callable[..., Any], creds_cls: type) -> Callable[..., Any]:
    def _eval_state_credentials(self: Any, env: Any) -> Any:
        creds = previous(self, env)
        account = env.aws_execution_details.account
        # An explicit Credentials.RoleArn is AWS's cross-account mechanism: the task acts in the role's account.
        if getattr(self, "credentials", None):
            account = account_of_role(creds.role_arn) or account
        return creds_cls(role_arn=creds.role_arn, account=account)

    return _eval_state_credentials


def _wrap_boto_client_for(previous: Callable[..., Any]) -> Callable[..., Any]:
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        """moto's client for the task, sending requests as the task's account."""
        account = getattr(state_credentials, "account", None)
        if not account:
            return previous(region=region, service=service, state_credentials=state_credentials)
        key = (service, region, account)
        client = _cache.get(key)
        if client is None:
            with _lock:
                client = _cache.get(key)
                if client is None:
                    client = previous(region=region, service=service, state_credentials=state_credentials)

                    def _as_account(request: Any, _account: str = account, **_: Any) -> None:
                        request.headers["x-moto-account-id"] = _account

                    client.meta.events.register("before-send.*", _as_account)
                    _cache[key] = client
        return client

    boto_client_for.__wrapped__ = previous  # type: ignore[attr-defined]
    return boto_client_for


def client_for(region: str, service: str, state_credentials: Any) -> Any:
    """A boto3 client for a task of ours (e.g. CodeBuild) acting as the task's account."""
    if _client_for is None:
        raise RuntimeError("eventdeploy.localcloud.stepfunctions.service_clients is not installed")
    return _client_for(region=region, service=service, state_credentials=state_credentials)


def install() -> None:
    """Make every Task state's service client act as the state machine's (or the task role's) account."""
    global _client_for
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
    from moto.stepfunctions.parser.asl.utils import boto_client

    _client_for = _wrap_boto_client_for(boto_client.boto_client_for)

    creds_cls = _make_credentials_class()
    StateTask._eval_state_credentials = _wrap_eval_state_credentials(StateTask._eval_state_credentials, creds_cls)
    for name in _CLIENT_USERS:
        module = importlib.import_module(name)
        module.boto_client_for = _wrap_boto_client_for(module.boto_client_for)


def clear() -> None:
    """Forget cached clients (their account's state is gone after a reset)."""
    with _lock:
        _cache.clear()
