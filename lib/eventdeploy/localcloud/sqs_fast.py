"""SQS queues whose operations cost O(log n) in queue depth, patched into moto's ``Queue`` and ``SQSBackend``.

moto keeps a queue's messages in a plain list and scans it on every send (deduplication), receive, delete,
visibility change and attribute read (the three approximate counts), so a queue slows down as it fills. Here each
queue gets a ``MessageStore``: messages indexed by id and receipt handle, a heap of messages ready to receive
(standard queues: oldest first; FIFO queues: one entry per unlocked message group), a heap of timed state changes
(delay and visibility expiry, applied lazily), counters per state, a deduplication index that outlives deletion,
and a retention heap. Every change holds the queue's own lock, so concurrent producers and consumers cannot
corrupt it, and never holds it while waiting (long polling waits on the queue's condition); reading the counts
takes no lock unless a timed change is due, so attribute reads never queue behind senders.

Also as AWS documents and moto does not: MessageNotInflight from ChangeMessageVisibility (single and batch, per
entry), deduplication that outlives deletion, increasing FIFO SequenceNumbers, ReceiveRequestAttemptId retries.

Semantics follow the SQS documentation:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html.
"""

from __future__ import annotations

import contextvars
import copy
import heapq
import itertools
import json
import string
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

DELAYED = "delayed"
READY = "ready"
INFLIGHT = "inflight"
GONE = "gone"

DEDUPLICATION_INTERVAL_MS = 300_000
# Receipt handles of deleted messages are remembered so a repeated DeleteMessage succeeds, as on AWS; bounded.
DELETED_HANDLES_KEPT = 200_000
MAX_TOTAL_VISIBILITY_MS = 43_200_000

_patched = False
# The ReceiveRequestAttemptId of the ReceiveMessage request being served (moto's backend signature lacks it).
RECEIVE_ATTEMPT_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("receive_attempt_id", default=None)


def now_ms() -> float:
    """Wall-clock milliseconds, the unit moto's ``Message`` timestamps use."""
    return time.time() * 1000.0


class OpCounter:
    """Counts the message visits each store makes, so tests can prove cost does not grow with depth."""

    def __init__(self) -> None:
        self.visits = 0


class MessageStore:
    """All messages of one queue, indexed so that send, receive, delete and counts never scan the queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.cond: threading.Condition = queue._messages_lock
        self.fifo = bool(getattr(queue, "fifo_queue", False))
        self.seq = itertools.count()
        self.messages: dict[str, Any] = {}
        self.by_handle: dict[str, Any] = {}
        self.ready: list[tuple[int, str]] = []
        self.groups: dict[str, dict[str, Any]] = {}
        self.group_inflight: dict[str, int] = {}
        self.ready_groups: list[tuple[int, str]] = []
        self.timers: list[tuple[float, int, str, int]] = []
        self.by_age: list[tuple[float, int, str]] = []
        self.counts = {DELAYED: 0, READY: 0, INFLIGHT: 0}
        self.dedup: dict[Any, tuple[float, Any]] = {}
        self.dedup_order: deque[tuple[float, Any]] = deque()
        self.deleted_handles: set[str] = set()
        self.deleted_order: deque[str] = deque()
        self.ops = OpCounter()
        self.attempts: dict[str, tuple[float, list[tuple[Any, int]]]] = {}
        # Start from the clock in microseconds so numbers look like AWS's large ones and differ across restarts.
        self.last_sequence = int(time.time() * 1_000_000) * 1000

    # ---- state transitions -------------------------------------------------------------------------------------

    def _set_state(self, message: Any, state: str) -> None:
        old = message._fd_state
        if old in self.counts:
            self.counts[old] -= 1
        if state in self.counts:
            self.counts[state] += 1
        message._fd_state = state
        message._fd_gen += 1

    def _make_ready(self, message: Any) -> None:
        was_inflight = message._fd_state == INFLIGHT
        self._set_state(message, READY)
        if self.fifo:
            group = message.group_id
            if was_inflight:
                self.group_inflight[group] -= 1
            self._offer_group(group)
        else:
            heapq.heappush(self.ready, (message._fd_seq, message.id))

    def _schedule(self, message: Any, due: float) -> None:
        heapq.heappush(self.timers, (due, message._fd_seq, message.id, message._fd_gen))

    def _offer_group(self, group: str) -> None:
        """Make ``group`` receivable if nothing of it is in flight and its oldest message is ready."""
        members = self.groups.get(group)
        if not members or self.group_inflight.get(group, 0):
            return
        head = next(iter(members.values()))
        if head._fd_state == READY:
            heapq.heappush(self.ready_groups, (head._fd_seq, group))

    def advance(self, now: float) -> None:
        """Apply every delay and visibility expiry due by ``now``, and drop messages past retention."""
        timers = self.timers
        while timers and timers[0][0] <= now:
            _, _, message_id, gen = heapq.heappop(timers)
            self.ops.visits += 1
            message = self.messages.get(message_id)
            if message is not None and message._fd_gen == gen:
                self._make_ready(message)
        retention_ms = int(getattr(self.queue, "message_retention_period", 345600)) * 1000.0
        by_age = self.by_age
        while by_age and by_age[0][0] + retention_ms <= now:
            _, seq, message_id = heapq.heappop(by_age)
            self.ops.visits += 1
            message = self.messages.get(message_id)
            if message is not None and message._fd_seq == seq:
                self._remove(message)

    # ---- add / remove ------------------------------------------------------------------------------------------

    def next_sequence_number(self) -> str:
        """The next FIFO sequence number: 20 digits, increasing within the queue."""
        self.last_sequence += 1
        return f"{self.last_sequence:020d}"

    def _dedup_key(self, message: Any) -> Any:
        if getattr(self.queue, "deduplication_scope", "queue") == "messageGroup":
            return (message.group_id, message.deduplication_id)
        return message.deduplication_id

    def duplicate_of(self, message: Any, now: float) -> Any:
        """The message already accepted with ``message``'s deduplication id within the interval, else None."""
        if not self.fifo or not message.deduplication_id:
            return None
        order = self.dedup_order
        while order and order[0][0] <= now:
            expires, key = order.popleft()
            found = self.dedup.get(key)
            if found is not None and found[0] == expires:
                del self.dedup[key]
        found = self.dedup.get(self._dedup_key(message))
        return found[1] if found is not None else None

    def add(self, message: Any, now: float | None = None) -> None:
        """Store a message (new, or moved here from a source queue's redrive) in the right state."""
        now = now_ms() if now is None else now
        self.ops.visits += 1
        message._fd_seq = next(self.seq)
        message._fd_state = GONE
        message._fd_gen = getattr(message, "_fd_gen", 0) + 1
        self.messages[message.id] = message
        for handle in message.all_receipt_handles:
            if handle:
                self.by_handle[handle] = message
        if self.fifo:
            self.group_inflight.setdefault(message.group_id, 0)
            self.groups.setdefault(message.group_id, {})[message.id] = message
            if message.deduplication_id:
                key = self._dedup_key(message)
                expires = (message.sent_timestamp or now) + DEDUPLICATION_INTERVAL_MS
                self.dedup[key] = (expires, message)
                self.dedup_order.append((expires, key))
        sent = float(message.sent_timestamp or now)
        heapq.heappush(self.by_age, (sent, message._fd_seq, message.id))
        if message.delayed_until > now:
            self._set_state(message, DELAYED)
            self._schedule(message, message.delayed_until)
        elif message.visible_at > now:
            # A message redriven from a source queue keeps no visibility of its own there; be safe anyway.
            self._set_state(message, INFLIGHT)
            if self.fifo:
                self.group_inflight[message.group_id] += 1
            self._schedule(message, message.visible_at)
        else:
            self._make_ready(message)

    def _remove(self, message: Any) -> None:
        state = message._fd_state
        self._set_state(message, GONE)
        self.messages.pop(message.id, None)
        for handle in message.all_receipt_handles:
            if handle and self.by_handle.get(handle) is message:
                del self.by_handle[handle]
        if self.fifo:
            group = message.group_id
            members = self.groups.get(group)
            if members is not None:
                members.pop(message.id, None)
                if state == INFLIGHT:
                    self.group_inflight[group] -= 1
                if members:
                    self._offer_group(group)
                else:
                    del self.groups[group]
                    self.group_inflight.pop(group, None)

    def clear(self) -> None:
        """Drop every message (PurgeQueue); deduplication history survives, as on AWS."""
        for message in list(self.messages.values()):
            self._set_state(message, GONE)
        self.messages.clear()
        self.by_handle.clear()
        self.ready.clear()
        self.groups.clear()
        self.group_inflight.clear()
        self.ready_groups.clear()
        self.timers.clear()
        self.by_age.clear()
        self.counts = {DELAYED: 0, READY: 0, INFLIGHT: 0}

    # ---- receive -----------------------------------------------------------------------------------------------

    def _needs_redrive(self, message: Any) -> bool:
        queue = self.queue
        policy = queue.redrive_policy if queue.dead_letter_queue is not None else None
        return bool(policy) and message.approximate_receive_count >= policy["maxReceiveCount"]

    def _take(self, message: Any, visibility_timeout: int, now: float, out: list[Any]) -> None:
        message.mark_received(visibility_timeout=visibility_timeout)
        message._fd_received_at = now
        if message.receipt_handle:
            self.by_handle[message.receipt_handle] = message
        if visibility_timeout:
            self._set_state(message, INFLIGHT)
            if self.fifo:
                self.group_inflight[message.group_id] += 1
            self._schedule(message, message.visible_at)
        out.append(message)

    def receive(self, count: int, visibility_timeout: int, now: float) -> tuple[list[Any], list[Any]]:
        """Take up to ``count`` receivable messages; also return those to move to the dead-letter queue."""
        self.advance(now)
        taken: list[Any] = []
        to_dlq: list[Any] = []
        if self.fifo:
            self._receive_fifo(count, visibility_timeout, now, taken, to_dlq)
        else:
            requeue: list[Any] = []
            while len(taken) < count and self.ready:
                seq, message_id = heapq.heappop(self.ready)
                self.ops.visits += 1
                message = self.messages.get(message_id)
                if message is None or message._fd_seq != seq or message._fd_state != READY:
                    continue
                if self._needs_redrive(message):
                    self._remove(message)
                    to_dlq.append(message)
                    continue
                self._take(message, visibility_timeout, now, taken)
                if not visibility_timeout:
                    requeue.append(message)
            for message in requeue:
                # Visibility timeout 0: received, yet immediately receivable again (by the next call).
                heapq.heappush(self.ready, (message._fd_seq, message.id))
        return taken, to_dlq

    def _receive_fifo(self, count: int, visibility_timeout: int, now: float, taken: list[Any],
                      to_dlq: list[Any]) -> None:
        # AWS returns as many messages of one group as it can before moving to the next group.
        served: set[str] = set()
        while len(taken) < count and self.ready_groups:
            seq, group = heapq.heappop(self.ready_groups)
            self.ops.visits += 1
            members = self.groups.get(group)
            if group in served or not members or self.group_inflight.get(group, 0):
                continue
            head = next(iter(members.values()))
            if head._fd_seq != seq or head._fd_state != READY:
                continue
            served.add(group)
            for message in list(members.values()):
                self.ops.visits += 1
                if len(taken) >= count or message._fd_state != READY:
                    break
                if self._needs_redrive(message):
                    self._remove(message)
                    to_dlq.append(message)
                    continue
                self._take(message, visibility_timeout, now, taken)
        for group in served:
            self._offer_group(group)

    def remember_attempt(self, attempt: str, taken: list[Any], now: float) -> None:
        """Record what a FIFO receive with ``ReceiveRequestAttemptId`` returned, for 5 minutes."""
        if len(self.attempts) > 10_000:
            self.attempts = {k: v for k, v in self.attempts.items() if v[0] > now}
        self.attempts[attempt] = (now + DEDUPLICATION_INTERVAL_MS, [(m, m._fd_gen) for m in taken])

    def repeat_attempt(self, attempt: str, visibility_timeout: int, now: float) -> list[Any] | None:
        """The same messages and receipt handles as the first call with ``attempt``, with their visibility
        timeout restarted, if none was deleted or had its visibility changed since; else None."""
        self.advance(now)
        found = self.attempts.get(attempt)
        if found is None or found[0] <= now:
            self.attempts.pop(attempt, None)
            return None
        pairs = found[1]
        if any(self.messages.get(m.id) is not m or m._fd_state != INFLIGHT or m._fd_gen != gen for m, gen in pairs):
            del self.attempts[attempt]
            return None
        for message, _ in pairs:
            message.visible_at = now + visibility_timeout * 1000
            message._fd_gen += 1
            self._schedule(message, message.visible_at)
        self.attempts[attempt] = (found[0], [(m, m._fd_gen) for m, _ in pairs])
        return [m for m, _ in pairs]

    def next_due(self) -> float | None:
        """When the next delayed or in-flight message becomes receivable (ms), if any."""
        return self.timers[0][0] if self.timers else None

    # ---- delete / visibility -----------------------------------------------------------------------------------

    def delete(self, receipt_handle: str) -> None:
        """Delete the message that was given ``receipt_handle``; repeat deletes succeed; unknown handles fail."""
        from moto.sqs.exceptions import ReceiptHandleIsInvalid

        if receipt_handle in self.deleted_handles:
            return
        message = self.by_handle.get(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        for handle in message.all_receipt_handles:
            if handle and handle not in self.deleted_handles:
                self.deleted_handles.add(handle)
                self.deleted_order.append(handle)
        while len(self.deleted_order) > DELETED_HANDLES_KEPT:
            self.deleted_handles.discard(self.deleted_order.popleft())
        self._remove(message)

    def change_visibility(self, receipt_handle: str, visibility_timeout: int, now: float) -> None:
        """Restart the visibility timeout of an in-flight message from now."""
        from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid, SQSException

        self.advance(now)
        message = self.by_handle.get(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        if message._fd_state != INFLIGHT:
            raise SQSException("MessageNotInflight", "The message referred to isn't in flight.")
        given = now + int(visibility_timeout) * 1000
        # The 12-hour ceiling counts from when this receive started the visibility timeout.
        received = getattr(message, "_fd_received_at", None) or message.sent_timestamp or now
        if given - received > MAX_TOTAL_VISIBILITY_MS:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.visible_at = given
        if visibility_timeout:
            message._fd_gen += 1
            self._schedule(message, given)
        else:
            self._make_ready(message)

    # ---- reads -------------------------------------------------------------------------------------------------

    def has_due(self, now: float) -> bool:
        """Whether a delay, visibility expiry or retention deadline has passed (cheap; no lock needed)."""
        timers, by_age = self.timers, self.by_age
        try:
            if timers and timers[0][0] <= now:
                return True
            retention_ms = int(getattr(self.queue, "message_retention_period", 345600)) * 1000.0
            return bool(by_age) and by_age[0][0] + retention_ms <= now
        except IndexError:  # emptied by another thread between the two reads
            return False

    def count(self, state: str, now: float | None = None) -> int:
        """How many messages are in ``state`` right now."""
        self.advance(now_ms() if now is None else now)
        return self.counts[state]

    def in_order(self) -> Iterator[Any]:
        """Every stored message, oldest first (O(n); only for callers that really want them all)."""
        return iter(sorted(self.messages.values(), key=lambda m: m._fd_seq))


class MessagesView:
    """What ``queue._messages`` returns: list-like access for code that still iterates, backed by the store."""

    def __init__(self, store: MessageStore) -> None:
        self._store = store

    def __iter__(self) -> Iterator[Any]:
        with self._store.cond:
            return iter(list(self._store.in_order()))

    def __len__(self) -> int:
        return len(self._store.messages)

    def __bool__(self) -> bool:
        return bool(self._store.messages)

    def __contains__(self, message: Any) -> bool:
        return self._store.messages.get(getattr(message, "id", None)) is message

    def append(self, message: Any) -> None:
        """Store ``message`` (what moto's list append did)."""
        with self._store.cond:
            self._store.add(message)
            self._store.cond.notify_all()

    def remove(self, message: Any) -> None:
        """Drop ``message``; ValueError if it is not stored, like list.remove."""
        with self._store.cond:
            if self._store.messages.get(message.id) is not message:
                raise ValueError(f"message {message.id} is not in queue {self._store.queue.name}")
            self._store._remove(message)


def store_of(queue: Any) -> MessageStore:
    """The queue's store, created on first use."""
    store = queue.__dict__.get("_fd_store")
    if store is None:
        with _create_lock:
            store = queue.__dict__.get("_fd_store")
            if store is None:
                store = MessageStore(queue)
                queue.__dict__["_fd_store"] = store
    return store


_create_lock = threading.Lock()


def _messages_get(queue: Any) -> MessagesView:
    return MessagesView(store_of(queue))


def _messages_set(queue: Any, value: Any) -> None:
    if "_messages_lock" not in queue.__dict__:
        return  # Queue.__init__ assigns [] before its lock exists: the store is created on first use instead.
    store = store_of(queue)
    with store.cond:
        store.clear()
        now = now_ms()
        for message in value:
            store.add(message, now)


def _pending_get(queue: Any) -> set[Any]:
    store = store_of(queue) if "_messages_lock" in queue.__dict__ else None
    if store is None:
        return set()
    with store.cond:
        store.advance(now_ms())
        return {m for m in store.messages.values() if m._fd_state == INFLIGHT}


def _pending_set(queue: Any, value: Any) -> None:
    # moto's PurgeQueue resets the pending set after emptying the list; the store already forgot everything.
    return None


def install() -> None:
    """Patch moto's SQS ``Queue`` and ``SQSBackend`` once per process (idempotent)."""
    global _patched
    if _patched:
        return
    _patched = True
    from moto.core.utils import camelcase_to_underscores
    from moto.moto_api._internal import mock_random
    from moto.sqs import models

    queue_cls = models.Queue
    backend_cls = models.SQSBackend

    queue_cls._messages = property(_messages_get, _messages_set)
    queue_cls._pending_messages = property(_pending_get, _pending_set)
    queue_cls.pending_messages = property(_pending_get)

    def pending_message_groups(self: Any) -> set[str]:
        store = store_of(self)
        with store.cond:
            store.advance(now_ms())
            return {g for g, n in store.group_inflight.items() if n}

    queue_cls.pending_message_groups = property(pending_message_groups)

    def counted(state: str) -> property:
        def getter(self: Any) -> int:
            store = store_of(self)
            now = now_ms()
            if store.has_due(now):
                with store.cond:
                    store.advance(now)
            # A dict read is atomic: the common case takes no lock, so producers never queue behind readers.
            return store.counts[state]
        return property(getter)

    underscore = {name: camelcase_to_underscores(name)
                  for name in (*queue_cls.BASE_ATTRIBUTES, *queue_cls.FIFO_ATTRIBUTES, *queue_cls.KMS_ATTRIBUTES)}

    def attributes(self: Any) -> dict[str, Any]:
        # moto's own property, with the attribute names converted once instead of on every read (every send
        # reads it three times).
        result: dict[str, Any] = {name: getattr(self, underscore[name]) for name in queue_cls.BASE_ATTRIBUTES}
        if self.fifo_queue:
            for name in queue_cls.FIFO_ATTRIBUTES:
                result[name] = getattr(self, underscore[name])
        if self.kms_master_key_id:
            for name in queue_cls.KMS_ATTRIBUTES:
                result[name] = getattr(self, underscore[name])
        if self.policy:
            result["Policy"] = self.policy
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy)
        for key, value in result.items():
            if isinstance(value, bool):
                result[key] = str(value).lower()
        return result

    queue_cls.attributes = property(attributes)

    def generate_receipt_handle() -> str:
        # Same alphabet and length as moto's, drawn in one call instead of 185.
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    models.generate_receipt_handle = generate_receipt_handle

    queue_cls.approximate_number_of_messages = counted(READY)
    queue_cls.approximate_number_of_messages_not_visible = counted(INFLIGHT)
    queue_cls.approximate_number_of_messages_delayed = counted(DELAYED)

    def messages(self: Any) -> list[Any]:
        store = store_of(self)
        with store.cond:
            store.advance(now_ms())
            return [m for m in store.in_order() if m._fd_state == READY]

    queue_cls.messages = property(messages)

    def add_message(self: Any, message: Any) -> None:
        store = store_of(self)
        with store.cond:
            now = now_ms()
            original = store.duplicate_of(message, now)
            if original is not None:
                # Accepted but not delivered (SendMessage docs); the reply names the message first accepted.
                message.id = original.id
                message.sequence_number = original.sequence_number
                return
            if store.fifo:
                # SendMessage docs: every FIFO message gets a SequenceNumber that keeps increasing (moto drew 20
                # random digits, and none at all under content-based deduplication).
                message.sequence_number = store.next_sequence_number()
            store.add(message, now)
            store.cond.notify_all()
        _feed_event_source_mappings(self)

    queue_cls.add_message = add_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        store = store_of(self)
        with store.cond:
            store.delete(receipt_handle)

    queue_cls.delete_message = delete_message

    def wait_for_messages(self: Any, timeout: int) -> None:
        store = store_of(self)
        with store.cond:
            store.cond.wait_for(lambda: store.count(READY) > 0, timeout=timeout)

    queue_cls.wait_for_messages = wait_for_messages

    def receive_message(self: Any, queue_name: str, count: int, wait_seconds_timeout: int,
                        visibility_timeout: int, message_attribute_names: list[str] | None = None) -> list[Any]:
        queue = self.get_queue(queue_name)
        store = store_of(queue)
        attempt = RECEIVE_ATTEMPT_ID.get() if store.fifo else None
        if attempt:
            with store.cond:
                again = store.repeat_attempt(attempt, int(visibility_timeout or 0), now_ms())
            if again is not None:
                return [_reply_copy(m, message_attribute_names or []) for m in again]
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with store.cond:
                taken, to_dlq = store.receive(int(count), int(visibility_timeout or 0), now_ms())
                if attempt and taken:
                    store.remember_attempt(attempt, taken, now_ms())
                if not taken and not to_dlq and wait_seconds_timeout:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    due = store.next_due()
                    if due is not None:
                        remaining = min(remaining, max(0.001, (due - now_ms()) / 1000.0))
                    store.cond.wait(timeout=remaining)
                    continue
            for message in to_dlq:
                # Outside this queue's lock: the dead-letter queue takes its own.
                _redrive(queue.dead_letter_queue, message)
            if taken or not wait_seconds_timeout or time.monotonic() >= deadline:
                return [_reply_copy(m, message_attribute_names or []) for m in taken]

    backend_cls.receive_message = receive_message

    from moto.sqs.responses import SQSResponse

    previous_response_receive = SQSResponse.receive_message

    def response_receive_message(self: Any) -> Any:
        # moto does not read ReceiveRequestAttemptId; hand it to the backend for this request only.
        token = RECEIVE_ATTEMPT_ID.set(self._get_param("ReceiveRequestAttemptId"))
        try:
            return previous_response_receive(self)
        finally:
            RECEIVE_ATTEMPT_ID.reset(token)

    SQSResponse.receive_message = response_receive_message

    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        store = store_of(queue)
        with store.cond:
            store.change_visibility(receipt_handle, int(visibility_timeout), now_ms())
            store.cond.notify_all()

    backend_cls.change_message_visibility = change_message_visibility

    def change_message_visibility_batch(self: Any, queue_name: str,
                                        entries: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
        # moto's batch only catches an invalid handle; every per-entry error (not in flight, over 12 hours)
        # must fail that entry alone, as ChangeMessageVisibilityBatch documents.
        from moto.sqs.constants import MAXIMUM_VISIBILITY_TIMEOUT
        from moto.sqs.exceptions import SQSException

        success: list[str] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                timeout = int(entry["VisibilityTimeout"])
            except (KeyError, TypeError, ValueError):
                timeout = -1
            if not 0 <= timeout <= MAXIMUM_VISIBILITY_TIMEOUT:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": "InvalidParameterValue",
                               "Message": f"Value {entry.get('VisibilityTimeout')} for parameter VisibilityTimeout "
                                          f"is invalid. Reason: must be between 0 and {MAXIMUM_VISIBILITY_TIMEOUT}."})
                continue
            try:
                self.change_message_visibility(queue_name, entry["ReceiptHandle"], timeout)
                success.append(entry["Id"])
            except SQSException as exc:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.code,
                               "Message": getattr(exc, "message", str(exc))})
        return success, failed

    backend_cls.change_message_visibility_batch = change_message_visibility_batch


def _redrive(dead_letter_queue: Any, message: Any) -> None:
    """Move ``message`` into the dead-letter queue as is: no new deduplication check, same id and counts."""
    store = store_of(dead_letter_queue)
    with store.cond:
        store.add(message)
        store.cond.notify_all()
    _feed_event_source_mappings(dead_letter_queue)


def _reply_copy(message: Any, attribute_names: list[str]) -> Any:
    from moto.sqs.models import _filter_message_attributes

    # A shallow copy suffices: the filter assigns a new attribute dict and the reply only reads the rest.
    reply = copy.copy(message)
    _filter_message_attributes(reply, attribute_names)
    return reply


def _feed_event_source_mappings(queue: Any) -> None:
    """moto's synchronous Lambda event-source-mapping hand-off from ``add_message``, kept as it was."""
    if not queue.lambda_event_source_mappings:
        return
    from moto.awslambda.utils import get_backend
    from moto.sqs.models import sqs_backends

    for arn, esm in list(queue.lambda_event_source_mappings.items()):
        if not esm.enabled:
            continue
        backend = sqs_backends[queue.account_id][queue.region]
        messages = backend.receive_message(queue.name, esm.batch_size, queue.receive_message_wait_time_seconds,
                                           queue.visibility_timeout)
        result = get_backend(queue.account_id, queue.region).send_sqs_batch(arn, messages, queue.queue_arn)
        for m in messages:
            if result:
                backend.delete_message(queue.name, m.receipt_handle)
            else:
                backend.change_message_visibility(queue.name, m.receipt_handle, visibility_timeout=0)
