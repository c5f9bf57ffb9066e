"""Cells of notebooks/03_lambda_processors.ipynb (built by tools/nbbuild.py)."""

from _common import PARAMS, PARAMS_INTRO, SETUP_INTRO, setup

CELLS = [
    ("md", r"""
# 03 · Lambda processors

**What you will build:** the three event handlers (`image_pushed`, `stack_failed`, `compliance_changed`) and the two
task functions of the deployment workflow, each with a least-privilege role; the DynamoDB ledger and idempotency
tables; and the wiring that makes each rule invoke its handler.

**What you will learn:**
- why handlers are **stateless and idempotent**: EventBridge delivers *at least once*, so the same event can arrive
  twice; `image_pushed` uses Powertools for AWS Lambda's idempotency utility (DynamoDB persistence, keyed on
  repository + digest) and a deterministic execution name, so a duplicate starts nothing new;
- the two failure paths of an asynchronous invocation: the **rule target's retry policy and DLQ** (EventBridge could
  not deliver) and the **function's async config with an OnFailure destination** (the handler itself failed after
  Lambda's own retries);
- what **least privilege** looks like per function: its own log group, its own failure queue, and exactly its job;
- how to read a handler's structured JSON logs, with the trace id carried from the event.
"""),
    ("md", r"""
## The flow

```mermaid
flowchart LR
  B[(deployments bus)] -- rule: ecr-image-pushed --> L1[image_pushed]
  B -- rule: stack-failed --> L2[stack_failed]
  B -- rule: config-noncompliant --> L3[compliance_changed]
  L1 --> I[(idempotency)] & G[(ledger)] & S[[deploy state machine]]
  L2 --> G & E[rollback request on the bus]
  L3 --> G & R[remediate / quarantine]
  B -. delivery failed .-> DLQ[[target DLQs]]
  L1 & L2 & L3 -. handler failed .-> F[[lambda-failures]]
```
"""),
    ("md", PARAMS_INTRO),
    ("params", PARAMS),
    ("md", SETUP_INTRO),
    ("code", setup("03_lambda_processors", "import time\n\nfrom eventdeploy import samples\nfrom eventdeploy.architecture import bus, processors")),
    ("md", r"""
## Step 1 · Deploy the processors

One call brings everything to its desired state: the tables, one role per function, the functions (packaged from
`lib/eventdeploy/handlers/` into one deterministic zip, so the code is updated only when it changed), their async
configs, and the rule targets with their DLQs. `image_pushed` starts the deployment state machine, so that machine
and what it orchestrates are ensured here too; `04_orchestration` looks at it in depth.
"""),
    ("code", r"""
deployments = bus.ensure_event_bus(p)
functions = processors.ensure_processors(p, deployments["bus_arn"])
functions[["function", "handler", "role"]]
"""),
    ("md", r"""
## Step 2 · The wiring: rule → handler, with its own DLQ

Each handler's rule now has two targets: the tap from `02` and the handler. The handler's target retries delivery up
to 4 times within an hour and then sends the event to its own dead-letter queue.
"""),
    ("code", r"""
wiring = processors.wire_rules(p)
wiring
"""),
    ("md", r"""
## Step 3 · Invoke a handler directly

A synchronous invoke with a sample event (in AWS's shape): the answer, and the tail of its log — START, the
handler's structured JSON lines, END, and REPORT with duration and, on a cold start, the init duration.
"""),
    ("code", r"""
started_ms = int(time.time() * 1000)
stack_event = samples.stack_status(rb.name("web"), "ROLLBACK_COMPLETE", "Resource creation cancelled",
                                   p.account_id, p.region)
direct = processors.invoke(p, "stack-failed", stack_event)
print(direct["log_tail"])
direct["response"]
"""),
    ("md", r"""
## Step 4 · Through the bus, from a real image push

Push a release image to ECR. ECR emits `ECR Image Action` on the default bus, the forwarding rule brings it to the
deployments bus, the `ecr-image-pushed` rule invokes `image_pushed` asynchronously, and the handler records the push
in the ledger and starts a deployment.
"""),
    ("code", r"""
through_bus = processors.push_through_bus(p, f"v3.0.{int(time.time())}")
through_bus
"""),
    ("md", r"""
## Step 5 · The handlers' logs

Powertools writes one JSON object per line, so the logs are queryable: level, message, the correlation id (the
EventBridge event id) and the trace id carried from the event.
"""),
    ("code", r"""
handler_logs = processors.logs(p, "image-pushed", started_ms)
handler_logs.tail(8)
"""),
    ("md", r"""
## Step 6 · A duplicate event has no second effect

Invoke `image_pushed` twice with the *same* push. The second call returns the first call's answer from the
idempotency table; there is still exactly one execution with that deployment's name and one ledger request.
"""),
    ("code", r"""
push_event = samples.ecr_image_action(rb.name("app"), f"v3.1.{int(time.time())}", p.account_id, p.region)
duplicates = processors.duplicate_proof(p, push_event)
duplicates
"""),
    ("md", r"""
## Verify
"""),
    ("code", r"""
checks = dict(zip(duplicates["check"], duplicates["value"], strict=True))
assert len(functions) == 5 and functions["arn"].str.contains(":function:").all()
assert direct["status"] == 200 and direct["function_error"] is None and "REPORT RequestId" in direct["log_tail"]
assert direct["response"]["rollback_requested"] == rb.name("web")
assert through_bus["stages"][:2] == ["lambda_started", "execution_requested"]
assert checks["same answer both times"] is True
assert checks["executions with this deployment's name"] == 1
assert checks["ledger 'execution_requested' rows"] == 1
assert not handler_logs.empty
"""),
    ("md", r"""
## Record the results
"""),
    ("code", r"""
rb.record("functions", functions[["function", "handler", "code_sha256"]])
rb.record("wiring", wiring)
rb.record("push_to_handler_ms", through_bus["push_to_handler_ms"])
rb.record("duplicate_proof", duplicates.astype(str))
rb.record("changes", p.changes)
"""),
]
