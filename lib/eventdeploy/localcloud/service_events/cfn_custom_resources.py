"""Custom resources (``Custom::*``, ``AWS::CloudFormation::CustomResource``) backed by Lambda or SNS.

Follows https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html: CloudFormation sends a
request (RequestType Create/Update/Delete, ResponseURL, StackId, RequestId, ResourceType, LogicalResourceId,
ResourceProperties, PhysicalResourceId and OldResourceProperties where they apply) to the ServiceToken (a Lambda
function, invoked asynchronously, or an SNS topic) and waits for the provider to PUT
``{"Status": "SUCCESS"|"FAILED", "Reason", "PhysicalResourceId", "Data", ...}`` to the ResponseURL. A FAILED
answer fails the resource with "Received response status [FAILED] from custom resource. Message returned: ..."
(a dependable way to fail a stack on purpose), and the rollback then sends that provider a Delete for it; no
answer within ``ServiceTimeout`` seconds (default 3600, emulated time) fails it too. The ResponseURL is an admin route of the local cloud.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from eventdeploy.localcloud import clock, internal
from eventdeploy.localcloud.service_events.cfn_local_resources import (
    CANCEL_POLL_S,
    LocalResource,
    ResourceFailed,
    StackTimedOut,
    raise_if_cancelled,
    wait_deadline,
)

RESPONSE_ROUTE = "cfn-custom-resource-response"
DEFAULT_TIMEOUT_S = 3600


def is_custom(resource_type: str) -> bool:
    """True for the types CloudFormation hands to a custom resource provider."""
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


@dataclass
class _Pending:
    request_id: str
    answered: threading.Condition = field(default_factory=threading.Condition)
    response: dict[str, Any] | None = None


_pending: dict[str, _Pending] = {}
_lock = threading.Lock()


class CustomResource(LocalResource):
    """A provisioned custom resource: its physical id and the Data its provider returned."""

    def __init__(self, stack: Any, logical_id: str, resource_type: str, physical_id: str,
                 properties: dict[str, Any], data: dict[str, Any]) -> None:
        super().__init__(logical_id, resource_type, physical_id)
        self.stack = stack
        self.properties = properties
        self.attributes = dict(data)

    def delete(self, account_id: str, region_name: str) -> None:
        """Ask the provider to delete the resource; a FAILED answer fails the deletion."""
        send_request(self.stack, self.logical_resource_id, self.cf_resource_type, "Delete", self.properties,
                     physical_id=self.physical_resource_id)


def _invoke(stack: Any, service_token: str, event: dict[str, Any]) -> None:
    payload = json.dumps(event)
    try:
        if ":sns:" in service_token:
            internal.client("sns", stack.account_id, stack.region_name).publish(TopicArn=service_token,
                                                                                 Message=payload)
        else:
            internal.client("lambda", stack.account_id, stack.region_name).invoke(
                FunctionName=service_token, InvocationType="Event", Payload=payload.encode())
    except Exception as exc:
        raise ResourceFailed(f"Failed to invoke the custom resource provider {service_token}: {exc}") from None


def send_request(stack: Any, logical_id: str, resource_type: str, request_type: str, properties: dict[str, Any],
                 physical_id: str | None = None, old_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one provider request and wait for its answer; raises ResourceFailed on FAILED or timeout."""
    service_token = properties.get("ServiceToken")
    if not isinstance(service_token, str) or not service_token:
        raise ResourceFailed(f"Custom resource {logical_id} needs a ServiceToken (a Lambda function or SNS topic ARN)")
    try:
        timeout = int(properties.get("ServiceTimeout", DEFAULT_TIMEOUT_S))
    except (TypeError, ValueError):
        raise ResourceFailed(f"ServiceTimeout of {logical_id} must be a number of seconds") from None
    token = uuid.uuid4().hex
    pending = _Pending(request_id=str(uuid.uuid4()))
    with _lock:
        _pending[token] = pending
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": f"{internal.settings().endpoint}/_localcloud/{RESPONSE_ROUTE}?request={token}",
        "StackId": stack.stack_id,
        "RequestId": pending.request_id,
        "ResourceType": resource_type,
        "LogicalResourceId": logical_id,
        "ResourceProperties": properties,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    try:
        _invoke(stack, service_token, event)
        deadline, stack_first = wait_deadline(time.monotonic() + clock.scaled(timeout))
        with pending.answered:
            while pending.response is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 and stack_first:
                    raise StackTimedOut()
                if remaining <= 0:
                    raise ResourceFailed(
                        "CloudFormation did not receive a response from your Custom Resource. Please check your "
                        f"logs for requestId [{pending.request_id}].")
                if request_type != "Delete":
                    raise_if_cancelled("creation" if request_type == "Create" else "update")
                pending.answered.wait(min(remaining, CANCEL_POLL_S))
    finally:
        with _lock:
            _pending.pop(token, None)
    response = pending.response
    if str(response.get("Status", "")).upper() != "SUCCESS":
        raise ProviderFailed(response, pending.request_id)
    return response


class ProviderFailed(ResourceFailed):
    """The provider answered FAILED; ``partial`` is what a rollback must ask it to delete (set by ``create``)."""

    def __init__(self, response: dict[str, Any], request_id: str) -> None:
        super().__init__(f"Received response status [FAILED] from custom resource. Message returned: "
                         f"{response.get('Reason', '')} (RequestId: {request_id})")
        self.response = response
        self.partial: CustomResource | None = None


def create(stack: Any, logical_id: str, resource_type: str, properties: dict[str, Any]) -> CustomResource:
    """Provision a custom resource through its provider."""
    try:
        response = send_request(stack, logical_id, resource_type, "Create", properties)
    except ProviderFailed as failed:
        # CloudFormation's rollback sends the provider a Delete for a resource whose Create failed.
        physical = failed.response.get("PhysicalResourceId") or f"{stack.name}-{logical_id}-{uuid.uuid4().hex[:12]}"
        failed.partial = CustomResource(stack, logical_id, resource_type, str(physical), properties, {})
        raise
    physical = response.get("PhysicalResourceId") or f"{stack.name}-{logical_id}-{uuid.uuid4().hex[:12]}"
    return CustomResource(stack, logical_id, resource_type, str(physical), properties, response.get("Data") or {})


def update(stack: Any, previous: CustomResource, properties: dict[str, Any]) -> CustomResource:
    """Send an Update request carrying the old properties; the answer may name a new physical id."""
    response = send_request(stack, previous.logical_resource_id, previous.cf_resource_type, "Update", properties,
                            physical_id=previous.physical_resource_id, old_properties=previous.properties)
    physical = response.get("PhysicalResourceId") or previous.physical_resource_id
    return CustomResource(stack, previous.logical_resource_id, previous.cf_resource_type, str(physical), properties,
                          response.get("Data") or {})


def reset() -> None:
    """Answer every waiting request FAILED, so no stack worker outlives a reset."""
    with _lock:
        waiting = list(_pending.values())
    for pending in waiting:
        with pending.answered:
            pending.response = {"Status": "FAILED", "Reason": "the local cloud was reset"}
            pending.answered.notify_all()


def response_route(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """Admin route behind every ResponseURL: record the provider's answer."""
    token = (parse_qs(environ.get("QUERY_STRING", "")).get("request") or [""])[0]
    with _lock:
        pending = _pending.get(token)
    if pending is None:
        return 404, {"error": f"no custom resource request {token!r} is waiting (answered already or timed out)"}
    try:
        response = json.loads(body or b"{}")
    except ValueError:
        return 400, {"error": "a custom resource response must be JSON with Status SUCCESS or FAILED"}
    if not isinstance(response, dict) or str(response.get("Status", "")).upper() not in ("SUCCESS", "FAILED"):
        return 400, {"error": f"response Status must be SUCCESS or FAILED, got {response!r}"}
    with pending.answered:
        pending.response = response
        pending.answered.notify_all()
    return 200, {"status": "received"}
