"""Unit checks of the indexed SQS store: operation cost does not grow with queue depth."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from eventdeploy.localcloud import sqs_fast

REGION = "us-east-1"


def _backend() -> Any:
    sqs_fast.install()
    from moto.sqs.models import sqs_backends

    # An account of its own: nothing else in this process touches it.
    return sqs_backends[str(uuid.uuid4().int)[:12]][REGION]


def _cost_of_sends(backend: Any, name: str, n: int) -> tuple[int, float]:
    store = sqs_fast.store_of(backend.get_queue(name))
    before = store.ops.visits
    times = []
    for i in range(n):
        started = time.perf_counter()
        backend.send_message(name, f"body-{i}")
        times.append(time.perf_counter() - started)
    return store.ops.visits - before, statistics.median(times)


def _cost_of_cycles(backend: Any, name: str, n: int) -> int:
    """Visits for n receive+delete cycles of one freshly sent message each."""
    store = sqs_fast.store_of(backend.get_queue(name))
    before = store.ops.visits
    for i in range(n):
        backend.send_message(name, f"cycle-{i}", delay_seconds=0)
        got = backend.receive_message(name, 1, 0, 30)
        backend.delete_message(name, got[0].receipt_handle)
    return store.ops.visits - before


def test_send_cost_is_flat_from_depth_0_to_5000() -> None:
    """Sending at depth 5,000 visits as many messages and takes about as long as at depth 0."""
    backend = _backend()
    name = f"depth-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    visits_shallow, time_shallow = _cost_of_sends(backend, name, 200)
    for i in range(5_000 - 200):
        backend.send_message(name, f"fill-{i}")
    assert backend.get_queue(name).approximate_number_of_messages == 5_000
    visits_deep, time_deep = _cost_of_sends(backend, name, 200)
    assert visits_deep == visits_shallow
    # moto scanned the whole list (three times, for the counts) on every send, so this grew linearly.
    assert time_deep / time_shallow < 3, (time_shallow, time_deep)


def test_receive_delete_cost_is_flat_with_in_flight_and_delayed_backlog() -> None:
    """Receive and delete stay O(log n) when thousands of messages are in flight or delayed."""
    backend = _backend()
    name = f"cycle-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    shallow = _cost_of_cycles(backend, name, 100)
    for i in range(2_500):
        backend.send_message(name, f"late-{i}", delay_seconds=600)
    for i in range(2_500):
        backend.send_message(name, f"held-{i}")
    while backend.receive_message(name, 10, 0, 600):
        pass
    queue = backend.get_queue(name)
    assert queue.approximate_number_of_messages_delayed == 2_500
    assert queue.approximate_number_of_messages_not_visible == 2_500
    deep = _cost_of_cycles(backend, name, 100)
    assert deep <= shallow * 1.5, (shallow, deep)


def test_fifo_many_groups_receive_is_flat() -> None:
    """A FIFO queue with 5,000 locked groups still serves the one free group without scanning the rest."""
    backend = _backend()
    name = f"fifo-{uuid.uuid4().hex[:8]}.fifo"
    backend.create_queue(name, FifoQueue="true", ContentBasedDeduplication="true")
    for i in range(5_000):
        backend.send_message(name, f"g{i}", group_id=f"g{i}")
    while backend.receive_message(name, 10, 0, 600):
        pass
    store = sqs_fast.store_of(backend.get_queue(name))
    backend.send_message(name, "free-1", group_id="free")
    backend.send_message(name, "free-2", group_id="free")
    before = store.ops.visits
    got = backend.receive_message(name, 10, 0, 30)
    assert [m.body for m in got] == ["free-1", "free-2"]
    assert store.ops.visits - before < 10


def test_messages_past_retention_period_are_dropped() -> None:
    """A message older than MessageRetentionPeriod is deleted and no longer counted or received."""
    backend = _backend()
    name = f"ret-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name, MessageRetentionPeriod="60")
    backend.send_message(name, "old")
    store = sqs_fast.store_of(backend.get_queue(name))
    with store.cond:
        store.advance(sqs_fast.now_ms() + 61_000)
    assert backend.get_queue(name).approximate_number_of_messages == 0
    assert backend.receive_message(name, 10, 0, 30) == []


def test_concurrent_threads_keep_counts_consistent() -> None:
    """Eight threads sending while two receive and delete leave exact counts (no lost or doubled messages)."""
    import threading

    backend = _backend()
    name = f"thr-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    received: list[str] = []
    lock = threading.Lock()

    def produce(t: int) -> None:
        for i in range(300):
            backend.send_message(name, f"{t}-{i}")

    produced = threading.Event()

    def consume() -> None:
        while True:
            finished = produced.is_set()
            got = backend.receive_message(name, 10, 0, 30)
            if not got:
                if finished:
                    return
                time.sleep(0.002)
                continue
            for m in got:
                backend.delete_message(name, m.receipt_handle)
            with lock:
                received.extend(m.body for m in got)

    producers = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for t in producers + consumers:
        t.start()
    for t in producers:
        t.join()
    produced.set()
    for t in consumers:
        t.join()
    queue = backend.get_queue(name)
    assert sorted(received) == sorted(f"{t}-{i}" for t in range(8) for i in range(300))
    assert (queue.approximate_number_of_messages, queue.approximate_number_of_messages_not_visible) == (0, 0)


def test_dispatch_caches_answer_what_moto_computed() -> None:
    """The request-dispatch caches (module list, action names, account lookup) and the one-call random strings
    give moto's own answers."""
    import os

    import moto
    from moto import backends as moto_backends
    from moto.core import responses as moto_responses
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import sqs_backends
    from moto.sqs.responses import SQSResponse

    from eventdeploy.localcloud import dispatch_fast

    dispatch_fast.install()
    root = os.path.dirname(moto.__file__)
    listed = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("__"))
    assert list(moto_backends.list_of_moto_modules()) == listed
    assert "sqs" in moto_backends.list_of_moto_modules() and None not in moto_backends.list_of_moto_modules()
    names = moto_responses.method_names_from_class(SQSResponse)
    assert {"receive_message", "send_message", "delete_message"} <= names
    assert moto_responses.method_names_from_class(SQSResponse) is names
    from moto.moto_api._internal import mock_random

    drawn = mock_random.get_random_string(52)
    assert len(drawn) == 52 and drawn.isalnum()
    assert mock_random.get_random_string(30, include_digits=False, lower_case=True).isalpha()
    assert all(c in "0123456789abcdef" for c in mock_random.get_random_hex(16))
    account = str(uuid.uuid4().int)[:12]
    first = sqs_backends[account]
    assert sqs_backends[account] is first
    assert sqs_backends in BackendDict._instances
