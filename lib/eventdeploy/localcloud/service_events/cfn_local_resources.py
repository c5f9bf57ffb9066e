"""Resource types moto has no model for, made by the stack lifecycle itself.

``AWS::CloudFormation::WaitConditionHandle`` / ``AWS::CloudFormation::WaitCondition`` follow
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitcondition.html:
the handle's physical id is a URL; a PUT of ``{"Status": "SUCCESS"|"FAILURE", "UniqueId", "Data", "Reason"}`` to
it is a signal; the condition fails when a FAILURE signal arrives or when ``Timeout`` seconds (emulated time,
scaled by the server's time scale) pass before ``Count`` SUCCESS signals did.

Resource-policy types the local cloud does not enforce (queue/topic/bucket policies) are recorded as created,
because nothing a caller can observe depends on them here; every other type moto cannot create fails the
resource, as a type CloudFormation could not provision would.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from eventdeploy.localcloud import clock, internal

WAIT_HANDLE = "AWS::CloudFormation::WaitConditionHandle"
WAIT_CONDITION = "AWS::CloudFormation::WaitCondition"
UNENFORCED_POLICY_TYPES = {
    "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy", "AWS::Events::EventBusPolicy",
}
SIGNAL_ROUTE = "cfn-wait-condition-signal"
MAX_WAIT_TIMEOUT_S = 43200


class ResourceFailed(Exception):
    """A resource could not be created/updated; the message is the ResourceStatusReason AWS would show."""


class StackTimedOut(ResourceFailed):
    """The stack's TimeoutInMinutes ran out while this resource was being created."""

    def __init__(self) -> None:
        super().__init__("Resource creation cancelled")


_operation = threading.local()


def set_stack_deadline(deadline: float | None) -> float | None:
    """Set the monotonic time this thread's stack operation must finish by (None: no limit); returns the old one."""
    previous = getattr(_operation, "deadline", None)
    _operation.deadline = deadline
    return previous


class OperationCancelled(ResourceFailed):
    """CancelUpdateStack interrupted this resource's creation or update."""


# How often a waiting resource checks whether its operation was cancelled, in real seconds.
CANCEL_POLL_S = 0.1


def set_cancel_check(check: Callable[[], bool] | None) -> None:
    """Tell this thread's waits how to learn that the stack operation was cancelled (None: it cannot be)."""
    _operation.cancelled = check


def raise_if_cancelled(verb: str) -> None:
    """Raise OperationCancelled ("Resource <verb> cancelled") if this thread's stack operation was cancelled."""
    check = getattr(_operation, "cancelled", None)
    if check is not None and check():
        raise OperationCancelled(f"Resource {verb} cancelled")


def wait_deadline(own_deadline: float) -> tuple[float, bool]:
    """The earlier of a wait's own deadline and the stack's; True when the stack's comes first."""
    stack_deadline = getattr(_operation, "deadline", None)
    if stack_deadline is not None and stack_deadline < own_deadline:
        return stack_deadline, True
    return own_deadline, False


class LocalResource:
    """A stack resource the lifecycle made itself; enough of moto's model interface for Ref/GetAtt/delete."""

    def __init__(self, logical_id: str, resource_type: str, physical_id: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = physical_id
        self.attributes: dict[str, Any] = {}

    def get_cfn_attribute(self, name: str) -> Any:
        """The value of ``Fn::GetAtt [logical id, name]``."""
        if name not in self.attributes:
            raise ResourceFailed(f"Requested attribute {name} does not exist in schema for {self.cf_resource_type}")
        return self.attributes[name]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        """Attributes are checked when read."""
        return True

    def is_created(self) -> bool:
        """Local resources are complete once made."""
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing outside the stack holds a local resource."""
        _handles.pop(self.physical_resource_id, None)


class WaitHandle(LocalResource):
    """A wait-condition handle: collects the signals PUT to its URL."""

    def __init__(self, logical_id: str) -> None:
        self.token = uuid.uuid4().hex
        url = f"{internal.settings().endpoint}/_localcloud/{SIGNAL_ROUTE}?handle={self.token}"
        super().__init__(logical_id, WAIT_HANDLE, url)
        self.signals: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        _handles[url] = self

    def signal(self, body: dict[str, Any]) -> None:
        """Record one signal and wake the waiting condition."""
        with self.changed:
            self.signals.append(body)
            self.changed.notify_all()


_handles: dict[str, WaitHandle] = {}


def make_wait_handle(logical_id: str) -> WaitHandle:
    """Create a wait-condition handle."""
    return WaitHandle(logical_id)


def wait_for_condition(logical_id: str, properties: dict[str, Any], stack_id: str) -> LocalResource:
    """Block until the handle got ``Count`` SUCCESS signals; raise ResourceFailed on FAILURE or timeout."""
    handle = _handles.get(str(properties.get("Handle", "")))
    if handle is None:
        raise ResourceFailed(f"Property Handle of {logical_id} must be the Ref of a WaitConditionHandle")
    try:
        timeout = int(properties.get("Timeout", ""))
        count = int(properties.get("Count", 1))
    except (TypeError, ValueError):
        raise ResourceFailed(
            f"Property Timeout of {logical_id} must be a number of seconds (got {properties.get('Timeout')!r})"
        ) from None
    if not 1 <= timeout <= MAX_WAIT_TIMEOUT_S:
        raise ResourceFailed(f"Timeout of {logical_id} must be between 1 and {MAX_WAIT_TIMEOUT_S} (got {timeout})")
    deadline, stack_first = wait_deadline(time.monotonic() + clock.scaled(timeout))
    with handle.changed:
        while True:
            failures = [s for s in handle.signals if str(s.get("Status", "")).upper() != "SUCCESS"]
            if failures:
                first = failures[0]
                raise ResourceFailed(f"WaitCondition received failed message: '{first.get('Reason', '')}' "
                                     f"for uniqueId: {first.get('UniqueId', '')}")
            if len(handle.signals) >= count:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 and stack_first:
                raise StackTimedOut()
            if remaining <= 0:
                raise ResourceFailed(f"WaitCondition timed out. Received {len(handle.signals)} conditions "
                                     f"when expecting {count}")
            raise_if_cancelled("creation")
            handle.changed.wait(min(remaining, CANCEL_POLL_S))
    condition = LocalResource(logical_id, WAIT_CONDITION, f"{stack_id}/{logical_id}")
    condition.attributes["Data"] = json.dumps({str(s.get("UniqueId", "")): s.get("Data", "") for s in handle.signals})
    return condition


def signal_route(environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """Admin route behind every handle URL: record the signal PUT to it."""
    token = (parse_qs(environ.get("QUERY_STRING", "")).get("handle") or [""])[0]
    handle = next((h for h in _handles.values() if h.token == token), None)
    if handle is None:
        return 404, {"error": f"no wait condition handle {token!r}; it was deleted or never existed"}
    try:
        signal = json.loads(body or b"{}")
    except ValueError:
        return 400, {"error": "a wait condition signal must be JSON: {\"Status\": \"SUCCESS\", \"UniqueId\": ...}"}
    if not isinstance(signal, dict) or str(signal.get("Status", "")).upper() not in ("SUCCESS", "FAILURE"):
        return 400, {"error": f"signal Status must be SUCCESS or FAILURE, got {signal!r}"}
    handle.signal(signal)
    return 200, {"status": "signalled"}


def reset() -> None:
    """Fail every waiting condition and forget every handle (the stacks that held them are gone)."""
    for handle in list(_handles.values()):
        handle.signal({"Status": "FAILURE", "UniqueId": "localcloud", "Reason": "the local cloud was reset"})
    _handles.clear()
