"""Event bus resource policies: may account P put events on a bus owned by another account?

Follows https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html: the bus owner's own
account is always allowed; another account needs an Allow statement for ``events:PutEvents`` whose Principal
names it (account id, ``arn:aws:iam::<id>:root``) or is ``*`` with conditions such as ``aws:PrincipalOrgID``;
an explicit Deny wins. Supported condition keys: ``aws:PrincipalOrgID``, ``aws:PrincipalAccount``,
``events:source``, ``events:detail-type``.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

_ACTIONS = {"events:putevents", "events:*", "*"}


def principal_org_id(account_id: str) -> str | None:
    """The id of the AWS Organization ``account_id`` belongs to, from moto's organizations backend."""
    from moto.organizations.models import organizations_backends

    owner = organizations_backends.master_accounts.get(account_id)
    if owner is not None:
        org = organizations_backends[owner[0]][owner[1]].org
        return org.id if org else None
    if account_id in organizations_backends:
        for partition_backend in organizations_backends[account_id].values():
            if partition_backend.org is not None:
                return partition_backend.org.id
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, account_id: str) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = [v for key in ("AWS", "Service") for v in _as_list(principal.get(key, []))]
    else:
        values = _as_list(principal)
    for value in values:
        value = str(value)
        if value == "*" or value == account_id:
            return True
        # moto stores PutPermission's Principal "*" as arn:aws:iam::*:root.
        if value.startswith("arn:") and value.split(":")[4:5] in ([account_id], ["*"]):
            return True
    return False


def _action_matches(action: Any) -> bool:
    return any(str(a).lower() in _ACTIONS for a in _as_list(action))


def _resource_matches(resource: Any, bus_arn: str) -> bool:
    if resource is None:
        return True
    return any(fnmatch.fnmatchcase(bus_arn, str(r)) for r in _as_list(resource))


def _condition_holds(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    for operator, clauses in condition.items():
        op = operator.replace("ForAnyValue:", "")
        for key, expected in clauses.items():
            actual = context.get(key.lower())
            wanted = [str(v) for v in _as_list(expected)]
            if actual is None:
                if not op.startswith("StringNot"):
                    return False
                continue
            actual = str(actual)
            if op == "StringEquals":
                ok = actual in wanted
            elif op == "StringNotEquals":
                ok = actual not in wanted
            elif op == "StringEqualsIgnoreCase":
                ok = actual.lower() in (w.lower() for w in wanted)
            elif op == "StringLike":
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            elif op == "StringNotLike":
                ok = not any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                # An operator we cannot evaluate must not grant access.
                return False
            if not ok:
                return False
    return True


def is_allowed(policy_text: str | None, bus_arn: str, bus_account: str, sender_account: str,
               source: str, detail_type: str) -> bool:
    """True if ``sender_account`` may put an event with ``source``/``detail_type`` on the bus ``bus_arn``."""
    if sender_account == bus_account:
        return True
    if not policy_text:
        return False
    try:
        statements = _as_list(json.loads(policy_text).get("Statement", []))
    except (ValueError, AttributeError):
        return False
    context = {
        "aws:principalaccount": sender_account,
        "aws:principalorgid": principal_org_id(sender_account),
        "events:source": source,
        "events:detail-type": detail_type,
    }
    allowed = False
    for statement in statements:
        if not (_principal_matches(statement.get("Principal"), sender_account)
                and _action_matches(statement.get("Action"))
                and _resource_matches(statement.get("Resource"), bus_arn)
                and _condition_holds(statement.get("Condition") or {}, context)):
            continue
        if statement.get("Effect", "Allow") == "Deny":
            return False
        allowed = True
    return allowed
