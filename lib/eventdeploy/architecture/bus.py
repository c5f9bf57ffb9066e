"""01 · The event bus: a custom bus for deployments, its org-scoped policy, and an archive for replay."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pandas as pd

from eventdeploy.architecture import names
from eventdeploy.provision import Provisioner, eventbridge


def account_ids(p: Provisioner) -> list[str]:
    """Every account of the run (the bus policy admits exactly these, or their organization)."""
    return sorted({a.account_id for a in p.aws.params.accounts.values()})


def ensure_event_bus(p: Provisioner) -> dict[str, str]:
    """The deployments bus with its policy, and an archive of everything on it; returns their ARNs."""
    bus_arn = eventbridge.ensure_bus(p, names.BUS, policy_accounts=account_ids(p))
    archive_arn = eventbridge.ensure_archive(p, names.ARCHIVE, bus_arn, retention_days=7)
    return {"bus_name": p.name(names.BUS), "bus_arn": bus_arn, "archive_arn": archive_arn}


def describe_buses(p: Provisioner) -> pd.DataFrame:
    """The account's buses (default and ours): who may put events on each, per its resource policy."""
    events = p.client("events")
    rows = []
    for bus in events.list_event_buses().get("EventBuses", []):
        if bus["Name"] not in ("default", p.name(names.BUS)):
            continue
        detail = events.describe_event_bus(Name=bus["Name"])
        policy = json.loads(detail["Policy"]) if detail.get("Policy") else {"Statement": []}
        who = []
        for st in policy["Statement"]:
            principal = st.get("Principal")
            org = st.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
            who.append(f"organization {org}" if org else json.dumps(principal))
        rows.append({"bus": bus["Name"], "arn": bus["Arn"], "kind": "default" if bus["Name"] == "default" else
                     "custom", "who_may_put_events": "; ".join(who) or "this account only",
                     "statements": len(policy["Statement"])})
    return pd.DataFrame(rows)


def describe_archive(p: Provisioner) -> dict[str, Any]:
    """The archive's state, source, retention and how much it holds."""
    found = p.client("events").describe_archive(ArchiveName=p.name(names.ARCHIVE))
    return {k: found.get(k) for k in ("ArchiveName", "EventSourceArn", "State", "RetentionDays", "EventCount",
                                      "SizeBytes")}


def put_from_other_accounts(p: Provisioner, bus_arn: str) -> pd.DataFrame:
    """Each other account of the run puts one event on the bus by its ARN: the policy must admit it."""
    rows = []
    for name, spec in p.aws.params.accounts.items():
        if name == p.aws.params.home_account:
            continue
        answer = p.aws.client("events", name).put_events(Entries=[{
            "EventBusName": bus_arn, "Source": "eventdeploy.runbooks", "DetailType": "Cross-account check",
            "Detail": json.dumps({"from-account": spec.account_id, "check-id": str(uuid.uuid4())})}])
        entry = answer["Entries"][0]
        rows.append({"account": name, "account_id": spec.account_id, "accepted": answer["FailedEntryCount"] == 0,
                     "event_id": entry.get("EventId"), "error": entry.get("ErrorCode")})
    return pd.DataFrame(rows, columns=["account", "account_id", "accepted", "event_id", "error"])
