"""Runbook 07's steps at the provisioner level: the run's resource names wired to ``inject`` and ``observe``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from eventdeploy import inject, observe
from eventdeploy.architecture import names
from eventdeploy.params import Parameters
from eventdeploy.provision import Provisioner, sqs


def scenario(params: Parameters) -> inject.Scenario:
    """The scenario the run's parameters describe (default mix of every source the pipeline handles)."""
    return inject.Scenario(events=params.inject_events, rate=params.inject_rate,
                           duplicate_ratio=params.inject_duplicate_ratio, poison_ratio=params.inject_poison_ratio,
                           bad_ratio=params.inject_bad_ratio,
                           profile=tuple((float(s), float(r)) for s, r in params.inject_profile))


def plan(p: Provisioner, chosen: inject.Scenario) -> list[inject.Planned]:
    """The scenario's events for this run's deployments bus."""
    return inject.generate(chosen, p.prefix, p.account_id, p.region, p.name(names.BUS))


def send(p: Provisioner, planned: list[inject.Planned], progress: bool = True) -> pd.DataFrame:
    """Inject ``planned`` into the deployments bus; one row per event with its fate."""
    return inject.inject(p.client("events"), planned, progress=progress)


def failure_queues(p: Provisioner) -> dict[str, str]:
    """Name → URL of every queue a failed event can end in: each handler rule's DLQ, the tap's, Lambda OnFailure."""
    wanted = [f"{f}-dlq" for f in names.HANDLERS] + [names.TAP_DLQ, names.LAMBDA_FAILURES]
    return {p.name(s): str(sqs.queue_url(p, p.name(s))) for s in wanted if sqs.queue_url(p, p.name(s))}


def state_machine_arn(p: Provisioner) -> str:
    """The deployment state machine's ARN."""
    return f"arn:aws:states:{p.region}:{p.account_id}:stateMachine:{p.name(names.STATE_MACHINE)}"


# Lambda waits about 1 then 2 minutes between async attempts (Lambda Developer Guide, "Asynchronous invocation"):
# the pipeline is only quiet once a silence outlasts that, at the emulator's time scale.
LAMBDA_RETRY_GAP_S = 130.0


def watch(p: Provisioner, injected: pd.DataFrame, timeout_s: float, time_scale: float = 1.0) -> observe.Watch:
    """Drain the tap and sample the failure queues until every routed event was delivered and the pipeline is
    quiet for longer than Lambda's retry backoff (scaled by ``time_scale``), or ``timeout_s``."""
    routed = injected[(injected["fate"] == "accepted") & injected["route"].notna()]
    quiet_s = max(5.0, LAMBDA_RETRY_GAP_S * time_scale)
    return observe.watch_pipeline(
        p.client("sqs"), str(sqs.queue_url(p, p.name(names.TAP))), failure_queues(p), p.client("stepfunctions"),
        state_machine_arn(p), p.client("dynamodb"), p.name(names.LEDGER), set(routed["event_id"]),
        timeout_s=timeout_s, quiet_s=quiet_s)


@dataclass
class Evidence:
    """Everything the pipeline left about the injected events, as tidy frames."""

    stages: pd.DataFrame
    executions: pd.DataFrame
    tap: pd.DataFrame
    dead_letters: pd.DataFrame
    on_failure: pd.DataFrame


def collect(p: Provisioner, watched: observe.Watch) -> Evidence:
    """Read the ledger, the executions, and drain the DLQs and the OnFailure queue."""
    client = p.client("sqs")
    dead, failed = [], []
    for name, url in failure_queues(p).items():
        drained = observe.receive_all(client, url)
        if name == p.name(names.LAMBDA_FAILURES):
            failed.append(observe.on_failure_records(drained))
        else:
            dead.append(observe.dlq_records(drained, name))
    return Evidence(stages=observe.ledger_stages(observe.scan_table(p.client("dynamodb"), p.name(names.LEDGER))),
                    executions=observe.executions(p.client("stepfunctions"), state_machine_arn(p)),
                    tap=observe.tap_records(watched.tap), dead_letters=pd.concat(dead, ignore_index=True),
                    on_failure=pd.concat(failed, ignore_index=True))


def reconcile(injected: pd.DataFrame, evidence: Evidence) -> pd.DataFrame:
    """One outcome per injected event (``observe.reconcile``)."""
    return observe.reconcile(injected, evidence.stages, evidence.executions, evidence.tap, evidence.dead_letters,
                             evidence.on_failure)


def stage_times(injected: pd.DataFrame, evidence: Evidence) -> pd.DataFrame:
    """Each accepted event's stages with their latencies (``observe.stage_times``)."""
    return observe.stage_times(injected, evidence.stages, evidence.executions, evidence.tap)


def flow(injected: pd.DataFrame, evidence: Evidence, reconciled: pd.DataFrame, times: pd.DataFrame) -> pd.DataFrame:
    """Sent, delivered, completed and failed injected events per second (each counted when it reached that)."""
    ours = set(injected["event_id"].dropna())
    delivered = evidence.tap[evidence.tap["event_id"].isin(ours)].groupby("event_id")["delivered_ms"].min()
    done = times.groupby("trace_id")["at_ms"].max()
    ended = reconciled.set_index("trace_id")
    completed = done.reindex(ended.index[ended["outcome"] == "completed"]).dropna()
    in_state_machine = ended.index[(ended["outcome"] == "failed") & (ended["where"] == "state_machine")]
    queued = pd.concat([evidence.dead_letters, evidence.on_failure], ignore_index=True)
    queued = queued[queued["event_id"].isin(ours)].groupby("event_id")["at_ms"].min()
    failed = pd.concat([done.reindex(in_state_machine).dropna(), queued], ignore_index=True)
    return observe.throughput({"sent": injected["sent_ms"], "delivered": delivered, "completed": completed,
                               "failed": failed})


def rates(flow_frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per series of a flow frame: mean events/s over the seconds it was active, and the peak second."""
    out = {}
    for name, rows in flow_frame.groupby("series", sort=False):
        active = rows[rows["per_s"] > 0]
        out[str(name)] = {"mean_per_s": round(float(active["per_s"].mean()), 1) if len(active) else 0.0,
                          "peak_per_s": float(rows["per_s"].max()), "events": int(rows["per_s"].sum())}
    return out


def metric_queries(p: Provisioner) -> list[dict[str, Any]]:
    """The CloudWatch metrics that show the load: the bus's rules (AWS/Events), the handlers and the state
    machine's task functions (AWS/Lambda)."""
    queries: list[dict[str, Any]] = []
    for suffix in names.RULES.values():
        dims = {"EventBusName": p.name(names.BUS), "RuleName": p.name(suffix)}
        queries += [{"namespace": "AWS/Events", "metric": m, "dimensions": dims, "stat": "Sum"}
                    for m in ("MatchedEvents", "Invocations", "FailedInvocations")]
    for function in [*names.HANDLERS, *names.STEP_FUNCTIONS]:
        dims = {"FunctionName": p.name(function)}
        queries += [{"namespace": "AWS/Lambda", "metric": m, "dimensions": dims, "stat": "Sum"}
                    for m in ("Invocations", "Errors", "Throttles")]
    return queries


def cloudwatch(p: Provisioner, injected: pd.DataFrame, period_s: int = 60) -> pd.DataFrame:
    """The load's CloudWatch metrics from a minute before the first send until now, zero-filled."""
    start = datetime.fromtimestamp(int(injected["sent_ms"].min()) / 1000, UTC) - timedelta(minutes=1)
    return observe.metrics(p.client("cloudwatch"), metric_queries(p), start, datetime.now(UTC), period_s)
