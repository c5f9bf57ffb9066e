"""S3: the artifact bucket CodePipeline needs."""

from __future__ import annotations

from eventdeploy.provision.context import Provisioner


def ensure_bucket(p: Provisioner, suffix: str) -> str:
    """A private, versioned bucket ``<prefix>-<account>-<suffix>`` (bucket names are global, hence the account)."""
    s3 = p.client("s3")
    name = f"{p.prefix}-{p.account_id}-{suffix}"
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
        kwargs = {} if p.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": p.region}}
        s3.create_bucket(Bucket=name, **kwargs)
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": p.tag_list()})
        p.changed("create", "s3 bucket", name)
    return p.record("s3", "bucket", name, f"arn:aws:s3:::{name}")
