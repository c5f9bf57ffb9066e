"""Load generator and injector: test events in AWS's shapes, packed into PutEvents calls, sent at a rate.

Every event carries ``detail.trace-id`` and ``detail.sent-ms`` (client clock, set when its call is sent) so the
pipeline's ledger, taps, DLQs and failure destinations can be traced back to it. Injected events use the source
``eventdeploy.synthetic.<aws source>`` because customers may not put ``aws.*`` events; every rule accepts both.
Size limits: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html and
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html (at most 10 entries a call).
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from eventdeploy import samples
from eventdeploy.patterns import SYNTHETIC_PREFIX

MAX_ENTRIES = 10
MAX_CALL_BYTES = 256 * 1024
# Per-entry codes PutEvents documents as transient (API_PutEventsResultEntry): worth sending again.
RETRIABLE = frozenset({"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"})
SENT_MS_DIGITS = 13  # epoch milliseconds until the year 2286: sizes are computed before the stamp is known
FRAME_COLUMNS = ["trace_id", "variant", "role", "route", "expected", "source", "detail_type", "dedup_key",
                 "bad_reason", "size_bytes", "offset_s", "batch", "sent_ms", "accepted_ms", "attempts", "fate",
                 "event_id", "error_code", "error_message"]


@dataclass(frozen=True)
class Variant:
    """One kind of injected event: how to build it and where the pipeline should take it."""

    name: str
    build: Callable[[str, str, str, str], dict[str, Any]]  # (prefix, account, region, unique) -> event envelope
    pattern: str | None  # the catalogue pattern it must match (None: no rule matches it, it is filtered)
    route: str | None  # the handler that processes it, "tap" when only the tap receives it, None when filtered


def _ecr_push(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    return samples.ecr_image_action(f"{prefix}-app", f"v9.{unique}", account, region)


def _ecr_dev_push(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    return samples.ecr_image_action(f"{prefix}-app", f"dev-{unique}", account, region)


def _stack_failed(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    return samples.stack_status(f"{prefix}-load-{unique}", "ROLLBACK_COMPLETE", "load test", account, region)


def _stack_created(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    return samples.stack_status(f"{prefix}-load-{unique}", "CREATE_COMPLETE", "", account, region)


def _config_noncompliant(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    event = samples.compliance_change(f"{prefix}-load-rule", f"sg-{unique}", "NON_COMPLIANT", "COMPLIANT",
                                      account, region)
    # Not an S3 bucket: the handler quarantines (a ledger row and an event) instead of touching a real bucket.
    event["detail"]["resourceType"] = "AWS::EC2::SecurityGroup"
    event["detail"]["newEvaluationResult"]["evaluationResultIdentifier"]["evaluationResultQualifier"][
        "resourceType"] = "AWS::EC2::SecurityGroup"
    return event


def _pipeline_failed(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    return samples.pipeline_state(f"{prefix}-pipeline-load", "FAILED", account, region)


def _execution_failed(prefix: str, account: str, region: str, unique: str) -> dict[str, Any]:
    return samples.execution_status(f"{prefix}-load", "FAILED", account, region)


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("ecr-release-push", _ecr_push, "ecr-image-pushed", "image-pushed"),
    Variant("ecr-dev-push", _ecr_dev_push, None, None),
    Variant("stack-failed", _stack_failed, "stack-failed", "stack-failed"),
    Variant("stack-created", _stack_created, None, None),
    Variant("config-noncompliant", _config_noncompliant, "config-noncompliant", "compliance-changed"),
    Variant("pipeline-failed", _pipeline_failed, "pipeline-failed", "tap"),
    Variant("execution-failed", _execution_failed, "execution-failed", "tap"),
]}
# Most events exercise the bus, the rules and the tap; about one in ten reaches a Lambda handler (and a push a
# state machine), which is where a local cloud on a laptop saturates first.
DEFAULT_MIX = {"ecr-release-push": 0.06, "ecr-dev-push": 0.2, "stack-failed": 0.02, "stack-created": 0.2,
               "config-noncompliant": 0.02, "pipeline-failed": 0.3, "execution-failed": 0.2}
BAD_REASONS = ("oversize", "missing-detail-type", "unknown-bus")


@dataclass(frozen=True)
class Scenario:
    """What to inject: how many events, how fast, the mix of variants, and the share of special events.

    ``profile`` (optional) is a burst profile: ``[(seconds, events_per_s), ...]`` repeated until every event is
    scheduled; otherwise events are spread evenly at ``rate`` (0: as fast as the injector can send).
    """

    events: int = 2000
    rate: float = 200.0
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    duplicate_ratio: float = 0.02
    poison_ratio: float = 0.01
    bad_ratio: float = 0.01
    profile: tuple[tuple[float, float], ...] = ()
    seed: int = 7

    def __post_init__(self) -> None:
        problems = []
        if self.events < 1:
            problems.append(f"events={self.events}: inject at least 1 event")
        if self.rate < 0:
            problems.append(f"rate={self.rate}: give events per second (0 = as fast as possible)")
        unknown = sorted(set(self.mix) - set(VARIANTS))
        if unknown:
            problems.append(f"mix names unknown variants {unknown}; known: {sorted(VARIANTS)}")
        if not self.mix or sum(self.mix.values()) <= 0 or any(w < 0 for w in self.mix.values()):
            problems.append(f"mix={self.mix}: give non-negative weights, at least one positive")
        for name in ("duplicate_ratio", "poison_ratio", "bad_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.5:
                problems.append(f"{name}={value}: use a fraction between 0 and 0.5")
        if any(seconds <= 0 or rate <= 0 for seconds, rate in self.profile):
            problems.append(f"profile={self.profile}: each phase is (seconds > 0, events_per_s > 0)")
        if problems:
            raise ValueError("scenario: " + "; ".join(problems))

    def offsets(self) -> list[float]:
        """When each event is due, in seconds after the start."""
        if self.profile:
            out: list[float] = []
            start = 0.0
            while len(out) < self.events:
                for seconds, rate in self.profile:
                    count = int(round(seconds * rate))
                    out += [start + i / rate for i in range(count)]
                    start += seconds
            return out[:self.events]
        if self.rate == 0:
            return [0.0] * self.events
        return [i / self.rate for i in range(self.events)]

    @property
    def duration_s(self) -> float:
        """How long sending takes at the requested pace (0 when unpaced)."""
        offsets = self.offsets()
        return offsets[-1] if offsets else 0.0


@dataclass
class Planned:
    """One event to inject: its PutEvents entry (without the send stamp yet) and what should become of it."""

    trace_id: str
    variant: str
    role: str  # normal, duplicate, poison or bad
    route: str | None
    expected: str  # completed, filtered, failed, rejected or deduplicated
    entry: dict[str, Any]
    detail: dict[str, Any]
    dedup_key: str | None = None
    bad_reason: str | None = None
    offset_s: float = 0.0
    _size: int | None = field(default=None, repr=False, compare=False)

    def entry_with_stamp(self, sent_ms: int) -> dict[str, Any]:
        """The PutEvents entry with ``detail.sent-ms`` set to the moment it is sent."""
        return {**self.entry, "Detail": json.dumps({**self.detail, "sent-ms": sent_ms}, separators=(",", ":"))}

    def size(self) -> int:
        """The entry's PutEvents size once stamped (computed once: entry and detail do not change after planning)."""
        if self._size is None:
            self._size = entry_size(self.entry_with_stamp(10 ** (SENT_MS_DIGITS - 1)))
        return self._size


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it: Time 14 bytes, UTF-8 of Source, DetailType, Detail, Resources."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    return size + sum(len(str(r).encode("utf-8")) for r in entry.get("Resources") or [])


def _entry(event: dict[str, Any], bus: str) -> dict[str, Any]:
    return {"Source": SYNTHETIC_PREFIX + event["source"], "DetailType": event["detail-type"],
            "Resources": list(event.get("resources") or []), "EventBusName": bus}


def _expected(variant: Variant) -> str:
    return "completed" if variant.route else "filtered"


def _ecr_key(detail: dict[str, Any]) -> str:
    return f"{detail['repository-name']}@{detail['image-digest']}"


def generate(scenario: Scenario, prefix: str, account: str, region: str, bus: str) -> list[Planned]:
    """The scenario's events in send order, each with a fresh trace id and what should become of it."""
    rng = random.Random(scenario.seed)
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:8]  # distinct per seed: digests never meet a past run's
    names, weights = zip(*[(k, w) for k, w in scenario.mix.items() if w > 0], strict=True)
    planned: list[Planned] = []
    pushes: list[Planned] = []
    for i, offset in enumerate(scenario.offsets()):
        trace = str(uuid.UUID(int=rng.getrandbits(128)))
        roll = rng.random()
        if roll < scenario.bad_ratio:
            planned.append(_bad(BAD_REASONS[i % len(BAD_REASONS)], trace, prefix, account, region, bus, run, i))
        elif roll < scenario.bad_ratio + scenario.poison_ratio:
            planned.append(_poison(trace, prefix, account, region, bus, run, i))
        elif roll < scenario.bad_ratio + scenario.poison_ratio + scenario.duplicate_ratio and pushes:
            planned.append(_duplicate(rng.choice(pushes), trace))
        else:
            variant = VARIANTS[rng.choices(names, weights)[0]]
            event = variant.build(prefix, account, region, f"{run}-{i}")
            detail = {**event["detail"], "trace-id": trace}
            item = Planned(trace, variant.name, "normal", variant.route, _expected(variant), _entry(event, bus),
                           detail)
            if variant.name == "ecr-release-push":
                item.dedup_key = _ecr_key(detail)
                pushes.append(item)
            planned.append(item)
        planned[-1].offset_s = offset
    return planned


def _duplicate(original: Planned, trace: str) -> Planned:
    """The same push again (same repository and digest), as a second delivery or a re-push would look."""
    return Planned(trace, original.variant, "duplicate", original.route, "deduplicated", dict(original.entry),
                   {**original.detail, "trace-id": trace}, dedup_key=original.dedup_key)


def _poison(trace: str, prefix: str, account: str, region: str, bus: str, run: str, i: int) -> Planned:
    """A release push the rule accepts but the handler rejects (malformed digest): retried, then OnFailure."""
    event = _ecr_push(prefix, account, region, f"{run}-{i}")
    detail = {**event["detail"], "image-digest": f"sha256:poison-{run}-{i}", "trace-id": trace}
    return Planned(trace, "ecr-release-push", "poison", "image-pushed", "failed", _entry(event, bus), detail,
                   dedup_key=_ecr_key(detail))


def _bad(reason: str, trace: str, prefix: str, account: str, region: str, bus: str, run: str,
         i: int) -> Planned:
    """An entry PutEvents must refuse: over 256 KB, without a detail-type, or for a bus that does not exist."""
    event = _pipeline_failed(prefix, account, region, f"{run}-{i}")
    detail = {**event["detail"], "trace-id": trace}
    entry = _entry(event, bus)
    if reason == "oversize":
        detail["padding"] = "x" * (MAX_CALL_BYTES + 1024)
    elif reason == "missing-detail-type":
        del entry["DetailType"]
    else:
        entry["EventBusName"] = f"{prefix}-no-such-bus-{run}"
    return Planned(trace, "pipeline-failed", "bad", "tap", "rejected", entry, detail, bad_reason=reason)


def batches(planned: list[Planned]) -> list[list[int]]:
    """Indexes of ``planned`` packed in order into PutEvents calls of at most 10 entries and 256 KB.

    An entry bigger than a whole call goes alone, so EventBridge refuses only it.
    """
    out: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, item in enumerate(planned):
        entry = item.size()
        if current and (len(current) == MAX_ENTRIES or size + entry > MAX_CALL_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(i)
        size += entry
        if entry > MAX_CALL_BYTES:
            out.append(current)
            current, size = [], 0
    if current:
        out.append(current)
    return out


@dataclass
class _Fate:
    sent_ms: int | None = None
    accepted_ms: int | None = None
    attempts: int = 0
    fate: str = "not sent"
    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


def _backoff(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff (AWS Architecture Blog, 'Exponential Backoff And Jitter')."""
    return rng.uniform(0, min(cap_s, base_s * 2 ** attempt))


def send_batch(events: Any, items: list[Planned], fates: list[_Fate], max_attempts: int = 5,
               base_s: float = 0.05, cap_s: float = 2.0, rng: random.Random | None = None) -> None:
    """Put ``items`` in one call; resend entries that failed with a retriable code, with backoff; record fates."""
    rng = rng or random.Random()
    pending = list(range(len(items)))
    for attempt in range(max_attempts):
        now = int(time.time() * 1000)
        for i in pending:
            if fates[i].sent_ms is None:
                fates[i].sent_ms = now
            fates[i].attempts += 1
        entries = [items[i].entry_with_stamp(int(fates[i].sent_ms or now)) for i in pending]
        try:
            answer = events.put_events(Entries=entries)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            message = exc.response.get("Error", {}).get("Message", str(exc))
            retry = [i for i in pending] if code in RETRIABLE else []
            for i in pending:
                fates[i].fate, fates[i].error_code, fates[i].error_message = "rejected", code, message
            pending = retry
        else:
            done_ms = int(time.time() * 1000)
            retry = []
            for i, result in zip(pending, answer.get("Entries", []), strict=True):
                if result.get("EventId"):
                    fates[i].fate, fates[i].event_id, fates[i].accepted_ms = "accepted", result["EventId"], done_ms
                    fates[i].error_code = fates[i].error_message = None
                    continue
                fates[i].fate = "rejected"
                fates[i].error_code, fates[i].error_message = result.get("ErrorCode"), result.get("ErrorMessage")
                if result.get("ErrorCode") in RETRIABLE:
                    retry.append(i)
            pending = retry
        if not pending:
            return
        if attempt + 1 < max_attempts:
            time.sleep(_backoff(attempt, base_s, cap_s, rng))


def inject(events: Any, planned: list[Planned], workers: int = 8, max_attempts: int = 5,
           progress: bool = True, pace: bool = True) -> pd.DataFrame:
    """Send ``planned`` from a thread pool, each call when its last event is due; one row per event, its fate.

    ``events`` is a boto3 EventBridge client (thread-safe). ``pace=False`` sends as fast as the pool can.
    """
    if workers < 1:
        raise ValueError(f"workers={workers}: use at least 1 sending thread")
    packed = batches(planned)
    fates = [_Fate() for _ in planned]
    work: queue.Queue[int | None] = queue.Queue()
    for b in range(len(packed)):
        work.put(b)
    start = time.monotonic()
    bar = _progress(len(planned), progress)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        while True:
            b = work.get()
            if b is None:
                return
            idx = packed[b]
            due = start + max(planned[i].offset_s for i in idx)
            if pace and due > time.monotonic():
                time.sleep(due - time.monotonic())
            batch_fates = [fates[i] for i in idx]
            try:
                send_batch(events, [planned[i] for i in idx], batch_fates, max_attempts, rng=rng)
            except BaseException as exc:  # noqa: BLE001 - surfaced after the pool stops, with the batch
                with lock:
                    errors.append(exc)
                return
            with lock:
                bar.update(len(idx))

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(min(workers, len(packed)))]
    for _ in threads:
        work.put(None)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    if errors:
        raise RuntimeError(f"the injector stopped: {errors[0]!r}") from errors[0]
    batch_of = {i: b for b, idx in enumerate(packed) for i in idx}
    return frame(planned, fates, batch_of)


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="PutEvents", unit="event", disable=not enabled, mininterval=0.5)


def frame(planned: Iterable[Planned], fates: list[_Fate], batch_of: dict[int, int]) -> pd.DataFrame:
    """One row per injected event: what it was, what should become of it, and what PutEvents did with it."""
    rows = []
    for i, (item, fate) in enumerate(zip(planned, fates, strict=True)):
        rows.append({"trace_id": item.trace_id, "variant": item.variant, "role": item.role, "route": item.route,
                     "expected": item.expected, "source": item.entry.get("Source"),
                     "detail_type": item.entry.get("DetailType"), "dedup_key": item.dedup_key,
                     "bad_reason": item.bad_reason, "size_bytes": item.size(), "offset_s": item.offset_s,
                     "batch": batch_of.get(i), "sent_ms": fate.sent_ms, "accepted_ms": fate.accepted_ms,
                     "attempts": fate.attempts, "fate": fate.fate, "event_id": fate.event_id,
                     "error_code": fate.error_code, "error_message": fate.error_message})
    out = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    for col in ("sent_ms", "accepted_ms"):
        out[col] = out[col].astype("Int64")
    return out


def summary(injected: pd.DataFrame) -> dict[str, Any]:
    """How the injection went: counts by fate and role, error codes, and the accepted rate (events/s)."""
    accepted = injected[injected["fate"] == "accepted"]
    span_s = ((accepted["accepted_ms"].max() - injected["sent_ms"].min()) / 1000.0) if len(accepted) else 0.0
    return {"events": int(len(injected)), "accepted": int(len(accepted)),
            "rejected": int((injected["fate"] == "rejected").sum()),
            "by_role": {str(k): int(v) for k, v in injected["role"].value_counts().items()},
            "error_codes": {str(k): int(v) for k, v in injected["error_code"].dropna().value_counts().items()},
            "retried_entries": int((injected["attempts"] > 1).sum()),
            "accepted_per_s": round(float(len(accepted) / span_s), 1) if span_s else 0.0}


def describe(planned: list[Planned]) -> pd.DataFrame:
    """The planned events by variant and role: how many, where they should go, what should become of them."""
    rows = pd.DataFrame([{"variant": p.variant, "role": p.role, "route": p.route or "(no rule)",
                          "expected": p.expected, "bad_reason": p.bad_reason or ""} for p in planned])
    return (rows.groupby(["variant", "role", "route", "expected", "bad_reason"]).size().rename("events")
            .reset_index().sort_values("events", ascending=False, kind="stable").reset_index(drop=True))
