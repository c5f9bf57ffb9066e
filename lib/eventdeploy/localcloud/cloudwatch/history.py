"""Alarm history as DescribeAlarmHistory returns it: ConfigurationUpdate, StateUpdate and Action items.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html — items outlive
the alarm they describe.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html: "CloudWatch preserves
# alarm history for two weeks".
RETENTION = timedelta(days=14)
# (account, region) -> history items, oldest first.
_history: dict[tuple[str, str], list[dict[str, Any]]] = {}
_history_lock = threading.Lock()


def now_dt() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


def add_history(account_id: str, region: str, item: dict[str, Any]) -> None:
    """Append one AlarmHistoryItem, dropping items older than the two weeks CloudWatch keeps."""
    with _history_lock:
        items = _history.setdefault((account_id, region), [])
        items.append(item)
        cutoff = item["Timestamp"] - RETENTION
        if items[0]["Timestamp"] < cutoff:
            items[:] = [i for i in items if i["Timestamp"] >= cutoff]


def history(account_id: str, region: str) -> list[dict[str, Any]]:
    """Every history item of the account in the region, oldest first."""
    with _history_lock:
        return list(_history.get((account_id, region), []))


def reset() -> None:
    """Forget all alarm history."""
    with _history_lock:
        _history.clear()


def history_item(alarm: Any, kind: str, summary: str, data: dict[str, Any], when: datetime) -> dict[str, Any]:
    """An AlarmHistoryItem as DescribeAlarmHistory returns it."""
    return {
        "AlarmName": alarm.name,
        "AlarmType": "CompositeAlarm" if getattr(alarm, "rule", None) else "MetricAlarm",
        "Timestamp": when,
        "HistoryItemType": kind,
        "HistorySummary": summary,
        "HistoryData": json.dumps(data, separators=(",", ":"), default=str),
    }
