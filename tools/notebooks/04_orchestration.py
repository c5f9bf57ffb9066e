"""Cells of notebooks/04_orchestration.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

CELLS = [
    ("md", r"""
# 04 · Orchestration

**What you will build:** the deployment state machine (Step Functions, Standard): Validate → Build → Deploy → Bake →
Verify → Promote, or Rollback → Notify → Fail.

**What you will learn:**
- why the durable, multi-step part lives in **Step Functions** and not in a Lambda: each step is retried, caught,
  timed and recorded in an execution history you can read months later;
- **Retry** with backoff and jitter for transient errors (`Lambda.ServiceException`, throttling), and **Catch**
  `States.ALL` with `ResultPath: $.error`, which keeps the original input next to the error so Rollback knows what
  to roll back;
- **service integrations** without glue code: `codebuild:startBuild.sync` waits for the build, `aws-sdk:codepipeline`
  starts and polls the pipeline, `dynamodb:putItem` writes the ledger, `events:putEvents` notifies;
- how to read an execution as a **timeline** of its states.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  V[Validate λ] --> LV[(ledger)] --> R{rehearsal?}
  R -- no --> B[Build: CodeBuild .sync] --> LB[(ledger)] --> D[Deploy: CodePipeline] --> W[Wait] --> P[Poll] --> C{done?}
  C -- InProgress --> W
  C -- Succeeded --> LD[(ledger)] --> K[Bake: Wait] --> VF[Verify λ: health alarm] --> PR[Promote] --> OK((Succeed))
  R -- yes --> PR
  V & B & D & P & VF -. Catch States.ALL, ResultPath $.error .-> RB[Rollback] --> N[Notify: PutEvents] --> F((Fail))
```
"""),
    ("md", PARAMS_INTRO),
    ("params", PARAMS),
    ("md", SETUP_INTRO),
    ("code", setup("04_orchestration", "from eventdeploy import charts\nfrom eventdeploy.architecture import bus, orchestration, processors")),
    ("md", r"""
## Step 1 · The state machine

`03` already ensured it (the image handler starts it); ensuring again changes nothing. Its role may invoke exactly
the two task functions, write the ledger, run the one build project, start and read the one pipeline, and put events
on the deployments bus.
"""),
    ("code", r"""
deployments = bus.ensure_event_bus(p)
processors.ensure_processors(p, deployments["bus_arn"])
machine_arn = orchestration.ensure_state_machine(p, deployments["bus_arn"])
orchestration.states_table(p)
"""),
    ("md", r"""
## Step 2 · A good deployment

A well-formed request: Validate passes, CodeBuild runs the buildspec, CodePipeline deploys the app stack with
CloudFormation, the bake time passes, the health alarm is not in ALARM, and the deployment is promoted.
"""),
    ("code", r"""
good = orchestration.run(p, orchestration.sample_input(p, "good", good=True))
good_states = orchestration.timeline(p, good["execution_arn"])
rb.show(charts.execution_timeline(good_states, f"Good deployment · {good['status']} in {good['seconds']:.1f} s"),
        "good_execution")
"""),
    ("md", r"""
## Step 3 · A failing deployment

A request with a malformed image digest. Validate raises `InvalidDeployment` (not retried: it is not transient), the
Catch keeps the input under `$.error`, Rollback records it in the ledger, Notify puts a `Deployment Rolled Back`
event on the bus, and the execution fails with `DeploymentFailed`.
"""),
    ("code", r"""
bad = orchestration.run(p, orchestration.sample_input(p, "bad", good=False))
bad_states = orchestration.timeline(p, bad["execution_arn"])
rb.show(charts.execution_timeline(bad_states, f"Failing deployment · {bad['status']} ({bad['error']})"),
        "failing_execution")
"""),
    ("md", r"""
## Step 4 · What the ledger says

Each state wrote its stage and its entry time to the ledger, so a deployment's story can be read without the
execution history.
"""),
    ("code", r"""
good_ledger = orchestration.ledger_for(p, good["output"]["deployment_id"])
bad_ledger = orchestration.ledger_for(p, bad["execution_arn"].rsplit(":", 1)[-1])
good_ledger[["deployment_id", "stage", "at"]]
"""),
    ("md", r"""
## Verify
"""),
    ("code", r"""
assert good["status"] == "SUCCEEDED", good
assert good["output"]["build"]["status"] == "SUCCEEDED"
assert good["output"]["pipeline_status"]["status"] == "Succeeded"
assert list(good_ledger["stage"]) == ["validated", "built", "deployed", "promoted"]
assert bad["status"] == "FAILED" and bad["error"] == "DeploymentFailed"
assert list(bad_states["state"]) == ["Validate", "Rollback", "Notify", "DeploymentFailed"]
assert list(bad_ledger["stage"]) == ["rolled_back"] and bad_ledger["error"].iloc[0] == "InvalidDeployment"
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("state_machine", machine_arn)
rb.record("good", {k: good[k] for k in ("status", "seconds")} | {"states": good_states[["state", "seconds"]]})
rb.record("failing", {k: bad[k] for k in ("status", "error", "seconds")})
rb.record("changes", p.changes)
"""),
]
