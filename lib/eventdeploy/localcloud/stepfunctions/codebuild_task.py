"""``arn:aws:states:::codebuild:startBuild[.sync]`` and friends, absent from moto's interpreter.

https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html : parameters and results use
Step Functions' capitalised member names (``ProjectName``; ``Build.BuildStatus``); ``.sync`` waits for the
build to end and fails the task with ``States.TaskFailed`` (the build as the cause) unless it SUCCEEDED.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud.stepfunctions import service_clients
from eventdeploy.localcloud.stepfunctions.json_values import to_json_value

IN_PROGRESS = "IN_PROGRESS"
SUCCEEDED = "SUCCEEDED"

# The CodeBuild actions Step Functions documents as optimised integrations, with their request members.
SUPPORTED_PARAMETERS: dict[str, set[str]] = {
    "startbuild": {
        "ProjectName", "ArtifactsOverride", "BuildspecOverride", "CacheOverride", "CertificateOverride",
        "ComputeTypeOverride", "DebugSessionEnabled", "EncryptionKeyOverride", "EnvironmentTypeOverride",
        "EnvironmentVariablesOverride", "GitCloneDepthOverride", "GitSubmodulesConfigOverride", "IdempotencyToken",
        "ImageOverride", "ImagePullCredentialsTypeOverride", "InsecureSslOverride", "LogsConfigOverride",
        "PrivilegedModeOverride", "QueuedTimeoutInMinutesOverride", "RegistryCredentialOverride",
        "ReportBuildStatusOverride", "SecondaryArtifactsOverride", "SecondarySourcesOverride",
        "SecondarySourcesVersionOverride", "ServiceRoleOverride", "SourceAuthOverride", "SourceLocationOverride",
        "SourceTypeOverride", "SourceVersion", "TimeoutInMinutesOverride",
    },
    "stopbuild": {"Id"},
    "batchdeletebuilds": {"Ids"},
    "batchgetreports": {"ReportArns"},
}


def lower_keys(value: Any) -> Any:
    """Step Functions' capitalised member names turned into CodeBuild's API names (``ProjectName`` → ``projectName``)."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def capitalise_keys(value: Any) -> Any:
    """CodeBuild's API names turned into Step Functions' capitalised member names (``buildStatus`` → ``BuildStatus``)."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): capitalise_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [capitalise_keys(v) for v in value]
    return value


def sync_outcome(build: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """(finished, result) for a polled build in Step Functions' shape; result is None while it runs."""
    status = build.get("buildStatus")
    if not status or status == IN_PROGRESS:
        return False, None
    return True, {"Build": capitalise_keys(to_json_value(build))}


def _task_class() -> type:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    class StateTaskServiceCodeBuild(StateTaskServiceCallback):
        """CodeBuild's optimised integration: request/response and ``.sync``."""

        def __init__(self) -> None:
            # moto's callback machinery needs a task-token endpoint even for .sync; .waitForTaskToken itself
            # is refused in _validate_service_integration_is_supported, as CodeBuild does not support it.
            super().__init__(supported_integration_patterns={ResourceCondition.Sync,
                                                             ResourceCondition.WaitForTaskToken})

        def _get_supported_parameters(self) -> set[str] | None:
            return SUPPORTED_PARAMETERS.get(self.resource.api_action.lower())

        def _validate_service_integration_is_supported(self) -> None:
            super()._validate_service_integration_is_supported()
            if self.resource.condition not in (None, ResourceCondition.Sync):
                raise ValueError(
                    f"The resource provided {self.resource.resource_arn} is not supported: CodeBuild integrates "
                    "as request/response or .sync only"
                )

        def _failure(self, env: Any, error: str, cause: str, typed: Any) -> Any:
            return FailureEvent(
                env=env, error_name=typed, event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                    error=error, cause=cause,
                    resource=self._get_sfn_resource(), resourceType=self._get_sfn_resource_type(),
                )),
            )

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ClientError):
                error = f"CodeBuild.{ex.response['Error']['Code']}"
                meta = ex.response.get("ResponseMetadata") or {}
                cause = (f"{ex.response['Error'].get('Message')} (Service: AWSCodeBuild; Status Code: "
                         f"{meta.get('HTTPStatusCode')}; Error Code: {ex.response['Error']['Code']}; "
                         f"Request ID: {meta.get('RequestId')}; Proxy: null)")
                return self._failure(env, error, cause, CustomErrorName(error))
            return super()._from_error(env=env, ex=ex)

        def _normalise_response(self, response: Any, boto_service_name: str | None = None,
                                service_action_name: str | None = None) -> None:
            if isinstance(response, dict):
                converted = capitalise_keys(to_json_value(response))
                response.clear()
                response.update(converted)

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                               state_credentials: Any) -> None:
            client = service_clients.client_for(resource_runtime_part.region, "codebuild", state_credentials)
            action = self._get_boto_service_action()
            response = getattr(client, action)(**lower_keys(normalised_parameters)) or {}
            response.pop("ResponseMetadata", None)
            env.stack.append(response)

        def _build_sync_resolver(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict,
                                 state_credentials: Any) -> Callable[[], Any]:
            client = service_clients.client_for(resource_runtime_part.region, "codebuild", state_credentials)
            submitted = env.stack.pop()
            build_id = submitted["Build"]["Id"]

            def _resolve() -> Any:
                builds = client.batch_get_builds(ids=[build_id]).get("builds") or []
                if not builds:
                    return None
                finished, result = sync_outcome(builds[0])
                if not finished:
                    return None
                if result["Build"].get("BuildStatus") == SUCCEEDED:
                    return result
                typed = StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed)
                raise FailureEventException(self._failure(
                    env, StatesErrorNameType.StatesTaskFailed.to_name(),
                    json.dumps(result, separators=(",", ":")), typed,
                ))

            return _resolve

    return StateTaskServiceCodeBuild


def _wrap_factory(previous: Callable[..., Any], task_class: type) -> Callable[..., Any]:
    def state_task_service_for(service_name: str) -> Any:
        """CodeBuild tasks get our integration; every other service moto's."""
        if service_name == "codebuild":
            return task_class()
        return previous(service_name=service_name)

    return state_task_service_for


def install() -> None:
    """Serve ``arn:aws:states:::codebuild:*`` Task states with a real CodeBuild integration."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    state_task_factory.state_task_service_for = _wrap_factory(state_task_factory.state_task_service_for,
                                                              _task_class())
