"""CodeBuild's CloudWatch metrics (namespace AWS/CodeBuild), per account and per project, as AWS publishes them.

https://docs.aws.amazon.com/codebuild/latest/userguide/cloudwatch_metrics-codebuild.html and
https://docs.aws.amazon.com/codebuild/latest/userguide/codebuild-cloudwatch-dimensions.html
"""

from __future__ import annotations

import logging
from typing import Any

from eventdeploy.localcloud import metrics

log = logging.getLogger("eventdeploy.localcloud.codebuild")
NAMESPACE = "AWS/CodeBuild"
PHASE_METRICS = {
    "SUBMITTED": "SubmittedDuration", "QUEUED": "QueuedDuration", "PROVISIONING": "ProvisioningDuration",
    "DOWNLOAD_SOURCE": "DownloadSourceDuration", "INSTALL": "InstallDuration", "PRE_BUILD": "PreBuildDuration",
    "BUILD": "BuildDuration", "POST_BUILD": "PostBuildDuration", "UPLOAD_ARTIFACTS": "UploadArtifactsDuration",
    "FINALIZING": "FinalizingDuration",
}


def _dimension_sets(build: dict[str, Any]) -> list[dict[str, str]]:
    # No dimension = the account; then the project; then the single build.
    project = str(build["projectName"])
    return [{}, {"ProjectName": project},
            {"BuildId": str(build["id"]), "BuildNumber": str(build["buildNumber"]), "ProjectName": project}]


def _publish(account_id: str, region: str, build: dict[str, Any], name: str, value: float, unit: str) -> None:
    for dims in _dimension_sets(build):
        try:
            metrics.publish(account_id, region, NAMESPACE, name, value, unit, dims)
        except Exception:  # metrics must never break a build
            log.exception("could not publish %s/%s", NAMESPACE, name)


def build_started(account_id: str, region: str, build: dict[str, Any]) -> None:
    """``Builds``: one more build triggered."""
    _publish(account_id, region, build, "Builds", 1, "Count")


def build_finished(account_id: str, region: str, build: dict[str, Any]) -> None:
    """``SucceededBuilds``/``FailedBuilds`` (client error or timeout), ``Duration`` and each phase's duration."""
    status = build["buildStatus"]
    _publish(account_id, region, build, "SucceededBuilds", 1 if status == "SUCCEEDED" else 0, "Count")
    _publish(account_id, region, build, "FailedBuilds", 1 if status in ("FAILED", "TIMED_OUT") else 0, "Count")
    _publish(account_id, region, build, "Duration",
             (build["endTime"] - build["startTime"]).total_seconds(), "Seconds")
    for phase in build["phases"]:
        name = PHASE_METRICS.get(phase["phaseType"])
        if name and "endTime" in phase:
            _publish(account_id, region, build, name,
                     (phase["endTime"] - phase["startTime"]).total_seconds(), "Seconds")
