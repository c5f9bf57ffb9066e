"""Template checks CloudFormation makes before a stack operation starts, and the order resources are created in.

Follows https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html (resource ``Type``
must be a resource type CloudFormation knows; ``Ref``/``Fn::GetAtt``/``Fn::Sub`` must name a parameter, a pseudo
parameter or a resource of the template) and the implicit dependencies of
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html.
"""

from __future__ import annotations

import copy
import re
from typing import Any

PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}
# Three-part vendor types (AWS::Service::Resource); Custom::Name and AWS::CloudFormation::CustomResource are custom.
_TYPE_FORMAT = re.compile(r"^(AWS|Alexa)::[A-Za-z0-9]+::[A-Za-z0-9]+$|^Custom::[A-Za-z0-9_@-]{1,60}$")
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


class TemplateError(ValueError):
    """A template CloudFormation rejects before any resource is touched (answered as ValidationError)."""


def resources_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's Resources section, checked to be a mapping of mappings with a Type each."""
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("Template format error: At least one Resources member must be defined.")
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            raise TemplateError(
                f"Template format error: [/Resources/{logical_id}] Every Resources object must contain a Type member.")
    return resources


def check_resource_types(template: dict[str, Any], region: str | None = None) -> None:
    """Reject resource types CloudFormation does not know (in ``region``'s registry), naming them as AWS does."""
    types = {body["Type"] for body in resources_of(template).values()}
    unknown = sorted({t for t in types if not _TYPE_FORMAT.match(t)})
    if region is not None:
        from eventdeploy.localcloud.service_events.cfn_schema import unrecognized_types

        unknown = sorted(set(unknown) | set(unrecognized_types(types, region)))
    if unknown:
        raise TemplateError(f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")


def _sub_names(value: Any) -> set[str]:
    if isinstance(value, str):
        text, local = value, set()
    elif isinstance(value, list) and value and isinstance(value[0], str):
        text = value[0]
        local = set(value[1]) if len(value) > 1 and isinstance(value[1], dict) else set()
    else:
        return set()
    names = set()
    for match in _SUB_VARIABLE.findall(text):
        name = match.split(".", 1)[0].strip()
        if name not in local:
            names.add(name)
    return names


def referenced_names(value: Any) -> set[str]:
    """Every logical name ``value`` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                if isinstance(inner, list) and inner and isinstance(inner[0], str):
                    found.add(inner[0])
                elif isinstance(inner, str):
                    found.add(inner.split(".", 1)[0])
            elif key == "Fn::Sub":
                found |= _sub_names(inner)
                if isinstance(inner, list) and len(inner) > 1:
                    found |= referenced_names(inner[1])
                continue
            found |= referenced_names(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= referenced_names(inner)
    return found


def dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """For each resource, the resources it needs first (DependsOn plus implicit references)."""
    resources = resources_of(template)
    known = set(resources) | set(template.get("Parameters") or {}) | PSEUDO_PARAMETERS
    result: dict[str, set[str]] = {}
    for logical_id, body in resources.items():
        depends_on = body.get("DependsOn", [])
        explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        missing_explicit = sorted(explicit - set(resources))
        if missing_explicit:
            raise TemplateError(
                f"Template format error: Unresolved resource dependencies [{', '.join(missing_explicit)}] "
                "in the Resources block of the template")
        implicit = referenced_names({k: v for k, v in body.items() if k != "DependsOn"})
        unresolved = sorted(implicit - known)
        if unresolved:
            raise TemplateError(
                f"Template format error: Unresolved resource dependencies [{', '.join(unresolved)}] "
                "in the Resources block of the template")
        result[logical_id] = (explicit | implicit) & set(resources)
    return result


def creation_order(template: dict[str, Any]) -> list[str]:
    """Resources in an order where each comes after everything it depends on (template order otherwise)."""
    needs = dependencies(template)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = being visited, 2 = placed

    def visit(logical_id: str, path: list[str]) -> None:
        if state.get(logical_id) == 2:
            return
        if state.get(logical_id) == 1:
            cycle = path[path.index(logical_id):]
            raise TemplateError(f"Circular dependency between resources: [{', '.join(sorted(set(cycle)))}]")
        state[logical_id] = 1
        for needed in sorted(needs[logical_id]):
            visit(needed, [*path, logical_id])
        state[logical_id] = 2
        order.append(logical_id)

    for logical_id in needs:
        visit(logical_id, [])
    return order


def validate(template: dict[str, Any], region: str | None = None) -> list[str]:
    """All pre-flight checks; returns the creation order."""
    check_resource_types(template, region)
    return creation_order(template)


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    # moto fills in an empty Properties on the templates it parses; it is not a change.
    result = copy.deepcopy(body)
    if not result.get("Properties"):
        result["Properties"] = {}
    return result


def resource_diff(old: dict[str, Any], new: dict[str, Any], changed_parameters: set[str]) -> dict[str, list[str]]:
    """Logical ids an update adds, modifies (its definition or a parameter it uses changed) and removes."""
    modified = [lid for lid in new if lid in old and (
        _normalised(new[lid]) != _normalised(old[lid]) or referenced_names(new[lid]) & changed_parameters)]
    return {"Add": [lid for lid in new if lid not in old], "Modify": modified,
            "Remove": [lid for lid in old if lid not in new]}
