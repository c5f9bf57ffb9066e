"""Preflight: prove identity and reachability of every service the runbooks use, and list what they will create."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from eventdeploy.aws import AwsAccess
from eventdeploy.params import Parameters

# One cheap, read-only call per service the runbooks use: (service, operation, call).
SERVICE_CHECKS: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity()),
    ("events", "ListEventBuses", lambda c: c.list_event_buses(Limit=10)),
    ("lambda", "ListFunctions", lambda c: c.list_functions(MaxItems=1)),
    ("stepfunctions", "ListStateMachines", lambda c: c.list_state_machines(maxResults=1)),
    ("sqs", "ListQueues", lambda c: c.list_queues(MaxResults=1)),
    ("sns", "ListTopics", lambda c: c.list_topics()),
    ("dynamodb", "ListTables", lambda c: c.list_tables(Limit=1)),
    ("iam", "ListRoles", lambda c: c.list_roles(MaxItems=1)),
    ("ecr", "DescribeRepositories", lambda c: c.describe_repositories(maxResults=1)),
    ("codebuild", "ListProjects", lambda c: c.list_projects()),
    ("codepipeline", "ListPipelines", lambda c: c.list_pipelines()),
    ("cloudformation", "ListStacks", lambda c: c.list_stacks()),
    ("config", "DescribeConfigRules", lambda c: c.describe_config_rules()),
    ("logs", "DescribeLogGroups", lambda c: c.describe_log_groups(limit=1)),
    ("cloudwatch", "ListMetrics", lambda c: c.list_metrics(Namespace="AWS/Events")),
    ("s3", "ListBuckets", lambda c: c.list_buckets()),
    ("organizations", "DescribeOrganization", lambda c: c.describe_organization()),
]

# Answers that prove the service is reachable and we are authenticated, though the call itself was refused.
REACHABLE_ERRORS = {"AWSOrganizationsNotInUseException", "AccessDeniedException", "AccessDenied"}


def identities(access: AwsAccess) -> pd.DataFrame:
    """One row per account of the run: who the credentials resolve to there (refuses accounts not allowed)."""
    rows = []
    for name, spec in access.params.accounts.items():
        who = access.whoami(name)
        rows.append({"account_name": name, "expected_account_id": spec.account_id, "account_id": who.account,
                     "arn": who.arn, "role_assumed": access.role_arn(name) or "(base credentials)",
                     "home": name == access.params.home_account})
    return pd.DataFrame(rows)


def check_services(access: AwsAccess, account: str | None = None) -> pd.DataFrame:
    """Call each service once in ``account``; a row per service with ok, latency (ms) and the answer or error."""
    rows = []
    for service, operation, call in SERVICE_CHECKS:
        began = time.perf_counter()
        try:
            call(access.client(service, account))
            ok, detail = True, "answered"
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            ok = code in REACHABLE_ERRORS
            detail = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"[:200]
        except BotoCoreError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
        rows.append({"service": service, "operation": operation, "ok": ok,
                     "latency_ms": round((time.perf_counter() - began) * 1000, 1), "detail": detail})
    return pd.DataFrame(rows)


def plan(params: Parameters) -> pd.DataFrame:
    """What the next runbooks will create, by notebook, with the names derived from the prefix."""
    p = params.prefix
    account = params.home.account_id
    rows = [
        ("01_event_bus", "events", "event bus", f"{p}-deployments", "custom bus with an org-scoped resource policy"),
        ("01_event_bus", "events", "archive", f"{p}-deployments-archive", "records every event for replay"),
        ("02_rules_and_patterns", "events", "rule", f"{p}-ecr-image-pushed", "ECR image push for chosen repositories"),
        ("02_rules_and_patterns", "events", "rule", f"{p}-stack-failed", "CloudFormation stack failures"),
        ("02_rules_and_patterns", "events", "rule", f"{p}-config-noncompliant", "Config non-compliance"),
        ("02_rules_and_patterns", "sqs", "queue", f"{p}-tap", "observation tap for every rule"),
        ("02_rules_and_patterns", "sqs", "queue", f"{p}-<target>-dlq", "one dead-letter queue per target"),
        ("03_lambda_processors", "dynamodb", "table", f"{p}-idempotency", "Powertools idempotency records"),
        ("03_lambda_processors", "dynamodb", "table", f"{p}-ledger", "deployment ledger (stage timestamps)"),
        ("03_lambda_processors", "iam", "role", f"{p}-<function>-role", "one least-privilege role per function"),
        ("03_lambda_processors", "lambda", "function", f"{p}-image-pushed", "starts the deployment"),
        ("03_lambda_processors", "lambda", "function", f"{p}-stack-failed", "requests a rollback"),
        ("03_lambda_processors", "lambda", "function", f"{p}-compliance-changed", "remediates or quarantines"),
        ("04_orchestration", "stepfunctions", "state machine", f"{p}-deploy", "Validate → Build → Deploy → Verify"),
        ("05_cicd_pipeline", "ecr", "repository", f"{p}-app", "the image whose push starts it all"),
        ("05_cicd_pipeline", "codebuild", "project", f"{p}-build", "runs the buildspec"),
        ("05_cicd_pipeline", "codepipeline", "pipeline", f"{p}-pipeline", "build and deploy stages"),
        ("99_teardown", "(all)", "(all)", f"{p}-*", "deletes everything tagged with this project and run"),
    ]
    frame = pd.DataFrame(rows, columns=["notebook", "service", "resource", "name", "purpose"])
    frame["account_id"] = account
    frame["region"] = params.region
    return frame
