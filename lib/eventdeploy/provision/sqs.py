"""SQS queues: DLQs per EventBridge target, taps that observe a rule, Lambda failure destinations."""

from __future__ import annotations

import json
from typing import Any

from eventdeploy.provision.context import Provisioner

DEFAULT_ATTRIBUTES = {"MessageRetentionPeriod": "1209600"}  # 14 days: the most SQS allows, for post-mortems


def queue_url(p: Provisioner, name: str) -> str | None:
    """The URL of queue ``name`` in the provisioner's account, or None."""
    sqs = p.client("sqs")
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        return None


def ensure_queue(p: Provisioner, suffix: str, attributes: dict[str, str] | None = None, fifo: bool = False) -> str:
    """A queue ``<prefix>-<suffix>`` with ``attributes``; returns its ARN."""
    sqs = p.client("sqs")
    name = p.name(suffix) + (".fifo" if fifo else "")
    desired = DEFAULT_ATTRIBUTES | (attributes or {})
    if fifo:
        desired |= {"FifoQueue": "true"}
    url = queue_url(p, name)
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=desired, tags=p.tags)["QueueUrl"]
        p.changed("create", "sqs queue", name)
    else:
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        differ = {k: v for k, v in desired.items() if k != "FifoQueue" and current.get(k) != v}
        if differ:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=differ)
            p.changed("update", "sqs queue", name)
        if {k: v for k, v in sqs.list_queue_tags(QueueUrl=url).get("Tags", {}).items() if k in p.tags} != p.tags:
            sqs.tag_queue(QueueUrl=url, Tags=p.tags)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return p.record("sqs", "queue", name, arn, url=url)


def _statement(sid: str, service: str, queue_arn: str, source_arns: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage",
            "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": sorted(source_arns)}}}


def allow_senders(p: Provisioner, queue_arn: str, service: str, source_arns: list[str], sid: str) -> None:
    """Let ``service`` (e.g. events.amazonaws.com) send to the queue, only on behalf of ``source_arns``.

    EventBridge needs this resource policy to deliver to a target queue or a DLQ; the aws:SourceArn condition keeps
    any other rule (or account) from using it.
    """
    sqs = p.client("sqs")
    url = queue_url(p, queue_arn.rsplit(":", 1)[-1])
    if url is None:
        raise LookupError(f"queue {queue_arn} does not exist; ensure_queue it first")
    raw = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
    policy = json.loads(raw) if raw else {"Version": "2012-10-17", "Statement": []}
    wanted = _statement(sid, service, queue_arn, source_arns)
    others = [s for s in policy["Statement"] if s.get("Sid") != sid]
    current = next((s for s in policy["Statement"] if s.get("Sid") == sid), None)
    if current == wanted:
        return
    policy["Statement"] = [*others, wanted]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    p.changed("update", "sqs queue policy", queue_arn)
