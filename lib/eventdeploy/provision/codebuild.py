"""CodeBuild: the project that builds what the pipeline deploys."""

from __future__ import annotations

from typing import Any

from eventdeploy.provision.context import Provisioner

IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"


def ensure_project(p: Provisioner, suffix: str, buildspec: str, role_arn: str,
                   environment: dict[str, str] | None = None, timeout_minutes: int = 15,
                   source_type: str = "NO_SOURCE") -> str:
    """A project ``<prefix>-<suffix>`` running ``buildspec``; updated when anything desired differs."""
    cb = p.client("codebuild")
    name = p.name(suffix)
    source: dict[str, Any] = {"type": source_type, "buildspec": buildspec}
    artifacts: dict[str, Any] = {"type": "CODEPIPELINE" if source_type == "CODEPIPELINE" else "NO_ARTIFACTS"}
    env: dict[str, Any] = {
        "type": "LINUX_CONTAINER", "image": IMAGE, "computeType": "BUILD_GENERAL1_SMALL",
        "environmentVariables": [{"name": k, "value": v, "type": "PLAINTEXT"}
                                 for k, v in sorted((environment or {}).items())],
    }
    desired = {"source": source, "artifacts": artifacts, "environment": env, "serviceRole": role_arn,
               "timeoutInMinutes": timeout_minutes}
    found = cb.batch_get_projects(names=[name]).get("projects", [])
    if not found:
        project = cb.create_project(name=name, tags=p.tag_list("key", "value"), **desired)["project"]
        p.changed("create", "codebuild project", name)
    else:
        project = found[0]
        current_env = {v["name"]: v["value"] for v in project.get("environment", {}).get("environmentVariables", [])}
        same = (project.get("source", {}).get("buildspec") == buildspec
                and project.get("source", {}).get("type") == source_type
                and project.get("serviceRole") == role_arn
                and int(project.get("timeoutInMinutes", 60)) == timeout_minutes
                and current_env == (environment or {}))
        if not same:
            project = cb.update_project(name=name, **desired)["project"]
            p.changed("update", "codebuild project", name)
    return p.record("codebuild", "project", name, project["arn"])
