"""Step Functions aws-sdk integrations: PascalCase parameters, PascalCase results, PascalCase error names.

Spec: https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html ("API naming
conventions": parameters in PascalCase even if the native API is camelCase; errors are ServiceName.ErrorName).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/sfn-sdk-casing"


def _run(aws: Callable[..., Any], resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    sfn = aws("stepfunctions")
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters,
                                                   "End": True}}}
    arn = sfn.create_state_machine(name=f"casing-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                   roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = sfn.describe_execution(executionArn=execution)
        if found["status"] != "RUNNING":
            return dict(found)
        time.sleep(0.1)
    raise AssertionError("execution did not finish")


def test_camel_case_api_takes_pascal_case_parameters_and_answers_in_pascal_case(aws: Callable[..., Any]) -> None:
    """A camelCase API (CodePipeline) is called with PascalCase parameters; its answer comes back PascalCased."""
    name = f"casing-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    role = aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    aws("codepipeline").create_pipeline(pipeline={
        "name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": "casing-bucket"},
        "stages": [
            {"name": "Source", "actions": [{"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS",
             "provider": "S3", "version": "1"}, "configuration": {"S3Bucket": "casing-bucket", "S3ObjectKey": "k"},
             "outputArtifacts": [{"name": "Out"}]}]},
            {"name": "Approve", "actions": [{"name": "A", "actionTypeId": {"category": "Approval", "owner": "AWS",
             "provider": "Manual", "version": "1"}}]}]})
    done = _run(aws, "arn:aws:states:::aws-sdk:codepipeline:getPipeline", {"Name": name})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Pipeline"]["Name"] == name and "Stages" in output["Pipeline"]


def test_error_names_are_service_dot_error_in_pascal_case(aws: Callable[..., Any]) -> None:
    """A failing call fails the task with ServiceName.ErrorName, e.g. CodePipeline.PipelineNotFoundException."""
    done = _run(aws, "arn:aws:states:::aws-sdk:codepipeline:getPipeline", {"Name": f"missing-{uuid.uuid4().hex}"})
    assert done["status"] == "FAILED"
    assert done["error"] == "CodePipeline.PipelineNotFoundException", done


def test_pascal_case_native_api_still_works(aws: Callable[..., Any]) -> None:
    """An API that is PascalCase already (SQS) is unaffected."""
    name = f"casing-{uuid.uuid4().hex[:8]}"
    url = aws("sqs").create_queue(QueueName=name)["QueueUrl"]
    done = _run(aws, "arn:aws:states:::aws-sdk:sqs:getQueueUrl", {"QueueName": name})
    answer = json.loads(done["output"])
    assert list(answer) == ["QueueUrl"] and answer["QueueUrl"].split("/")[-2:] == url.split("/")[-2:]
