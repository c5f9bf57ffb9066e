"""Resource policies EventBridge meets: bus policies (may account P put events here?) and target policies
(may events.amazonaws.com send to this queue / invoke this function for this rule?).

Bus policies follow https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html: the bus owner's own
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
        if_exists = op.endswith("IfExists")
        # ARN operators compare like their string twins for the ARNs EventBridge passes.
        op = op.removesuffix("IfExists").replace("ArnEquals", "StringEquals").replace("ArnLike", "StringLike") \
            .replace("ArnNotEquals", "StringNotEquals").replace("ArnNotLike", "StringNotLike")
        for key, expected in clauses.items():
            actual = context.get(key.lower())
            wanted = [str(v) for v in _as_list(expected)]
            if actual is None:
                if not (if_exists or op.startswith("StringNot")):
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


def admission(policy_text: str | None, bus_arn: str, bus_account: str, sender_account: str,
              source: str, detail_type: str) -> str | None:
    """How ``sender_account`` may put this event on the bus: "owner", "account" (a statement names the
    account), "wildcard" (only Principal "*" statements, e.g. organization grants) or None (not allowed)."""
    if sender_account == bus_account:
        return "owner"
    if not policy_text:
        return None
    try:
        statements = _as_list(json.loads(policy_text).get("Statement", []))
    except (ValueError, AttributeError):
        return None
    context = {
        "aws:principalaccount": sender_account,
        "aws:principalorgid": principal_org_id(sender_account),
        "events:source": source,
        "events:detail-type": detail_type,
    }
    how: str | None = None
    for statement in statements:
        principal = statement.get("Principal")
        if not (_principal_matches(principal, sender_account)
                and _action_matches(statement.get("Action"))
                and _resource_matches(statement.get("Resource"), bus_arn)
                and _condition_holds(statement.get("Condition") or {}, context)):
            continue
        if statement.get("Effect", "Allow") == "Deny":
            return None
        if _principal_matches(principal, "\0no-account\0"):  # matches anyone: a wildcard grant
            how = how or "wildcard"
        else:
            how = "account"
    return how


def is_allowed(policy_text: str | None, bus_arn: str, bus_account: str, sender_account: str,
               source: str, detail_type: str) -> bool:
    """True if ``sender_account`` may put an event with ``source``/``detail_type`` on the bus ``bus_arn``."""
    return admission(policy_text, bus_arn, bus_account, sender_account, source, detail_type) is not None


def _service_principal(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return service in _as_list(principal.get("Service", [])) or "*" in _as_list(principal.get("AWS", []))
    return False


def service_allowed(policy_text: str | None, service: str, action: str, resource_arn: str,
                    context: dict[str, str]) -> bool:
    """True if a resource policy lets ``service`` (e.g. events.amazonaws.com) do ``action`` on the resource.

    ``context`` holds condition keys such as ``aws:SourceArn`` / ``aws:SourceAccount`` (case-insensitive, as IAM's
    keys are). An explicit Deny wins; with no matching Allow the answer is no.
    """
    if not policy_text:
        return False
    try:
        document = json.loads(policy_text)
        statements = _as_list(document.get("Statement", []))
    except (ValueError, AttributeError):
        return False
    lowered = {k.lower(): v for k, v in context.items()}
    allowed = False
    for statement in statements:
        actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
        if not (_service_principal(statement.get("Principal"), service)
                and any(fnmatch.fnmatchcase(action.lower(), a) for a in actions)
                and _resource_matches(statement.get("Resource"), resource_arn)
                and _condition_holds(statement.get("Condition") or {}, lowered)):
            continue
        if statement.get("Effect", "Allow") == "Deny":
            return False
        allowed = True
    return allowed
