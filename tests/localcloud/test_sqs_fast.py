"""SQS semantics through boto3 against the local cloud, with the indexed message store in place."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _name(prefix: str, fifo: bool = False) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")


def _counts(sqs: Any, url: str) -> dict[str, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {n: int(attrs[n]) for n in names}


def _receive_until(sqs: Any, url: str, want: int, deadline_s: float = 10.0, **kwargs: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    end = time.monotonic() + deadline_s
    while len(got) < want and time.monotonic() < end:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs).get("Messages", [])
        if len(got) < want:
            time.sleep(0.05)
    return got


def test_counts_follow_send_receive_delete(aws: Callable[..., Any]) -> None:
    """Approximate counts track visible, in-flight and deleted messages.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("counts"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)])
    assert _counts(sqs, url) == {"ApproximateNumberOfMessages": 5, "ApproximateNumberOfMessagesNotVisible": 0,
                                 "ApproximateNumberOfMessagesDelayed": 0}
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1"]
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 3
    assert _counts(sqs, url)["ApproximateNumberOfMessagesNotVisible"] == 2
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    # Deleting again with the same handle succeeds, as the DeleteMessage reference says.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert _counts(sqs, url)["ApproximateNumberOfMessagesNotVisible"] == 1
    with pytest.raises(ClientError) as err:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert "ReceiptHandleIsInvalid" in err.value.response["Error"]["Code"]


def test_visibility_timeout_returns_message_with_higher_receive_count(aws: Callable[..., Any]) -> None:
    """An undeleted message becomes visible again after its visibility timeout, received a second time.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("vis"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="once")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1, AttributeNames=["All"])["Messages"]
    assert first[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    again = _receive_until(sqs, url, 1, AttributeNames=["All"])
    assert [m["Body"] for m in again] == ["once"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]


def test_change_visibility_zero_makes_message_receivable_now(aws: Callable[..., Any]) -> None:
    """ChangeMessageVisibility restarts the timeout; 0 makes the message visible at once; a visible one is not in flight.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("chvis"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]["ReceiptHandle"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 1
    with pytest.raises(ClientError) as err:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert "MessageNotInflight" in err.value.response["Error"]["Code"]
    again = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]
    assert again[0]["Body"] == "x"
    with pytest.raises(ClientError) as err:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=43201)
    assert "InvalidParameterValue" in err.value.response["Error"]["Code"]


def test_change_visibility_batch_fails_only_the_bad_entries(aws: Callable[..., Any]) -> None:
    """ChangeMessageVisibilityBatch reports each failing entry on its own; the others succeed.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibilityBatch.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("chvisb"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"b{i}"} for i in range(2)])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=300)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=0)
    resp = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "visible", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 30},
        {"Id": "unknown", "ReceiptHandle": "nope", "VisibilityTimeout": 30},
    ])
    assert [e["Id"] for e in resp["Successful"]] == ["ok"]
    codes = {e["Id"]: e["Code"] for e in resp["Failed"]}
    assert "MessageNotInflight" in codes["visible"]
    assert "ReceiptHandleIsInvalid" in codes["unknown"]
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 2


def test_delay_seconds_hides_message_until_due(aws: Callable[..., Any]) -> None:
    """A delayed message counts as delayed and is not receivable until its delay has passed.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("delay"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    assert _counts(sqs, url) == {"ApproximateNumberOfMessages": 1, "ApproximateNumberOfMessagesNotVisible": 0,
                                 "ApproximateNumberOfMessagesDelayed": 1}
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in first] == ["now"]
    later = _receive_until(sqs, url, 1)
    assert [m["Body"] for m in later] == ["later"]


def test_queue_delay_seconds_applies_to_every_message(aws: Callable[..., Any]) -> None:
    """The queue's DelaySeconds delays messages sent without their own DelaySeconds.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("dq"), Attributes={"DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="d")
    assert _counts(sqs, url)["ApproximateNumberOfMessagesDelayed"] == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert [m["Body"] for m in _receive_until(sqs, url, 1)] == ["d"]


def test_long_poll_returns_as_soon_as_a_message_arrives(aws: Callable[..., Any]) -> None:
    """ReceiveMessage with WaitTimeSeconds returns when a message arrives, not at the end of the wait.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("poll"))["QueueUrl"]
    sender = aws("sqs", account_id="123456789012", region="us-east-1")
    timer = threading.Timer(0.3, lambda: sender.send_message(QueueUrl=url, MessageBody="wake"))
    started = time.monotonic()
    timer.start()
    try:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    finally:
        timer.join()
    assert [m["Body"] for m in got] == ["wake"]
    assert time.monotonic() - started < 5


def test_fifo_orders_per_group_and_locks_group_in_flight(aws: Callable[..., Any]) -> None:
    """FIFO: order within a group; while a group has a message in flight no more of it is returned.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("fifo", fifo=True), Attributes={"FifoQueue": "true"})["QueueUrl"]
    for i in range(3):
        for group in ("a", "b"):
            sqs.send_message(QueueUrl=url, MessageBody=f"{group}{i}", MessageGroupId=group,
                             MessageDeduplicationId=f"{group}{i}")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in first] == ["a0"]
    # Group a is locked: the next receive may only return group b, in order, as many as possible of one group.
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in second] == ["b0", "b1", "b2"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    third = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in third] == ["a1", "a2"]


def test_fifo_group_returns_in_order_after_visibility_expires(aws: Callable[..., Any]) -> None:
    """An expired in-flight FIFO message is redelivered before the rest of its group.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("fifo-vis", fifo=True),
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=1)["Messages"]
    assert [m["Body"] for m in got] == ["one"]
    again = _receive_until(sqs, url, 1, VisibilityTimeout=60)
    assert [m["Body"] for m in again][:1] == ["one"]


def test_fifo_receive_request_attempt_id_returns_same_messages(aws: Callable[..., Any]) -> None:
    """Retrying ReceiveMessage with the same ReceiveRequestAttemptId returns the same messages and handles,
    until one of them is deleted.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("attempt", fifo=True),
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for body in ("a1", "a2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    sqs.send_message(QueueUrl=url, MessageBody="b1", MessageGroupId="b")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60,
                                ReceiveRequestAttemptId="try-1")["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60,
                                ReceiveRequestAttemptId="try-1")["Messages"]
    assert [(m["Body"], m["ReceiptHandle"]) for m in again] == [(m["Body"], m["ReceiptHandle"]) for m in first]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    # A message was modified: the attempt id no longer repeats; the call receives afresh (only group b is free).
    fresh = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                ReceiveRequestAttemptId="try-1")["Messages"]
    assert [m["Body"] for m in fresh] == ["b1"]


def test_fifo_deduplication_outlives_delete(aws: Callable[..., Any]) -> None:
    """A duplicate sent within 5 minutes is accepted but not delivered, even after the first was deleted.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("dedup", fifo=True), Attributes={"FifoQueue": "true"})["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d1")
    dup = sqs.send_message(QueueUrl=url, MessageBody="a again", MessageGroupId="g", MessageDeduplicationId="d1")
    assert dup["MessageId"] == first["MessageId"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["a"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="a third", MessageGroupId="g", MessageDeduplicationId="d1")
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 0


def test_fifo_sequence_numbers_increase(aws: Callable[..., Any]) -> None:
    """Every FIFO send returns a SequenceNumber, and it keeps increasing (also with content-based dedup).

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("seq", fifo=True),
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    numbers = [int(sqs.send_message(QueueUrl=url, MessageBody=f"s{i}", MessageGroupId="g")["SequenceNumber"])
               for i in range(3)]
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"b{i}", "MessageGroupId": "g"} for i in range(3)])
    numbers += [int(e["SequenceNumber"]) for e in batch["Successful"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["SequenceNumber"])["Messages"]
    assert [int(m["Attributes"]["SequenceNumber"]) for m in got] == numbers


def test_fifo_content_based_deduplication(aws: Callable[..., Any]) -> None:
    """With ContentBasedDeduplication the body's SHA-256 is the deduplication id.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("cbd", fifo=True),
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for body in ("same", "same", "other"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["same", "other"]


def test_redrive_moves_message_after_max_receive_count(aws: Callable[..., Any]) -> None:
    """After maxReceiveCount receives without delete, the message goes to the dead-letter queue.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    """
    sqs = aws("sqs")
    dlq_url = sqs.create_queue(QueueName=_name("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName=_name("src"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")["MessageId"]
    for _ in range(2):
        handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    moved = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert moved[0]["MessageId"] == sent
    assert moved[0]["Body"] == "poison"
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 0


def test_purge_empties_queue(aws: Callable[..., Any]) -> None:
    """PurgeQueue deletes every message in the queue.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("purge"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "p"} for i in range(4)])
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    sqs.purge_queue(QueueUrl=url)
    assert _counts(sqs, url) == {"ApproximateNumberOfMessages": 0, "ApproximateNumberOfMessagesNotVisible": 0,
                                 "ApproximateNumberOfMessagesDelayed": 0}
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["after"]


def test_concurrent_producers_and_consumer_lose_nothing(aws: Callable[..., Any]) -> None:
    """Eight producer threads and a consumer: every message is received exactly once and the queue ends empty.

    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html
    """
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=_name("conc"))["QueueUrl"]
    per_thread = 20

    def produce(t: int) -> None:
        client = aws("sqs", region="us-east-1")
        for i in range(0, per_thread, 10):
            client.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(j), "MessageBody": f"{t}-{i + j}"} for j in range(10)])

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    seen: list[str] = []
    end = time.monotonic() + 30
    while len(seen) < 8 * per_thread and time.monotonic() < end:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if got:
            seen += [m["Body"] for m in got]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"{t}-{i}" for t in range(8) for i in range(per_thread))
    assert _counts(sqs, url)["ApproximateNumberOfMessages"] == 0
