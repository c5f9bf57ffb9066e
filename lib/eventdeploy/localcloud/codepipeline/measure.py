"""Measure the local cloud's CI/CD latency: StartBuild → build complete, StartPipelineExecution → Succeeded.

Run: ``python -m eventdeploy.localcloud.codepipeline.measure [--builds N] [--pipelines N]``. It starts its own
local cloud on a free port (time scale 0.01) and prints median/p90/max in milliseconds.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import statistics
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from eventdeploy.localcloud import lifecycle

ROLE = "arn:aws:iam::123456789012:role/measure"
ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return (f"{label:<44} n={len(samples):<3} median={statistics.median(samples) * 1000:7.0f} ms  "
            f"p90={p90 * 1000:7.0f} ms  max={ordered[-1] * 1000:7.0f} ms")


def _build_once(cb: Any, project: str) -> float:
    began = time.perf_counter()
    build_id = cb.start_build(projectName=project)["build"]["id"]
    while not cb.batch_get_builds(ids=[build_id])["builds"][0]["buildComplete"]:
        time.sleep(0.01)
    return time.perf_counter() - began


def _pipeline_once(cp: Any, name: str) -> float:
    began = time.perf_counter()
    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    while True:
        status = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
            "pipelineExecution"]["status"]
        if status != "InProgress":
            if status != "Succeeded":
                raise RuntimeError(f"pipeline execution {execution_id} ended {status}")
            return time.perf_counter() - began
        time.sleep(0.01)


def run(builds: int, pipelines: int) -> list[str]:
    """Start a local cloud, measure, stop it; return the report lines."""
    state = Path(tempfile.mkdtemp(prefix="measure-cicd-"))
    status = lifecycle.start(port=_port(), state_dir=state, time_scale=0.01)
    try:
        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=status.endpoint, region_name="us-east-1",
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        cb, cp, s3, iam = client("codebuild"), client("codepipeline"), client("s3"), client("iam")
        project = f"measure-{uuid.uuid4().hex[:6]}"
        cb.create_project(name=project, environment=ENV, serviceRole=ROLE, artifacts={"type": "NO_ARTIFACTS"},
                          source={"type": "NO_SOURCE",
                                  "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"})
        _build_once(cb, project)  # warm-up: first-use imports in the server
        sequential = [_build_once(cb, project) for _ in range(builds)]
        with ThreadPoolExecutor(max_workers=5) as pool:
            began = time.perf_counter()
            concurrent = list(pool.map(lambda _: _build_once(cb, project), range(builds)))
            wall = time.perf_counter() - began

        bucket = f"measure-{uuid.uuid4().hex[:6]}"
        s3.create_bucket(Bucket=bucket)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("app.txt", "v1")
        s3.put_object(Bucket=bucket, Key="src.zip", Body=buf.getvalue())
        trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                                "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName=f"measure-{uuid.uuid4().hex[:6]}",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        pipeline = f"measure-{uuid.uuid4().hex[:6]}"
        cp.create_pipeline(pipeline={"name": pipeline, "roleArn": role, "executionMode": "PARALLEL",
                                     "artifactStore": {"type": "S3", "location": bucket}, "stages": [
            {"name": "Source", "actions": [{"name": "S", "outputArtifacts": [{"name": "Src"}],
                                            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                                                             "version": "1"},
                                            "configuration": {"S3Bucket": bucket, "S3ObjectKey": "src.zip"}}]},
            {"name": "Build", "actions": [{"name": "B", "inputArtifacts": [{"name": "Src"}],
                                           "actionTypeId": {"category": "Build", "owner": "AWS",
                                                            "provider": "CodeBuild", "version": "1"},
                                           "configuration": {"ProjectName": project}}]},
            {"name": "Deploy", "actions": [{"name": "D", "inputArtifacts": [{"name": "Src"}],
                                            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3",
                                                             "version": "1"},
                                            "configuration": {"BucketName": bucket, "Extract": "true",
                                                              "ObjectKey": "out"}}]}]})
        pipelines_s = [_pipeline_once(cp, pipeline) for _ in range(pipelines)]
    finally:
        lifecycle.stop(state)
    return [
        _summary("StartBuild -> complete (echo, sequential)", sequential),
        _summary("StartBuild -> complete (echo, 5 concurrent)", concurrent),
        f"{'5-way concurrent throughput':<44} {builds / wall:.1f} builds/s",
        _summary("Pipeline S3 source -> CodeBuild -> S3 deploy", pipelines_s),
    ]


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print."""
    parser = argparse.ArgumentParser(prog="python -m eventdeploy.localcloud.codepipeline.measure")
    parser.add_argument("--builds", type=int, default=10)
    parser.add_argument("--pipelines", type=int, default=5)
    args = parser.parse_args(argv)
    for line in run(args.builds, args.pipelines):
        print(line)


if __name__ == "__main__":
    main()
