"""CodePipeline: the pipeline the deployment state machine starts."""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.provision.context import Provisioner


def _project(current: Any, desired: Any) -> Any:
    """``current`` reduced to the keys ``desired`` sets: the service adds defaults (empty artifact lists, …)."""
    if isinstance(desired, dict) and isinstance(current, dict):
        return {k: _project(current.get(k), v) for k, v in desired.items()}
    if isinstance(desired, list) and isinstance(current, list) and len(desired) == len(current):
        return [_project(c, d) for c, d in zip(current, desired, strict=True)]
    return current


def ensure_pipeline(p: Provisioner, suffix: str, role_arn: str, artifact_bucket: str,
                    stages: list[dict[str, Any]]) -> str:
    """A pipeline ``<prefix>-<suffix>`` with ``stages``; updated when its structure differs."""
    cp = p.client("codepipeline")
    name = p.name(suffix)
    desired = {"name": name, "roleArn": role_arn, "artifactStore": {"type": "S3", "location": artifact_bucket},
               "stages": stages, "version": 1}
    try:
        current = cp.get_pipeline(name=name)
        pipeline, meta = current["pipeline"], current.get("metadata", {})
        wanted = {k: desired[k] for k in ("roleArn", "artifactStore", "stages")}
        comparable = _project({k: pipeline.get(k) for k in wanted}, wanted)
        if json.dumps(comparable, sort_keys=True, default=str) != json.dumps(wanted, sort_keys=True, default=str):
            cp.update_pipeline(pipeline=desired | {"version": pipeline.get("version", 1)})
            p.changed("update", "codepipeline", name)
        arn = meta.get("pipelineArn") or f"arn:aws:codepipeline:{p.region}:{p.account_id}:{name}"
    except cp.exceptions.PipelineNotFoundException:
        created = cp.create_pipeline(pipeline=desired, tags=p.tag_list("key", "value"))
        p.changed("create", "codepipeline", name)
        arn = f"arn:aws:codepipeline:{p.region}:{p.account_id}:{created['pipeline']['name']}"
    return p.record("codepipeline", "pipeline", name, arn)
