"""UpdateStack's body: resource changes in dependency order, cleanup, and rollback when a change fails.

Follows https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks.html and the status
codes of https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html: UPDATE_IN_PROGRESS →
(resources added, modified) → UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (removed and replaced resources deleted) →
UPDATE_COMPLETE; if a change fails: UPDATE_ROLLBACK_IN_PROGRESS ("The following resource(s) failed to update: [X]. ")
→ modified resources restored → UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS (added ones deleted) →
UPDATE_ROLLBACK_COMPLETE; with DisableRollback, UPDATE_FAILED.
"""

from __future__ import annotations

from typing import Any

from eventdeploy.localcloud.service_events import cfn_custom_resources as custom
from eventdeploy.localcloud.service_events import cfn_lifecycle as lifecycle
from eventdeploy.localcloud.service_events import cfn_local_resources as local
from eventdeploy.localcloud.service_events import cfn_template
from eventdeploy.localcloud.service_events.cfn_events import resource_event

# CancelUpdateStack (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CancelUpdateStack.html)
# stops the update between resources (or interrupts a waiting one) and rolls it back.
CANCELLED = "(cancelled)"
CANCELLED_REASON = "Stack update cancelled"


def replace_exports(stack: Any) -> None:
    """After an update: the stack exports what its new outputs export, and nothing else."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[stack.account_id][stack.region_name]
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name, None)
    lifecycle.register_exports(backend, stack)


def _apply_changes(stack: Any, new_dict: dict[str, Any], order: list[str], diff: dict[str, list[str]],
                   ) -> tuple[list[str], dict[str, Any], str | None, str]:
    """Add and modify resources in order; returns (added, modified {id: previous}, failed id or None, verb)."""
    resource_map = stack.resource_map
    added: list[str] = []
    modified: dict[str, Any] = {}
    for logical_id in order:
        body = new_dict["Resources"][logical_id]
        if getattr(stack, "lc_cancel_requested", False) and (logical_id in diff["Add"] or logical_id in diff["Modify"]):
            return added, modified, CANCELLED, "update"
        if logical_id in diff["Add"]:
            created, failed = lifecycle.create_resources(stack, order, only={logical_id})
            added.extend(created)
            if failed:
                added.append(failed)
                return added, modified, failed, "create"
        elif logical_id in diff["Modify"]:
            previous = resource_map._parsed_resources.get(logical_id)
            resource_event(stack, logical_id, lifecycle.physical_id(previous), body["Type"], "UPDATE_IN_PROGRESS")
            try:
                changed = lifecycle.update_one(stack, logical_id, body, previous)
            except Exception as exc:
                resource_event(stack, logical_id, lifecycle.physical_id(previous), body["Type"], "UPDATE_FAILED",
                               lifecycle.failure_reason(exc, body["Type"]))
                return added, modified, logical_id, "update"
            modified[logical_id] = previous
            if changed is not None:
                resource_map._parsed_resources[logical_id] = changed
            resource_event(stack, logical_id, lifecycle.physical_id(changed or previous), body["Type"],
                           "UPDATE_COMPLETE")
    return added, modified, None, "update"


def update(stack: Any, template: str, parameters: dict[str, Any] | None,
           role_arn: str | None, tags: dict[str, str] | None, disable_rollback: bool) -> None:
    """The body of UpdateStack after UPDATE_IN_PROGRESS was recorded."""
    from moto.cloudformation.parsing import OutputMap

    resource_map = stack.resource_map
    old = {
        "template": resource_map._template, "json_map": resource_map._resource_json_map,
        "input_parameters": resource_map.input_parameters,
    }
    new_dict = stack.parse_template(template)
    try:
        order = cfn_template.validate(new_dict)
        changed_parameters = {k for k, v in (parameters or {}).items() if resource_map.input_parameters.get(k) != v}
        diff = cfn_template.resource_diff(resource_map._resource_json_map, new_dict["Resources"], changed_parameters)
    except Exception as exc:
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", lifecycle.failure_reason(exc))
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        return

    def load(template_dict: dict[str, Any], input_parameters: dict[str, Any]) -> None:
        resource_map._template = template_dict
        resource_map.input_parameters = input_parameters
        resource_map.load_mapping()
        resource_map.load_parameters()
        resource_map.load_conditions()
        resource_map._resource_json_map = template_dict["Resources"]

    load(new_dict, parameters if parameters else old["input_parameters"])
    local.set_cancel_check(lambda: bool(getattr(stack, "lc_cancel_requested", False)))
    try:
        added, modified, failed, failed_verb = _apply_changes(stack, new_dict, order, diff)
    finally:
        local.set_cancel_check(None)
    if failed is None:
        stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        delete_replaced(stack, modified)
        lifecycle.delete_resources(stack, [lid for lid in lifecycle.existing_order(old["json_map"], old["template"])
                                  if lid in diff["Remove"] and lid in resource_map._parsed_resources],
                          old["json_map"])
        stack.template = template
        stack.template_dict = new_dict
        stack.output_map = OutputMap(resource_map, new_dict, stack.stack_id)
        replace_exports(stack)
        stack.role_arn = role_arn
        if parameters:
            stack.parameters = parameters
        if tags is not None:
            stack.tags = tags
        stack._add_stack_event("UPDATE_COMPLETE")
        return
    reason = (CANCELLED_REASON if getattr(stack, "lc_cancel_requested", False)
              else f"The following resource(s) failed to {failed_verb}: [{failed}]. ")
    stack.lc_cancel_requested = False
    if disable_rollback:
        stack._add_stack_event("UPDATE_FAILED", reason)
        return
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", reason)
    load(old["template"], old["input_parameters"])
    for logical_id, previous in reversed(list(modified.items())):
        body = old["json_map"][logical_id]
        resource_event(stack, logical_id, lifecycle.physical_id(resource_map._parsed_resources.get(logical_id)),
                       body["Type"], "UPDATE_IN_PROGRESS")
        try:
            restored = lifecycle.update_one(stack, logical_id, body, resource_map._parsed_resources.get(logical_id))
        except Exception as exc:
            resource_event(stack, logical_id, lifecycle.physical_id(previous), body["Type"], "UPDATE_FAILED",
                           lifecycle.failure_reason(exc, body["Type"]))
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED", f"The following resource(s) failed to update: "
                                                             f"[{logical_id}]. ")
            return
        if restored is not None:
            resource_map._parsed_resources[logical_id] = restored
        resource_event(stack, logical_id, lifecycle.physical_id(restored or previous), body["Type"], "UPDATE_COMPLETE")
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    lifecycle.delete_resources(stack, added, new_dict["Resources"])
    stack.output_map = OutputMap(resource_map, old["template"], stack.stack_id)
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def delete_replaced(stack: Any, modified: dict[str, Any]) -> None:
    """Cleanup phase: delete the old custom resources whose provider answered an Update with a new physical id."""
    for logical_id, previous in modified.items():
        current = stack.resource_map._parsed_resources.get(logical_id)
        if not isinstance(previous, custom.CustomResource) or lifecycle.physical_id(current) == previous.physical_resource_id:
            continue
        old_id, resource_type = previous.physical_resource_id, previous.cf_resource_type
        current_status = stack.lc_resource_status[logical_id]
        resource_event(stack, logical_id, old_id, resource_type, "DELETE_IN_PROGRESS")
        try:
            previous.delete(stack.account_id, stack.region_name)
        except Exception as exc:  # a failed cleanup leaves the old resource behind; the update stands
            resource_event(stack, logical_id, old_id, resource_type, "DELETE_FAILED", lifecycle.failure_reason(exc, resource_type))
        else:
            resource_event(stack, logical_id, old_id, resource_type, "DELETE_COMPLETE")
        stack.lc_resource_status[logical_id] = current_status  # those events were about the old physical resource


