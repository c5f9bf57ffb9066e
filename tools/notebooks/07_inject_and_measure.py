"""Cells of notebooks/07_inject_and_measure.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

INJECT_PARAMS = PARAMS.rstrip("\n") + r'''
inject_events: int = 2000                 # how many test events to inject (ci: fewer)
inject_rate: float = 50.0                 # events per second to send (0: as fast as the injector can)
inject_duplicate_ratio: float = 0.02      # share of events that repeat an earlier push (same repository+digest)
inject_poison_ratio: float = 0.01         # share of pushes a handler rejects (malformed digest)
inject_bad_ratio: float = 0.01            # share of entries PutEvents must refuse (oversize, no detail-type, no bus)
inject_wait_s: float = 120.0              # how long to wait for the pipeline to settle after sending (s)
inject_profile: list = []                 # bursts instead of a steady rate: [[seconds, events_per_s], ...]
'''

CELLS = [
    ("md", r"""
# 07 · Inject and measure

**What you will build:** nothing new — this runbook puts a load of test events through the pipeline that `01`–`04`
built, then measures it.

**What you will learn:**
- **how fast** an event travels through the pipeline, and **where the time is spent**: from the client's send to
  PutEvents accepting it, the rule delivering it, the Lambda handler starting, the state machine starting, each
  ledger stage, the end;
- **what fails and why**: entries PutEvents refuses (too big, no `detail-type`, no such bus), events a handler
  rejects (retried by Lambda, then sent to the OnFailure queue), deployments the state machine rolls back,
  deliveries that end in a rule's DLQ;
- **whether every event is accounted for**: each injected event must end in exactly one of completed, failed (and
  where), filtered (no rule matched), rejected by PutEvents, deduplicated (the same push twice), or still in flight
  — an event found in none (lost) or in two is reported by name.

Injected events use the source `eventdeploy.synthetic.<aws source>` (customers may not put `aws.*` events); every
rule and handler accepts both, and synthetic pushes take the state machine's *rehearsal* path
(Validate → ledger → Promote) instead of building and deploying.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  G[generator: trace-id, sent-ms] --> I[injector: ≤10 entries / 256 KB a call, paced, retries] -- PutEvents --> B[(deployments bus)]
  I -. refused entries .-> X[rejected]
  B -- rule per pattern --> T[[tap]]
  B -- ecr / stack / config rules --> L[λ handlers] --> LG[(ledger)]
  L -- image pushed --> S[state machine] --> LG
  B -. delivery failed .-> D[[rule DLQs]]
  L -. retries exhausted .-> F[[OnFailure queue]]
  T & LG & S & D & F --> R{reconcile: one outcome per event}
```
"""),
    ("md", PARAMS_INTRO + r"""
The `inject_*` keys are the scenario: how many events, how fast (a steady `inject_rate`, or bursts from
`inject_profile`, e.g. `[[2, 400], [8, 10]]`: 2 s at 400 events/s then 8 s at 10, repeated), and the share of
duplicates, poison and bad entries. The mix of sources (ECR pushes, stack and Config changes, pipeline and execution failures, and events no
rule matches) is `eventdeploy.inject.DEFAULT_MIX`.
"""),
    ("params", INJECT_PARAMS),
    ("md", SETUP_INTRO),
    ("code", setup("07_inject_and_measure", "from eventdeploy import charts, inject, loadtest, observe\n"
                   "from eventdeploy.architecture import bus, processors, rules")),
    ("md", r"""
## Step 1 · The pipeline is there

The bus, the rules with their tap, the handlers with their DLQs and OnFailure queue, and the state machine — the
same calls `01`–`04` make, so after those runbooks nothing changes here.
"""),
    ("code", r"""
deployments = bus.ensure_event_bus(p)
rule_table = rules.ensure_rules(p, deployments["bus_arn"])
functions = processors.ensure_processors(p, deployments["bus_arn"])
functions[["function", "handler"]]
"""),
    ("md", r"""
## Step 2 · The scenario

Every event gets a fresh `trace-id`; its `sent-ms` is stamped when its PutEvents call leaves. The table says, per
kind of event, where it should go (`route`) and what should become of it (`expected`).
"""),
    ("code", r"""
scenario = loadtest.scenario(rb.params)
planned = loadtest.plan(p, scenario)
inject.describe(planned)
"""),
    ("md", r"""
## Step 3 · Inject

Events are packed in order into PutEvents calls of at most 10 entries and 256 KB (an entry bigger than that goes
alone, and is refused alone), sent from a thread pool, each call when its last event is due. Entries PutEvents
reports as `ThrottlingException` or `InternalFailure` are sent again with exponential backoff and jitter; every
entry's final fate is recorded.
"""),
    ("code", r"""
injected = loadtest.send(p, planned)
inject.summary(injected)
"""),
    ("md", r"""
## Step 4 · Let the pipeline settle

The tap is drained as it fills, and the DLQs, the OnFailure queue and the running executions are sampled, until
every routed event reached the tap, no execution runs, and nothing changed for a few seconds — or `inject_wait_s`
passes (then what is left is reported as in flight).
"""),
    ("code", r"""
watched = loadtest.watch(p, injected, timeout_s=inject_wait_s, time_scale=time_scale)
{"settled": watched.settled, "waited_s": round(watched.waited_s, 1), "tapped": len(watched.tap)}
"""),
    ("md", r"""
## Step 5 · Collect the evidence and reconcile

The ledger (a parallel Scan), the executions, the tap, the rules' DLQs (each message carries `ERROR_CODE`,
`ERROR_MESSAGE`, `RETRY_ATTEMPTS`) and Lambda's OnFailure records (the event, the error, how many attempts),
joined on each event's id: one outcome per event.
"""),
    ("code", r"""
evidence = loadtest.collect(p, watched)
reconciled = loadtest.reconcile(injected, evidence)
counts = observe.reconciliation_counts(reconciled)
counts
"""),
    ("md", r"""
Outcome against expectation, by kind of event: the diagonal is the scenario behaving as designed; anything off it
(e.g. pushes the state machine rolled back) is a finding to read in the failure chart below.
"""),
    ("code", r"""
reconciled.pivot_table(index=["variant", "role"], columns="outcome", values="trace_id", aggfunc="count", fill_value=0)
"""),
    ("md", r"""
## Step 6 · Latency per stage

For each stage, the time since the client sent the event (p50, p90, p99, max, in ms), and the step into it from
the event's previous stage (`step_*`): the large steps are where the time goes.
"""),
    ("code", r"""
times = loadtest.stage_times(injected, evidence)
latency = observe.latency_stats(times)
latency.round(1)
"""),
    ("md", r"""
## Charts

**Latency CDF.** Each curve is a stage: read across at 0.5 (●, p50) and 0.99 (▲, p99) to see how long half and
nearly all events took to get there; a curve far to the right of the one before it is a slow step.
"""),
    ("code", r"""
rb.show(charts.latency_cdf(times, "Time from send to each stage (CDF)"), "latency_cdf")
"""),
    ("md", r"""
**Per-stage histograms.** How long each step took (from the previous stage); a long tail or a second hump means
some events waited — for a busy handler, a retry, a throttled invoke.
"""),
    ("code", r"""
rb.show(charts.latency_histogram(times, "Step time into each stage"), "latency_histogram")
"""),
    ("md", r"""
**Waterfall.** A sample of events, one per row: each coloured segment is one step, so you can follow single events
and see which step dominates for which kind of event.
"""),
    ("code", r"""
rb.show(charts.waterfall(times, "A sample of events through the stages"), "waterfall")
"""),
    ("md", r"""
**Flow per second.** Sent, delivered (to the tap), completed and failed events per second: delivered should track
sent; completed lagging behind it is the pipeline's backlog.
"""),
    ("code", r"""
flow = loadtest.flow(injected, evidence, reconciled, times)
rb.show(charts.flow_per_second(flow, "Sent, delivered, completed and failed per second"), "flow")
"""),
    ("md", r"""
**Failures by category and error code.** Everything that did not complete: where it ended (PutEvents, a DLQ, the
OnFailure queue, the state machine) and the error that put it there.
"""),
    ("code", r"""
rb.show(charts.failures(reconciled, "Events that did not complete, by category and error code"), "failures")
"""),
    ("md", r"""
**Retries per event.** How many PutEvents attempts each entry needed, how often Lambda invoked a handler before
giving up, and how often EventBridge retried a delivery before dead-lettering.
"""),
    ("code", r"""
rb.show(charts.retries(reconciled, "Retries per event"), "retries")
"""),
    ("md", r"""
**DLQ depth over time.** Messages waiting in each failure queue while the pipeline settled, with the number of
running executions: a queue that keeps growing is a failure still happening.
"""),
    ("code", r"""
rb.show(charts.queue_depth(watched.depths, "Failure queues and running executions while settling"), "dlq_depth")
"""),
    ("md", r"""
**CloudWatch metrics.** What CloudWatch saw of the same load, per minute: the rules' matched events, invocations and
failed invocations (`AWS/Events`), the handlers' invocations, errors and throttles (`AWS/Lambda`). Minutes without
data are drawn as 0.
"""),
    ("code", r"""
metric_frame = loadtest.cloudwatch(p, injected)
rb.show(charts.metrics_panel(metric_frame, "CloudWatch during the load"), "cloudwatch")
"""),
    ("md", r"""
## Verify

Every event is accounted for exactly once; the pipeline settled; the entries built to be refused were refused, the
poison pushes failed into the OnFailure queue, events no rule matches were filtered, and every end-to-end latency
was measured.
"""),
    ("code", r"""
assert watched.settled, f"the pipeline did not settle within {inject_wait_s} s"
assert counts["found_in_none"] == 0, reconciled[reconciled["problem"] == "found in none"]
assert counts["found_in_two"] == 0, reconciled[reconciled["problem"] == "found in two"]
assert sum(counts["by_outcome"].values()) == len(injected) == inject_events
assert (reconciled.loc[reconciled["role"] == "bad", "outcome"] == "rejected").all()
assert (reconciled.loc[reconciled["role"] == "poison", "where"] == "on_failure:" + p.name("image-pushed")).all()
assert (reconciled.loc[reconciled["expected"] == "filtered", "outcome"] == "filtered").all()
assert latency.set_index("stage").loc["end_to_end", "count"] == (injected["fate"] == "accepted").sum()
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("scenario", {"events": scenario.events, "rate": scenario.rate, "profile": scenario.profile,
                       "mix": scenario.mix,
                       "duplicate_ratio": scenario.duplicate_ratio, "poison_ratio": scenario.poison_ratio,
                       "bad_ratio": scenario.bad_ratio})
rb.record("injection", inject.summary(injected))
rb.record("throughput", loadtest.rates(flow))
rb.record("latency_ms", latency.set_index("stage")[["count", "p50_ms", "p99_ms"]].round(1).to_dict("index"))
rb.record("reconciliation", counts)
rb.record("settled", {"settled": watched.settled, "waited_s": round(watched.waited_s, 1)})
"""),
]
