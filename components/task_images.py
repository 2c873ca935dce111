"""TaskImages: the image repositories teams' tasks may run in (`taskImageRepositories`).

Creates (`airflow:index:TaskImages`):
- the ConfigMap `airflow-task-images` in the Airflow namespace, listing them (teams read it; an
  admission policy can take it as its parameters);
- on the node role, a policy that pulls the private ECR ones by ARN (`lib.airflow.task_images.task_images_pull_policy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.parts.outputs import register_public_outputs
from lib.airflow.task_images import REPOSITORIES_KEY, TASK_IMAGES_CONFIG_MAP, task_images_pull_policy
from lib.naming import child_name


@dataclass(frozen=True)
class TaskImagesArgs:
    repositories: tuple[str, ...]
    """Image repositories (registry/path, no tag) tasks may run in."""
    namespace: pulumi.Input[str]
    """The Airflow namespace (an output: the ConfigMap waits for it)."""
    node_role_name: pulumi.Input[str]
    """The nodes' IAM role, which pulls the images."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""

    def __post_init__(self) -> None:
        if not self.repositories:
            raise ValueError("TaskImagesArgs.repositories is empty")


class TaskImages(pulumi.ComponentResource):
    config_map: str
    """Name of the ConfigMap that lists the repositories."""
    repositories: list[str]
    """The repositories."""

    def __init__(self, name: str, args: TaskImagesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:TaskImages", name, None, opts)
        k8s.core.v1.ConfigMap(
            child_name(name, "config-map"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TASK_IMAGES_CONFIG_MAP,
                namespace=args.namespace,
                labels={"app.kubernetes.io/part-of": "airflow", "app.kubernetes.io/managed-by": "pulumi"},
            ),
            data={REPOSITORIES_KEY: "\n".join(args.repositories)},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        policy = task_images_pull_policy(args.repositories)
        if policy is not None:
            aws.iam.RolePolicy(
                child_name(name, "node-pull"),
                role=args.node_role_name,
                policy=json.dumps(policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.config_map = TASK_IMAGES_CONFIG_MAP
        self.repositories = list(args.repositories)
        register_public_outputs(self)
