"""Task parameters and results use Step Functions' capitalised member names for every service.

https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html : "parameters ... must be
PascalCase" and results come back PascalCase, whatever the service's own casing (Step Functions ``stateMachineArn``,
ECR ``repositoryName``, CodePipeline ``name``). moto's interpreter dropped the conversion LocalStack does with the
service's botocore model, so camelCase services (states:startExecution[.sync], aws-sdk:ecr:*, ...) failed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("eventdeploy.localcloud.stepfunctions")


@functools.lru_cache(maxsize=512)
def operation_model(service: str, action_snake: str) -> Any | None:
    """botocore's model of ``service``'s operation whose snake_case name is ``action_snake`` (None if unknown)."""
    import botocore.session
    from botocore import xform_name

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:
        return None
    for name in model.operation_names:
        if xform_name(name) == action_snake:
            return model.operation_model(name)
    return None


def _operation(task: Any, boto_service_name: str | None, service_action_name: str | None) -> Any | None:
    service = task._get_boto_service_name(boto_service_name=boto_service_name)
    action = task._get_boto_service_action(service_action_name=service_action_name)
    return operation_model(service, action)


def _wrap_parameters(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                              service_action_name: str | None = None) -> None:
        previous(self, parameters, boto_service_name=boto_service_name, service_action_name=service_action_name)
        operation = _operation(self, boto_service_name, service_action_name)
        if operation is not None and operation.input_shape is not None and isinstance(parameters, dict):
            self._to_boto_request(parameters, operation.input_shape)

    return _normalise_parameters


def _wrap_response(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                            service_action_name: str | None = None) -> None:
        previous(self, response, boto_service_name=boto_service_name, service_action_name=service_action_name)
        operation = _operation(self, boto_service_name, service_action_name)
        if operation is not None and operation.output_shape is not None and isinstance(response, dict):
            self._from_boto_response(response, operation.output_shape)

    return _normalise_response


def install() -> None:
    """Convert every service task's parameters to the service's member names and its result back."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    StateTaskService._normalise_parameters = _wrap_parameters(StateTaskService._normalise_parameters)
    StateTaskService._normalise_response = _wrap_response(StateTaskService._normalise_response)
