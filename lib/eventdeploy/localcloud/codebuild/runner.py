"""Run one build phase by phase, as CodeBuild does, updating the build record BatchGetBuilds returns.

Phase order and skipping follow "Build phase transitions"
(https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html): a failure in INSTALL or
PRE_BUILD goes straight to FINALIZING; after BUILD has run, POST_BUILD and UPLOAD_ARTIFACTS are always
attempted. ``on-failure: CONTINUE`` marks the phase FAILED and goes on as if it had succeeded.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventdeploy.localcloud import internal
from eventdeploy.localcloud.codebuild import artifacts as art
from eventdeploy.localcloud.codebuild import events, metrics
from eventdeploy.localcloud.codebuild.buildspec import Buildspec, BuildspecError, parse_buildspec
from eventdeploy.localcloud.codebuild.envvars import VariableResolutionError, build_variables
from eventdeploy.localcloud.codebuild.logsink import LogSink, container_line
from eventdeploy.localcloud.codebuild.registry import REGISTRY
from eventdeploy.localcloud.codebuild.shell import Interrupted, Session, read_variables, run_command

log = logging.getLogger("eventdeploy.localcloud.codebuild")

COMMAND_PHASES = {"INSTALL": "install", "PRE_BUILD": "pre_build", "BUILD": "build", "POST_BUILD": "post_build"}
DEFAULT_TIMEOUT_MINUTES = 60


@dataclass
class BuildRequest:
    """What StartBuild (or a CodePipeline build action) asked for, beyond the project's own settings."""

    buildspec_override: str | None = None
    env_overrides: list[dict[str, Any]] = field(default_factory=list)
    timeout_minutes: int | None = None
    source_version: str | None = None
    artifacts_override: dict[str, Any] | None = None
    initiator: str = "root"
    # CodePipeline: the input artifacts (zips) to unpack as source, first = primary.
    input_zips: list[bytes] = field(default_factory=list)
    # Their artifact names: secondary ones are at CODEBUILD_SRC_DIR_<name>.
    input_names: list[str] = field(default_factory=list)
    # CodePipeline: receives the output artifact zip and returns where it was stored.
    output_sink: Callable[[bytes], str] | None = None


class _PhaseFailed(Exception):
    def __init__(self, status: str, context: str, message: str, proceed: bool = False) -> None:
        super().__init__(message)
        self.status, self.context, self.message = status, context, message
        # on-failure: CONTINUE — the phase is FAILED but the build goes on as if it had succeeded.
        self.proceed = proceed


def _now() -> datetime:
    return datetime.now(UTC)


class BuildRun:
    """One build's execution on a background thread."""

    def __init__(self, account_id: str, region: str, build: dict[str, Any], project: dict[str, Any],
                 request: BuildRequest, stopped: threading.Event) -> None:
        self.account_id, self.region, self.build, self.project = account_id, region, build, project
        self.request, self.stopped = request, stopped
        self.uuid = build["id"].split(":", 1)[1]
        root = REGISTRY.work_root or Path("/tmp/eventdeploy-codebuild")
        self.work = root / f"{build['projectName']}-{self.uuid}"
        self.src_dir = self.work / "src"
        self.sink = LogSink(account_id, region, build["logs"]["groupName"], build["logs"]["streamName"])
        self.spec: Buildspec | None = None
        self.session: Session | None = None
        self.deadline = 0.0
        self.status = "SUCCEEDED"

    # -- build record -------------------------------------------------------------------------------------
    def _start_phase(self, phase_type: str) -> dict[str, Any]:
        phase = {"phaseType": phase_type, "startTime": _now()}
        with REGISTRY.lock:
            self.build["phases"].append(phase)
            self.build["currentPhase"] = phase_type
        return phase

    def _end_phase(self, phase: dict[str, Any], status: str, context: tuple[str, str] | None = None) -> None:
        end = _now()
        with REGISTRY.lock:
            phase["endTime"] = end
            phase["durationInSeconds"] = int(round((end - phase["startTime"]).total_seconds()))
            phase["phaseStatus"] = status
            if context:
                phase["contexts"] = [{"statusCode": context[0], "message": context[1]}]
            else:
                phase["contexts"] = [{"statusCode": "", "message": ""}] if status != "SUCCEEDED" else []
        self.sink.write(container_line(f"Phase complete: {phase['phaseType']} State: {status}"))
        code, msg = context or ("", "")
        self.sink.write(container_line(f"Phase context status code: {code} Message: {msg}"))
        events.emit_phase_change(self.account_id, self.region, self._snapshot(), phase)

    def _snapshot(self) -> dict[str, Any]:
        import copy

        with REGISTRY.lock:
            return copy.deepcopy(self.build)

    def _phase(self, phase_type: str, body: Callable[[], None]) -> bool:
        """Run ``body`` as ``phase_type``; return whether the build may go on normally."""
        phase = self._start_phase(phase_type)
        self.sink.write(container_line(f"Entering phase {phase_type}"))
        try:
            if self.stopped.is_set() and phase_type != "FINALIZING":
                raise Interrupted("STOPPED")
            body()
        except Interrupted as exc:
            context = ("BUILD_TIMED_OUT", "Build has timed out. ") if exc.reason == "TIMED_OUT" else \
                ("BUILD_STOPPED", "Build was stopped. ")
            self.status = exc.reason
            self._end_phase(phase, exc.reason, context)
            return False
        except _PhaseFailed as exc:
            self._fail(exc.status)
            self._end_phase(phase, "FAILED", (exc.context, exc.message))
            return exc.proceed
        except Exception as exc:  # an emulator bug must end the build as CodeBuild's FAULT, not hang it
            log.exception("build %s: phase %s faulted", self.build["id"], phase_type)
            self._fail("FAULT")
            self._end_phase(phase, "FAULT", ("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
            return False
        self._end_phase(phase, "SUCCEEDED")
        return True

    def _fail(self, status: str) -> None:
        if self.status == "SUCCEEDED":
            self.status = status
        if self.session is not None:
            self.session.forced = {"CODEBUILD_BUILD_SUCCEEDING": "0"}

    # -- phases -------------------------------------------------------------------------------------------
    def _provision(self) -> None:
        if self.stopped.is_set():
            raise Interrupted("STOPPED")
        shutil.rmtree(self.work, ignore_errors=True)
        self.src_dir.mkdir(parents=True)

    def _download_source(self) -> None:
        source = self.project.get("source") or {}
        kind = source.get("type")
        resolved = self.request.source_version or ""
        try:
            if self.request.input_zips:
                # CodePipeline hands its input artifacts to the build whatever the project's own source is.
                for index, data in enumerate(self.request.input_zips):
                    dest = self.src_dir if index == 0 else self.work / f"src{index + 1}"
                    dest.mkdir(parents=True, exist_ok=True)
                    art.unzip_into(data, dest)
            elif kind == "S3":
                resolved = art.download_s3_source(self.account_id, self.region, source.get("location", ""),
                                                  self.request.source_version, self.src_dir) or resolved
        except art.ArtifactError as exc:
            raise _PhaseFailed("FAILED", exc.context, str(exc)) from exc
        with REGISTRY.lock:
            self.build["resolvedSourceVersion"] = resolved
        text = self.request.buildspec_override or source.get("buildspec") or ""
        try:
            self.spec = parse_buildspec(self._buildspec_text(text))
        except BuildspecError as exc:
            raise _PhaseFailed("FAILED", "YAML_FILE_ERROR", str(exc)) from exc
        try:
            variables = build_variables(
                self.account_id, self.region, self.spec.variables, self.spec.parameter_store,
                self.spec.secrets_manager, (self.project.get("environment") or {}).get("environmentVariables", []),
                self.request.env_overrides)
        except VariableResolutionError as exc:
            raise _PhaseFailed("FAILED", exc.context, str(exc)) from exc
        env = self._base_env(resolved)
        for index, name in enumerate(self.request.input_names[1:], start=1):
            env[f"CODEBUILD_SRC_DIR_{name}"] = str(self.work / f"src{index + 1}")
        env.update(variables)
        self.session = Session(self.work / "shell", self.src_dir, env, self.spec.shell)

    def _buildspec_text(self, text: str) -> str:
        """Inline buildspec text, or the file it names inside the source (default ``buildspec.yml``)."""
        stripped = text.strip()
        if stripped.startswith("arn:aws:s3:::"):
            bucket, key = art.split_s3_location(stripped)
            try:
                body = internal.client("s3", self.account_id, self.region).get_object(Bucket=bucket, Key=key)["Body"]
            except Exception as exc:
                raise _PhaseFailed("FAILED", "YAML_FILE_ERROR", f"cannot read buildspec {stripped}: {exc}") from exc
            return str(body.read().decode())
        if stripped and ("\n" in stripped or stripped.startswith("{") or ":" in stripped.split("\n")[0]):
            return text
        path = self.src_dir / (stripped or "buildspec.yml")
        if not path.is_file():
            raise _PhaseFailed("FAILED", "YAML_FILE_ERROR",
                               f"YAML file does not exist: {stripped or 'buildspec.yml'} in the source; add it or "
                               "give the project an inline buildspec")
        return path.read_text()

    def _base_env(self, resolved_version: str) -> dict[str, str]:
        settings = internal.settings()
        env_cfg = self.project.get("environment") or {}
        python_bin = str(Path(sys.executable).parent)
        return {
            # The server's interpreter (with boto3) first, so `python` in a build can call the local cloud.
            "PATH": f"{python_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.work),
            "LANG": "C.UTF-8",
            "CODEBUILD_CI": "true",
            "CODEBUILD_BUILD_ID": self.build["id"],
            "CODEBUILD_BUILD_ARN": self.build["arn"],
            "CODEBUILD_BUILD_NUMBER": str(self.build["buildNumber"]),
            "CODEBUILD_BUILD_IMAGE": str(env_cfg.get("image", "")),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": self.build["initiator"],
            "CODEBUILD_KMS_KEY_ID": str(self.build.get("encryptionKey", "")),
            "CODEBUILD_LOG_PATH": self.build["logs"]["streamName"],
            "CODEBUILD_PROJECT_ARN": str(self.project.get("arn", "")),
            "CODEBUILD_RESOLVED_SOURCE_VERSION": resolved_version,
            "CODEBUILD_SOURCE_VERSION": str(self.build.get("sourceVersion") or ""),
            "CODEBUILD_SOURCE_REPO_URL": str((self.project.get("source") or {}).get("location", "")),
            "CODEBUILD_SRC_DIR": str(self.src_dir),
            "CODEBUILD_START_TIME": str(int(self.build["startTime"].timestamp() * 1000)),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCOUNT_ID": self.account_id,
            "AWS_ENDPOINT_URL": settings.endpoint,
            **self._role_credentials(),
        }

    def _role_credentials(self) -> dict[str, str]:
        """The project's service role, assumed through the local STS as CodeBuild does: calls made inside the
        build act as the role's account."""
        role = str(self.project.get("serviceRole") or "")
        try:
            creds = internal.client("sts", self.account_id, self.region).assume_role(
                RoleArn=role, RoleSessionName=self.uuid[:64], DurationSeconds=3600)["Credentials"]
        except Exception:
            log.warning("build %s: cannot assume service role %r; using the default account's test keys",
                        self.build["id"], role)
            return {"AWS_ACCESS_KEY_ID": internal.TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": internal.TEST_SECRET_KEY}
        return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                "AWS_SESSION_TOKEN": creds["SessionToken"]}

    def _commands(self, phase_type: str) -> Callable[[], None]:
        def body() -> None:
            assert self.spec is not None and self.session is not None
            phase = self.spec.phases[COMMAND_PHASES[phase_type]]
            failure: _PhaseFailed | None = None
            for command in phase.commands:
                failure = self._run(command)
                if failure:
                    break
            for command in phase.finally_commands:
                failure = self._run(command) or failure
                if failure:
                    break
            if failure:
                failure.proceed = phase.on_failure == "CONTINUE"
                raise failure
        return body

    def _run(self, command: str) -> _PhaseFailed | None:
        assert self.session is not None
        self.sink.write(container_line(f"Running command {command}"))
        code = run_command(self.session, command, self.sink.write, self.deadline, self.stopped)
        if code == 0:
            return None
        return _PhaseFailed("FAILED", "COMMAND_EXECUTION_ERROR",
                            f"Error while executing command: {command}. Reason: exit status {code}")

    def _export_variables(self) -> None:
        """Record buildspec ``env/exported-variables`` as the build's exportedEnvironmentVariables."""
        if self.spec is None or self.session is None or not self.spec.exported_variables:
            return
        try:
            values = read_variables(self.session, self.spec.exported_variables)
        except Interrupted:
            return
        with REGISTRY.lock:
            self.build["exportedEnvironmentVariables"] = [
                {"name": n, "value": values.get(n, "")} for n in self.spec.exported_variables]

    def _upload_artifacts(self) -> None:
        spec_artifacts = self.spec.artifacts if self.spec else None
        target = self.request.artifacts_override or self.project.get("artifacts") or {}
        kind = target.get("type", "NO_ARTIFACTS")
        if kind == "NO_ARTIFACTS" and self.request.output_sink is None:
            return
        files = art.collect(self.src_dir, spec_artifacts) if spec_artifacts else []
        if spec_artifacts and not files:
            raise _PhaseFailed("FAILED", "CLIENT_ERROR",
                               f"no matching artifact paths found for {spec_artifacts.files}")
        try:
            if self.request.output_sink is not None:
                location = self.request.output_sink(art.zip_files(files))
            elif kind == "S3":
                location = art.upload_s3_artifacts(
                    self.account_id, self.region, target, self.uuid, self.build["projectName"], files,
                    spec_artifacts.name if spec_artifacts else None)
            else:
                return
        except art.ArtifactError as exc:
            raise _PhaseFailed("FAILED", exc.context, str(exc)) from exc
        with REGISTRY.lock:
            self.build["artifacts"] = {**(self.build.get("artifacts") or {}), "location": location}

    # -- the whole build ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Run every phase, then mark the build complete and emit its final state change."""
        self.slot = (self.account_id, self.region, str(self.build["projectName"]))
        self._holds_slot = False
        try:
            self._run_phases()
        except Exception:
            log.exception("build %s crashed", self.build["id"])
            self._fail("FAULT")
        finally:
            end = _now()
            with REGISTRY.lock:
                self.build["phases"].append({"phaseType": "COMPLETED", "startTime": end})
                self.build["currentPhase"] = "COMPLETED"
                self.build["buildStatus"] = self.status
                self.build["endTime"] = end
                self.build["buildComplete"] = True
            self.sink.write(container_line(f"Build {self.status}"))
            final = self._snapshot()
            metrics.build_finished(self.account_id, self.region, final)
            events.emit_state_change(self.account_id, self.region, final)
            shutil.rmtree(self.work, ignore_errors=True)
            if self._holds_slot:
                REGISTRY.release_slot(self.slot)

    def _run_phases(self) -> None:
        queued = self.build["phases"][-1]
        limit = self.project.get("concurrentBuildLimit")
        if not REGISTRY.acquire_slot(self.slot, int(limit) if limit else None, self.stopped):
            self.status = "STOPPED"
            self._end_phase(queued, "STOPPED", ("BUILD_STOPPED", "Build was stopped while queued. "))
            return
        self._holds_slot = True
        self._end_phase(queued, "SUCCEEDED")
        timeout = self.request.timeout_minutes or self.build.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES
        # Timeout counts from when the build leaves the queue, in real time (the commands are real work).
        self.deadline = time.monotonic() + float(timeout) * REGISTRY.minute_seconds
        go = self._phase("PROVISIONING", self._provision) and self._phase("DOWNLOAD_SOURCE", self._download_source)
        if go:
            go = self._phase("INSTALL", self._commands("INSTALL")) and \
                self._phase("PRE_BUILD", self._commands("PRE_BUILD"))
            if go:
                built = self._phase("BUILD", self._commands("BUILD"))
                if built or self.status not in ("STOPPED", "TIMED_OUT"):
                    posted = self._phase("POST_BUILD", self._commands("POST_BUILD"))
                    if self.status not in ("STOPPED", "TIMED_OUT") or posted:
                        self._export_variables()
                        self._phase("UPLOAD_ARTIFACTS", self._upload_artifacts)
        self._phase("FINALIZING", lambda: None)
