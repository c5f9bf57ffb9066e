"""Wire the store, statistics, metric math and alarms into moto's CloudWatch backend and responses.

Replaced (the store supersedes moto's single list of data, so these cannot delegate to moto's versions):
``CloudWatchBackend.put_metric_data`` (still runs moto's validation), ``get_metric_statistics``,
``get_metric_data``, ``list_metrics`` and the ``GetMetricStatistics`` / ``ListMetrics`` / ``GetMetricData``
/ ``PutMetricData`` responses (moto drops ExtendedStatistics, RecentlyActive, MaxDatapoints, NextToken and
EntityMetricData).
Wrapped, calling the previous implementation: ``put_metric_alarm``, ``delete_alarms``, ``Alarm.update_state``.
Added: the ``DescribeAlarmHistory`` and ``PutCompositeAlarm`` actions, which moto lacks; ``DescribeAlarms`` and
``DescribeAlarmsForMetric`` are answered here so their documented filters and paging behave as AWS's.
"""

from __future__ import annotations

from eventdeploy.localcloud.cloudwatch import api_alarms, api_metrics


def install() -> None:
    """Patch moto's CloudWatch (idempotent)."""
    from moto.cloudwatch.models import Alarm, CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    if api_alarms.ORIGINALS:
        return
    from eventdeploy.localcloud.cloudwatch import cfn

    cfn.install()
    api_alarms.ORIGINALS["put_metric_alarm"] = CloudWatchBackend.put_metric_alarm
    api_alarms.ORIGINALS["delete_alarms"] = CloudWatchBackend.delete_alarms
    api_alarms.ORIGINALS["update_state"] = Alarm.update_state
    CloudWatchBackend.put_metric_data = api_metrics.put_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.get_metric_statistics = api_metrics.get_metric_statistics  # type: ignore[method-assign,assignment]
    CloudWatchBackend.get_metric_data = api_metrics.get_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.list_metrics = api_metrics.list_metrics  # type: ignore[method-assign,assignment]
    CloudWatchBackend.put_metric_alarm = api_alarms.put_metric_alarm  # type: ignore[method-assign]
    CloudWatchBackend.delete_alarms = api_alarms.delete_alarms  # type: ignore[method-assign]
    Alarm.update_state = api_alarms.update_state  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_statistics = api_metrics.response_get_metric_statistics  # type: ignore[method-assign]
    CloudWatchResponse.list_metrics = api_metrics.response_list_metrics  # type: ignore[method-assign]
    CloudWatchResponse.get_metric_data = api_metrics.response_get_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.put_metric_data = api_metrics.response_put_metric_data  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarm_history = api_alarms.response_describe_alarm_history  # type: ignore[attr-defined]
    CloudWatchResponse.put_composite_alarm = api_alarms.response_put_composite_alarm  # type: ignore[attr-defined]
    CloudWatchResponse.describe_alarms = api_alarms.response_describe_alarms  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarms_for_metric = api_alarms.response_describe_alarms_for_metric  # type: ignore[method-assign]
