"""99 · Teardown: find everything the runbooks created (manifest first, then a tag sweep and a name sweep) and
delete it in dependency order — or, as a dry run, only say what would go.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from eventdeploy.provision import Provisioner
from eventdeploy.provision.context import PREFIX_TAG, PROJECT, PROJECT_TAG, forget, manifest

# Delete order: what others depend on goes last (rules before buses, functions before roles, ...).
ORDER = ["events:rule", "events:archive", "events:event-bus", "states:stateMachine", "codepipeline:pipeline",
         "cloudformation:stack", "codebuild:project", "lambda:function", "cloudwatch:alarm", "sqs:queue",
         "dynamodb:table", "ecr:repository", "s3:bucket", "iam:role", "logs:log-group"]
GONE = {"ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "RepositoryNotFoundException",
        "PipelineNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
        "StateMachineDoesNotExist", "ValidationError", "404", "NotFound", "ResourceNotFound"}


def kind_of(arn: str) -> tuple[str, str, str]:
    """(service:kind, name, extra) of an ARN, e.g. ('events:rule', 'name', 'bus')."""
    parts = arn.split(":", 5)
    service, resource = parts[2], parts[5]
    if service == "sqs":
        return "sqs:queue", resource, ""
    if service == "s3":
        return "s3:bucket", resource, ""
    if service == "codepipeline":
        return "codepipeline:pipeline", resource, ""
    if service == "logs":
        return "logs:log-group", resource.removeprefix("log-group:").removesuffix(":*"), ""
    if service == "states":
        return "states:stateMachine", resource.split(":", 1)[1], ""
    if service in ("lambda", "cloudwatch"):
        kind, name = resource.split(":", 1)
        return f"{service}:{kind}", name.split(":")[0], ""
    kind, _, rest = resource.partition("/")
    if service == "events" and kind == "rule":
        bus, _, name = rest.rpartition("/")
        return "events:rule", name, bus or "default"
    if service == "cloudformation":
        return "cloudformation:stack", rest.split("/")[0], ""
    return f"{service}:{kind}", rest, ""


def _tagged(p: Provisioner) -> list[str]:
    """ARNs the Resource Groups Tagging API finds with our project and prefix tags."""
    tagging = p.client("resourcegroupstaggingapi")
    arns: list[str] = []
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=[
            {"Key": PROJECT_TAG, "Values": [PROJECT]}, {"Key": PREFIX_TAG, "Values": [p.prefix]}]):
        arns += [r["ResourceARN"] for r in page.get("ResourceTagMappingList", [])]
    return arns


def _named(p: Provisioner) -> list[str]:
    """What the tagging API does not cover (IAM roles, log groups, and services it may miss), found by name."""
    start = f"{p.prefix}-"
    found: list[str] = []
    iam = p.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role["RoleName"].startswith(start):
                tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])}
                if tags.get(PROJECT_TAG) == PROJECT:
                    found.append(role["Arn"])
    logs = p.client("logs")
    for group_prefix in (f"/aws/lambda/{start}", f"/aws/codebuild/{start}"):
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group_prefix):
            found += [g["arn"] for g in page.get("logGroups", [])]
    for repo in p.client("ecr").describe_repositories().get("repositories", []):
        if repo["repositoryName"].startswith(start):
            found.append(repo["repositoryArn"])
    cb = p.client("codebuild")
    names = [n for n in cb.list_projects().get("projects", []) if n.startswith(start)]
    found += [proj["arn"] for proj in (cb.batch_get_projects(names=names)["projects"] if names else [])]
    for pipe in p.client("codepipeline").list_pipelines().get("pipelines", []):
        if pipe["name"].startswith(start):
            found.append(f"arn:aws:codepipeline:{p.region}:{p.account_id}:{pipe['name']}")
    return found


def inventory(p: Provisioner) -> pd.DataFrame:
    """Everything of this prefix that exists or was recorded: one row per ARN, with where it was found."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in manifest(p.run_dir):
        rows.setdefault(entry["arn"], {"arn": entry["arn"], "found_by": set()})["found_by"].add("manifest")
    for arn in _tagged(p):
        rows.setdefault(arn, {"arn": arn, "found_by": set()})["found_by"].add("tags")
    for arn in _named(p):
        rows.setdefault(arn, {"arn": arn, "found_by": set()})["found_by"].add("name")
    frame = pd.DataFrame([{**r, "found_by": ", ".join(sorted(r["found_by"]))} for r in rows.values()],
                         columns=["arn", "found_by"])
    kinds = frame["arn"].map(kind_of)
    frame["kind"] = [k[0] for k in kinds]
    frame["name"] = [k[1] for k in kinds]
    frame["extra"] = [k[2] for k in kinds]
    frame["order"] = frame["kind"].map(lambda k: ORDER.index(k) if k in ORDER else len(ORDER))
    return frame.sort_values(["order", "name"], kind="stable").reset_index(drop=True)


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


def _delete_role(iam: Any, name: str) -> None:
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)


def _delete_rule(events: Any, name: str, bus: str) -> None:
    # A rule with targets cannot be deleted: take the targets off first.
    ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name, EventBusName=bus).get("Targets", [])]
    if ids:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=ids)
    events.delete_rule(Name=name, EventBusName=bus)


def _delete_stack(cfn: Any, name: str) -> None:
    cfn.delete_stack(StackName=name)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except ClientError:
            return
        if status == "DELETE_COMPLETE":
            return
        if status == "DELETE_FAILED":
            raise RuntimeError(f"stack {name} could not be deleted (DELETE_FAILED)")
        time.sleep(0.5)


def _deleter(p: Provisioner, kind: str, name: str, extra: str, arn: str) -> Callable[[], None]:
    c = p.client
    deleters: dict[str, Callable[[], Any]] = {
        "events:rule": lambda: _delete_rule(c("events"), name, extra),
        "events:archive": lambda: c("events").delete_archive(ArchiveName=name),
        "events:event-bus": lambda: c("events").delete_event_bus(Name=name),
        "states:stateMachine": lambda: c("stepfunctions").delete_state_machine(stateMachineArn=arn),
        "codepipeline:pipeline": lambda: c("codepipeline").delete_pipeline(name=name),
        "cloudformation:stack": lambda: _delete_stack(c("cloudformation"), name),
        "codebuild:project": lambda: c("codebuild").delete_project(name=name),
        "lambda:function": lambda: c("lambda").delete_function(FunctionName=name),
        "cloudwatch:alarm": lambda: c("cloudwatch").delete_alarms(AlarmNames=[name]),
        "sqs:queue": lambda: c("sqs").delete_queue(QueueUrl=c("sqs").get_queue_url(QueueName=name)["QueueUrl"]),
        "dynamodb:table": lambda: c("dynamodb").delete_table(TableName=name),
        "ecr:repository": lambda: c("ecr").delete_repository(repositoryName=name, force=True),
        "s3:bucket": lambda: (_empty_bucket(c("s3"), name), c("s3").delete_bucket(Bucket=name)),
        "iam:role": lambda: _delete_role(c("iam"), name),
        "logs:log-group": lambda: c("logs").delete_log_group(logGroupName=name),
    }
    if kind not in deleters:
        raise KeyError(f"teardown does not know how to delete a {kind} ({arn}); delete it by hand")
    return deleters[kind]


def teardown(p: Provisioner, confirm: bool) -> pd.DataFrame:
    """Delete everything in the inventory in dependency order (``confirm``), or only list it (dry run)."""
    plan = inventory(p)
    outcomes = []
    deleted: set[str] = set()
    for row in plan.itertuples():
        if not confirm:
            outcomes.append("would delete")
            continue
        try:
            _deleter(p, row.kind, row.name, row.extra, row.arn)()
            outcomes.append("deleted")
            deleted.add(row.arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            gone = code in GONE or "does not exist" in str(exc) or "not found" in str(exc).lower()
            outcomes.append("already gone" if gone else f"failed: {code}: {exc.response['Error'].get('Message')}")
            if gone:
                deleted.add(row.arn)
    plan["outcome"] = outcomes
    if deleted:
        forget(p.run_dir, deleted)
    return plan[["kind", "name", "found_by", "outcome", "arn"]]


def remaining(p: Provisioner) -> pd.DataFrame:
    """What is still there, by tags and by name (the manifest is not asked: it only says what was recorded)."""
    arns = sorted(set(_tagged(p)) | set(_named(p)))
    return pd.DataFrame({"arn": arns, "kind": [kind_of(a)[0] for a in arns]}, columns=["arn", "kind"])
