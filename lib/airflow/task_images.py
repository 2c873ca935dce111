"""The task images teams may run besides the platform's Airflow image (`taskImageRepositories`).

A team builds its image on the pinned Airflow image and pushes it to its ECR; a DAG runs a task in
it with the KubernetesExecutor's `pod_override` (docs/teams.md). The chart's `images` values stay
the program's: the allowed repositories are a list of their own, published in the Airflow namespace
(`TASK_IMAGES_CONFIG_MAP`, where an admission policy can take them as its parameters), and the nodes
may pull the private ECR ones (`task_images_pull_policy`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

TASK_IMAGES_CONFIG_MAP = "airflow-task-images"
REPOSITORIES_KEY = "repositories"
IMAGE_REPOSITORY = re.compile(
    r"(?P<registry>[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?)/(?P<path>[a-z0-9]+([._/-][a-z0-9]+)*)"
)
"""A repository without tag or digest: a registry host and a lowercase path (OCI distribution spec names)."""
ECR_REGISTRY = re.compile(r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")
"""A private ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`)."""


def repository_problem(repository: str) -> str | None:
    match = IMAGE_REPOSITORY.fullmatch(repository)
    if not match or ("." not in match["registry"] and ":" not in match["registry"]):
        return (
            f"'{repository}' is not an image repository without tag or digest, with its registry: such as "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow"
        )
    return None


def ecr_repository_arn(repository: str) -> str | None:
    """The ARN of a private ECR repository (`<account>.dkr.ecr.<region>.amazonaws.com/<path>`), else None."""
    registry, _, path = repository.partition("/")
    match = ECR_REGISTRY.fullmatch(registry)
    if not match:
        return None
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{path}"


def task_images_pull_policy(repositories: Sequence[str]) -> dict[str, Any] | None:
    """The node role's pull of the listed private ECR repositories, by ARN (None when none is in ECR).
    The node role's AWS managed AmazonEC2ContainerRegistryPullOnly grants the same on every repository
    (`Resource: *`); this statement names what the stack means its nodes to pull, and survives a move
    to a narrower managed policy. A repository of another account must also admit the node role in
    its repository policy (docs/teams.md)."""
    arns = [arn for arn in (ecr_repository_arn(r) for r in repositories) if arn]
    if not arns:
        return None
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullTaskImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": arns,
            }
        ],
    }
