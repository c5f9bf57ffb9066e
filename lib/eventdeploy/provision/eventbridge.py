"""EventBridge: a custom bus with an org-scoped resource policy, an archive, rules and their targets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eventdeploy.provision.context import Provisioner


def bus_policy(bus_arn: str, account_ids: list[str], org_id: str | None = None) -> dict[str, Any]:
    """Who may put events on the bus: the organization (if any) or else exactly the listed accounts.

    With an organization, ``aws:PrincipalOrgID`` admits every member account and nothing outside the organization;
    without one, each account is named, which is the least privilege a standalone account can express.
    """
    if org_id:
        statement = {"Sid": "OrgPutEvents", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
                     "Resource": bus_arn, "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}}
    else:
        statement = {"Sid": "AccountsPutEvents", "Effect": "Allow",
                     "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(set(account_ids))]},
                     "Action": "events:PutEvents", "Resource": bus_arn}
    return {"Version": "2012-10-17", "Statement": [statement]}


def organization_id(p: Provisioner) -> str | None:
    """The id of the organization the account belongs to, or None if it belongs to none."""
    org = p.client("organizations")
    try:
        return str(org.describe_organization()["Organization"]["Id"])
    except org.exceptions.AWSOrganizationsNotInUseException:
        return None


def ensure_bus(p: Provisioner, suffix: str, policy_accounts: list[str] | None = None) -> str:
    """A custom bus ``<prefix>-<suffix>`` whose policy admits the organization or ``policy_accounts``."""
    events = p.client("events")
    name = p.name(suffix)
    try:
        bus = events.describe_event_bus(Name=name)
    except events.exceptions.ResourceNotFoundException:
        events.create_event_bus(Name=name, Tags=p.tag_list())
        p.changed("create", "event bus", name)
        bus = events.describe_event_bus(Name=name)
    arn = bus["Arn"]
    if policy_accounts is not None:
        wanted = bus_policy(arn, policy_accounts, organization_id(p))
        current = json.loads(bus["Policy"]) if bus.get("Policy") else None
        if current != wanted:
            events.put_permission(EventBusName=name, Policy=json.dumps(wanted))
            p.changed("update", "event bus policy", name)
    return p.record("events", "event-bus", name, arn)


def ensure_archive(p: Provisioner, suffix: str, bus_arn: str, pattern: dict[str, Any] | None = None,
                   retention_days: int = 7) -> str:
    """An archive of the bus's events (those matching ``pattern``, if given), kept ``retention_days``."""
    events = p.client("events")
    name = p.name(suffix)
    desired: dict[str, Any] = {"RetentionDays": retention_days, "Description": f"eventdeploy {p.aws.params.run_id}"}
    if pattern is not None:
        desired["EventPattern"] = json.dumps(pattern, sort_keys=True)
    try:
        current = events.describe_archive(ArchiveName=name)
        if current["EventSourceArn"] != bus_arn:
            raise ValueError(f"archive {name} archives {current['EventSourceArn']}, not {bus_arn}; delete it first")
        differ = any(str(current.get(k)) != str(v) for k, v in desired.items())
        if differ:
            events.update_archive(ArchiveName=name, **desired)
            p.changed("update", "archive", name)
        arn = current["ArchiveArn"]
    except events.exceptions.ResourceNotFoundException:
        arn = events.create_archive(ArchiveName=name, EventSourceArn=bus_arn, **desired)["ArchiveArn"]
        p.changed("create", "archive", name)
    return p.record("events", "archive", name, arn)


def ensure_rule(p: Provisioner, suffix: str, pattern: dict[str, Any], bus: str = "default",
                description: str = "", enabled: bool = True) -> str:
    """A rule ``<prefix>-<suffix>`` on ``bus`` matching ``pattern``; returns its ARN."""
    events = p.client("events")
    name = p.name(suffix)
    desired = {"EventPattern": json.dumps(pattern, sort_keys=True), "State": "ENABLED" if enabled else "DISABLED",
               "Description": description}
    try:
        current = events.describe_rule(Name=name, EventBusName=bus)
        same = (json.loads(current.get("EventPattern") or "null") == pattern
                and current.get("State") == desired["State"] and current.get("Description", "") == description)
    except events.exceptions.ResourceNotFoundException:
        current, same = None, False
    if not same:
        events.put_rule(Name=name, EventBusName=bus, Tags=p.tag_list(), **desired)
        p.changed("create" if current is None else "update", "rule", name)
    arn = events.describe_rule(Name=name, EventBusName=bus)["Arn"]
    return p.record("events", "rule", name, arn, bus=bus)


@dataclass
class Target:
    """One target of a rule, with what shapes its input and what happens when delivery fails."""

    id: str
    arn: str
    role_arn: str | None = None
    dlq_arn: str | None = None
    max_retries: int = 185
    max_event_age_s: int = 86400
    input_paths: dict[str, str] = field(default_factory=dict)
    input_template: str | None = None
    input_path: str | None = None
    message_group_id: str | None = None

    def as_api(self) -> dict[str, Any]:
        """The target as PutTargets takes it."""
        out: dict[str, Any] = {"Id": self.id, "Arn": self.arn,
                               "RetryPolicy": {"MaximumRetryAttempts": self.max_retries,
                                               "MaximumEventAgeInSeconds": self.max_event_age_s}}
        if self.role_arn:
            out["RoleArn"] = self.role_arn
        if self.dlq_arn:
            out["DeadLetterConfig"] = {"Arn": self.dlq_arn}
        if self.input_template is not None:
            out["InputTransformer"] = {"InputPathsMap": dict(self.input_paths), "InputTemplate": self.input_template}
        elif self.input_path:
            out["InputPath"] = self.input_path
        if self.message_group_id:
            out["SqsParameters"] = {"MessageGroupId": self.message_group_id}
        return out


def _comparable(target: dict[str, Any]) -> str:
    keys = ("Id", "Arn", "RoleArn", "RetryPolicy", "DeadLetterConfig", "InputTransformer", "InputPath",
            "SqsParameters", "Input")
    return json.dumps({k: target.get(k) for k in keys if target.get(k) not in (None, {}, "")}, sort_keys=True)


def ensure_targets(p: Provisioner, rule_suffix: str, targets: list[Target], bus: str = "default",
                   remove: list[str] | None = None) -> list[str]:
    """``targets`` on the rule as desired (added or updated where they differ); returns their ids.

    Targets with other ids are left alone, so notebooks can each own some targets of a shared rule; ``remove`` names
    target ids to take off.
    """
    events = p.client("events")
    rule = p.name(rule_suffix)
    current = {t["Id"]: t for t in events.list_targets_by_rule(Rule=rule, EventBusName=bus).get("Targets", [])}
    stale = sorted(set(remove or []) & set(current))
    if stale:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=stale)
        p.changed("delete", "rule targets", f"{rule}:{','.join(stale)}")
    wanted = {t.id: t.as_api() for t in targets}
    changed = [t for i, t in wanted.items() if i not in current or _comparable(current[i]) != _comparable(t)]
    if changed:
        answer = events.put_targets(Rule=rule, EventBusName=bus, Targets=changed)
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"PutTargets on {rule} refused: {answer['FailedEntries']}")
        p.changed("update", "rule targets", f"{rule}:{','.join(t['Id'] for t in changed)}")
    return sorted(wanted)
