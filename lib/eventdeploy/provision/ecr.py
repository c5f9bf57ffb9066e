"""ECR: the repository whose image pushes start a deployment."""

from __future__ import annotations

from eventdeploy.provision.context import Provisioner


def ensure_repository(p: Provisioner, suffix: str, immutable_tags: bool = True, scan_on_push: bool = True) -> str:
    """A private repository ``<prefix>-<suffix>``; immutable tags so a tag always names one digest."""
    ecr = p.client("ecr")
    name = p.name(suffix)
    mutability = "IMMUTABLE" if immutable_tags else "MUTABLE"
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        if repo.get("imageTagMutability") != mutability:
            ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability=mutability)
            p.changed("update", "ecr tag mutability", name)
        if repo.get("imageScanningConfiguration", {}).get("scanOnPush") != scan_on_push:
            ecr.put_image_scanning_configuration(repositoryName=name,
                                                 imageScanningConfiguration={"scanOnPush": scan_on_push})
            p.changed("update", "ecr scanning", name)
    except ecr.exceptions.RepositoryNotFoundException:
        repo = ecr.create_repository(repositoryName=name, imageTagMutability=mutability,
                                     imageScanningConfiguration={"scanOnPush": scan_on_push},
                                     tags=p.tag_list())["repository"]
        p.changed("create", "ecr repository", name)
    return p.record("ecr", "repository", name, repo["repositoryArn"], uri=repo.get("repositoryUri", ""))
