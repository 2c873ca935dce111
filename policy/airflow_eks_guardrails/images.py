"""Where a production stack's task images may come from."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .declaration import PRIVATE_TASK_IMAGES
from .model import Stack, Violation, known, violation

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
TASK_IMAGES_CONFIG_MAP = "airflow-task-images"  # the program's list of allowed task images (lib/airflow/task_images.py)
REPOSITORIES_KEY = "repositories"
ECR_PRIVATE = re.compile(r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/\S+")
"""A repository of a private ECR registry: the account's own, scanned, pulled with the node role."""


def private_task_images(stack: Stack) -> Iterator[Violation]:
    """In production, every task image a DAG may run besides the platform's comes from a private ECR
    registry: no public registry (rate limits, images changed under their tag, nothing scanned)."""
    if not stack.production:
        return
    for config_map in stack.of_type(CONFIG_MAP):
        if config_map.get("metadata", "name") != TASK_IMAGES_CONFIG_MAP:
            continue
        listed = config_map.get("data", REPOSITORIES_KEY)
        if not known(listed) or not isinstance(listed, str):
            continue
        for repository in listed.split():
            if not ECR_PRIVATE.fullmatch(repository):
                yield violation(
                    PRIVATE_TASK_IMAGES,
                    config_map,
                    f"task image repository {repository} is outside a private ECR registry "
                    "(<account>.dkr.ecr.<region>.amazonaws.com): push the image to ECR and list that repository "
                    "(taskImageRepositories)",
                )
