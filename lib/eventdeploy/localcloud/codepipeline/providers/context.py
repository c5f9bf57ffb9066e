"""The context an action provider runs in: its execution, its record, artifact helpers and emulated waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventdeploy.localcloud import clock, internal
from eventdeploy.localcloud.codepipeline.model import ActionRun, Artifact, ExecutionRun
from eventdeploy.localcloud.codepipeline.store import ActionFailed, get_artifact, put_artifact

POLL_S = 1.0


class Abandoned(Exception):
    """The execution was stopped with abandon=true while this action ran."""


@dataclass
class ActionContext:
    """An action being run: its execution, its record, and helpers to read/write artifacts and wait."""

    run: ExecutionRun
    action: ActionRun

    @property
    def config(self) -> dict[str, str]:
        """The action's configuration map, with #{namespace.variable} references resolved."""
        if self.action.resolved is not None:
            return dict(self.action.resolved)
        return dict(self.action.action.get("configuration") or {})

    @property
    def region(self) -> str:
        """The region the action runs in."""
        return str(self.action.action.get("region") or self.run.region)

    def output_names(self) -> list[str]:
        """Names of the action's declared output artifacts."""
        return [a["name"] for a in self.action.action.get("outputArtifacts") or []]

    def emit_output(self, data: bytes, revision: str | None = None, name: str | None = None) -> Artifact:
        """Store ``data`` as the action's (first, or ``name``d) output artifact."""
        names = self.output_names()
        if not names and name is None:
            raise ActionFailed(f"action {self.action.name} declares no outputArtifacts", "ConfigurationError")
        artifact = put_artifact(self.run.account_id, self.run.region, self.run.pipeline, name or names[0], data,
                                revision)
        self.action.outputs.append(artifact)
        return artifact

    def input_bytes(self, name: str | None = None) -> tuple[Artifact, bytes]:
        """The (first, or ``name``d) input artifact and its content."""
        if not self.action.inputs:
            raise ActionFailed(f"action {self.action.name} needs an input artifact", "ConfigurationError")
        chosen = next((a for a in self.action.inputs if name is None or a.name == name), None)
        if chosen is None:
            raise ActionFailed(f"input artifact {name} is not an input of action {self.action.name}; inputs are "
                               f"{[a.name for a in self.action.inputs]}", "ConfigurationError")
        return chosen, get_artifact(self.run.account_id, self.run.region, chosen)

    def wait(self, done: Callable[[], bool], limit_s: float, what: str) -> None:
        """Poll ``done`` every emulated POLL_S until true; Abandoned on abandon, ActionFailed after ``limit_s``."""
        deadline = time.monotonic() + clock.scaled(limit_s)
        while not done():
            if self.run.abandon.is_set():
                raise Abandoned()
            if time.monotonic() > deadline:
                raise ActionFailed(f"{what} did not finish within {int(limit_s)} seconds")
            clock.sleep(POLL_S)

    def client(self, service: str) -> Any:
        """A local-cloud client for ``service`` as the pipeline's account in the action's region."""
        return internal.client(service, self.run.account_id, self.region)

    def add_revision(self, revision: str, summary: str | None = None) -> None:
        """Record the source revision on the action and as the execution's artifactRevision."""
        created = self.action.start_time
        self.action.current_revision = {"revisionId": revision}
        for name in self.output_names():
            entry: dict[str, Any] = {"name": name, "revisionId": revision, "created": created}
            if summary:
                entry["revisionSummary"] = summary
            self.run.revisions.append(entry)
