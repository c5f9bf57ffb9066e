"""What every handler shares: structured logging, the ledger, trace ids, and AWS clients."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger

# Injected test events carry this prefix before the AWS source (customers may not put "aws.*" events).
SYNTHETIC_PREFIX = "eventdeploy.synthetic."

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "eventdeploy"))

_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """A boto3 client reused across warm invocations (created at first use, not at import)."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def trace_id(event: dict[str, Any]) -> str:
    """The trace id carried end to end: the event's own, else the EventBridge event id, else a new one."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    return str(detail.get("trace-id") or event.get("trace_id") or event.get("id") or uuid.uuid4())


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the ledger's unit)."""
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def record_stage(deployment_id: str, stage: str, **attributes: Any) -> dict[str, Any]:
    """Write one stage of a deployment to the ledger table (pk deployment_id, sk stage) and return the item."""
    at = now_ms()
    item = {"deployment_id": deployment_id, "stage": stage, "at_ms": at, "at": iso(at),
            **{k: (Decimal(str(v)) if isinstance(v, float) else v) for k, v in attributes.items() if v is not None}}
    client("dynamodb").put_item(TableName=os.environ["LEDGER_TABLE"], Item=_to_ddb(item))
    return item


def _to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item.items()}


class InvalidEvent(ValueError):
    """The event is not what this handler accepts; it goes to the failure destination, not retried forever."""
