"""EventBridge's delivery engine: accepted events are matched and delivered on background workers.

Public hooks (for archives/replay and service events):
- ``subscribe_ingest(callback)``: ``callback(account_id, region, bus_name, event_dict)`` runs for every event
  accepted on a bus (PutEvents, service events, bus-to-bus deliveries), before matching.
- ``deliver(account_id, region, bus_name, event_dict, rule_names)``: match ``event_dict`` against the bus's rules
  (only ``rule_names`` when given) and deliver it, without notifying ingest subscribers (replays must not be
  re-archived).
- ``ingest(...)``: accept an already-validated envelope onto a bus (used by PutEvents and ``emit_service_event``).

Delivery semantics: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html
(retries with exponential backoff and jitter, non-retriable permission/missing-resource errors, DLQs with the
RULE_ARN/TARGET_ARN/ERROR_CODE/ERROR_MESSAGE/EXHAUSTED_RETRY_CONDITION/RETRY_ATTEMPTS attributes of
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventdeploy.localcloud import clock
from eventdeploy.localcloud.events import targets
from eventdeploy.localcloud.events.bus_target import BusKey, LoopDetected, check_bus_target
from eventdeploy.localcloud.events.dlq import dlq_attributes, send_dead_letter
from eventdeploy.localcloud.events.event_metrics import EventMetrics
from eventdeploy.localcloud.events.faults import FaultRegistry
from eventdeploy.localcloud.events.retry import RetryPolicy, RetryTimer, backoff
from eventdeploy.localcloud.events.routing import CACHE_LIMIT, RuleRouter
from eventdeploy.localcloud.events.schedule import Scheduler
from eventdeploy.localcloud.events.stats import DeliveryStats
from eventdeploy.localcloud.events.targets import Arn, DeliveryError
from eventdeploy.localcloud.events.transform import RenderContext, TargetInput, compile_target_input

log = logging.getLogger("eventdeploy.localcloud.events")

IngestCallback = Callable[[str, str, str, dict[str, Any]], None]
WORKERS = 8


@dataclass
class Accepted:
    """An event accepted on a bus, with what delivery needs to know about its journey."""

    account: str
    region: str
    bus_name: str
    event: dict[str, Any]
    ingested_at: float
    # (account, region, bus name) of each bus the event passed through before this one.
    hops: tuple[BusKey, ...] = ()
    rule_names: frozenset[str] | None = None

    @property
    def bus_arn(self) -> str:
        """ARN of the bus the event is on."""
        return f"arn:aws:events:{self.region}:{self.account}:event-bus/{self.bus_name}"


@dataclass
class Delivery:
    """One event on its way to one target of one rule."""

    accepted: Accepted
    rule_arn: str
    rule_name: str
    target: dict[str, Any]
    retry: RetryPolicy
    generation: int
    retries: int = 0
    started: bool = field(default=False)


def iso_millis(epoch: float) -> str:
    """``epoch`` as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Engine:
    """Bounded worker pool that matches accepted events to rules and delivers them to targets."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self.stats = DeliveryStats()
        self.metrics = EventMetrics()
        self.faults = FaultRegistry()
        self.router = RuleRouter()
        self._inputs: dict[int, tuple[dict[str, Any], TargetInput]] = {}
        self._subscribers: list[IngestCallback] = []
        self._generation = 0
        # A plain queue and long-lived threads: an Executor's Future per event costs more than the routing.
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"events-delivery-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()
        self._timer = RetryTimer(self._submit)
        self.metrics.start()
        self.scheduler = Scheduler(self.trigger)

    # ---- hooks -------------------------------------------------------------------------------------------
    def subscribe_ingest(self, callback: IngestCallback) -> None:
        """Call ``callback(account_id, region, bus_name, event)`` for every event accepted on a bus."""
        self._subscribers.append(callback)

    def ingest(self, account_id: str, region: str, bus_name: str, event: dict[str, Any],
               hops: tuple[BusKey, ...] = ()) -> None:
        """Accept ``event`` (a full envelope) onto ``bus_name`` of ``account_id``: notify subscribers, then route."""
        accepted = Accepted(account_id, region, bus_name, event, time.time(), hops)
        self.stats.bus(accepted.bus_arn, "accepted")
        for callback in list(self._subscribers):
            try:
                callback(account_id, region, bus_name, event)
            except Exception:  # a subscriber's bug must not lose the event for everyone else
                log.exception("ingest subscriber %r failed", callback)
        generation = self._generation
        self._submit(lambda: self._route(accepted, generation))

    def deliver(self, account_id: str, region: str, bus_name: str, event: dict[str, Any],
                rule_names: list[str] | None = None) -> None:
        """Match ``event`` against the bus's rules (only ``rule_names`` if given) and deliver it."""
        accepted = Accepted(account_id, region, bus_name, event, time.time(),
                            rule_names=frozenset(rule_names) if rule_names is not None else None)
        generation = self._generation
        self._submit(lambda: self._route(accepted, generation))

    def trigger(self, account_id: str, region: str, rule: Any, event: dict[str, Any]) -> None:
        """Send ``event`` to every target of ``rule`` without matching (scheduled rules fire this way)."""
        accepted = Accepted(account_id, region, rule.event_bus_name, event, time.time())
        generation = self._generation

        def run() -> None:
            if generation != self._generation:
                return
            self.stats.rule(rule.arn, "matched")
            self.metrics.rule_count(account_id, region, rule.event_bus_name, rule.name, "TriggeredRules")
            for target in list(rule.targets):
                try:
                    retry = RetryPolicy.from_target(target)
                except ValueError:
                    retry = RetryPolicy()
                self._attempt(Delivery(accepted, rule.arn, rule.name, target, retry, generation))

        self._submit(run)

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Abandon queued and in-flight work of the old state, drop pending retries, caches and counters."""
        # Tasks carry the generation they were made in; bumping it makes every older task a no-op.
        self._generation += 1
        self._timer.clear()
        self.scheduler.clear()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self.router.clear()
        self._inputs.clear()
        self.metrics.clear()
        self.faults.clear()
        self.stats.clear()

    def shutdown(self) -> None:
        """Stop the workers, the retry timer and the metrics flusher."""
        self._generation += 1
        self.scheduler.stop()
        self._timer.stop()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self.metrics.stop()

    def snapshot(self) -> dict[str, Any]:
        """Counters plus queue depths, for ``/_localcloud/events-stats``."""
        out = self.stats.snapshot()
        out["pending_retries"] = self._timer.pending()
        out["queued"] = self._queue.qsize()
        return out

    # ---- internals ---------------------------------------------------------------------------------------
    def _submit(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                task()
            except Exception:
                log.exception("event delivery task failed")

    def _input(self, target: dict[str, Any]) -> TargetInput:
        # put_targets stores a new dict per target, so identity is a sound key; holding the dict pins its id.
        cached = self._inputs.get(id(target))
        if cached is not None and cached[0] is target:
            return cached[1]
        compiled = compile_target_input(target)
        if len(self._inputs) > CACHE_LIMIT:  # removed targets would otherwise stay pinned forever
            self._inputs.clear()
        self._inputs[id(target)] = (target, compiled)
        return compiled

    def _route(self, accepted: Accepted, generation: int) -> None:
        if generation != self._generation:
            return
        from moto.events.models import events_backends

        backend = events_backends[accepted.account][accepted.region]
        bus = backend.event_buses.get(accepted.bus_name)
        if bus is None:
            return
        any_match = False
        source = accepted.event.get("source")
        for routed in self.router.rules_of(bus):
            rule = routed.rule
            if rule.state == "DISABLED":
                continue
            if accepted.rule_names is not None and rule.name not in accepted.rule_names:
                continue
            if routed.sources is not None and source not in routed.sources:
                continue
            if routed.pattern is None or not routed.pattern.matches(accepted.event):
                continue
            any_match = True
            self.stats.rule(rule.arn, "matched")
            self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, rule.name, "TriggeredRules")
            self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, rule.name,
                                    "MatchedEvents", total=False)
            rule_targets = list(rule.targets)
            if rule_targets:
                self.metrics.count(accepted.account, accepted.region, "InvocationsCreated", len(rule_targets))
            for target in rule_targets:
                try:
                    retry = RetryPolicy.from_target(target)
                except ValueError:
                    retry = RetryPolicy()
                self._attempt(Delivery(accepted, rule.arn, rule.name, target, retry, generation))
        if any_match:
            self.metrics.count(accepted.account, accepted.region, "MatchedEvents")

    def _attempt(self, delivery: Delivery) -> None:
        if delivery.generation != self._generation:
            return
        accepted = delivery.accepted
        target = delivery.target
        if not delivery.started:
            delivery.started = True
            self.metrics.latency(accepted.account, accepted.region, accepted.bus_name, delivery.rule_name,
                                 (time.time() - accepted.ingested_at) * 1000.0)
        self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, delivery.rule_name,
                                "InvocationAttempts")
        try:
            arn = Arn.parse(target["Arn"])
            self.faults.check(arn.text)
            if arn.service == "events":
                self._to_bus(arn, delivery)
            else:
                shaper = self._input(target)
                ctx = RenderContext(delivery.rule_arn, delivery.rule_name,
                                    iso_millis(accepted.ingested_at) if shaper.uses_context else "")
                payload = shaper.render(accepted.event, ctx)
                targets.send(arn, target, payload, accepted.event, rule_arn=delivery.rule_arn)
        except Exception as exc:
            self._failed(delivery, targets.classify(exc))
            return
        self.stats.target(delivery.rule_arn, target["Id"], "delivered")
        self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, delivery.rule_name, "Invocations")

    def _to_bus(self, arn: Arn, delivery: Delivery) -> None:
        """Put the event, unchanged (its account and source kept), on another bus, as AWS's bus targets do."""
        accepted = delivery.accepted
        here = (accepted.account, accepted.region, accepted.bus_name)
        dest = check_bus_target(arn, here, accepted.hops, accepted.event, delivery.target.get("RoleArn"))
        self.ingest(dest.account, dest.region, dest.bus_name, accepted.event, dest.hops)

    def _failed(self, delivery: Delivery, error: DeliveryError) -> None:
        accepted = delivery.accepted
        if isinstance(error, LoopDetected):
            # AWS does not invoke a target that would run the same rule again: DeadLetterInvocations, no retry.
            self.stats.target(delivery.rule_arn, delivery.target["Id"], "dropped")
            self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, delivery.rule_name,
                                    "DeadLetterInvocations")
            log.info("%s", error.message)
            return
        exhausted: str | None = None
        if error.retriable:
            if delivery.retries >= delivery.retry.max_attempts:
                exhausted = "MaximumRetryAttempts"
            else:
                delay = backoff(delivery.retries + 1)
                age = clock.emulated_elapsed(time.time() - accepted.ingested_at)
                if age + delay > delivery.retry.max_age:
                    exhausted = "MaximumEventAgeInSeconds"
                else:
                    delivery.retries += 1
                    self.stats.target(delivery.rule_arn, delivery.target["Id"], "retried")
                    self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name,
                                            delivery.rule_name, "RetryInvocationAttempts")
                    self._timer.schedule(delay, lambda: self._attempt(delivery))
                    return
        rule_name = delivery.rule_name
        self.stats.target(delivery.rule_arn, delivery.target["Id"], "failed")
        self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, rule_name, "Invocations")
        self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, rule_name, "FailedInvocations")
        log.info("delivery of %s to %s failed for good: %s %s", accepted.event.get("id"),
                 delivery.target.get("Arn"), error.code, error.message)
        dlq = (delivery.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            self.stats.target(delivery.rule_arn, delivery.target["Id"], "dropped")
            return
        try:
            send_dead_letter(dlq, accepted.event, dlq_attributes(
                delivery.rule_arn, delivery.target["Arn"], error.code, error.message, exhausted, delivery.retries),
                delivery.rule_arn)
        except Exception as exc:
            log.warning("could not send event %s to DLQ %s: %s", accepted.event.get("id"), dlq, exc)
            self.stats.target(delivery.rule_arn, delivery.target["Id"], "dlq_failed")
            self.stats.target(delivery.rule_arn, delivery.target["Id"], "dropped")
            self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, rule_name,
                                    "InvocationsFailedToBeSentToDlq")
            return
        self.stats.target(delivery.rule_arn, delivery.target["Id"], "dlq")
        self.metrics.rule_count(accepted.account, accepted.region, accepted.bus_name, rule_name, "InvocationsSentToDlq")


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """The process's delivery engine (created on first use)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine()
    return _engine


def subscribe_ingest(callback: IngestCallback) -> None:
    """Call ``callback(account_id, region, bus_name, event_dict)`` for every event accepted on any bus."""
    engine().subscribe_ingest(callback)


def deliver(account_id: str, region: str, bus_name: str, event_dict: dict[str, Any],
            rule_names: list[str] | None = None) -> None:
    """Match ``event_dict`` on the bus and deliver it to the matching rules (only ``rule_names`` if given)."""
    engine().deliver(account_id, region, bus_name, event_dict, rule_names)


def ingest(account_id: str, region: str, bus_name: str, event_dict: dict[str, Any]) -> None:
    """Accept an already-built envelope onto a bus (in-process; no PutEvents validation)."""
    engine().ingest(account_id, region, bus_name, event_dict)
