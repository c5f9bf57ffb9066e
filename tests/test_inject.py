"""The load generator and injector: event shapes against the samples, batching limits, partial-failure retry."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventdeploy import inject, samples
from eventdeploy.patterns import SYNTHETIC_PREFIX

ACCOUNT, REGION = "123456789012", "us-east-1"


def _keys(value: Any, path: str = "") -> set[str]:
    """Every key path of a nested dict (list items share their parent's path)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(f"{path}.{k}")
            out |= _keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            out |= _keys(v, path)
    return out


def test_every_variant_has_the_shape_of_its_sample_and_carries_trace_and_stamp() -> None:
    """Generated details have exactly the sample's keys (same detail-type) plus trace-id and sent-ms."""
    by_type = {s.event["detail-type"]: s.event for s in samples.catalogue("evd", ACCOUNT, REGION)}
    scenario = inject.Scenario(events=300, rate=0, mix={k: 1.0 for k in inject.VARIANTS}, duplicate_ratio=0,
                               poison_ratio=0, bad_ratio=0)
    planned = inject.generate(scenario, "evd", ACCOUNT, REGION, "evd-deployments")
    assert {p.variant for p in planned} == set(inject.VARIANTS)
    for item in planned:
        entry = item.entry_with_stamp(1_700_000_000_123)
        detail = json.loads(entry["Detail"])
        sample = by_type[entry["DetailType"]]
        assert entry["Source"] == SYNTHETIC_PREFIX + sample["source"]
        assert entry["EventBusName"] == "evd-deployments"
        assert _keys(detail) == _keys(sample["detail"]) | {".trace-id", ".sent-ms"}, item.variant
        assert detail["trace-id"] == item.trace_id and detail["sent-ms"] == 1_700_000_000_123
    assert len({p.trace_id for p in planned}) == len(planned)


def test_generated_events_match_the_pattern_their_variant_names() -> None:
    """Each variant matches its catalogue pattern (or none, when it is meant to be filtered)."""
    from eventdeploy import patterns
    from eventdeploy.localcloud.events.patterns import compile_pattern

    catalogue = {p.name: compile_pattern(json.dumps(p.pattern))
                 for p in patterns.catalogue("evd", REGION, ACCOUNT)}
    for name, variant in inject.VARIANTS.items():
        event = variant.build("evd", ACCOUNT, REGION, "u1")
        event["source"] = SYNTHETIC_PREFIX + event["source"]
        matched = {k for k, c in catalogue.items() if c.matches(event)}
        assert matched == ({variant.pattern} if variant.pattern else set()), name


def test_scenario_mix_ratios_and_roles() -> None:
    """Duplicates repeat an earlier push's repository+digest; poison has a malformed digest; bad entries are bad."""
    scenario = inject.Scenario(events=2000, rate=100, duplicate_ratio=0.1, poison_ratio=0.05, bad_ratio=0.03)
    planned = inject.generate(scenario, "evd", ACCOUNT, REGION, "evd-deployments")
    roles = {r: sum(p.role == r for p in planned) for r in ("normal", "duplicate", "poison", "bad")}
    assert 140 < roles["duplicate"] < 260 and 60 < roles["poison"] < 140 and 30 < roles["bad"] < 90, roles
    keys = [p.dedup_key for p in planned if p.role == "normal" and p.dedup_key]
    assert len(keys) == len(set(keys)), "normal pushes have distinct digests"
    for i, p in enumerate(planned):
        if p.role == "duplicate":
            assert p.dedup_key in {q.dedup_key for q in planned[:i] if q.role == "normal"}
            assert p.expected == "deduplicated"
        if p.role == "poison":
            assert p.detail["image-digest"].startswith("sha256:poison-")
            assert p.expected == "failed"
    bad = {p.bad_reason: p for p in planned if p.role == "bad"}
    assert set(bad) == set(inject.BAD_REASONS)
    assert bad["oversize"].size() > inject.MAX_CALL_BYTES
    assert "DetailType" not in bad["missing-detail-type"].entry
    assert "no-such-bus" in bad["unknown-bus"].entry["EventBusName"]
    assert planned[-1].offset_s == pytest.approx(1999 / 100)


def test_burst_profile_schedules_phases() -> None:
    """A (seconds, rate) profile repeats: 1 s at 10/s then 1 s at 2/s → 12 events every 2 s."""
    offsets = inject.Scenario(events=14, profile=((1.0, 10.0), (1.0, 2.0))).offsets()
    assert offsets[:10] == pytest.approx([i / 10 for i in range(10)])
    assert offsets[10:12] == pytest.approx([1.0, 1.5]) and offsets[12] == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [{"events": 0}, {"rate": -1}, {"mix": {"nope": 1.0}}, {"poison_ratio": 0.9},
                                 {"profile": ((0.0, 5.0),)}])
def test_bad_scenarios_name_the_value(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        inject.Scenario(**bad)


def test_batches_hold_at_most_10_entries_and_256_kb() -> None:
    """Packing respects both limits, keeps order, and puts an oversize entry alone."""
    scenario = inject.Scenario(events=500, rate=0, duplicate_ratio=0, poison_ratio=0, bad_ratio=0)
    planned = inject.generate(scenario, "evd", ACCOUNT, REGION, "b")
    for i in range(0, 500, 37):  # big but legal entries force the byte limit before the count limit
        planned[i].detail["padding"] = "y" * 60_000
    planned[100].detail["padding"] = "z" * (inject.MAX_CALL_BYTES + 1)
    packed = inject.batches(planned)
    assert [i for b in packed for i in b] == list(range(500))
    for b in packed:
        assert len(b) <= inject.MAX_ENTRIES
        if 100 in b:
            assert b == [100]
        else:
            assert sum(planned[i].size() for i in b) <= inject.MAX_CALL_BYTES
    assert any(len(b) < inject.MAX_ENTRIES and sum(planned[i].size() for i in b) > 200_000 for b in packed)
    assert sum(len(b) == inject.MAX_ENTRIES for b in packed) > 30


class FlakyEvents:
    """A test double of boto3's EventBridge client: entries fail retriably on their first N attempts."""

    def __init__(self, fail_first: dict[str, int], code: str = "ThrottlingException") -> None:
        self.fail_first, self.code = fail_first, code
        self.seen: dict[str, int] = {}
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        assert len(Entries) <= 10
        out = []
        with self.lock:
            self.calls.append(len(Entries))
            for e in Entries:
                trace = json.loads(e["Detail"])["trace-id"] if "Detail" in e else ""
                self.seen[trace] = self.seen.get(trace, 0) + 1
                if "DetailType" not in e:
                    out.append({"ErrorCode": "InvalidArgument", "ErrorMessage": "DetailType is required"})
                elif self.seen[trace] <= self.fail_first.get(trace, 0):
                    out.append({"ErrorCode": self.code, "ErrorMessage": "slow down"})
                else:
                    out.append({"EventId": f"id-{trace}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in out), "Entries": out}


def test_partial_failures_are_retried_until_accepted_or_out_of_attempts() -> None:
    """Retriable entries are sent again (only they), others keep their error; every fate is recorded."""
    scenario = inject.Scenario(events=40, rate=0, duplicate_ratio=0, poison_ratio=0, bad_ratio=0)
    planned = inject.generate(scenario, "evd", ACCOUNT, REGION, "b")
    del planned[5].entry["DetailType"]
    flaky = {planned[1].trace_id: 2, planned[12].trace_id: 1, planned[30].trace_id: 99}
    client = FlakyEvents(flaky)
    out = inject.inject(client, planned, workers=3, max_attempts=4, progress=False)
    row = out.set_index("trace_id")
    assert row.loc[planned[1].trace_id, "attempts"] == 3 and row.loc[planned[1].trace_id, "fate"] == "accepted"
    assert row.loc[planned[12].trace_id, "attempts"] == 2 and row.loc[planned[12].trace_id, "fate"] == "accepted"
    gave_up = row.loc[planned[30].trace_id]
    assert (gave_up["attempts"], gave_up["fate"], gave_up["error_code"]) == (4, "rejected", "ThrottlingException")
    refused = row.loc[planned[5].trace_id]
    assert (refused["attempts"], refused["fate"], refused["error_code"]) == (1, "rejected", "InvalidArgument")
    assert (out["fate"] == "accepted").sum() == 38
    assert out.loc[out["fate"] == "accepted", "event_id"].notna().all()
    assert out["sent_ms"].notna().all() and (out["accepted_ms"].dropna() >= out.loc[out["fate"] == "accepted",
                                                                                     "sent_ms"]).all()
    assert sum(client.calls) == 40 + 2 + 1 + 3  # first sends plus exactly the retries


class RefusingEvents:
    """A test double whose whole call fails (as AWS answers a request over 256 KB)."""

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "too big"}}, "PutEvents")


def test_a_refused_call_rejects_its_entries_without_retry() -> None:
    planned = inject.generate(inject.Scenario(events=3, rate=0, bad_ratio=0, poison_ratio=0, duplicate_ratio=0),
                              "evd", ACCOUNT, REGION, "b")
    out = inject.inject(RefusingEvents(), planned, workers=1, progress=False)
    assert list(out["fate"]) == ["rejected"] * 3 and list(out["attempts"]) == [1] * 3
    assert set(out["error_code"]) == {"ValidationException"}
    assert inject.summary(out)["rejected"] == 3


def test_pacing_spreads_sends_over_the_duration() -> None:
    """At 100 events/s, 50 events take about half a second, not an instant."""
    planned = inject.generate(inject.Scenario(events=50, rate=100, bad_ratio=0, poison_ratio=0, duplicate_ratio=0),
                              "evd", ACCOUNT, REGION, "b")
    out = inject.inject(FlakyEvents({}), planned, workers=4, progress=False)
    span = (out["sent_ms"].max() - out["sent_ms"].min()) / 1000
    assert 0.35 <= span <= 2.0, span


def test_scenario_from_parameters_carries_the_burst_profile() -> None:
    """inject_* parameters become the scenario; a bad profile phase is refused by name."""
    from eventdeploy import loadtest, params

    chosen = loadtest.scenario(params.validate({"inject_events": 30, "inject_profile": [[1, 20], [2, 5]]}, "t"))
    assert chosen.events == 30 and chosen.profile == ((1.0, 20.0), (2.0, 5.0))
    assert chosen.offsets()[20:22] == pytest.approx([1.0, 1.2])
    with pytest.raises(params.ParameterError, match="inject_profile"):
        params.validate({"inject_profile": [[0, 5]]}, "t")
