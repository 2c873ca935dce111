"""ImageCache: an ECR pull-through cache of every upstream registry the stack's images come from.

Creates (`airflow:index:ImageCache`):
- an ECR pull-through cache rule per upstream (`lib/images.py`): Docker Hub (`docker-hub/`,
  with the credential secret you give: Docker Hub refuses anonymous caching), Quay (`quay/`),
  registry.k8s.io (`k8s/`) and ECR Public (`ecr-public/`);
- a repository creation template per prefix (`PULL_THROUGH_CACHE`): the repositories ECR creates
  on a first pull, outside Pulumi's state, get a lifecycle policy that expires a cached image 30
  days after it was cached (`lib.images.cache_lifecycle_policy`), so the ones a destroy leaves
  empty themselves and cost nothing (docs/operations.md, Tearing down);
- an inline policy on the nodes' role that lets a node's first pull import an image and create
  its repository under those prefixes only (ecr:BatchImportUpstreamImage, ecr:CreateRepository:
  "IAM permissions required to sync an upstream registry", ECR user guide); later pulls need
  only the pull-only policy the nodes already have.

`mirrors` maps each upstream registry to its prefix in the account's registry; the Airflow
values, git-sync and the add-on charts take their images from there. Hundreds of task pods
starting on new nodes then pull from ECR in the region instead of Docker Hub through the NAT
gateways, whose anonymous pull limit counts per address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.parts.outputs import register_public_outputs
from lib.images import (
    CREDENTIAL_ARN,
    PULL_THROUGH_CACHE,
    cache_lifecycle_policy,
    ecr_registry_host,
    pull_through_cache_mirrors,
)
from lib.naming import child_name


@dataclass(frozen=True)
class ImageCacheArgs:
    region: str
    """Region of the registry (the stack's)."""
    credential_arn: str
    """Secrets Manager secret (`ecr-pullthroughcache/...`) holding Docker Hub's username and access token."""
    node_role_name: pulumi.Input[str]
    """Role of the nodes, which pull the images."""

    def __post_init__(self) -> None:
        if not CREDENTIAL_ARN.match(self.credential_arn):
            raise ValueError(
                f"ImageCacheArgs.credential_arn '{self.credential_arn}' is not the ARN of a Secrets Manager secret "
                "named ecr-pullthroughcache/..."
            )


class ImageCache(pulumi.ComponentResource):
    registry: pulumi.Output[str]
    """Host of the account's ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`)."""
    mirrors: pulumi.Output[dict[str, str]]
    """Upstream registry -> its mirror prefix in the registry."""

    def __init__(self, name: str, args: ImageCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:ImageCache", name, None, opts)
        rules = [
            aws.ecr.PullThroughCacheRule(
                child_name(name, up.prefix),
                ecr_repository_prefix=up.prefix,
                upstream_registry_url=up.url,
                credential_arn=args.credential_arn if up.credentials else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for up in PULL_THROUGH_CACHE.values()
        ]
        templates = [
            aws.ecr.RepositoryCreationTemplate(
                child_name(name, up.prefix, "template"),
                prefix=up.prefix,
                applied_fors=["PULL_THROUGH_CACHE"],
                description=f"Repositories of the {up.url} pull-through cache",
                lifecycle_policy=json.dumps(cache_lifecycle_policy()),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for up in PULL_THROUGH_CACHE.values()
        ]
        account = rules[0].registry_id
        self.registry = account.apply(lambda a: ecr_registry_host(a, args.region))
        self.mirrors = self.registry.apply(pull_through_cache_mirrors)
        aws.iam.RolePolicy(
            child_name(name, "node-import"),
            role=args.node_role_name,
            policy=account.apply(lambda a: json.dumps(import_policy(a, args.region))),
            # A first pull creates its repository from the template: both exist before a node pulls.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*rules, *templates]),
        )
        register_public_outputs(self)


def import_policy(account_id: str, region: str) -> dict[str, object]:
    """What a node's first pull through the cache needs, on the cached prefixes only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": [
                    f"arn:aws:ecr:{region}:{account_id}:repository/{up.prefix}/*" for up in PULL_THROUGH_CACHE.values()
                ],
            }
        ],
    }
