"""CloudWatch alarms: the health alarm a deployment's Verify step watches."""

from __future__ import annotations

from typing import Any

from eventdeploy.provision.context import Provisioner


def ensure_alarm(p: Provisioner, suffix: str, namespace: str, metric: str, dimensions: dict[str, str],
                 threshold: float, statistic: str = "Sum", period_s: int = 60, evaluation_periods: int = 1,
                 comparison: str = "GreaterThanOrEqualToThreshold", missing: str = "notBreaching") -> str:
    """An alarm ``<prefix>-<suffix>`` on one metric; updated when any setting differs. Returns its ARN."""
    cw = p.client("cloudwatch")
    name = p.name(suffix)
    desired: dict[str, Any] = {
        "Namespace": namespace, "MetricName": metric, "Statistic": statistic, "Period": period_s,
        "EvaluationPeriods": evaluation_periods, "Threshold": float(threshold), "ComparisonOperator": comparison,
        "TreatMissingData": missing,
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())],
    }
    found = cw.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    current = found[0] if found else None
    same = current is not None and all(
        (sorted(current.get(k, []), key=lambda d: d["Name"]) if k == "Dimensions" else current.get(k)) == v
        for k, v in desired.items())
    if not same:
        cw.put_metric_alarm(AlarmName=name, AlarmDescription="eventdeploy: the deployed app's health",
                            Tags=p.tag_list(), **desired)
        p.changed("create" if current is None else "update", "cloudwatch alarm", name)
        current = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return p.record("cloudwatch", "alarm", name, current["AlarmArn"])
