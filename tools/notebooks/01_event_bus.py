"""Cells of notebooks/01_event_bus.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

CELLS = [
    ("md", r"""
# 01 · The event bus

**What you will build:** the `<prefix>-deployments` custom event bus, its resource policy, and an archive of every
event on it.

**What you will learn:**
- the difference between the **default bus** (where AWS services put their events, one per account and region) and
  a **custom bus** (where your own rules and events live, and which other accounts can be allowed to use);
- how a **resource policy** says who may put events on a bus — scoped to your AWS Organization with
  `aws:PrincipalOrgID`, or to named accounts when there is no organization — and why that is least privilege;
- what an **archive** is for: it keeps events so you can **replay** them into rules after a fix, or for a post-mortem.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  W[workload account] -- PutEvents by bus ARN --> B[(deployments bus)]
  S[AWS services] --> D[(default bus)] -. forwarded in 02 .-> B
  B --> A[(archive)]
  B -. rules in 02 .-> T[targets]
```
"""),
    ("md", PARAMS_INTRO),
    ("params", PARAMS),
    ("md", SETUP_INTRO),
    ("code", setup("01_event_bus", "from eventdeploy.architecture import bus")),
    ("md", r"""
## Step 1 · Create the deployments bus and its archive

`ensure_event_bus` creates the bus if it is missing, sets its policy to exactly what it should be, and creates the
archive. Run it twice: the second time it changes nothing (`p.changes` stays empty).
"""),
    ("code", r"""
created = bus.ensure_event_bus(p)
created
"""),
    ("md", r"""
## Step 2 · Default bus and custom bus, side by side

The default bus accepts events from this account only (and from AWS services); the deployments bus also admits
the run's other accounts — or, inside an organization, every member account and nothing outside it.
"""),
    ("code", r"""
buses = bus.describe_buses(p)
buses
"""),
    ("md", r"""
## Step 3 · The archive

The archive records every event the bus accepts, for the retention period. `EventCount` grows as events arrive.
"""),
    ("code", r"""
archive = bus.describe_archive(p)
archive
"""),
    ("md", r"""
## Step 4 · Another account puts an event on the bus

Each other account of the run puts an event on the deployments bus, naming the bus by its ARN. The bus policy is
what lets it in; an account the policy does not name would get `AccessDeniedException` for its entry.
"""),
    ("code", r"""
cross_account = bus.put_from_other_accounts(p, created["bus_arn"])
cross_account
"""),
    ("md", r"""
## Verify

The custom bus exists with a policy statement, the archive is enabled on it, and every other account of the run was
admitted.
"""),
    ("code", r"""
assert created["bus_arn"].endswith(f":event-bus/{rb.name('deployments')}")
assert (buses.loc[buses["kind"] == "custom", "statements"] >= 1).all()
assert archive["State"] == "ENABLED" and archive["EventSourceArn"] == created["bus_arn"]
assert cross_account["accepted"].all(), cross_account
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("bus", created)
rb.record("buses", buses)
rb.record("archive", archive)
rb.record("cross_account", cross_account)
rb.record("changes", p.changes)
"""),
]
