"""Wires the asynchronous stack lifecycle and the status-change events into moto's CloudFormation.

Every wrapped moto method keeps a reference to the one it replaces. ``CloudFormationBackend.delete_stack``,
``CloudFormationBackend.execute_change_set`` and ``Stack.update`` are taken over (not composed), because moto's
versions run synchronously with no per-resource outcome or rollback; nothing else in the local cloud wraps them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud.service_events import cfn_lifecycle as lifecycle
from eventdeploy.localcloud.service_events import cfn_template, cfn_update
from eventdeploy.localcloud.service_events.cfn_events import on_stack_event, request

IN_PROGRESS_SUFFIX = "_IN_PROGRESS"
# Statuses whose stack has no (or only partial) resources: AWS shows no outputs for them.
NO_OUTPUT_STATUSES = {"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS",
                      "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_IN_PROGRESS", "DELETE_COMPLETE",
                      "REVIEW_IN_PROGRESS"}
ON_FAILURE_VALUES = ("ROLLBACK", "DO_NOTHING", "DELETE")


def _validation_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


def _wrap_add_stack_event(previous: Callable[..., Any]) -> Callable[..., Any]:
    def _add_stack_event(self: Any, resource_status: str, resource_status_reason: str | None = None,
                         resource_properties: str | None = None) -> None:
        previous(self, resource_status, resource_status_reason, resource_properties)
        on_stack_event(self, resource_status, resource_status_reason)

    return _add_stack_event


def _wrap_create_stack(previous: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(previous)

    def create_stack(self: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.cloudformation.models import Stack

        bound = signature.bind(self, *args, **kwargs)
        try:
            template_dict = Stack.parse_template(bound.arguments["template"])
        except Exception:
            return previous(self, *args, **kwargs)  # moto answers malformed YAML/JSON itself
        if not isinstance(template_dict, dict):
            raise _validation_error("Template format error: unsupported structure.")
        try:
            order = cfn_template.validate(template_dict, self.region_name)
        except cfn_template.TemplateError as exc:
            raise _validation_error(str(exc)) from None
        on_failure = getattr(request, "on_failure", None) or "ROLLBACK"
        request.deferring = True
        try:
            stack = previous(self, *args, **kwargs)
        finally:
            request.deferring = False
        stack.disable_rollback = on_failure == "DO_NOTHING"
        token = getattr(request, "client_request_token", None)
        stack.lc_client_request_token = token

        def work() -> None:
            lifecycle.create(self, stack, order, on_failure)

        lifecycle.run_operation(stack, work)
        return stack

    return create_stack


def _wrap_create_resources(previous: Callable[..., Any]) -> Callable[..., Any]:
    def create_resources(self: Any) -> None:
        if getattr(request, "deferring", False):
            return  # the lifecycle worker creates them, resource by resource
        previous(self)

    return create_resources


def _wrap_property(previous: property, hidden: Callable[[Any], bool], empty: Any) -> property:
    def getter(self: Any) -> Any:
        if hidden(self):
            return empty() if callable(empty) else empty
        return previous.fget(self)  # type: ignore[misc]

    return property(getter)


def _outputs_hidden(stack: Any) -> bool:
    # Reading outputs resolves Refs, which would create not-yet-created resources behind the lifecycle's back.
    if getattr(stack, "lc_reveal", False):
        return False
    return stack.status in NO_OUTPUT_STATUSES


def _existing_stack_resources(self: Any) -> list[Any]:
    resource_map = self.resource_map
    parsed = resource_map._parsed_resources
    return [parsed[lid] for lid in resource_map._resource_json_map if lid in parsed and parsed[lid] is not None]


def start_update(stack: Any, template: str, role_arn: str | None, parameters: dict[str, Any] | None,
                 tags: dict[str, str] | None, on_done: Callable[[], None] | None = None) -> None:
    """Check an update the way UpdateStack does, record UPDATE_IN_PROGRESS and run the rest on a worker."""
    if stack.status.endswith(IN_PROGRESS_SUFFIX):
        raise _validation_error(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    same_parameters = not parameters or parameters == stack.resource_map.input_parameters
    if template == stack.template and same_parameters and tags is None:
        raise _validation_error("No updates are to be performed.")
    try:
        cfn_template.validate(stack.parse_template(template), stack.region_name)
    except cfn_template.TemplateError as exc:
        raise _validation_error(str(exc)) from None
    token = getattr(request, "client_request_token", None)
    disable_rollback = bool(getattr(request, "disable_rollback", False))
    stack.lc_client_request_token = token
    stack.lc_cancel_requested = False
    stack._add_stack_event("UPDATE_IN_PROGRESS", "User Initiated")

    def work() -> None:
        try:
            cfn_update.update(stack, template, parameters, role_arn, tags, disable_rollback)
        finally:
            if on_done is not None:
                on_done()

    lifecycle.run_operation(stack, work)


def _update(self: Any, template: str, role_arn: str | None = None, parameters: dict[str, Any] | None = None,
            tags: dict[str, str] | None = None) -> None:
    start_update(self, template, role_arn, parameters, tags)


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = self.change_sets.get(change_set_name) or next(
        (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
         and stack_name in (None, cs.stack_name, cs.stack_id)), None)
    if change_set is None:
        raise _validation_error(f"ChangeSet [{change_set_name}] does not exist")
    if change_set.execution_status != "AVAILABLE":
        raise _validation_error(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                                f"execution status of [{change_set.execution_status}]")
    stack = self.stacks[change_set.stack_id]

    def finished(success: set[str]) -> Callable[[], None]:
        def done() -> None:
            change_set.execution_status = "EXECUTE_COMPLETE" if stack.status in success else "EXECUTE_FAILED"
        return done

    if change_set.change_set_type != "CREATE":
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        try:
            start_update(stack, change_set.template, change_set.role_arn, change_set.parameters, change_set.tags,
                         on_done=finished({"UPDATE_COMPLETE"}))
        except Exception:
            change_set.execution_status = "AVAILABLE"
            raise
        return
    template_dict = stack.parse_template(change_set.template)
    try:
        order = cfn_template.validate(template_dict, self.region_name)
    except cfn_template.TemplateError as exc:
        raise _validation_error(str(exc)) from None
    stack.template = change_set.template
    stack.template_dict = template_dict
    stack.description = template_dict.get("Description")
    stack.resource_map = stack._create_resource_map()
    stack.output_map = stack._create_output_map()
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    stack.lc_client_request_token = getattr(request, "client_request_token", None)
    stack._add_stack_event("CREATE_IN_PROGRESS", "User Initiated")
    done = finished({"CREATE_COMPLETE"})

    def work() -> None:
        try:
            lifecycle.create(self, stack, order, "ROLLBACK")
        finally:
            done()

    lifecycle.run_operation(stack, work)


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
    if stack is None or stack.status == "DELETE_IN_PROGRESS":
        return  # AWS answers success for a stack that is gone or already being deleted
    if str(stack.enable_termination_protection).lower() == "true":
        raise _validation_error(f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
    token = getattr(request, "client_request_token", None)

    def work() -> None:
        stack.lc_client_request_token = token
        lifecycle.delete(self, stack)

    lifecycle.run_operation(stack, work)


def _wrap_response(previous: Callable[..., Any], *, takes_on_failure: bool) -> Callable[..., Any]:
    def handler(self: Any) -> Any:
        on_failure = self._get_param("OnFailure") if takes_on_failure else None
        disable_rollback = self._get_param("DisableRollback")
        if on_failure is not None and disable_rollback is not None:
            raise _validation_error("You can specify either DisableRollback or OnFailure, but not both.")
        if on_failure is not None and on_failure not in ON_FAILURE_VALUES:
            raise _validation_error(f"1 validation error detected: Value '{on_failure}' at 'onFailure' failed to "
                                    f"satisfy constraint: Member must satisfy enum value set: "
                                    f"[{', '.join(ON_FAILURE_VALUES)}]")
        disabled = str(disable_rollback).lower() == "true"
        if takes_on_failure and on_failure is None:
            on_failure = "DO_NOTHING" if disabled else "ROLLBACK"
        request.on_failure = on_failure
        request.disable_rollback = disabled
        request.client_request_token = self._get_param("ClientRequestToken")
        try:
            return previous(self)
        finally:
            request.on_failure = None
            request.disable_rollback = False
            request.client_request_token = None

    return handler


def _cancel_update_stack(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    if stack.status != "UPDATE_IN_PROGRESS":
        raise _validation_error(f"CancelUpdateStack cannot be called from current stack status: {stack.status}")
    stack.lc_cancel_requested = True
    return EmptyResult()


def _update_termination_protection(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = str(self._get_param("EnableTerminationProtection")).lower() == "true"
    return ActionResult({"StackId": stack.stack_id})


def _wrap_list_stack_resources(previous: Callable[..., Any]) -> Callable[..., Any]:
    def list_stack_resources(self: Any) -> Any:
        answer = previous(self)
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        statuses = getattr(stack, "lc_resource_status", None) or {}
        for summary in answer.result.get("StackResourceSummaries", []):
            status = statuses.get(summary["LogicalResourceId"])
            if status is not None:
                summary["ResourceStatus"], reason, summary["LastUpdatedTimestamp"] = status
                if reason:
                    summary["ResourceStatusReason"] = reason
        return answer

    return list_stack_resources


def _wrap_resource_dto_init(previous: Callable[..., Any]) -> Callable[..., Any]:
    def __init__(self: Any, stack: Any, resource: Any) -> None:
        previous(self, stack, resource)
        status = (getattr(stack, "lc_resource_status", None) or {}).get(self.logical_resource_id)
        if status is not None:
            self.resource_status, self.resource_status_reason, self.timestamp = status
            self.last_updated_timestamp = self.timestamp

    return __init__


def _wrap_validate_outputs(previous: Callable[..., Any]) -> Callable[..., Any]:
    def validate_outputs(self: Any) -> None:
        try:
            previous(self)
        except AttributeError:
            # moto has no class for types the lifecycle makes itself (WaitCondition): GetAtt is checked when read.
            pass

    return validate_outputs


def install() -> None:
    """Patch moto's CloudFormation models, backend and responses."""
    from moto.cloudformation import responses
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.parsing import ResourceMap

    ResourceMap.validate_outputs = _wrap_validate_outputs(ResourceMap.validate_outputs)  # type: ignore[method-assign]

    Stack._add_stack_event = _wrap_add_stack_event(Stack._add_stack_event)  # type: ignore[method-assign]
    Stack.create_resources = _wrap_create_resources(Stack.create_resources)  # type: ignore[method-assign]
    Stack.update = _update  # type: ignore[method-assign]
    Stack.outputs = _wrap_property(Stack.outputs, _outputs_hidden, None)  # type: ignore[assignment,method-assign]
    Stack.exports = _wrap_property(Stack.exports, _outputs_hidden, list)  # type: ignore[assignment,method-assign]
    Stack.stack_resources = property(_existing_stack_resources)  # type: ignore[assignment,method-assign]
    CloudFormationBackend.create_stack = _wrap_create_stack(  # type: ignore[method-assign]
        CloudFormationBackend.create_stack)
    CloudFormationBackend.delete_stack = _delete_stack  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]
    response = responses.CloudFormationResponse
    response.create_stack = _wrap_response(response.create_stack, takes_on_failure=True)  # type: ignore[method-assign]
    response.update_stack = _wrap_response(response.update_stack, takes_on_failure=False)  # type: ignore[method-assign]
    response.execute_change_set = _wrap_response(  # type: ignore[method-assign]
        response.execute_change_set, takes_on_failure=False)
    response.delete_stack = _wrap_response(response.delete_stack, takes_on_failure=False)  # type: ignore[method-assign]
    response.update_termination_protection = _update_termination_protection  # type: ignore[attr-defined]
    response.cancel_update_stack = _cancel_update_stack  # type: ignore[attr-defined]
    response.list_stack_resources = _wrap_list_stack_resources(  # type: ignore[method-assign]
        response.list_stack_resources)
    responses.StackResourceDTO.__init__ = _wrap_resource_dto_init(  # type: ignore[method-assign]
        responses.StackResourceDTO.__init__)
