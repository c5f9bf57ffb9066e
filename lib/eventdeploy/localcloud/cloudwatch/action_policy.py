"""Whether a Lambda function's resource policy lets a CloudWatch alarm invoke it.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions-Lambda.html — the function
needs a resource policy allowing the service principal ``lambda.alarms.cloudwatch.amazonaws.com`` to call
``lambda:InvokeFunction`` (optionally conditioned on ``AWS:SourceArn`` / ``AWS:SourceAccount``); otherwise
CloudWatch does not invoke it.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

PRINCIPAL = "lambda.alarms.cloudwatch.amazonaws.com"
_ACTIONS = ("lambda:InvokeFunction", "lambda:*", "*")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_ok(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return PRINCIPAL in _as_list(principal.get("Service", [])) or "*" in _as_list(principal.get("AWS", []))
    return False


def _conditions_ok(conditions: dict[str, Any], alarm_arn: str, account_id: str) -> bool:
    context = {"aws:sourcearn": alarm_arn, "aws:sourceaccount": account_id}
    for operator, clauses in (conditions or {}).items():
        for key, wanted in clauses.items():
            have = context.get(key.lower())
            if have is None:
                return False
            patterns = [str(w) for w in _as_list(wanted)]
            if operator in ("ArnLike", "StringLike"):
                if not any(fnmatch.fnmatchcase(have, p) for p in patterns):
                    return False
            elif operator in ("ArnEquals", "StringEquals"):
                if have not in patterns:
                    return False
            else:
                return False  # an operator we do not evaluate cannot be shown to allow the call
    return True


def allows_alarm(policy: str | dict[str, Any] | None, alarm_arn: str, account_id: str) -> bool:
    """True when some Allow statement lets the alarm's service principal invoke the function."""
    if not policy:
        return False
    doc = json.loads(policy) if isinstance(policy, str) else policy
    allowed = False
    for st in _as_list(doc.get("Statement", [])):
        if not _principal_ok(st.get("Principal")):
            continue
        if not any(a in _ACTIONS for a in _as_list(st.get("Action", []))):
            continue
        if not _conditions_ok(st.get("Condition", {}), alarm_arn, account_id):
            continue
        if st.get("Effect") == "Deny":
            return False
        allowed = allowed or st.get("Effect") == "Allow"
    return allowed
