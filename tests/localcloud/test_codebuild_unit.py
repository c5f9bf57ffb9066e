"""Unit tests of the buildspec parser, variable precedence and pipeline variable resolution (pure logic)."""

from __future__ import annotations

import pytest

from eventdeploy.localcloud.codebuild.buildspec import BuildspecError, parse_buildspec
from eventdeploy.localcloud.codebuild.envvars import build_variables
from eventdeploy.localcloud.codepipeline.engine import resolve_configuration
from eventdeploy.localcloud.codepipeline.store import ActionFailed


def test_buildspec_sections() -> None:
    """https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html : env, phases with finally and
    on-failure, artifacts; YAML scalars become text."""
    spec = parse_buildspec(
        "version: 0.2\n"
        "env:\n  shell: bash\n  variables:\n    N: 3\n    FLAG: true\n  exported-variables: [OUT]\n"
        "  parameter-store:\n    P: /p\n"
        "phases:\n  install:\n    on-failure: CONTINUE\n    commands: [echo a]\n"
        "  build:\n    commands:\n      - echo b\n    finally:\n      - echo f\n"
        "artifacts:\n  files: ['**/*']\n  base-directory: out\n  discard-paths: yes\n  name: bundle\n")
    assert spec.shell == "bash" and spec.variables == {"N": "3", "FLAG": "true"}
    assert spec.exported_variables == ["OUT"] and spec.parameter_store == {"P": "/p"}
    assert spec.phases["install"].on_failure == "CONTINUE" and spec.phases["install"].commands == ["echo a"]
    assert spec.phases["build"].finally_commands == ["echo f"] and spec.phases["pre_build"].commands == []
    assert spec.artifacts is not None and spec.artifacts.discard_paths and spec.artifacts.base_directory == "out"
    assert spec.artifacts.name == "bundle" and spec.artifacts.files == ["**/*"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("version: 0.2\nphases: [", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
    ("version: 0.3\nphases: {}\n", "version"),
    ("version: 0.2\nphases:\n  deploy:\n    commands: [x]\n", "unknown phase"),
    ("version: 0.2\nphases:\n  build:\n    on-failure: RETRYING\n", "on-failure"),
    ("version: 0.2\nenv:\n  shell: powershell\n", "shell"),
    ("version: 0.2\nphases:\n  build:\n    commands: {a: b}\n", "list of command strings"),
])
def test_buildspec_errors_name_the_problem(text: str, message: str) -> None:
    """A buildspec CodeBuild would reject (YAML_FILE_ERROR) is refused with a message naming what is wrong."""
    with pytest.raises(BuildspecError, match=message):
        parse_buildspec(text)


def test_variable_precedence() -> None:
    """https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html : StartBuild override
    beats the project, which beats the buildspec."""
    result = build_variables("123456789012", "us-east-1", {"A": "spec", "B": "spec", "C": "spec"}, {}, {},
                             [{"name": "B", "value": "project"}, {"name": "C", "value": "project"}],
                             [{"name": "C", "value": "override", "type": "PLAINTEXT"}])
    assert result == {"A": "spec", "B": "project", "C": "override"}


def test_pipeline_variable_resolution() -> None:
    """https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html : #{namespace.variable}."""
    variables = {"codepipeline": {"PipelineExecutionId": "e-1"}, "Src": {"CommitId": "abc"}}
    assert resolve_configuration({"A": "#{Src.CommitId}-#{codepipeline.PipelineExecutionId}", "B": "plain"},
                                 variables) == {"A": "abc-e-1", "B": "plain"}
    with pytest.raises(ActionFailed, match=r"#\{Src.Missing\}"):
        resolve_configuration({"A": "#{Src.Missing}"}, variables)


def test_start_triggered_records_the_trigger() -> None:
    """https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ExecutionTrigger.html : an execution
    started by an EventBridge rule carries triggerType CloudWatchEvent and the rule ARN (in-process helper)."""
    import json
    import uuid

    from moto.codepipeline.models import codepipeline_backends
    from moto.iam.models import iam_backends

    from eventdeploy.localcloud.codepipeline import patch
    from eventdeploy.localcloud.codepipeline.model import REGISTRY

    patch.install()
    account, region = "210987654321", "eu-west-1"
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}
    role = iam_backends[account]["aws"].create_role(
        f"r-{uuid.uuid4().hex[:6]}", json.dumps(trust), "/", None, "", [], None)
    gate = {"name": "Wait", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual",
                                             "version": "1"}}
    backend = codepipeline_backends[account][region]
    name = f"p-{uuid.uuid4().hex[:6]}"
    backend.create_pipeline({"name": name, "roleArn": role.arn, "artifactStore": {"type": "S3", "location": "b"},
                             "stages": [{"name": "A", "actions": [dict(gate)]}, {"name": "B", "actions": [dict(gate)]}]},
                            None)
    rule = f"arn:aws:events:{region}:{account}:rule/deploy"
    try:
        execution_id = patch.start_triggered(account, region, name, "CloudWatchEvent", rule)
        execution = backend.get_pipeline_execution(name, execution_id).to_dict()
        assert execution["trigger"] == {"triggerType": "CloudWatchEvent", "triggerDetail": rule}
        assert execution["status"] == "InProgress"
    finally:
        REGISTRY.clear()


def test_pipeline_events_are_emitted_in_execution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html :
    pipeline STARTED, then per stage STARTED → its actions STARTED/final → stage final, then the pipeline's final
    state; a failed action fails its stage and the pipeline and later stages never start. (The bus may deliver
    them in another order; this checks the order they are emitted in.)"""
    import uuid
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from eventdeploy.localcloud.codepipeline import engine, events
    from eventdeploy.localcloud.codepipeline.model import ExecutionRun

    emitted: list[tuple[str, ...]] = []

    def capture(run: ExecutionRun, detail_type: str, detail: dict) -> None:
        kind = detail_type.split()[1]
        emitted.append(tuple(x for x in (kind, detail.get("stage"), detail.get("action"), detail["state"]) if x))

    monkeypatch.setattr(events, "_emit", capture)
    recorded = {"category": "Deploy", "owner": "AWS", "provider": "ECS", "version": "1"}
    unknown = {"category": "Build", "owner": "Custom", "provider": "Jenkins", "version": "1"}

    def run_of(stages: list[dict]) -> ExecutionRun:
        execution = SimpleNamespace(pipeline_execution_id=str(uuid.uuid4()), variables=[], status="InProgress",
                                    status_summary=None, last_update_time=None, start_time=datetime.now(UTC))
        return ExecutionRun(account_id="123456789012", region="us-east-1",
                            pipeline={"name": f"p-{uuid.uuid4().hex[:6]}", "version": 1, "stages": stages},
                            pipeline_arn="arn:aws:codepipeline:us-east-1:123456789012:p", execution=execution,
                            trigger={"triggerType": "StartPipelineExecution"})

    ok = run_of([{"name": "One", "actions": [{"name": "A", "actionTypeId": recorded}]},
                 {"name": "Two", "actions": [{"name": "B", "actionTypeId": recorded}]}])
    engine.run_execution(ok)
    assert ok.execution.status == "Succeeded"
    assert emitted == [("Pipeline", "STARTED"),
                       ("Stage", "One", "STARTED"), ("Action", "One", "A", "STARTED"),
                       ("Action", "One", "A", "SUCCEEDED"), ("Stage", "One", "SUCCEEDED"),
                       ("Stage", "Two", "STARTED"), ("Action", "Two", "B", "STARTED"),
                       ("Action", "Two", "B", "SUCCEEDED"), ("Stage", "Two", "SUCCEEDED"),
                       ("Pipeline", "SUCCEEDED")]
    assert "recorded only" in (ok.actions[0].summary or "")

    emitted.clear()
    bad = run_of([{"name": "One", "actions": [{"name": "J", "actionTypeId": unknown}]},
                  {"name": "Two", "actions": [{"name": "B", "actionTypeId": recorded}]}])
    engine.run_execution(bad)
    assert bad.execution.status == "Failed" and "J" in bad.execution.status_summary
    assert emitted == [("Pipeline", "STARTED"), ("Stage", "One", "STARTED"), ("Action", "One", "J", "STARTED"),
                       ("Action", "One", "J", "FAILED"), ("Stage", "One", "FAILED"), ("Pipeline", "FAILED")]
    assert bad.actions[0].error is not None and bad.actions[0].error["code"] == "ConfigurationError"
    assert "Build/Jenkins is not emulated" in bad.actions[0].error["message"]
