"""Patches to moto's CodeBuild so projects validate as AWS does and StartBuild really runs the build.

API reference: https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StartBuild.html,
API_CreateProject.html, API_BatchGetBuilds.html, API_StopBuild.html.
"""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime
from typing import Any

from moto.codebuild import models, responses
from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException

from eventdeploy.localcloud.codebuild.registry import REGISTRY
from eventdeploy.localcloud.codebuild.runner import BuildRequest, BuildRun

SOURCE_TYPES = ("BITBUCKET", "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB",
                "GITLAB_SELF_MANAGED", "NO_SOURCE", "S3")
# Sources whose content CodeBuild is handed rather than fetches: no location.
LOCATIONLESS_SOURCES = ("NO_SOURCE", "CODEPIPELINE")

_pending = threading.local()


def validate_source(source: dict[str, Any]) -> None:
    """CreateProject's source rules: NO_SOURCE needs an inline buildspec, CODEPIPELINE no location."""
    kind = source.get("type")
    if kind not in SOURCE_TYPES:
        raise InvalidInputException(f"Invalid type provided: Project source type {kind!r}; use one of {SOURCE_TYPES}")
    if kind == "NO_SOURCE" and not (source.get("buildspec") or "").strip():
        raise InvalidInputException("Project buildspec cannot be empty for NO_SOURCE source type; "
                                    "give source.buildspec as inline YAML or JSON")
    if kind not in LOCATIONLESS_SOURCES and not source.get("location"):
        raise InvalidInputException(f"Project source location is required for source type {kind}")


def validate_artifacts(artifacts: dict[str, Any]) -> None:
    """CreateProject's artifacts rules: S3 needs a bucket location, the others must not have one."""
    kind = artifacts.get("type")
    if kind not in ("CODEPIPELINE", "S3", "NO_ARTIFACTS"):
        raise InvalidInputException(f"Invalid type provided: Artifact type {kind!r}; "
                                    "use CODEPIPELINE, S3 or NO_ARTIFACTS")
    if kind == "NO_ARTIFACTS" and "location" in artifacts:
        raise InvalidInputException("Invalid artifacts: artifact type NO_ARTIFACTS should have null location")
    if kind == "S3" and not artifacts.get("location"):
        raise InvalidInputException("Project artifacts location is required for artifact type S3 (a bucket name)")


def _build_record(backend: Any, build: dict[str, Any], project: dict[str, Any], request: BuildRequest) -> None:
    """Replace moto's placeholder build fields with the project's real ones."""
    name = project["name"]
    build_uuid = build["id"].split(":", 1)[1]
    logs_cfg = ((project.get("logsConfig") or {}).get("cloudWatchLogs") or {})
    group = logs_cfg.get("groupName") or f"/aws/codebuild/{name}"
    stream = f"{logs_cfg['streamName']}/{build_uuid}" if logs_cfg.get("streamName") else build_uuid
    region, account = backend.region_name, backend.account_id
    now = datetime.now(UTC)
    source = copy.deepcopy(project.get("source") or {})
    if request.buildspec_override:
        source["buildspec"] = request.buildspec_override
    environment = copy.deepcopy(project.get("environment") or {})
    # The build shows the project's variables with StartBuild's overrides replacing same-named ones.
    merged = {v["name"]: v for v in environment.get("environmentVariables") or []}
    merged.update({v["name"]: {"type": "PLAINTEXT", **v} for v in request.env_overrides})
    environment["environmentVariables"] = list(merged.values())
    build.update({
        "buildNumber": REGISTRY.next_build_number(account, region, name),
        "startTime": now,
        "currentPhase": "QUEUED",
        "buildStatus": "IN_PROGRESS",
        "sourceVersion": request.source_version or project.get("sourceVersion"),
        "source": source,
        "artifacts": {k: v for k, v in (request.artifacts_override or project.get("artifacts") or {}).items()
                      if k in ("location", "name", "path", "namespaceType", "packaging")},
        "environment": environment,
        "serviceRole": project.get("serviceRole"),
        "phases": [{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": now, "endTime": now,
                    "durationInSeconds": 0, "contexts": []},
                   {"phaseType": "QUEUED", "startTime": now}],
        "logs": {
            "groupName": group, "streamName": stream,
            # The deep-link form of CodeBuild's build notification reference.
            "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logEvent:group={group};"
                        f"stream={stream}",
            "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}",
            "cloudWatchLogs": {"status": "ENABLED", "groupName": group, "streamName": stream},
            "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
        },
        "timeoutInMinutes": request.timeout_minutes or project.get("timeoutInMinutes") or 60,
        "queuedTimeoutInMinutes": project.get("queuedTimeoutInMinutes") or 480,
        "buildComplete": False,
        "initiator": request.initiator,
        "encryptionKey": project.get("encryptionKey"),
    })
    if not build["sourceVersion"]:
        build.pop("sourceVersion")
    build.pop("secondarySources", None)
    build.pop("secondarySourceVersions", None)


UPDATABLE = {"description": "description", "source": "source", "artifacts": "artifacts",
             "environment": "environment", "serviceRole": "serviceRole", "timeoutInMinutes": "timeoutInMinutes",
             "queuedTimeoutInMinutes": "queuedTimeoutInMinutes", "sourceVersion": "sourceVersion",
             "logsConfig": "logsConfig", "vpcConfig": "vpcConfig", "cache": "cache", "tags": "tags",
             "secondarySources": "secondarySources", "secondaryArtifacts": "secondaryArtifacts",
             "encryptionKey": "encryptionKey", "badgeEnabled": None, "concurrentBuildLimit": "concurrentBuildLimit"}


def update_project(self: Any) -> Any:
    """UpdateProject (absent from moto): change the given settings of an existing project, validated as on create.

    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_UpdateProject.html
    """
    from moto.core.responses import ActionResult
    from moto.utilities.utils import get_partition

    name = self._get_param("name")
    backend = self.codebuild_backend
    project = backend.codebuild_projects.get(name)
    if project is None:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:{self.region}:"
            f"{self.current_account}:project/{name}")
    changes = {key: self._get_param(key) for key in UPDATABLE if self._get_param(key) is not None}
    if "source" in changes:
        validate_source(changes["source"])
    if "artifacts" in changes:
        validate_artifacts(changes["artifacts"])
    if "environment" in changes:
        responses._validate_required_params_environment(changes["environment"])
    if "serviceRole" in changes:
        responses._validate_required_params_service_role(self.current_account, self.region, changes["serviceRole"])
    meta = project.project_metadata
    for key, value in changes.items():
        target = UPDATABLE[key]
        if target is None:
            meta["badge"] = {"badgeEnabled": bool(value)}
        else:
            meta[target] = value
    if "serviceRole" in changes:
        project.service_role = changes["serviceRole"]
    if "tags" in changes:
        project.tags = changes["tags"]
    meta["lastModified"] = datetime.now(UTC)
    return ActionResult({"project": meta})


def retry_build(self: Any) -> Any:
    """RetryBuild (absent from moto): start the build's project again with the same StartBuild settings.

    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_RetryBuild.html
    """
    import dataclasses

    from moto.core.responses import ActionResult

    build_id = self._get_param("id") or ""
    build_id = build_id.split("/", 1)[-1] if build_id.startswith("arn:") else build_id
    backend = self.codebuild_backend
    found = backend.batch_get_builds([build_id])
    if not found:
        raise ResourceNotFoundException(f"Build {build_id} does not exist")
    project = found[0]["projectName"]
    if project not in backend.codebuild_projects:
        raise ResourceNotFoundException(f"Project {project} of build {build_id} no longer exists")
    with REGISTRY.lock:
        previous = REGISTRY.requests.get(build_id)
    request = dataclasses.replace(previous) if previous is not None else BuildRequest()
    return ActionResult({"build": start(backend, project, request)})


def start(backend: Any, project_name: str, request: BuildRequest) -> dict[str, Any]:
    """Start a build of ``project_name`` in ``backend`` (used by StartBuild and CodePipeline); return its record."""
    _pending.request = request
    try:
        return backend.start_build(project_name, request.source_version, request.artifacts_override)
    finally:
        _pending.request = None


def install() -> None:
    """Install the CodeBuild patches into moto (idempotent per process)."""
    if getattr(models.CodeBuildBackend, "_eventdeploy_patched", False):
        return
    models.CodeBuildBackend._eventdeploy_patched = True  # type: ignore[attr-defined]
    responses._validate_required_params_source = validate_source
    responses._validate_required_params_artifacts = validate_artifacts

    prev_response_start = responses.CodeBuildResponse.start_build
    prev_backend_start = models.CodeBuildBackend.start_build
    prev_list_for_project = models.CodeBuildBackend.list_builds_for_project
    prev_list = models.CodeBuildBackend.list_builds
    prev_create = models.CodeBuildBackend.create_project

    def create_project(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        meta = prev_create(self, *args, **kwargs)
        # AWS's field is lastModified (moto writes lastModifiedDate, which no SDK reads).
        meta["lastModified"] = meta.get("created")
        return meta

    def response_start_build(self: Any) -> Any:
        timeout = self._get_param("timeoutInMinutesOverride")
        if timeout is not None and not 5 <= int(timeout) <= 2160:
            raise InvalidInputException(
                f"Invalid timeoutInMinutesOverride {timeout}: it must be between 5 and 2160")
        overrides = self._get_param("environmentVariablesOverride") or []
        for var in overrides:
            if var.get("type", "PLAINTEXT") not in ("PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"):
                raise InvalidInputException(f"Invalid environment variable type {var.get('type')!r} for "
                                            f"{var.get('name')}; use PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER")
        _pending.request = BuildRequest(
            buildspec_override=self._get_param("buildspecOverride"),
            env_overrides=overrides,
            timeout_minutes=int(timeout) if timeout is not None else None,
            source_version=self._get_param("sourceVersion"),
            artifacts_override=self._get_param("artifactsOverride"),
        )
        try:
            return prev_response_start(self)
        finally:
            _pending.request = None

    def backend_start_build(self: Any, project_name: str, source_version: str | None = None,
                            artifact_override: dict[str, Any] | None = None) -> dict[str, Any]:
        request = getattr(_pending, "request", None) or BuildRequest(
            source_version=source_version, artifacts_override=artifact_override)
        build = prev_backend_start(self, project_name, source_version, artifact_override)
        project = self.codebuild_projects[project_name].project_metadata
        _build_record(self, build, project, request)
        stopped = threading.Event()
        run = BuildRun(self.account_id, self.region_name, build, copy.deepcopy(project), request, stopped)
        thread = threading.Thread(target=_run_and_forget, args=(run, build["id"]),
                                  name=f"codebuild-{build['id']}", daemon=True)
        with REGISTRY.lock:
            REGISTRY.stops[build["id"]] = stopped
            REGISTRY.threads[build["id"]] = thread
            REGISTRY.requests[build["id"]] = request
        from eventdeploy.localcloud.codebuild import events, metrics

        metrics.build_started(self.account_id, self.region_name, build)
        events.emit_state_change(self.account_id, self.region_name, copy.deepcopy(build))
        thread.start()
        with REGISTRY.lock:
            return copy.deepcopy(build)

    def batch_get_builds(self: Any, ids: list[str]) -> list[dict[str, Any]]:
        wanted = {i.split("/", 1)[-1] if i.startswith("arn:") else i for i in ids}
        found: dict[str, dict[str, Any]] = {}
        with REGISTRY.lock:
            for history in self.build_metadata_history.values():
                for build in history:
                    if build["id"] in wanted:
                        found[build["id"]] = copy.deepcopy(build)
        order = [i.split("/", 1)[-1] if i.startswith("arn:") else i for i in ids]
        return [found[i] for i in dict.fromkeys(order) if i in found]

    def stop_build(self: Any, build_id: str) -> dict[str, Any]:
        with REGISTRY.lock:
            event = REGISTRY.stops.get(build_id)
            thread = REGISTRY.threads.get(build_id)
        if event is None and not batch_get_builds(self, [build_id]):
            raise ResourceNotFoundException(f"Build {build_id} does not exist")
        if event is not None:
            event.set()
        if thread is not None:
            # StopBuild answers once the build has reacted, so a caller sees STOPPED (or its final status).
            thread.join(timeout=10)
        return batch_get_builds(self, [build_id])[0]

    def list_builds_for_project(self: Any, project_name: str) -> list[str]:
        return list(reversed(prev_list_for_project(self, project_name)))  # newest first, as AWS sorts

    def list_builds(self: Any) -> list[str]:
        return list(reversed(prev_list(self)))

    if not hasattr(responses.CodeBuildResponse, "update_project"):
        responses.CodeBuildResponse.update_project = update_project  # type: ignore[attr-defined]
    if not hasattr(responses.CodeBuildResponse, "retry_build"):
        responses.CodeBuildResponse.retry_build = retry_build  # type: ignore[attr-defined]
    prev_response_create = responses.CodeBuildResponse.create_project

    def response_create_project(self: Any) -> Any:
        limit = self._get_param("concurrentBuildLimit")
        if limit is not None and int(limit) < 1:
            raise InvalidInputException(f"Invalid concurrentBuildLimit {limit}: it must be at least 1")
        result = prev_response_create(self)
        if limit is not None:
            # moto drops concurrentBuildLimit; builds beyond it wait in QUEUED.
            result.result["project"]["concurrentBuildLimit"] = int(limit)
        return result

    responses.CodeBuildResponse.create_project = response_create_project  # type: ignore[method-assign]
    prev_get_builds = responses.CodeBuildResponse.batch_get_builds
    prev_get_projects = responses.CodeBuildResponse.batch_get_projects

    def response_batch_get_builds(self: Any) -> Any:
        result = prev_get_builds(self)
        found = {b["id"] for b in result.result["builds"]} | {b["arn"] for b in result.result["builds"]}
        result.result["buildsNotFound"] = [i for i in self._get_param("ids") if i not in found]
        return result

    def response_batch_get_projects(self: Any) -> Any:
        result = prev_get_projects(self)
        found = {p["name"] for p in result.result["projects"]} | {p["arn"] for p in result.result["projects"]}
        result.result["projectsNotFound"] = [n for n in self._get_param("names") if n not in found]
        return result

    responses.CodeBuildResponse.batch_get_builds = response_batch_get_builds  # type: ignore[method-assign]
    responses.CodeBuildResponse.batch_get_projects = response_batch_get_projects  # type: ignore[method-assign]
    responses.CodeBuildResponse.start_build = response_start_build  # type: ignore[method-assign]
    models.CodeBuildBackend.create_project = create_project  # type: ignore[method-assign]
    models.CodeBuildBackend.start_build = backend_start_build  # type: ignore[method-assign]
    models.CodeBuildBackend.batch_get_builds = batch_get_builds  # type: ignore[method-assign]
    models.CodeBuildBackend.stop_build = stop_build  # type: ignore[method-assign]
    models.CodeBuildBackend.list_builds_for_project = list_builds_for_project  # type: ignore[method-assign]
    models.CodeBuildBackend.list_builds = list_builds  # type: ignore[method-assign]


def _run_and_forget(run: BuildRun, build_id: str) -> None:
    try:
        run.run()
    finally:
        with REGISTRY.lock:
            REGISTRY.stops.pop(build_id, None)
            REGISTRY.threads.pop(build_id, None)
