"""Stack and resource status changes: one stack event (DescribeStackEvents) plus one EventBridge event each.

EventBridge shapes follow
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html and
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-resource-status-change.html:
source ``aws.cloudformation``, ``resources`` the stack id, detail with ``stack-id``, ``status-details``
{``status``, ``status-reason``} and ``client-request-token`` (resource events add ``logical-resource-id``,
``physical-resource-id`` and ``resource-type``).
"""

from __future__ import annotations

import threading
from typing import Any

from eventdeploy.localcloud.service_events.emitter import emit_event

SOURCE = "aws.cloudformation"
STACK_DETAIL_TYPE = "CloudFormation Stack Status Change"
RESOURCE_DETAIL_TYPE = "CloudFormation Resource Status Change"

# The ClientRequestToken of the API call being served on this thread, before a stack object carries it.
request = threading.local()
# Bumped by a reset: stacks of an older generation are gone, and a worker still finishing one stays silent.
_generation = [0]


def abandoned(stack: Any) -> bool:
    """True for a stack that a reset removed (its worker may still be running)."""
    generation = getattr(stack, "lc_generation", None)
    if generation is None:
        stack.lc_generation = generation = _generation[0]
    return bool(generation != _generation[0])


def reset() -> None:
    """Abandon every existing stack."""
    _generation[0] += 1


def operation_token(stack: Any) -> str:
    """The ClientRequestToken of the operation ``stack`` is going through ('' when the caller gave none)."""
    token = getattr(stack, "lc_client_request_token", None)
    if token is None:
        token = getattr(request, "client_request_token", None)
    return token or ""


def stack_status_detail(stack: Any, status: str, reason: str | None) -> dict[str, Any]:
    """Detail of a CloudFormation Stack Status Change event."""
    return {
        "stack-id": stack.stack_id,
        "status-details": {"status": status, "status-reason": reason or ""},
        "client-request-token": operation_token(stack),
    }


def resource_status_detail(
    stack: Any, logical_id: str, physical_id: str, resource_type: str, status: str, reason: str | None,
) -> dict[str, Any]:
    """Detail of a CloudFormation Resource Status Change event."""
    return {
        "stack-id": stack.stack_id,
        "logical-resource-id": logical_id,
        "physical-resource-id": physical_id or "",
        "status-details": {"status": status, "status-reason": reason or ""},
        "resource-type": resource_type,
        "client-request-token": operation_token(stack),
    }


def on_stack_event(stack: Any, status: str, reason: str | None) -> None:
    """Bring the stack's status in line with the stack event just recorded, and emit it."""
    if abandoned(stack):
        return
    stack.status = status
    when = stack.events[-1].timestamp if stack.events else None
    if status in ("UPDATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"):
        stack.last_updated_time = when
    elif status == "DELETE_IN_PROGRESS":
        stack.deletion_time = when
    # ROLLBACK_COMPLETE keeps the reason the rollback started for, so DescribeStacks still says why.
    if reason or status not in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE"):
        stack.status_reason = reason or None
    if stack.events:
        stack.events[-1].client_request_token = operation_token(stack) or None
    emit_event(stack.account_id, stack.region_name, SOURCE, STACK_DETAIL_TYPE,
               stack_status_detail(stack, status, reason), [stack.stack_id])


def resource_event(
    stack: Any, logical_id: str, physical_id: str | None, resource_type: str, status: str,
    reason: str | None = None, properties: str | None = None,
) -> None:
    """Record one resource status change on ``stack`` (and its SNS notification targets) and emit it."""
    from moto.cloudformation.models import Event

    if abandoned(stack):
        return
    event = Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=physical_id or "", resource_type=resource_type, resource_status=status,
        resource_status_reason=reason or None, resource_properties=properties,
    )
    event.client_request_token = operation_token(stack) or None
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)
    statuses = getattr(stack, "lc_resource_status", None)
    if statuses is None:
        statuses = stack.lc_resource_status = {}
    statuses[logical_id] = (status, reason or None, event.timestamp)
    emit_event(stack.account_id, stack.region_name, SOURCE, RESOURCE_DETAIL_TYPE,
               resource_status_detail(stack, logical_id, physical_id or "", resource_type, status, reason),
               [stack.stack_id])
