"""The AWS access layer against the local cloud: identity per account, assume-role, refusal, retry mode."""

from __future__ import annotations

from typing import Any

import pytest

from eventdeploy import aws, params

WORKLOAD_ROLE = "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole"


@pytest.fixture
def local_env(localcloud: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(aws.ENDPOINT_ENV, str(localcloud.endpoint))
    return str(localcloud.endpoint)


def _params(**overrides: Any) -> params.Parameters:
    values: dict[str, Any] = {
        "target": "local", "prefix": "evdtest", "run_id": "t",
        "accounts": {"tooling": {"account_id": "123456789012"},
                     "workload": {"account_id": "210987654321", "role_arn": WORKLOAD_ROLE}},
        "allowed_account_ids": ["123456789012", "210987654321"],
    }
    values.update(overrides)
    return params.validate(values, "test")


def test_whoami_in_every_account(local_env: str) -> None:
    access = aws.connect(_params())
    home = access.whoami()
    assert home.account == "123456789012" and home.region == "us-east-1"
    workload = access.whoami("workload")
    assert workload.account == "210987654321" and ":assumed-role/OrganizationAccountAccessRole/" in workload.arn


def test_clients_act_in_their_own_account(local_env: str) -> None:
    access = aws.connect(_params())
    url = access.client("sqs", "workload").create_queue(QueueName="evdtest-only-in-workload")["QueueUrl"]
    assert "/210987654321/" in url
    home_urls = access.client("sqs").list_queues(QueueNamePrefix="evdtest-only-in-workload").get("QueueUrls", [])
    assert home_urls == []


def test_refuses_an_account_outside_allowed(local_env: str) -> None:
    # The parameters claim 111122223333, but the local cloud's base credentials resolve to 123456789012.
    access = aws.connect(_params(accounts={"tooling": {"account_id": "111122223333"}},
                                 allowed_account_ids=["111122223333"]))
    with pytest.raises(aws.AccountNotAllowedError, match="not in allowed_account_ids .*Nothing was created"):
        access.whoami()


def test_refuses_credentials_for_a_different_allowed_account(local_env: str) -> None:
    access = aws.connect(_params(accounts={"tooling": {"account_id": "111122223333"}},
                                 allowed_account_ids=["111122223333", "123456789012"]))
    with pytest.raises(aws.AccountNotAllowedError, match="accounts.tooling.account_id is 111122223333"):
        access.whoami()


def test_clients_are_cached_and_use_standard_retries(local_env: str) -> None:
    access = aws.connect(_params())
    client = access.client("events")
    assert access.client("events") is client
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.endpoint_url == local_env


def test_unknown_account_name_is_a_clear_error(local_env: str) -> None:
    with pytest.raises(KeyError, match="'audit' is not in the parameters' accounts"):
        aws.connect(_params()).client("sts", "audit")


def test_aws_target_uses_no_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(aws.ENDPOINT_ENV, "http://127.0.0.1:1")
    p = params.validate({"target": "aws", "accounts": {"tooling": {"account_id": "111111111111"}},
                         "allowed_account_ids": ["111111111111"]}, "test")
    assert aws.connect(p).endpoint_url is None
