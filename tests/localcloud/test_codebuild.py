"""CodeBuild conformance: builds really run their buildspec, phase by phase, with AWS's records, logs and events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/codebuild-service-role"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_build(codebuild: Any, build_id: str, limit: float = 20.0) -> dict[str, Any]:
    """Poll BatchGetBuilds until the build is complete (or fail after ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(0.05)
    raise AssertionError(f"build {build_id} did not complete in {limit}s: {build['currentPhase']}")


def make_project(codebuild: Any, buildspec: str, **extra: Any) -> str:
    """A NO_SOURCE project with an inline buildspec; returns its name."""
    name = unique("cb")
    codebuild.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec},
                             artifacts=extra.pop("artifacts", {"type": "NO_ARTIFACTS"}),
                             environment=extra.pop("environment", ENVIRONMENT), serviceRole=ROLE, **extra)
    return name


def log_lines(logs: Any, build: dict[str, Any]) -> list[str]:
    """Every message of the build's CloudWatch Logs stream."""
    events = logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                 logStreamName=build["logs"]["streamName"], startFromHead=True)["events"]
    return [e["message"] for e in events]


def phase_statuses(build: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(phaseType, phaseStatus) of every phase, in order."""
    return [(p["phaseType"], p.get("phaseStatus")) for p in build["phases"]]


class Tap:
    """An SQS queue fed by a default-bus rule: how tests observe the events a service emits."""

    def __init__(self, aws: Callable[..., Any], pattern: dict[str, Any]) -> None:
        self.sqs, self.events = aws("sqs"), aws("events")
        self.name = unique("tap")
        self.url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=self.name, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=self.name, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], limit: float = 15.0) -> list[dict[str, Any]]:
        """Receive events until ``predicate(all events so far)`` holds; return them all."""
        deadline = time.monotonic() + limit
        while not predicate(self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"tap {self.name}: condition not met; saw "
                                     f"{[(e['detail-type'], e['detail'].get('state') or e['detail'].get('build-status') or e['detail'].get('completed-phase')) for e in self.seen]}")
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen

    def close(self) -> None:
        """Remove the rule and queue."""
        self.events.remove_targets(Rule=self.name, Ids=["tap"])
        self.events.delete_rule(Name=self.name)
        self.sqs.delete_queue(QueueUrl=self.url)


def test_no_source_build_runs_phases_with_env_and_logs(aws: Callable[..., Any]) -> None:
    """A NO_SOURCE project's inline buildspec runs phase by phase with every documented variable source.

    https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
    https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
    https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html
    """
    codebuild, logs, ssm = aws("codebuild"), aws("logs"), aws("ssm")
    param = f"/{unique('cb')}/token"
    ssm.put_parameter(Name=param, Value="from-ssm", Type="String")
    secret = aws("secretsmanager").create_secret(Name=unique("cb-secret"),
                                                 SecretString=json.dumps({"password": "s3cr3t"}))["ARN"]
    spec = (
        "version: 0.2\n"
        "env:\n  variables:\n    SPEC_ONLY: spec\n    SHARED: from-spec\n"
        "phases:\n"
        "  install:\n    commands:\n      - export CARRIED=yes\n      - cd /tmp\n"
        "  build:\n    commands:\n"
        "      - echo \"ids $CODEBUILD_BUILD_ID $CODEBUILD_BUILD_NUMBER $CODEBUILD_INITIATOR\"\n"
        "      - echo \"vars $SPEC_ONLY $SHARED $PROJECT_VAR $OVERRIDE $SECRET_P $CARRIED $(pwd) $AWS_REGION\"\n"
        "      - echo \"src $CODEBUILD_SRC_DIR arn $CODEBUILD_BUILD_ARN succeeding $CODEBUILD_BUILD_SUCCEEDING\"\n"
        "      - echo \"secret $DB_PASSWORD\"\n"
    )
    env = dict(ENVIRONMENT, environmentVariables=[{"name": "SHARED", "value": "from-project"},
                                                  {"name": "PROJECT_VAR", "value": "project"}])
    name = make_project(codebuild, spec, environment=env)
    started = codebuild.start_build(projectName=name, environmentVariablesOverride=[
        {"name": "OVERRIDE", "value": "override", "type": "PLAINTEXT"},
        {"name": "SECRET_P", "value": param, "type": "PARAMETER_STORE"},
        {"name": "DB_PASSWORD", "value": f"{secret}:password", "type": "SECRETS_MANAGER"}])["build"]
    assert started["buildStatus"] == "IN_PROGRESS" and started["buildNumber"] == 1
    build = wait_build(codebuild, started["id"])

    assert build["buildStatus"] == "SUCCEEDED" and build["currentPhase"] == "COMPLETED"
    assert [p for p, _ in phase_statuses(build)] == [
        "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
        "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
    assert all(s == "SUCCEEDED" for p, s in phase_statuses(build) if p != "COMPLETED")
    assert all("endTime" in p and "durationInSeconds" in p for p in build["phases"][:-1])
    assert build["endTime"] >= build["startTime"]
    assert build["logs"]["groupName"] == f"/aws/codebuild/{name}"
    assert build["logs"]["streamName"] == build["id"].split(":", 1)[1]
    assert build["logs"]["deepLink"].startswith("https://console.aws.amazon.com/cloudwatch/")

    lines = log_lines(logs, build)
    assert f"ids {build['id']} 1 root" in lines
    # Precedence: start_build override > project > buildspec; exports and cd carry across commands/phases.
    assert "vars spec from-project project override from-ssm yes /tmp us-east-1" in lines
    assert any(line.startswith("src /") and f"arn {build['arn']} succeeding 1" in line for line in lines)
    assert any("Entering phase BUILD" in line for line in lines)
    assert "secret s3cr3t" in lines

    missing = f"{name}:00000000-0000-0000-0000-000000000000"
    both = codebuild.batch_get_builds(ids=[build["arn"], missing])
    assert [b["id"] for b in both["builds"]] == [build["id"]] and both["buildsNotFound"] == [missing]
    projects = codebuild.batch_get_projects(names=[name, f"{name}-nope"])
    assert [p["name"] for p in projects["projects"]] == [name] and projects["projectsNotFound"] == [f"{name}-nope"]

    # RetryBuild starts the project again with the same StartBuild overrides.
    second = codebuild.retry_build(id=started["id"])["build"]
    assert second["buildNumber"] == 2 and second["id"] != started["id"]
    retried = wait_build(codebuild, second["id"])
    assert "vars spec from-project project override from-ssm yes /tmp us-east-1" in log_lines(logs, retried)
    assert codebuild.list_builds_for_project(projectName=name)["ids"] == [second["id"], started["id"]]


def test_failing_command_fails_build_in_that_phase(aws: Callable[..., Any]) -> None:
    """A non-zero exit fails its phase; after BUILD fails, POST_BUILD (seeing CODEBUILD_BUILD_SUCCEEDING=0),
    finally blocks and UPLOAD_ARTIFACTS still run; a PRE_BUILD failure skips straight to FINALIZING.

    https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html
    https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.phases
    """
    codebuild, logs = aws("codebuild"), aws("logs")
    spec = ("version: 0.2\nphases:\n"
            "  build:\n    commands:\n      - echo before\n      - exit 3\n      - echo never-printed\n"
            "    finally:\n      - echo build-finally\n"
            "  post_build:\n    commands:\n      - echo post succeeding=$CODEBUILD_BUILD_SUCCEEDING\n")
    build = wait_build(codebuild, codebuild.start_build(projectName=make_project(codebuild, spec))["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    statuses = dict(phase_statuses(build))
    assert statuses["BUILD"] == "FAILED" and statuses["POST_BUILD"] == "SUCCEEDED"
    assert statuses["UPLOAD_ARTIFACTS"] == "SUCCEEDED" and statuses["FINALIZING"] == "SUCCEEDED"
    failed = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
    assert failed["contexts"][0]["statusCode"] == "COMMAND_EXECUTION_ERROR"
    assert "exit 3" in failed["contexts"][0]["message"] and "exit status 3" in failed["contexts"][0]["message"]
    lines = log_lines(logs, build)
    assert "before" in lines and "never-printed" not in lines and "build-finally" in lines
    assert "post succeeding=0" in lines

    early = ("version: 0.2\nphases:\n  pre_build:\n    commands:\n      - 'false'\n"
             "  build:\n    commands:\n      - echo built\n")
    build = wait_build(codebuild, codebuild.start_build(projectName=make_project(codebuild, early))["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert [p for p, _ in phase_statuses(build)][-4:] == ["INSTALL", "PRE_BUILD", "FINALIZING", "COMPLETED"]
    assert dict(phase_statuses(build))["PRE_BUILD"] == "FAILED"

    cont = ("version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands:\n      - exit 1\n"
            "  build:\n    commands:\n      - echo still-built\n")
    build = wait_build(codebuild, codebuild.start_build(projectName=make_project(codebuild, cont))["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert dict(phase_statuses(build))["INSTALL"] == "FAILED" and dict(phase_statuses(build))["BUILD"] == "SUCCEEDED"
    assert "still-built" in log_lines(logs, build)


def test_json_buildspec_and_yaml_error(aws: Callable[..., Any]) -> None:
    """A buildspec may be JSON or an S3 object ARN, and run under bash (env.shell); a broken one fails
    DOWNLOAD_SOURCE with YAML_FILE_ERROR.

    https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
    """
    codebuild, logs = aws("codebuild"), aws("logs")
    spec = json.dumps({"version": "0.2", "phases": {"build": {"commands": ["echo json-spec"]}}})
    build = wait_build(codebuild, codebuild.start_build(projectName=make_project(codebuild, spec))["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED" and "json-spec" in log_lines(logs, build)

    bash_spec = ("version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n"
                 "      - 'words=(a b c); [[ ${#words[@]} -eq 3 ]] && echo \"bash arrays ${words[1]}\"'\n")
    build = wait_build(codebuild, codebuild.start_build(projectName=make_project(codebuild, bash_spec))["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED" and "bash arrays b" in log_lines(logs, build)

    s3 = aws("s3")
    bucket = unique("cb-spec")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="specs/buildspec.yml",
                  Body=b"version: 0.2\nphases:\n  build:\n    commands:\n      - echo from-s3-spec\n")
    name = make_project(codebuild, spec)
    from_s3 = codebuild.start_build(projectName=name, buildspecOverride=f"arn:aws:s3:::{bucket}/specs/buildspec.yml")
    build = wait_build(codebuild, from_s3["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED" and "from-s3-spec" in log_lines(logs, build)

    bad = codebuild.start_build(projectName=name, buildspecOverride="version: 0.2\nphases: [oops")["build"]
    build = wait_build(codebuild, bad["id"])
    assert build["buildStatus"] == "FAILED"
    download = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
    assert download["phaseStatus"] == "FAILED" and download["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"


def test_create_project_source_rules(aws: Callable[..., Any]) -> None:
    """NO_SOURCE needs a buildspec but no location; CODEPIPELINE source/artifacts need no location; S3 does.

    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectSource.html
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectArtifacts.html
    """
    codebuild = aws("codebuild")
    with pytest.raises(ClientError) as err:
        codebuild.create_project(name=unique("cb"), source={"type": "NO_SOURCE"}, artifacts={"type": "NO_ARTIFACTS"},
                                 environment=ENVIRONMENT, serviceRole=ROLE)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "buildspec" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        codebuild.create_project(name=unique("cb"), source={"type": "S3"}, artifacts={"type": "NO_ARTIFACTS"},
                                 environment=ENVIRONMENT, serviceRole=ROLE)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    name = unique("cb")
    created = codebuild.create_project(name=name, source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
                                       environment=ENVIRONMENT, serviceRole=ROLE)["project"]
    assert created["source"]["type"] == "CODEPIPELINE" and created["artifacts"]["type"] == "CODEPIPELINE"


def test_s3_source_and_artifacts(aws: Callable[..., Any]) -> None:
    """An S3 source zip's buildspec.yml runs in CODEBUILD_SRC_DIR; artifacts.files land in the S3 artifact bucket.

    https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.artifacts
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectArtifacts.html
    """
    import io
    import zipfile

    codebuild, s3 = aws("codebuild"), aws("s3")
    bucket = unique("cb-bucket")
    s3.create_bucket(Bucket=bucket)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n"
                                          "      - mkdir -p out && cat input.txt > out/result.txt\n"
                                          "artifacts:\n  files:\n    - 'result.txt'\n  base-directory: out\n")
        archive.writestr("input.txt", "hello from source")
    s3.put_object(Bucket=bucket, Key="src/source.zip", Body=buf.getvalue())
    name = unique("cb")
    codebuild.create_project(name=name, source={"type": "S3", "location": f"{bucket}/src/source.zip"},
                             artifacts={"type": "S3", "location": bucket, "path": "out", "name": "bundle",
                                        "packaging": "NONE"},
                             environment=ENVIRONMENT, serviceRole=ROLE)
    build = wait_build(codebuild, codebuild.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED", build["phases"]
    assert build["artifacts"]["location"] == f"arn:aws:s3:::{bucket}/out/bundle"
    body = s3.get_object(Bucket=bucket, Key="out/bundle/result.txt")["Body"].read()
    assert body == b"hello from source"


def test_timeout_and_stop(aws: Callable[..., Any], localcloud: Any) -> None:
    """timeoutInMinutes ends a build TIMED_OUT in the running phase; StopBuild ends one STOPPED.

    A timeout minute is shortened through the emulator's admin route (CodeBuild's minimum timeout is 5 minutes).
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StartBuild.html (timeoutInMinutesOverride)
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StopBuild.html
    """
    codebuild = aws("codebuild")
    admin = f"{localcloud.endpoint}/_localcloud/codebuild"
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n"
    name = make_project(codebuild, spec)
    before = requests.get(admin, timeout=5).json()["minute_seconds"]
    requests.post(admin, json={"minute_seconds": 0.2}, timeout=5).raise_for_status()
    try:
        began = time.monotonic()
        build = wait_build(codebuild, codebuild.start_build(projectName=name, timeoutInMinutesOverride=5)["build"]["id"])
        assert time.monotonic() - began < 10
    finally:
        requests.post(admin, json={"minute_seconds": before}, timeout=5).raise_for_status()
    assert build["buildStatus"] == "TIMED_OUT" and build["timeoutInMinutes"] == 5
    timed = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
    assert timed["phaseStatus"] == "TIMED_OUT" and timed["contexts"][0]["statusCode"] == "BUILD_TIMED_OUT"

    running = codebuild.start_build(projectName=name)["build"]
    deadline = time.monotonic() + 10
    while codebuild.batch_get_builds(ids=[running["id"]])["builds"][0]["currentPhase"] != "BUILD":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stopped = codebuild.stop_build(id=running["id"])["build"]
    assert stopped["buildStatus"] == "STOPPED"
    build = wait_build(codebuild, running["id"])
    assert dict(phase_statuses(build))["BUILD"] == "STOPPED" and build["endTime"] - build["startTime"] < \
        __import__("datetime").timedelta(seconds=10)


def test_build_state_and_phase_events(aws: Callable[..., Any]) -> None:
    """Each status change emits CodeBuild Build State Change, each completed phase a Build Phase Change.

    https://docs.aws.amazon.com/codebuild/latest/userguide/sample-build-notifications.html#sample-build-notifications-ref
    """
    codebuild = aws("codebuild")
    name = make_project(codebuild, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo evented\n")
    tap = Tap(aws, {"source": ["aws.codebuild"], "detail": {"project-name": [name]}})
    try:
        build = wait_build(codebuild, codebuild.start_build(projectName=name)["build"]["id"])

        def states(seen: list[dict[str, Any]]) -> list[str]:
            return [e["detail"]["build-status"] for e in seen if e["detail-type"] == "CodeBuild Build State Change"]

        seen = tap.wait_for(lambda s: len(states(s)) >= 2 and len(
            [e for e in s if e["detail-type"] == "CodeBuild Build Phase Change"]) >= 9)
    finally:
        tap.close()
    # EventBridge delivery is unordered; both state changes arrive exactly once.
    assert sorted(states(seen)) == ["IN_PROGRESS", "SUCCEEDED"]
    final = next(e for e in seen if e["detail"].get("build-status") == "SUCCEEDED")
    assert final["source"] == "aws.codebuild" and final["resources"] == [build["arn"]]
    detail = final["detail"]
    assert detail["build-id"] == build["arn"] and detail["project-name"] == name
    assert detail["current-phase"] == "COMPLETED" and detail["version"] == "1"
    info = detail["additional-information"]
    assert info["build-complete"] is True and info["build-number"] == build["buildNumber"]
    assert info["logs"]["group-name"] == f"/aws/codebuild/{name}"
    assert info["initiator"] == "root" and info["environment"]["compute-type"] == "BUILD_GENERAL1_SMALL"
    completed = [e["detail"]["completed-phase"] for e in seen if e["detail-type"] == "CodeBuild Build Phase Change"]
    assert set(completed) >= {"QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
                              "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING"}
    phase_event = next(e["detail"] for e in seen if e["detail"].get("completed-phase") == "BUILD")
    assert phase_event["completed-phase-status"] == "SUCCEEDED" and phase_event["build-id"] == build["arn"]
    assert isinstance(phase_event["completed-phase-duration-seconds"], int)


def test_update_project_changes_what_the_next_build_runs(aws: Callable[..., Any]) -> None:
    """UpdateProject replaces the given settings; the next build runs the new buildspec and variables.

    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_UpdateProject.html
    """
    codebuild, logs = aws("codebuild"), aws("logs")
    name = make_project(codebuild, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo old\n")
    created = codebuild.batch_get_projects(names=[name])["projects"][0]
    new_spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo new $COLOUR\n"
    updated = codebuild.update_project(
        name=name, source={"type": "NO_SOURCE", "buildspec": new_spec}, timeoutInMinutes=15,
        environment=dict(ENVIRONMENT, environmentVariables=[{"name": "COLOUR", "value": "blue"}]))["project"]
    assert updated["source"]["buildspec"] == new_spec and updated["timeoutInMinutes"] == 15
    assert updated["lastModified"] >= created["lastModified"]
    assert codebuild.batch_get_projects(names=[name])["projects"][0]["timeoutInMinutes"] == 15
    build = wait_build(codebuild, codebuild.start_build(projectName=name)["build"]["id"])
    assert "new blue" in log_lines(logs, build) and build["timeoutInMinutes"] == 15
    with pytest.raises(ClientError) as err:
        codebuild.update_project(name=unique("missing"), timeoutInMinutes=10)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        codebuild.update_project(name=name, source={"type": "NO_SOURCE"})
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_build_calls_act_as_the_service_role_account(aws: Callable[..., Any]) -> None:
    """Inside a build, SDK calls reach the local cloud with the project's service-role credentials, so they act
    as the project's account (here not the default one).

    https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html
    https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
    """
    account = "111111111111"
    codebuild, logs = aws("codebuild", account_id=account), aws("logs", account_id=account)
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - python -c \"import boto3; print('caller', boto3.client('sts').get_caller_identity()['Arn'])\"\n")
    name = unique("cb")
    codebuild.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": spec},
                             artifacts={"type": "NO_ARTIFACTS"}, environment=ENVIRONMENT,
                             serviceRole=f"arn:aws:iam::{account}:role/build-role")
    build = wait_build(codebuild, codebuild.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED"
    assert build["arn"].startswith(f"arn:aws:codebuild:us-east-1:{account}:build/")
    callers = [line for line in log_lines(logs, build) if line.startswith("caller ")]
    assert callers and callers[0].startswith(f"caller arn:aws:sts::{account}:assumed-role/build-role/")


def test_build_metrics_in_cloudwatch(aws: Callable[..., Any]) -> None:
    """Builds publish AWS/CodeBuild metrics per project: Builds, SucceededBuilds, FailedBuilds, Duration and
    phase durations.

    https://docs.aws.amazon.com/codebuild/latest/userguide/cloudwatch_metrics-codebuild.html
    https://docs.aws.amazon.com/codebuild/latest/userguide/codebuild-cloudwatch-dimensions.html
    """
    from datetime import UTC, datetime, timedelta

    codebuild, cloudwatch = aws("codebuild"), aws("cloudwatch")
    good = make_project(codebuild, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n")
    wait_build(codebuild, codebuild.start_build(projectName=good)["build"]["id"])
    wait_build(codebuild, codebuild.start_build(projectName=good, buildspecOverride=(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 1\n"))["build"]["id"])
    now = datetime.now(UTC)

    def total(metric: str, stat: str = "Sum") -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/CodeBuild", MetricName=metric, Dimensions=[{"Name": "ProjectName", "Value": good}],
            StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=3600,
            Statistics=[stat])["Datapoints"]
        return sum(p[stat] for p in points)

    assert total("Builds") == 2 and total("SucceededBuilds") == 1 and total("FailedBuilds") == 1
    assert total("Duration", "SampleCount") == 2 and total("BuildDuration", "SampleCount") == 2
    names = {m["MetricName"] for m in cloudwatch.list_metrics(
        Namespace="AWS/CodeBuild", Dimensions=[{"Name": "ProjectName", "Value": good}])["Metrics"]}
    assert {"QueuedDuration", "ProvisioningDuration", "InstallDuration", "FinalizingDuration"} <= names


def test_concurrent_build_limit_queues_builds(aws: Callable[..., Any]) -> None:
    """With concurrentBuildLimit 1, a second build waits in QUEUED until the first has finished.

    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html (concurrentBuildLimit)
    https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html
    """
    codebuild = aws("codebuild")
    name = make_project(codebuild, "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1\n",
                        concurrentBuildLimit=1)
    assert codebuild.batch_get_projects(names=[name])["projects"][0]["concurrentBuildLimit"] == 1
    first = codebuild.start_build(projectName=name)["build"]["id"]
    second = codebuild.start_build(projectName=name)["build"]["id"]
    deadline = time.monotonic() + 10
    while codebuild.batch_get_builds(ids=[first])["builds"][0]["currentPhase"] != "BUILD":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert codebuild.batch_get_builds(ids=[second])["builds"][0]["currentPhase"] == "QUEUED"
    done_first, done_second = wait_build(codebuild, first), wait_build(codebuild, second)
    assert done_first["buildStatus"] == done_second["buildStatus"] == "SUCCEEDED"
    provisioning = next(p for p in done_second["phases"] if p["phaseType"] == "PROVISIONING")
    assert provisioning["startTime"] >= done_first["endTime"]
