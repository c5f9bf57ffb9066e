"""Cells of notebooks/05_cicd_pipeline.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

CELLS = [
    ("md", r"""
# 05 · CI/CD pipeline and the whole chain

**What you will build:** the CodeBuild project and the CodePipeline the deployment workflow drives, and a tap for
the status events of the whole chain. Then you start a deployment the way production does — by pushing an image.

**What you will learn:**
- what **CodeBuild** does here (runs a buildspec phase by phase; fails the build, and so the workflow, on a non-zero
  exit) and what **CodePipeline** does (takes a source artifact and deploys a **CloudFormation** stack from it);
- that every service in the chain reports its own progress as events on the bus — ECR, Step Functions, CodeBuild,
  CodePipeline — so the chain can be watched without polling anything;
- where the time goes between a push and a promoted deployment, drawn as one timeline.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  U[docker push] --> ECR --> D[(default bus)] --> B[(deployments bus)]
  B -- ecr-image-pushed --> L[image_pushed λ] --> SFN[[deploy state machine]]
  SFN --> CB[CodeBuild build] & CP[CodePipeline: S3 source → CloudFormation deploy]
  ECR & SFN & CB & CP -. status events .-> B -- chain tap --> T[[SQS chain tap]]
```
"""),
    ("md", PARAMS_INTRO),
    ("params", PARAMS),
    ("md", SETUP_INTRO),
    ("code", setup("05_cicd_pipeline", "import time\n\nfrom eventdeploy import charts\nfrom eventdeploy.architecture import bus, chain, cicd, processors")),
    ("md", r"""
## Step 1 · The build project

No source of its own: the workflow passes the image to build as environment variables (`IMAGE_REPOSITORY`,
`IMAGE_DIGEST`, `DEPLOYMENT_ID`). Its role may only write its own logs. On the local cloud the buildspec's commands
run on the host's shell in a scratch folder.
"""),
    ("code", r"""
deployments = bus.ensure_event_bus(p)
processors.ensure_processors(p, deployments["bus_arn"])
cicd.ensure_build_project(p)
build_project = chain.describe_build_project(p)
print(build_project["buildspec"])
{k: v for k, v in build_project.items() if k != "buildspec"}
"""),
    ("md", r"""
## Step 2 · The pipeline

Source: the app's CloudFormation template in the versioned artifact bucket. Deploy: CloudFormation creates or
updates the `<prefix>-app-stack` stack with a role that may touch only the app's own resources.
"""),
    ("code", r"""
pipeline = cicd.ensure_pipeline(p)
chain.describe_pipeline(p)
"""),
    ("md", r"""
## Step 3 · A tap on the whole chain

One more rule on the deployments bus, for every status event of the chain, delivering to its own SQS queue.
"""),
    ("code", r"""
chain_tap = chain.ensure_chain_tap(p)
chain_tap
"""),
    ("md", r"""
## Step 4 · Push an image and follow it

The push is the only thing we do. Everything after it is the architecture reacting to events.
"""),
    ("code", r"""
run = chain.run_chain(p, f"v5.0.{int(time.time())}")
{k: v for k, v in run.items() if k != "timeline"}
"""),
    ("md", r"""
## Step 5 · One timeline of the chain

Each row is a moment of the deployment: the push (client clock), status events as the tap received them, the
ledger entries the handler and the workflow wrote, and the execution history. The gap before each row is the time
that link of the chain took; the bake time is emulated (scaled by `time_scale` on the local cloud).
"""),
    ("code", r"""
rb.show(charts.stage_timeline(run["timeline"], f"From image push to {run['status']} · {run['deployment_id']}"),
        "chain_timeline")
"""),
    ("code", r"""
run["timeline"][["stage", "from", "since_push_ms"]]
"""),
    ("md", r"""
## Verify

The deployment succeeded; the build and the pipeline each reported their start and success on the bus, and the
timeline is in causal order: push, ECR's event, the handler, the workflow's states, its end.
"""),
    ("code", r"""
stages = list(run["timeline"]["stage"])
assert run["status"] == "SUCCEEDED", run
assert {"ECR PUSH event", "CodeBuild IN_PROGRESS event", "CodeBuild SUCCEEDED event",
        "CodePipeline STARTED event", "CodePipeline SUCCEEDED event", "Step Functions SUCCEEDED event"} <= set(stages)
assert stages.index("image pushed (client)") < stages.index("ledger: lambda_started") < stages.index("state: Build")
assert stages.index("state: Build") < stages.index("CodeBuild SUCCEEDED event") < stages.index("state: Deploy")
assert stages.index("ledger: promoted") < stages.index("Step Functions SUCCEEDED event")
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("pipeline", pipeline)
rb.record("chain", {k: v for k, v in run.items() if k != "timeline"})
rb.record("chain_timeline", run["timeline"][["stage", "from", "since_push_ms"]])
rb.record("push_to_promoted_ms", float(run["timeline"].set_index("stage").loc["ledger: promoted", "since_push_ms"]))
rb.record("changes", p.changes)
"""),
]
