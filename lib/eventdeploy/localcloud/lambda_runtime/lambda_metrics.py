"""``AWS/Lambda`` metrics as Lambda publishes them (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html)."""

from __future__ import annotations

from eventdeploy.localcloud import metrics

NAMESPACE = "AWS/Lambda"


def dimension_sets(name: str, resource_qualifier: str | None, executed_version: str) -> list[dict[str, str]]:
    """FunctionName always; Resource for a qualified invoke; ExecutedVersion when a published version ran."""
    sets = [{"FunctionName": name}]
    if resource_qualifier:
        resource = {"FunctionName": name, "Resource": f"{name}:{resource_qualifier}"}
        sets.append(resource)
        if executed_version != "$LATEST":
            sets.append({**resource, "ExecutedVersion": executed_version})
    return sets


def publish(account_id: str, region: str, metric: str, value: float, unit: str,
            dims: list[dict[str, str]], account_level: bool = False) -> None:
    """Record ``metric`` under every dimension set (and with no dimensions when it has an account-level view)."""
    for dimensions in dims:
        metrics.publish(account_id, region, NAMESPACE, metric, value, unit, dimensions)
    if account_level:
        metrics.publish(account_id, region, NAMESPACE, metric, value, unit, {})
