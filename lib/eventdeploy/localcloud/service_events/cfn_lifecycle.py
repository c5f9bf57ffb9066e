"""Stack create and delete run resource by resource, asynchronously, failing and rolling back as AWS does.

Follows https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html (stack and
resource status codes) and https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html
(OnFailure ROLLBACK/DO_NOTHING/DELETE, DisableRollback). A create goes CREATE_IN_PROGRESS → CREATE_COMPLETE; if a
resource fails: resource CREATE_FAILED (with the reason) → stack ROLLBACK_IN_PROGRESS ("The following resource(s)
failed to create: [X]. Rollback requested by user.") → created resources deleted → ROLLBACK_COMPLETE. A delete goes
DELETE_IN_PROGRESS → DELETE_COMPLETE (or DELETE_FAILED). Updates are ``cfn_update``'s. The API call returns at once
(IN_PROGRESS); the work runs on a worker thread, so callers wait with the CloudFormation waiters as on AWS.

How to make a stack fail on purpose with real CloudFormation (deterministic here and on AWS): give it
``AWS::CloudFormation::WaitConditionHandle`` plus an ``AWS::CloudFormation::WaitCondition`` with ``Timeout: "1"``
that nothing signals; it fails with "WaitCondition timed out. Received 0 conditions when expecting 1" (this is
``eventdeploy.triggers.FAILING_TEMPLATE``). Another: an ``AWS::SQS::Queue`` whose ``MaximumMessageSize`` is below
1024, which the type's schema rejects ("Properties validation failed for resource ...").
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud import clock
from eventdeploy.localcloud.service_events import cfn_custom_resources as custom
from eventdeploy.localcloud.service_events import cfn_local_resources as local
from eventdeploy.localcloud.service_events import cfn_schema, cfn_template
from eventdeploy.localcloud.service_events.cfn_events import resource_event

log = logging.getLogger("eventdeploy.localcloud.service_events")

_worker = threading.local()
_stack_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def stack_lock(stack: Any) -> threading.Lock:
    """One lock per stack, so its operations run one after another."""
    with _locks_guard:
        return _stack_locks.setdefault(stack.stack_id, threading.Lock())


# The status a stack ends in when the emulator itself fails during an operation in the given status.
_CRASH_STATUS = {
    "CREATE_IN_PROGRESS": "CREATE_FAILED", "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS": "DELETE_FAILED", "UPDATE_IN_PROGRESS": "UPDATE_FAILED",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
}


def run_operation(stack: Any, work: Callable[[], None]) -> None:
    """Run ``work`` on a worker thread (inline when already inside one, e.g. a nested stack)."""
    def body() -> None:
        _worker.active = True
        try:
            with stack_lock(stack):
                work()
        except Exception as exc:  # an emulator bug must not leave the stack IN_PROGRESS forever
            log.exception("stack operation on %s crashed", stack.stack_id)
            final = _CRASH_STATUS.get(stack.status)
            if final is not None:
                stack._add_stack_event(final, f"Internal error of the local cloud: {type(exc).__name__}: {exc}")

    if getattr(_worker, "active", False):
        body()
        return
    threading.Thread(target=body, name=f"cfn-{stack.name}", daemon=True).start()


# HTTP status of a service error → the handler error code CloudFormation reports for it.
_HANDLER_ERROR_CODES = {400: "InvalidRequest", 403: "AccessDenied", 404: "NotFound", 409: "AlreadyExists",
                        429: "Throttling"}


def failure_reason(exc: BaseException, resource_type: str = "") -> str:
    """ResourceStatusReason for a resource whose handler raised ``exc``, in the registry handlers' format."""
    if isinstance(exc, local.ResourceFailed):
        return str(exc)
    status = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or getattr(exc, "description", None) or str(exc) or repr(exc)
    if not isinstance(status, int):
        return f'Resource handler returned message: "{message}" (HandlerErrorCode: GeneralServiceException)'
    service = resource_type.split("::")[1] if resource_type.count("::") == 2 else "AWS"
    handler_code = _HANDLER_ERROR_CODES.get(status, "GeneralServiceException" if status >= 500 else "InvalidRequest")
    error_type = str(getattr(exc, "error_type", ""))
    for marker, code in (("NotFound", "NotFound"), ("AlreadyExists", "AlreadyExists"), ("AccessDenied", "AccessDenied")):
        if marker in error_type:
            handler_code = code
    return (f'Resource handler returned message: "{message} (Service: {service}, Status Code: {status}, '
            f'Request ID: {uuid.uuid4()})" (RequestToken: {uuid.uuid4()}, HandlerErrorCode: {handler_code})')


def physical_id(instance: Any) -> str:
    """The resource's physical id ('' when it has none yet)."""
    try:
        value = getattr(instance, "physical_resource_id", "")
    except Exception:
        return ""
    return value if isinstance(value, str) else ""


def _condition_false(resource_map: Any, body: dict[str, Any]) -> bool:
    condition = body.get("Condition")
    return bool(condition) and not resource_map.lazy_condition_map[condition]


def check_properties(stack: Any, logical_id: str, body: dict[str, Any]) -> None:
    """Fail the resource, as the registry's handler would, when its resolved properties break the type's schema."""
    from moto.cloudformation.parsing import clean_json

    properties = clean_json(copy.deepcopy(body.get("Properties") or {}), stack.resource_map)
    if not isinstance(properties, dict):
        raise local.ResourceFailed(f"Properties of {logical_id} must be an object")
    errors = cfn_schema.property_errors(stack.region_name, body["Type"], properties)
    if errors:
        raise local.ResourceFailed(
            f"Properties validation failed for resource {logical_id} with message: [{', '.join(errors)}]")


def create_one(stack: Any, logical_id: str, body: dict[str, Any]) -> Any:
    """Create one resource of ``stack``; raises on failure."""
    from moto.cloudformation.parsing import NULL_MODELS, clean_json, resource_class_from_type

    resource_map = stack.resource_map
    resource_type = body["Type"]
    if resource_type == local.WAIT_HANDLE:
        instance: Any = local.make_wait_handle(logical_id)
    elif custom.is_custom(resource_type):
        check_properties(stack, logical_id, body)
        properties = clean_json(copy.deepcopy(body.get("Properties") or {}), resource_map)
        instance = custom.create(stack, logical_id, resource_type, properties)
    elif resource_type == local.WAIT_CONDITION:
        properties = clean_json(dict(body.get("Properties") or {}), resource_map)
        instance = local.wait_for_condition(logical_id, properties, stack.stack_id)
    elif resource_type in local.UNENFORCED_POLICY_TYPES:
        instance = local.LocalResource(logical_id, resource_type, f"{stack.name}-{logical_id}")
    elif resource_type not in NULL_MODELS and resource_class_from_type(resource_type) is None:
        raise local.ResourceFailed(
            f"Resource type {resource_type} is not emulated by the local cloud (moto has no CloudFormation "
            f"model for it); remove it from the template or create the resource outside CloudFormation")
    else:
        check_properties(stack, logical_id, body)
        instance = resource_map[logical_id]
        if instance is None:
            raise local.ResourceFailed(f"Resource type {resource_type} could not be created by the local cloud")
        if resource_type == "AWS::CloudFormation::Stack" and instance.status != "CREATE_COMPLETE":
            raise local.ResourceFailed(f"Embedded stack {instance.stack_id} was not successfully created: "
                                       f"{instance.status_reason or instance.status}")
        return instance
    instance.logical_resource_id = logical_id
    resource_map._parsed_resources[logical_id] = instance
    return instance


def update_one(stack: Any, logical_id: str, body: dict[str, Any], previous: Any) -> Any:
    """Update one resource in place (or by replacement, as its model decides); raises on failure."""
    from moto.cloudformation.parsing import clean_json, parse_and_update_resource

    check_properties(stack, logical_id, body)
    if isinstance(previous, custom.CustomResource):
        properties = clean_json(copy.deepcopy(body.get("Properties") or {}), stack.resource_map)
        return custom.update(stack, previous, properties)
    if isinstance(previous, local.LocalResource) and previous.cf_resource_type in local.UNENFORCED_POLICY_TYPES:
        return local.LocalResource(logical_id, previous.cf_resource_type, previous.physical_resource_id)
    if isinstance(previous, local.LocalResource):
        raise local.ResourceFailed(f"Update of {body['Type']} {logical_id} is not supported by the local cloud; "
                                   "replace the resource under a new logical id instead")
    return parse_and_update_resource(logical_id, body, stack.resource_map, stack.account_id, stack.region_name)


def create_resources(stack: Any, order: list[str], only: set[str] | None = None,
                      deadline: float | None = None) -> tuple[list[str], str | None]:
    """Create resources in order; returns (created logical ids, failed logical id or None)."""
    resource_map = stack.resource_map
    created: list[str] = []
    for logical_id in order:
        if only is not None and logical_id not in only:
            continue
        body = resource_map._resource_json_map[logical_id]
        if _condition_false(resource_map, body):
            continue
        resource_type = body["Type"]
        resource_event(stack, logical_id, "", resource_type, "CREATE_IN_PROGRESS")
        try:
            if deadline is not None and time.monotonic() >= deadline:
                raise local.StackTimedOut()
            instance = create_one(stack, logical_id, body)
        except Exception as exc:
            resource_event(stack, logical_id, "", resource_type, "CREATE_FAILED",
                           failure_reason(exc, resource_type))
            partial = getattr(exc, "partial", None)
            if partial is not None:  # half-made: the rollback must delete it too
                resource_map._parsed_resources[logical_id] = partial
            return created, logical_id
        physical = physical_id(instance)
        resource_event(stack, logical_id, physical, resource_type, "CREATE_IN_PROGRESS",
                       "Resource creation Initiated")
        resource_event(stack, logical_id, physical, resource_type, "CREATE_COMPLETE")
        created.append(logical_id)
    return created, None


def delete_resources(stack: Any, logical_ids: list[str], json_map: dict[str, Any]) -> list[str]:
    """Delete resources in reverse creation order; returns the logical ids that failed to delete."""
    resource_map = stack.resource_map
    failed: list[str] = []
    for logical_id in reversed(logical_ids):
        body = json_map.get(logical_id) or {}
        resource_type = body.get("Type", "")
        instance = resource_map._parsed_resources.get(logical_id)
        physical = physical_id(instance)
        if body.get("DeletionPolicy") == "Retain":
            resource_event(stack, logical_id, physical, resource_type, "DELETE_SKIPPED")
            resource_map._parsed_resources.pop(logical_id, None)
            continue
        resource_event(stack, logical_id, physical, resource_type, "DELETE_IN_PROGRESS")
        try:
            if instance is not None and not isinstance(instance, str):
                resource_map._delete_resource(instance, body)
        except Exception as exc:
            resource_event(stack, logical_id, physical, resource_type, "DELETE_FAILED",
                           failure_reason(exc, resource_type))
            failed.append(logical_id)
            continue
        resource_map._parsed_resources.pop(logical_id, None)
        resource_event(stack, logical_id, physical, resource_type, "DELETE_COMPLETE")
    return failed


def existing_resources(stack: Any) -> list[str]:
    """Logical ids of the stack's resources that exist now, in creation order."""
    resource_map = stack.resource_map
    try:
        order = cfn_template.creation_order({"Resources": resource_map._resource_json_map,
                                             "Parameters": resource_map._template.get("Parameters")})
    except cfn_template.TemplateError:
        order = list(resource_map._resource_json_map)
    return [lid for lid in order if lid in resource_map._parsed_resources]


def register_exports(backend: Any, stack: Any) -> None:
    """Make the stack's exports importable (ValidationError-like failure if another stack exports a name)."""
    stack.lc_reveal = True
    try:
        backend._validate_export_uniqueness(stack)
        for export in stack.exports:
            backend.exports[export.name] = export
    finally:
        stack.lc_reveal = False


def create(backend: Any, stack: Any, order: list[str], on_failure: str) -> None:
    """The body of CreateStack after the API call returned."""
    resource_map = stack.resource_map
    template = stack.template_dict
    resource_map._template = template
    resource_map._resource_json_map = template["Resources"]
    resource_map.tags.update({"aws:cloudformation:stack-name": stack.name,
                              "aws:cloudformation:stack-id": stack.stack_id})
    timeout_minutes = stack.timeout_in_minutes
    deadline = time.monotonic() + clock.scaled(float(timeout_minutes) * 60) if timeout_minutes else None
    outer_deadline = local.set_stack_deadline(deadline)  # a nested stack restores its parent's on return
    try:
        created, failed = create_resources(stack, order, deadline=deadline)
    finally:
        local.set_stack_deadline(outer_deadline)
    if failed is None:
        try:
            register_exports(backend, stack)
        except Exception as exc:
            stack._add_stack_event("CREATE_FAILED", failure_reason(exc))
            return
        stack._add_stack_event("CREATE_COMPLETE")
        return
    timed_out = deadline is not None and time.monotonic() >= deadline
    reason = ("Stack creation time exceeded the specified timeout. " if timed_out
              else f"The following resource(s) failed to create: [{failed}]. ")
    if on_failure == "DO_NOTHING":
        stack._add_stack_event("CREATE_FAILED", reason)
        return
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
    undeleted = delete_resources(stack, [*created, failed], resource_map._resource_json_map)
    if undeleted:
        stack._add_stack_event("ROLLBACK_FAILED", f"The following resource(s) failed to delete: "
                                                  f"[{', '.join(undeleted)}]. ")
        return
    stack._add_stack_event("ROLLBACK_COMPLETE")
    if on_failure == "DELETE":
        delete(backend, stack)


def existing_order(json_map: dict[str, Any], template: dict[str, Any]) -> list[str]:
    """Creation order of a resources section, falling back to template order if it cannot be computed."""
    try:
        return cfn_template.creation_order({"Resources": json_map, "Parameters": template.get("Parameters")})
    except cfn_template.TemplateError:
        return list(json_map)


def delete(backend: Any, stack: Any) -> None:
    """The body of DeleteStack: delete every existing resource, then move the stack to the deleted ones."""
    stack._add_stack_event("DELETE_IN_PROGRESS", "User Initiated")
    failed = delete_resources(stack, existing_resources(stack), stack.resource_map._resource_json_map)
    if failed:
        stack._add_stack_event("DELETE_FAILED", f"The following resource(s) failed to delete: "
                                                f"[{', '.join(failed)}]. ")
        return
    stack._add_stack_event("DELETE_COMPLETE")
    export_names = [name for name, export in backend.exports.items() if export.exporting_stack_id == stack.stack_id]
    for name in export_names:
        backend.exports.pop(name, None)
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted_stacks[stack.stack_id] = stack


def reset() -> None:
    """Forget per-stack locks (the stacks are gone)."""
    with _locks_guard:
        _stack_locks.clear()
