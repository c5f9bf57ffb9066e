"""Cells of notebooks/00_preflight.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS

CELLS = [
    ("md", r"""
# 00 · Preflight

**What you will build:** nothing yet — this runbook proves that everything the next runbooks need is in place, and
shows you the plan.

**What you will learn:**
- the event-driven deployment architecture the runbooks build, piece by piece;
- which target this run talks to (the embedded local cloud or a real AWS account) and as whom, in every account;
- that each AWS service the runbooks use answers, and how fast;
- what the next notebooks will create, and under which names.

Nothing here creates a resource. If the credentials resolve to an account that is not in `allowed_account_ids`, the
setup cell stops the run before anything else happens.
"""),
    ("md", r"""
## The flow of this runbook

```mermaid
flowchart LR
  P[parameters] --> S[setup: validate, connect, whoami]
  S --> A[architecture picture]
  S --> I[identity in every account]
  S --> C[one call per service]
  S --> L[plan of resources]
  A & I & C & L --> V[verify] --> R[results.json]
```

Every step below is one call into the `eventdeploy` library; the notebook only orchestrates, explains and shows.
"""),
    ("md", r"""
## Parameters

These are the defaults for a run on the local cloud. `eventdeploy run --params parameters/<file>.yaml` (or papermill
`-f`) replaces them; the setup cell validates them all and names any bad key and its fix.
"""),
    ("params", PARAMS + 'confirm_teardown: bool = False            # 99_teardown deletes only when true; shown here in the plan\n'),
    ("md", r"""
## Setup

One call validates the parameters above, connects to the target (starting the local cloud if it is the target and
none runs), checks who we are, and opens the run folder where results and figures go.
"""),
    ("code", r"""
from eventdeploy import diagram, preflight, runbook

rb = runbook.setup("00_preflight", globals())
rb.aws.describe_target() | {"identity": rb.identity.arn, "run_dir": str(rb.run_dir)}
"""),
    ("md", r"""
## Step 1 · The architecture the runbooks build

State changes from AWS services (an image pushed to **ECR**, a **CloudFormation** stack failing, an **AWS Config**
rule finding a violation) arrive as events on an **EventBridge** bus. Rules match them and hand them to **Lambda**
handlers that are stateless and idempotent (a duplicate delivery changes nothing). A handler starts a **Step
Functions** workflow, the durable part: build with **CodeBuild**, deploy with **CodePipeline**, verify against
**CloudWatch** alarms, roll back on failure. Each service reports its own state changes back on the bus, failed
deliveries land in per-target **SQS dead-letter queues**, and an **archive** keeps events for replay.
**AWS Organizations**, SCPs and an org-scoped bus policy keep several accounts in least privilege.
"""),
    ("code", r"""
rb.show(diagram.architecture_figure(), "architecture")
"""),
    ("md", r"""
## Step 2 · Who are we, in every account?

The home account uses the base credentials (a profile on AWS, test credentials on the local cloud); every other
account is reached by assuming a role through STS, exactly as an engineer would across an organization. Each identity
must be the account the parameters name, and in `allowed_account_ids`.
"""),
    ("code", r"""
identities = preflight.identities(rb.aws)
identities
"""),
    ("md", r"""
## Step 3 · Does every service answer?

One cheap read-only call per service the runbooks use. `ok` is true when the service answered, or refused with an
answer that proves it is reachable (for example Organizations not in use in a sandbox account).
"""),
    ("code", r"""
services = preflight.check_services(rb.aws)
services
"""),
    ("md", r"""
## Step 4 · The plan

What the next runbooks will create, named from the prefix, in the home account and region. `99_teardown` removes all
of it (a dry run unless `confirm_teardown` is true).
"""),
    ("code", r"""
plan = preflight.plan(rb.params)
plan
"""),
    ("md", r"""
## Verify

What must now be true before the next runbook: every account resolved to the id the parameters name, every service
answered, the plan is complete, and the architecture picture is in the run folder.
"""),
    ("code", r"""
assert (identities["account_id"] == identities["expected_account_id"]).all(), identities
assert services["ok"].all(), services[~services["ok"]]
assert set(plan["notebook"]) >= {"01_event_bus", "02_rules_and_patterns", "03_lambda_processors",
                                 "04_orchestration", "05_cicd_pipeline", "99_teardown"}
assert (rb.run_dir / "figures" / "00_preflight_architecture.png").is_file()
"""),
    ("md", r"""
## Record the results

Stored in the run folder's `results.json` under `00_preflight.*`, for the run report and for CI.
"""),
    ("code", r"""
rb.record("target", rb.aws.describe_target())
rb.record("identities", identities)
rb.record("services", services)
rb.record("services_ok", int(services["ok"].sum()))
rb.record("plan", plan)
rb.record("confirm_teardown", rb.params.confirm_teardown)
"""),
]
