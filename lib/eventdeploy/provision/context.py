"""What every ``ensure_*`` needs: clients for one account, the naming rule, the tags, and the manifest."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventdeploy import jsonstore
from eventdeploy.aws import AwsAccess

MANIFEST_FILE = "manifest.json"
PROJECT_TAG = "eventdeploy:project"
RUN_TAG = "eventdeploy:run-id"
PREFIX_TAG = "eventdeploy:prefix"
PROJECT = "eventdeploy"


@dataclass
class Provisioner:
    """Provisioning context for one account of a run."""

    aws: AwsAccess
    run_dir: Path
    notebook: str = ""
    account: str | None = None
    changes: list[dict[str, str]] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        """The run's resource-name prefix."""
        return self.aws.params.prefix

    @property
    def region(self) -> str:
        """The run's region."""
        return self.aws.params.region

    @property
    def account_id(self) -> str:
        """The id of the account this provisioner acts in."""
        return self.aws.params.accounts[self.account or self.aws.params.home_account].account_id

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` in this provisioner's account."""
        return self.aws.client(service, self.account)

    def name(self, suffix: str) -> str:
        """``<prefix>-<suffix>``: the one naming rule for every resource."""
        return f"{self.prefix}-{suffix}"

    def in_account(self, account: str) -> Provisioner:
        """The same run, acting in another account (sharing the manifest and the change log)."""
        return Provisioner(aws=self.aws, run_dir=self.run_dir, notebook=self.notebook, account=account,
                           changes=self.changes)

    @property
    def tags(self) -> dict[str, str]:
        """Tags on every resource: project, run id, prefix."""
        return {PROJECT_TAG: PROJECT, RUN_TAG: self.aws.params.run_id, PREFIX_TAG: self.prefix}

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """The tags as AWS's list-of-pairs form (key names vary by service)."""
        return [{key: k, value: v} for k, v in self.tags.items()]

    def changed(self, action: str, kind: str, name: str) -> None:
        """Note that a run created or updated something (a second run should note nothing)."""
        self.changes.append({"action": action, "kind": kind, "name": name})

    def record(self, service: str, kind: str, name: str, arn: str, **extra: Any) -> str:
        """Add a resource to the run's manifest (once per ARN) and return the ARN."""
        entry = {"service": service, "kind": kind, "name": name, "arn": arn, "account_id": self.account_id,
                 "account": self.account or self.aws.params.home_account, "region": self.region,
                 "notebook": self.notebook, **extra}

        def change(data: dict[str, Any]) -> dict[str, Any]:
            resources = data.setdefault("resources", [])
            for existing in resources:
                if existing["arn"] == arn:
                    existing.update({k: v for k, v in entry.items() if k != "notebook"})
                    return data
            entry["recorded_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            resources.append(entry)
            return data

        jsonstore.update(self.run_dir / MANIFEST_FILE, {"resources": []}, change)
        return arn


def manifest(run_dir: Path) -> list[dict[str, Any]]:
    """Every resource recorded in a run folder's manifest, in creation order."""
    return list(jsonstore.read(run_dir / MANIFEST_FILE, {"resources": []})["resources"])


def forget(run_dir: Path, arns: set[str]) -> None:
    """Drop deleted resources from the manifest."""
    def change(data: dict[str, Any]) -> dict[str, Any]:
        data["resources"] = [r for r in data.get("resources", []) if r["arn"] not in arns]
        return data

    jsonstore.update(run_dir / MANIFEST_FILE, {"resources": []}, change)


def wait_until(check: Any, what: str, timeout: float = 120.0, interval: float = 0.2) -> Any:
    """Poll ``check()`` until it returns a truthy value; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
