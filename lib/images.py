"""Where the stack's images come from: their upstream registries, or mirrors of them.

Every image the stack runs (Airflow, PgBouncer and its exporter, statsd, git-sync, the Load
Balancer Controller, the Cluster Autoscaler) is named by its upstream reference here and in the
add-on values; `mirrored` rewrites it to a mirror of its registry when one is configured. The
EKS managed add-ons (VPC CNI, kube-proxy, CoreDNS, EFS CSI driver) come from AWS's own ECR in
the region, which has no pull limit, and are left alone.

An ECR pull-through cache mirrors each upstream under a prefix of the account's private
registry: `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>`. Docker Hub requires
credentials (a Secrets Manager secret whose name starts with `ecr-pullthroughcache/`); the
others are anonymous.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
CREDENTIAL_ARN = re.compile(r"arn:aws:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:ecr-pullthroughcache/.+\Z")
"""A Secrets Manager secret ECR accepts as a pull-through cache credential (its name's prefix is required)."""


@dataclass(frozen=True)
class Upstream:
    prefix: str
    """Repository prefix in the ECR registry."""
    url: str
    """Upstream registry URL the rule pulls from."""
    credentials: bool
    """The upstream needs the credential secret."""


PULL_THROUGH_CACHE: dict[str, Upstream] = {
    DOCKER_HUB: Upstream("docker-hub", "registry-1.docker.io", True),
    "quay.io": Upstream("quay", "quay.io", False),
    "registry.k8s.io": Upstream("k8s", "registry.k8s.io", False),
    "public.ecr.aws": Upstream("ecr-public", "public.ecr.aws", False),
}
"""Registry of an image -> its ECR pull-through cache rule."""


def split_image(image: str) -> tuple[str, str]:
    """(registry, path) of an image reference; Docker Hub's implicit registry and `library/` made explicit."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DOCKER_HUB, image if rest else f"library/{image}"


def mirrored(image: str, mirrors: Mapping[str, str]) -> str:
    """`image` from the mirror of its registry (`<mirror>/<path>`), or unchanged without one."""
    registry, path = split_image(image)
    mirror = mirrors.get(registry)
    return f"{mirror.rstrip('/')}/{path}" if mirror else image


def pull_through_cache_mirrors(registry_host: str) -> dict[str, str]:
    """The mirror of every cached upstream in the ECR registry `registry_host`."""
    return {registry: f"{registry_host}/{up.prefix}" for registry, up in PULL_THROUGH_CACHE.items()}


def ecr_registry_host(account_id: str, region: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


CACHED_IMAGE_DAYS = 30
"""Days a cached image stays in its ECR repository after the cache pulled it (`cache_lifecycle_policy`)."""


def cache_lifecycle_policy(days: int = CACHED_IMAGE_DAYS) -> dict[str, object]:
    """The lifecycle policy of every repository the pull-through cache creates: an image expires
    `days` after the cache pulled it (`sinceImagePushed`, ECR user guide, "Lifecycle policy
    parameters"). A later pull through the cache fetches it from upstream again, so a live stack
    pays one re-pull a month per image; a destroyed one leaves repositories that are empty, and cost
    nothing, within `days` (ECR bills storage only)."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Cached images expire {days} days after the cache pulled them",
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": days,
                },
                "action": {"type": "expire"},
            }
        ]
    }


ANONYMOUS_PULL_NODES = 5
"""Task nodes a stack may start that pull Airflow's image from Docker Hub without credentials.
Docker Hub allows an unauthenticated client 10 pulls an hour per IPv4 address (Docker's "Docker Hub
usage and limits", in force since 2025-04-01), and every node of a zone reaches it through that
zone's one NAT address: a burst of new task nodes past a handful waits out the hour, its pods in
ImagePullBackOff. Through a mirror or the pull-through cache, Docker Hub sees one authenticated pull
per image instead."""


def anonymous_docker_hub(mirrors: Mapping[str, str], credential_arn: str) -> bool:
    """Nodes pull Docker Hub's images (Airflow's) from Docker Hub itself, without credentials."""
    return not credential_arn and DOCKER_HUB not in mirrors
