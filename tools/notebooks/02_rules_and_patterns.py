"""Cells of notebooks/02_rules_and_patterns.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

CELLS = [
    ("md", r"""
# 02 · Rules and patterns

**What you will build:** a rule on the default bus that forwards AWS service events to the deployments bus; one rule
per event pattern the architecture uses; and a **tap** — an SQS queue every rule also delivers to — to watch them.

**What you will learn:**
- how an **event pattern** selects events (exact values, `prefix`, `wildcard`, nested `detail` fields) and why each
  pattern here is as narrow as it can be: a rule that matches too much wakes handlers for nothing;
- how to prove a pattern with **`TestEventPattern`** before any event flows, against samples in AWS's shapes;
- how an **input transformer** reshapes what a target receives (here: the event wrapped with the name of the rule
  that matched it), and why every target gets a **retry policy** and a **dead-letter queue**;
- that real events, caused by real service actions, reach exactly the rules the table predicted.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  ECR[ECR push] --> D[(default bus)]
  CFN[stack fails] --> D
  D -- forward rule --> B[(deployments bus)]
  X[PutEvents: rollback request] --> B
  B -- rule per pattern --> T[[SQS tap: rule + event]]
  B -. failed deliveries .-> Q[[tap DLQ]]
```
"""),
    ("md", PARAMS_INTRO),
    ("params", PARAMS),
    ("md", SETUP_INTRO),
    ("code", setup("02_rules_and_patterns", "from eventdeploy import charts\nfrom eventdeploy.architecture import bus, rules")),
    ("md", r"""
## Step 1 · The rules

AWS services put their events on the **default** bus. One rule there forwards the sources we care about to the
deployments bus (through a role allowed only `events:PutEvents` on that bus). On the deployments bus, one rule per
pattern; each targets the tap with an input transformer
`{"rule": "<aws.events.rule-name>", "event": <aws.events.event.json>}`, a retry policy and a DLQ.
"""),
    ("code", r"""
deployments = bus.ensure_event_bus(p)
rule_table = rules.ensure_rules(p, deployments["bus_arn"])
rule_table[["pattern", "rule", "purpose"]]
"""),
    ("md", r"""
## Step 2 · Every sample against every pattern

`TestEventPattern` asks EventBridge itself whether an event matches a pattern. The samples come in the shapes AWS
documents (ECR Image Action, CloudFormation Stack Status Change, Config Rules Compliance Change, …), with
deliberate near-misses: a dev tag, a failed push, someone else's stack, a resource becoming compliant again.
Green: matched, grey: not matched, red: EventBridge disagrees with what the catalogue expects.
"""),
    ("code", r"""
matrix = rules.match_matrix(p)
rb.show(charts.pattern_matrix(matrix, "Sample events × event patterns (TestEventPattern)"), "pattern_matrix")
"""),
    ("md", r"""
## Step 3 · Real events from real service actions

Now the same question with real events: push a release-tagged and a dev-tagged image to ECR (through the layer
upload API, as `docker push` does), create a CloudFormation stack whose wait condition is never signalled (it
fails and rolls back), and put a rollback request on the deployments bus.
"""),
    ("code", r"""
fired = rules.trigger_real_events(p)
fired
"""),
    ("md", r"""
## Step 4 · What the tap saw

Each tapped message names the rule that matched. A trigger whose event should match nothing (the dev tag) must not
appear at all.
"""),
    ("code", r"""
seen = rules.observe_tap(p, fired)
seen[["trigger", "expected", "observed", "as_expected"]]
"""),
    ("md", r"""
## Verify

The catalogue and EventBridge agree on every sample, every pattern matched at least one sample, and every real
event reached exactly the rule predicted.
"""),
    ("code", r"""
assert (matrix["matched"] == matrix["expected"]).all(), matrix[matrix["matched"] != matrix["expected"]]
assert set(matrix.loc[matrix["matched"], "pattern"]) == set(rule_table["pattern"])
assert seen["as_expected"].all(), seen
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("rules", rule_table)
rb.record("matrix_agreement", float((matrix["matched"] == matrix["expected"]).mean()))
rb.record("real_events", seen[["trigger", "expected", "observed", "as_expected"]])
rb.record("changes", p.changes)
"""),
]
