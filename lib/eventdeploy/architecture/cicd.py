"""05 · CI/CD: the CodeBuild project the deployment builds with, and the CodePipeline it deploys through.

The pipeline deploys a CloudFormation stack (``<prefix>-app-stack``) from a template kept in the artifact bucket.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from eventdeploy.architecture import names
from eventdeploy.provision import Provisioner, codebuild, codepipeline, iam, s3

BUILDSPEC = """version: 0.2
phases:
  pre_build:
    commands:
      - echo "Building $IMAGE_REPOSITORY@$IMAGE_DIGEST for deployment $DEPLOYMENT_ID"
      - case "$IMAGE_DIGEST" in sha256:*) ;; *) echo "IMAGE_DIGEST is not an image digest"; exit 1;; esac
  build:
    commands:
      - printf '{"image":"%s@%s","deployment":"%s"}\\n' "$IMAGE_REPOSITORY" "$IMAGE_DIGEST" "$DEPLOYMENT_ID" > imagedefinitions.json
      - cat imagedefinitions.json
"""
SOURCE_KEY = "source/app.zip"


def _logs_arn(p: Provisioner, group: str) -> str:
    return f"arn:aws:logs:{p.region}:{p.account_id}:log-group:{group}:*"


def ensure_build_project(p: Provisioner) -> str:
    """The build project (NO_SOURCE, inline buildspec) with a role that may only write its own logs."""
    project = p.name(names.BUILD)
    role = iam.ensure_role(p, f"{names.BUILD}-role", "codebuild.amazonaws.com", {
        "logs": iam.policy(iam.allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                                     [_logs_arn(p, f"/aws/codebuild/{project}")]))},
        "CodeBuild: the deployment build")
    return codebuild.ensure_project(p, names.BUILD, BUILDSPEC, role, {"APP": p.name(names.REPOSITORY)},
                                    timeout_minutes=10)


def app_template(p: Provisioner) -> dict[str, Any]:
    """The CloudFormation template the pipeline deploys: the app's release marker."""
    return {"AWSTemplateFormatVersion": "2010-09-09", "Description": "eventdeploy app (deployed by CodePipeline)",
            "Resources": {"Release": {"Type": "AWS::SSM::Parameter", "Properties": {
                "Name": f"/{p.prefix}/app/release", "Type": "String", "Value": "deployed-by-eventdeploy"}}}}


def source_zip(p: Provisioner) -> bytes:
    """The pipeline's source artifact: a deterministic zip holding template.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("template.json", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, json.dumps(app_template(p), indent=2, sort_keys=True))
    return buffer.getvalue()


def ensure_source(p: Provisioner, bucket: str) -> str:
    """Upload the source zip unless the same bytes are there already; returns the object key."""
    s3c = p.client("s3")
    body = source_zip(p)
    md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - S3's ETag of a single-part upload is its MD5
    try:
        if s3c.head_object(Bucket=bucket, Key=SOURCE_KEY)["ETag"].strip('"') == md5:
            return SOURCE_KEY
    except s3c.exceptions.ClientError:
        pass
    s3c.put_object(Bucket=bucket, Key=SOURCE_KEY, Body=body)
    p.changed("update", "s3 object", f"{bucket}/{SOURCE_KEY}")
    return SOURCE_KEY


def ensure_pipeline(p: Provisioner) -> dict[str, str]:
    """The artifact bucket, the source, the roles, and the pipeline Source (S3) → Deploy (CloudFormation)."""
    bucket_arn = s3.ensure_bucket(p, names.ARTIFACTS)
    bucket = bucket_arn.split(":::")[1]
    ensure_source(p, bucket)
    stack = p.name(names.APP_STACK)
    stack_arn = f"arn:aws:cloudformation:{p.region}:{p.account_id}:stack/{stack}/*"
    cfn_role = iam.ensure_role(p, "app-deploy-role", "cloudformation.amazonaws.com", {
        "release-parameter": iam.policy(iam.allow(
            ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParameter", "ssm:GetParameters",
             "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
            [f"arn:aws:ssm:{p.region}:{p.account_id}:parameter/{p.prefix}/app/*"]))},
        "CloudFormation: deploys the app stack")
    pipeline_role = iam.ensure_role(p, f"{names.PIPELINE}-role", "codepipeline.amazonaws.com", {
        "artifacts": iam.policy(iam.allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
                                           "s3:GetBucketVersioning"], [bucket_arn, f"{bucket_arn}/*"])),
        "deploy-stack": iam.policy(
            iam.allow(["cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DescribeStacks",
                       "cloudformation:DeleteStack", "cloudformation:DescribeStackEvents"], [stack_arn]),
            iam.allow(["iam:PassRole"], [cfn_role], StringEquals={"iam:PassedToService": "cloudformation.amazonaws.com"})),
    }, "CodePipeline: deploys the app stack")
    stages = [
        {"name": "Source", "actions": [{
            "name": "Template", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                                                 "version": "1"},
            "runOrder": 1, "configuration": {"S3Bucket": bucket, "S3ObjectKey": SOURCE_KEY,
                                             "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "SourceOutput"}]}]},
        {"name": "Deploy", "actions": [{
            "name": "AppStack", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation",
                                                 "version": "1"},
            "runOrder": 1, "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": stack,
                                             "TemplatePath": "SourceOutput::template.json", "RoleArn": cfn_role},
            "inputArtifacts": [{"name": "SourceOutput"}]}]},
    ]
    arn = codepipeline.ensure_pipeline(p, names.PIPELINE, pipeline_role, bucket, stages)
    p.record("cloudformation", "stack", stack, f"arn:aws:cloudformation:{p.region}:{p.account_id}:stack/{stack}",
             deployed_by=p.name(names.PIPELINE))
    return {"pipeline_arn": arn, "bucket": bucket, "stack": stack, "pipeline_role": pipeline_role}
