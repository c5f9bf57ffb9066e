"""IAM roles with least-privilege inline policies: one per function, state machine and EventBridge invoker."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from eventdeploy.provision.context import Provisioner


def trust_policy(service: str, source_account: str | None = None) -> dict[str, Any]:
    """A trust policy letting ``service`` assume the role (only on behalf of ``source_account``, if given)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account:
        # Confused-deputy guard: the service may assume this role only for resources of our own account.
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """An IAM policy document from ``statements``."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], resources: list[str], **condition: Any) -> dict[str, Any]:
    """One Allow statement; refuses a wildcard action so every grant is named."""
    if any(a == "*" or a.endswith(":*") for a in actions):
        raise ValueError(f"{actions}: name the actions; a wildcard action is never least privilege")
    statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": sorted(resources)}
    if condition:
        statement["Condition"] = condition
    return statement


def _doc(raw: Any) -> Any:
    # IAM returns policy documents URL-encoded on some paths and as dicts on others.
    if isinstance(raw, str):
        return json.loads(urllib.parse.unquote(raw))
    return raw


def ensure_role(p: Provisioner, suffix: str, service: str, policies: dict[str, dict[str, Any]],
                description: str = "") -> str:
    """A role ``<prefix>-<suffix>`` that ``service`` may assume, with exactly ``policies`` inline; returns its ARN."""
    iam = p.client("iam")
    name = p.name(suffix)
    trust = trust_policy(service, p.account_id)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        if _doc(role["AssumeRolePolicyDocument"]) != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            p.changed("update", "iam trust policy", name)
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                               Description=description[:1000], Tags=p.tag_list())["Role"]
        p.changed("create", "iam role", name)
    existing = set(iam.list_role_policies(RoleName=name)["PolicyNames"])
    for policy_name, document in policies.items():
        current = _doc(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]) \
            if policy_name in existing else None
        if current != document:
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
            p.changed("update", "iam inline policy", f"{name}/{policy_name}")
    for stale in existing - set(policies):
        iam.delete_role_policy(RoleName=name, PolicyName=stale)
        p.changed("delete", "iam inline policy", f"{name}/{stale}")
    return p.record("iam", "role", name, role["Arn"])
