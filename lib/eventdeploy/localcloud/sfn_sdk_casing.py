"""AWS SDK integrations (``arn:aws:states:::aws-sdk:<service>:<action>``) speak PascalCase, as AWS documents.

"Parameters in Step Functions are expressed in PascalCase, even if the native service API is in camelCase"
(https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html), and results come back
PascalCased too, as is the service part of error names. moto's port of the interpreter left both normalisations out, so ``aws-sdk:codepipeline:
startPipelineExecution`` with ``{"Name": ...}`` failed (States.Runtime ``'Name'``) and ``listPipelines`` answered
``{"pipelines": ...}``. This restores them from the botocore operation model, for aws-sdk tasks only.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session


@functools.lru_cache(maxsize=256)
def operation_model(service: str, action: str) -> Any:
    """botocore's model of ``service``'s ``action`` (camelCase or PascalCase action name)."""
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(action[:1].upper() + action[1:])


def error_service_name(service: str) -> str:
    """The service part of an aws-sdk error name, PascalCased as AWS does ("CodePipeline", "AcmPca", "Sqs")."""
    overrides = {"dynamodb": "DynamoDb", "sfn": "Sfn"}
    if service.lower() in overrides:
        return overrides[service.lower()]
    try:
        service_id = botocore.session.get_session().get_service_model(service).metadata["serviceId"]
    except Exception:  # an unknown service keeps the name it was called by
        return service
    return "".join(w.capitalize() if w.isupper() else w for w in str(service_id).split())


def install() -> None:
    """Give moto's aws-sdk task state the request and response normalisation AWS applies."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    if getattr(StateTaskServiceAwsSdk, "_eventdeploy_casing", False):
        return
    previous_params = StateTaskServiceAwsSdk._normalise_parameters
    previous_response = StateTaskServiceAwsSdk._normalise_response

    def _normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                              service_action_name: str | None = None) -> None:
        previous_params(self, parameters, boto_service_name, service_action_name)
        model = operation_model(self._get_boto_service_name(boto_service_name), self.resource.api_action)
        if model.input_shape is not None:
            self._to_boto_request(parameters, model.input_shape)

    def _normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                            service_action_name: str | None = None) -> None:
        previous_response(self, response, boto_service_name, service_action_name)
        model = operation_model(self._get_boto_service_name(boto_service_name), self.resource.api_action)
        if model.output_shape is not None:
            self._from_boto_response(response, model.output_shape)

    # "ServiceName.ErrorName ... Both are in PascalCase" (same page): e.g. CodePipeline.PipelineNotFoundException.
    StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(error_service_name)
    StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters
    StateTaskServiceAwsSdk._normalise_response = _normalise_response
    StateTaskServiceAwsSdk._eventdeploy_casing = True
