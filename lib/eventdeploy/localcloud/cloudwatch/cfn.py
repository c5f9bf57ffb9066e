"""AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm for moto's CloudFormation (moto has neither).

Specs: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html and
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-compositealarm.html —
Ref returns the alarm name, Fn::GetAtt Arn its ARN. Alarms are created through the patched backend, so a stack's
alarms are validated, start INSUFFICIENT_DATA and are evaluated like any other.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.core.common_models import CloudFormationModel


def _bool(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _queries(metrics: list[dict[str, Any]] | None) -> list[Any] | None:
    """CloudFormation's Metrics property as moto's MetricDataQuery models."""
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    if not metrics:
        return None
    out = []
    for m in metrics:
        stat = None
        ms = m.get("MetricStat")
        if ms:
            metric = ms.get("Metric", {})
            stat = MetricStat(
                metric=Metric(metric_name=metric.get("MetricName"), namespace=metric.get("Namespace"),
                              dimensions=[Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]),
                period=ms.get("Period"), stat=ms.get("Stat"), unit=ms.get("Unit"))
        out.append(MetricDataQuery(query_id=m.get("Id"), label=m.get("Label"), period=m.get("Period"),
                                   return_data=m.get("ReturnData"), expression=m.get("Expression"),
                                   metric_stat=stat))
    return out


class StackAlarm:
    """A metric or composite alarm owned by a CloudFormation stack (shared by the two resource types)."""

    def __init__(self, name: str, account_id: str, region: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region = region

    @property
    def physical_resource_id(self) -> str:
        """Ref: the alarm name."""
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        """Only Arn is gettable."""
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        """Fn::GetAtt Arn."""
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
        from moto.cloudwatch.models import cloudwatch_backends

        if attribute_name != "Arn":
            raise UnformattedGetAttTemplateException()
        return cloudwatch_backends[self.account_id][self.region].alarms[self.name].alarm_arn

    @staticmethod
    def cloudformation_name_type() -> str:
        """The property that names the resource."""
        return "AlarmName"

    @classmethod
    def put(cls, name: str, props: dict[str, Any], account_id: str, region: str) -> StackAlarm:
        """Create or update the alarm from resource properties."""
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[account_id][region]
        common = {
            "description": props.get("AlarmDescription"), "alarm_actions": props.get("AlarmActions", []),
            "ok_actions": props.get("OKActions", []),
            "insufficient_data_actions": props.get("InsufficientDataActions", []),
            "actions_enabled": _bool(props.get("ActionsEnabled")), "tags": props.get("Tags", []),
        }
        if "AlarmRule" in props:
            backend.put_metric_alarm(name=name, namespace=None, metric_name=None, comparison_operator=None,
                                     evaluation_periods=None, period=None, threshold=None, statistic=None,
                                     dimensions=[], rule=props["AlarmRule"], **common)
            backend.alarms[name].alarm_rule = props["AlarmRule"]
        else:
            backend.put_metric_alarm(
                name=name, namespace=props.get("Namespace"), metric_name=props.get("MetricName"),
                metric_data_queries=_queries(props.get("Metrics")),
                comparison_operator=props.get("ComparisonOperator"),
                evaluation_periods=_int(props.get("EvaluationPeriods")),
                datapoints_to_alarm=_int(props.get("DatapointsToAlarm")), period=_int(props.get("Period")),
                threshold=None if props.get("Threshold") is None else float(props["Threshold"]),
                statistic=props.get("Statistic"), extended_statistic=props.get("ExtendedStatistic"),
                dimensions=props.get("Dimensions", []), unit=props.get("Unit"),
                treat_missing_data=props.get("TreatMissingData"),
                evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
                threshold_metric_id=props.get("ThresholdMetricId"), **common)
        return cls(name, account_id, region)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> StackAlarm:
        """Create the stack's alarm."""
        props = cloudformation_json.get("Properties", {})
        return cls.put(props.get("AlarmName") or resource_name, props, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: StackAlarm, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> StackAlarm:
        """Update in place (state kept); a new name replaces the alarm."""
        props = cloudformation_json.get("Properties", {})
        name = props.get("AlarmName") or original_resource.name
        if name != original_resource.name:
            cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
        return cls.put(name, props, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        """Delete the stack's alarm."""
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def is_created(self) -> bool:
        """Alarms exist as soon as they are put."""
        return True


# moto finds resource types through CloudFormationModel.__subclasses__(), i.e. direct subclasses only.
class StackMetricAlarm(StackAlarm, CloudFormationModel):
    """AWS::CloudWatch::Alarm."""

    @staticmethod
    def cloudformation_type() -> str:
        """The resource type."""
        return "AWS::CloudWatch::Alarm"


class StackCompositeAlarm(StackAlarm, CloudFormationModel):
    """AWS::CloudWatch::CompositeAlarm."""

    @staticmethod
    def cloudformation_type() -> str:
        """The resource type."""
        return "AWS::CloudWatch::CompositeAlarm"


def install() -> None:
    """Make moto's CloudFormation see the two resource types (it caches its model list per process)."""
    # Importing moto.cloudformation.parsing loads every moto service (seconds): if nothing has imported it yet,
    # its caches are still empty and will list these classes when first filled.
    parsing = sys.modules.get("moto.cloudformation.parsing")
    if parsing is not None:
        for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
            cached.cache_clear()
