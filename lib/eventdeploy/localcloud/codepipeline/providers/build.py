"""Build/Test CodeBuild actions: a real build of the project on the action's input artifacts.

https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html
"""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.localcloud.codepipeline.providers.context import Abandoned, ActionContext
from eventdeploy.localcloud.codepipeline.store import ActionFailed, get_artifact


def build_codebuild(ctx: ActionContext) -> None:
    """Build/CodeBuild: run the project's real build on the input artifacts; its artifacts become the output."""
    from moto.codebuild.models import codebuild_backends

    from eventdeploy.localcloud.codebuild.patch import start
    from eventdeploy.localcloud.codebuild.runner import BuildRequest

    project = ctx.config.get("ProjectName")
    backend = codebuild_backends[ctx.run.account_id][ctx.region]
    if not project or project not in backend.codebuild_projects:
        raise ActionFailed(f"CodeBuild project {project!r} does not exist in {ctx.region}; create it first",
                           "ConfigurationError")
    primary = ctx.config.get("PrimarySource")
    inputs = sorted(ctx.action.inputs, key=lambda a: a.name != primary) if primary else list(ctx.action.inputs)
    zips = [get_artifact(ctx.run.account_id, ctx.run.region, a) for a in inputs]
    try:
        env = json.loads(ctx.config.get("EnvironmentVariables") or "[]")
    except ValueError as exc:
        raise ActionFailed(f"EnvironmentVariables is not a JSON list: {exc}", "ConfigurationError") from exc
    outputs = ctx.output_names()

    def sink(data: bytes) -> str:
        artifact = ctx.emit_output(data)
        return f"arn:aws:s3:::{artifact.bucket}/{artifact.key}"

    request = BuildRequest(env_overrides=env, initiator=f"codepipeline/{ctx.run.name}", input_zips=zips,
                           input_names=[a.name for a in inputs],
                           output_sink=sink if outputs else None,
                           source_version=(inputs[0].revision if inputs else None))
    build = start(backend, project, request)
    build_id = build["id"]
    ctx.action.external_id = build_id
    ctx.action.external_url = (f"https://console.aws.amazon.com/codebuild/home?region={ctx.region}"
                               f"#/builds/{build_id}/view/new")
    state: dict[str, Any] = {}

    def finished() -> bool:
        found = backend.batch_get_builds([build_id])
        state.update(found[0] if found else {})
        return bool(state.get("buildComplete"))

    try:
        ctx.wait(finished, 8 * 3600 + 600, f"CodeBuild build {build_id}")
    except Abandoned:
        backend.stop_build(build_id)
        raise
    if state.get("buildStatus") != "SUCCEEDED":
        failed = next((p for p in state.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED")), {})
        context = (failed.get("contexts") or [{}])[0]
        raise ActionFailed(f"Build terminated with state: {state.get('buildStatus')}. Phase: "
                           f"{failed.get('phaseType', '?')}, Code: {context.get('statusCode', '')}, Message: "
                           f"{context.get('message', '')}")
    ctx.action.summary = f"Build {build_id} succeeded"
    ctx.action.output_variables.update({v["name"]: v["value"] for v in state.get("exportedEnvironmentVariables", [])})
