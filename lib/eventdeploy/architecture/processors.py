"""03 · Lambda processors: the tables, the handlers with least-privilege roles, and the rules that invoke them.

Every handler is invoked asynchronously by EventBridge: the rule's target has a retry policy and a DLQ (delivery to
Lambda failed), and the function has its own async config with an OnFailure queue (the handler itself failed).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pandas as pd

from eventdeploy import observe
from eventdeploy.architecture import names
from eventdeploy.provision import Provisioner, dynamodb, ecr, eventbridge, iam, lambdas, sqs


def ensure_tables(p: Provisioner) -> dict[str, str]:
    """The Powertools idempotency table and the deployment ledger."""
    return {
        "idempotency": dynamodb.ensure_table(p, names.IDEMPOTENCY, "id", ttl_attribute="expiration"),
        "ledger": dynamodb.ensure_table(p, names.LEDGER, "deployment_id", "stage"),
    }


def function_arn(p: Provisioner, suffix: str) -> str:
    """The ARN function ``<prefix>-<suffix>`` has (or will have)."""
    return f"arn:aws:lambda:{p.region}:{p.account_id}:function:{p.name(suffix)}"


def state_machine_arn(p: Provisioner) -> str:
    """The ARN of the deployment state machine (04), which image_pushed starts."""
    return f"arn:aws:states:{p.region}:{p.account_id}:stateMachine:{p.name(names.STATE_MACHINE)}"


def _logs(p: Provisioner, function: str) -> dict[str, Any]:
    group = f"arn:aws:logs:{p.region}:{p.account_id}:log-group:/aws/lambda/{p.name(function)}"
    return iam.allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [group, f"{group}:*"])


def role_policies(p: Provisioner, function: str, tables: dict[str, str], bus_arn: str,
                  failures_arn: str) -> dict[str, dict[str, Any]]:
    """Exactly what each function may do: its logs, its failure queue, and its own job."""
    ledger = iam.allow(["dynamodb:PutItem"], [tables["ledger"]])
    failure = iam.allow(["sqs:SendMessage"], [failures_arn])
    own: dict[str, list[dict[str, Any]]] = {
        "image-pushed": [ledger,
                         iam.allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                    "dynamodb:DeleteItem"], [tables["idempotency"]]),
                         iam.allow(["states:StartExecution"], [state_machine_arn(p)])],
        "stack-failed": [ledger, iam.allow(["events:PutEvents"], [bus_arn])],
        "compliance-changed": [ledger, iam.allow(["events:PutEvents"], [bus_arn]),
                               iam.allow(["s3:PutBucketPublicAccessBlock"], ["arn:aws:s3:::*"])],
        "deploy-validate": [],
        "deploy-verify": [iam.allow(["cloudwatch:DescribeAlarms"], [
            f"arn:aws:cloudwatch:{p.region}:{p.account_id}:alarm:{p.name(names.HEALTH_ALARM)}"])],
    }
    return {"logs": iam.policy(_logs(p, function)), "on-failure": iam.policy(failure),
            **({"job": iam.policy(*own[function])} if own[function] else {})}


def _environment(p: Provisioner, function: str, bus_arn: str) -> dict[str, str]:
    env = {"POWERTOOLS_SERVICE_NAME": p.name(function), "POWERTOOLS_LOG_LEVEL": "INFO",
           "LEDGER_TABLE": p.name(names.LEDGER), "EVENT_BUS_NAME": bus_arn}
    if function == "image-pushed":
        env |= {"IDEMPOTENCY_TABLE": p.name(names.IDEMPOTENCY), "STATE_MACHINE_ARN": state_machine_arn(p)}
    if function == "deploy-validate":
        env |= {"ALLOWED_REPOSITORIES": p.name(names.REPOSITORY)}
    if function == "deploy-verify":
        env |= {"HEALTH_ALARM": p.name(names.HEALTH_ALARM)}
    return env


def ensure_functions(p: Provisioner, bus_arn: str) -> pd.DataFrame:
    """Tables, the OnFailure queue, and every handler with its role and async invoke config."""
    tables = ensure_tables(p)
    failures = sqs.ensure_queue(p, names.LAMBDA_FAILURES)
    code = lambdas.package()
    rows = []
    handlers = {k: v[0] for k, v in names.HANDLERS.items()} | names.STEP_FUNCTIONS
    for function, handler in handlers.items():
        role = iam.ensure_role(p, f"{function}-role", "lambda.amazonaws.com",
                               role_policies(p, function, tables, bus_arn, failures), f"Lambda {p.name(function)}")
        arn = lambdas.ensure_function(p, function, handler, role, _environment(p, function, bus_arn),
                                      timeout_s=30, memory_mb=256, zip_bytes=code)
        lambdas.ensure_async_config(p, arn, max_retries=2, max_event_age_s=3600, on_failure_arn=failures)
        rows.append({"function": p.name(function), "handler": handler, "arn": arn, "role": role,
                     "code_sha256": lambdas.code_sha256(code)})
    return pd.DataFrame(rows)


def wire_rules(p: Provisioner) -> pd.DataFrame:
    """Each event handler becomes a target of its rule, with a retry policy and a DLQ of its own."""
    bus = p.name(names.BUS)
    rows = []
    for function, (_, pattern) in names.HANDLERS.items():
        rule_suffix = names.RULES[pattern]
        rule_arn = p.client("events").describe_rule(Name=p.name(rule_suffix), EventBusName=bus)["Arn"]
        dlq = sqs.ensure_queue(p, f"{function}-dlq")
        sqs.allow_senders(p, dlq, "events.amazonaws.com", [rule_arn], "EventBridgeDeadLetters")
        fn_arn = function_arn(p, function)
        lambdas.ensure_invoke_permission(p, fn_arn, f"events-{rule_suffix}", "events.amazonaws.com", rule_arn)
        eventbridge.ensure_targets(p, rule_suffix, [eventbridge.Target(
            id=function, arn=fn_arn, dlq_arn=dlq, max_retries=4, max_event_age_s=3600)], bus)
        rows.append({"rule": p.name(rule_suffix), "function": p.name(function), "dlq": dlq,
                     "retry": "4 attempts / 1 h"})
    return pd.DataFrame(rows)


def ensure_processors(p: Provisioner, bus_arn: str) -> pd.DataFrame:
    """Everything 03 builds, including the deployment state machine image_pushed starts; returns the functions."""
    from eventdeploy.architecture import orchestration

    # The repository whose pushes the image_pushed rule reacts to.
    ecr.ensure_repository(p, names.REPOSITORY)
    functions = ensure_functions(p, bus_arn)
    orchestration.ensure_state_machine(p, bus_arn)
    wire_rules(p)
    return functions


def invoke(p: Provisioner, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke a handler synchronously with ``event``: status, function error, its answer and its log tail."""
    answer = p.client("lambda").invoke(FunctionName=p.name(function), Payload=json.dumps(event).encode(),
                                       LogType="Tail")
    payload = answer["Payload"].read()
    return {"function": p.name(function), "status": answer["StatusCode"],
            "function_error": answer.get("FunctionError"), "response": json.loads(payload or b"null"),
            "log_tail": base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")}


def logs(p: Provisioner, function: str, since_ms: int) -> pd.DataFrame:
    """The handler's CloudWatch Logs since ``since_ms``; JSON lines (Powertools) parsed into columns."""
    frame = observe.log_events(p.client("logs"), f"/aws/lambda/{p.name(function)}", since_ms)
    parsed = []
    for message in frame["message"]:
        try:
            record = json.loads(message)
            parsed.append({k: record.get(k) for k in ("level", "message", "trace_id", "correlation_id",
                                                       "deployment_id", "cold_start")})
        except ValueError:
            parsed.append({"level": None, "message": message})
    return pd.concat([frame[["time_ms"]], pd.DataFrame(parsed)], axis=1)


def duplicate_proof(p: Provisioner, event: dict[str, Any]) -> pd.DataFrame:
    """Invoke image_pushed twice with the same push: one execution, one ledger request, the same answer."""
    first = invoke(p, "image-pushed", event)
    second = invoke(p, "image-pushed", event)
    if first["function_error"] or second["function_error"]:
        raise RuntimeError(f"image_pushed failed: {first['response']} / {second['response']}")
    deployment = first["response"]["deployment_id"]
    ledger_rows = observe.ledger(p.client("dynamodb"), p.name(names.LEDGER), deployment)
    executions = [e for e in p.client("stepfunctions").list_executions(
        stateMachineArn=state_machine_arn(p))["executions"] if e["name"] == deployment]
    return pd.DataFrame([
        {"check": "same answer both times", "value": first["response"] == second["response"]},
        {"check": "executions with this deployment's name", "value": len(executions)},
        {"check": "ledger 'execution_requested' rows", "value": int((ledger_rows["stage"] == "execution_requested")
                                                                   .sum()) if not ledger_rows.empty else 0},
        {"check": "deployment id", "value": deployment},
    ])


def push_through_bus(p: Provisioner, tag: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Push a release image and wait until image_pushed has started its deployment: bus → rule → Lambda → SFN."""
    from eventdeploy import triggers
    from eventdeploy.handlers.naming import execution_name

    pushed_ms = int(time.time() * 1000)
    digest = triggers.push_image(p.client("ecr"), p.name(names.REPOSITORY), tag, f"runbook 03 {tag}")
    deployment = execution_name(p.name(names.REPOSITORY), digest)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = observe.ledger(p.client("dynamodb"), p.name(names.LEDGER), deployment)
        if not rows.empty and {"lambda_started", "execution_requested"} <= set(rows["stage"]):
            started = rows.loc[rows["stage"] == "lambda_started"].iloc[0]
            return {"tag": tag, "digest": digest, "deployment_id": deployment,
                    "push_to_handler_ms": int(started["at_ms"]) - pushed_ms, "stages": list(rows["stage"])}
        time.sleep(0.2)
    raise TimeoutError(f"image_pushed did not record {deployment} within {timeout_s:.0f} s")
