"""Airflow-tier settings: the release, DAG delivery, the load balancer in front and the add-ons."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from config.checks import ACM_ARN, SEMVER, Section, in_range, matches, source_cidrs
from config.errors import ConfigError
from config.keys import key_of
from lib.airflow.git_sync import SSH_SECRET_KEYS, GitSyncSource, branch_problem, is_ssh, sub_path_problem
from lib.airflow.resources import RESOURCE_PROFILES, ResourceProfile
from lib.airflow.task_pod import TASK_POD_KEYS
from lib.airflow.values import WORKER_SERVICE_ACCOUNT, Replicas
from lib.cluster.managed_addons import MANAGED_ADDONS, VERSION_PATTERN
from lib.kubernetes_names import dns_subdomain_problem

MAX_REPLICAS = 10
MAX_PARALLELISM = 5000
_REPO = re.compile(r"(https://|ssh://|git@)\S+")


@dataclass(frozen=True)
class AirflowSettings(Section):
    SECTION: ClassVar[str] = "airflow"

    chart_version: str
    airflow_version: str
    scheduler_replicas: int
    api_server_replicas: int
    triggerer_replicas: int
    dag_processor_replicas: int
    pgbouncer_replicas: int
    resource_profile: ResourceProfile
    task_pod_size: ResourceProfile | None
    """None: the resource profile's task pod."""
    parallelism: int
    """At most this many tasks at once over the stack; 0: the worker group's capacity (`Settings.task_capacity`)."""
    create_admin_user: bool
    git_sync_repo: str
    git_sync_branch: str
    git_sync_sub_path: str
    git_sync_credentials_secret: str
    values: Mapping[str, Any]
    """Helm values merged last over the computed ones."""

    @property
    def replicas(self) -> Replicas:
        return Replicas(
            scheduler=self.scheduler_replicas,
            api_server=self.api_server_replicas,
            triggerer=self.triggerer_replicas,
            dag_processor=self.dag_processor_replicas,
            pgbouncer=self.pgbouncer_replicas,
        )

    @property
    def task_pod_requests(self) -> tuple[str, str]:
        """A task pod's CPU and memory requests: the user's `workers.kubernetes.resources`, else the profile's."""
        size = RESOURCE_PROFILES[self.task_pod_size or self.resource_profile]["workers"]
        workers = self.values.get("workers")
        kubernetes = workers.get("kubernetes") if isinstance(workers, Mapping) else None
        resources = kubernetes.get("resources") if isinstance(kubernetes, Mapping) else None
        requests = resources.get("requests") if isinstance(resources, Mapping) else None
        requests = requests if isinstance(requests, Mapping) else {}
        return str(requests.get("cpu", size.cpu_request)), str(requests.get("memory", size.memory_request))

    @property
    def git_sync(self) -> GitSyncSource | None:
        if not self.git_sync_repo:
            return None
        return GitSyncSource(
            repo=self.git_sync_repo,
            branch=self.git_sync_branch,
            sub_path=self.git_sync_sub_path,
            credentials_secret=self.git_sync_credentials_secret,
        )

    def __post_init__(self) -> None:
        if not SEMVER.match(self.chart_version):
            raise self.invalid("chart_version", f"'{self.chart_version}' is not a chart version such as 1.22.0")
        if not SEMVER.match(self.airflow_version) or not self.airflow_version.startswith("3."):
            raise self.invalid("airflow_version", f"'{self.airflow_version}' is not an Airflow 3 version such as 3.3.2")
        for field in (
            "scheduler_replicas",
            "api_server_replicas",
            "triggerer_replicas",
            "dag_processor_replicas",
            "pgbouncer_replicas",
        ):
            self.check(field, in_range, getattr(self, field), 1, MAX_REPLICAS)
        self.check("parallelism", in_range, self.parallelism, 0, MAX_PARALLELISM)
        if self.git_sync_repo:
            self._check_git_sync()
        workers = self.values.get("workers")
        if isinstance(workers, Mapping) and "serviceAccount" in workers:
            raise ConfigError(
                f"{key_of(self.SECTION, 'values')}.workers.serviceAccount",
                f"is the program's: task pods run as '{WORKER_SERVICE_ACCOUNT}' with the IAM role exported as "
                "airflow_worker_role_arn; attach policies to that role (airflow_worker_role_name) instead",
            )
        shared = [key for key in TASK_POD_KEYS if isinstance(workers, Mapping) and key in workers]
        if shared:
            raise ConfigError(
                f"{key_of(self.SECTION, 'values')}.workers.{shared[0]}",
                f"is deprecated by the Airflow chart (1.22) and never reaches the task pods: set "
                f"workers.kubernetes.{shared[0]} instead",
            )

    def _check_git_sync(self) -> None:
        if not _REPO.fullmatch(self.git_sync_repo):
            raise self.invalid(
                "git_sync_repo", f"'{self.git_sync_repo}' is not an https://, ssh:// or git@ repository URL"
            )
        for field, problem in (
            ("git_sync_branch", branch_problem(self.git_sync_branch)),
            ("git_sync_sub_path", sub_path_problem(self.git_sync_sub_path)),
            ("git_sync_credentials_secret", self.git_sync_credentials_secret and self._secret_problem()),
        ):
            if problem:
                raise self.invalid(field, problem)
        if not self.git_sync_credentials_secret and is_ssh(self.git_sync_repo):
            raise self.invalid(
                "git_sync_credentials_secret",
                f"is required for the ssh URL {self.git_sync_repo}: a Secret holding {' and '.join(SSH_SECRET_KEYS)}",
            )

    def _secret_problem(self) -> str | None:
        problem = dns_subdomain_problem(self.git_sync_credentials_secret)
        return f"{problem} (a Kubernetes Secret name)" if problem else None


@dataclass(frozen=True)
class LoadBalancerSettings(Section):
    SECTION: ClassVar[str] = "load_balancer"

    allowed_cidrs: tuple[str, ...]
    """Sources allowed to reach the listener; empty: the VPC's CIDR."""
    certificate_arn: str

    def __post_init__(self) -> None:
        self.check("allowed_cidrs", source_cidrs, self.allowed_cidrs)
        if self.certificate_arn:
            self.check("certificate_arn", matches, ACM_ARN, self.certificate_arn, "an ACM certificate ARN")


@dataclass(frozen=True)
class AddonSettings(Section):
    SECTION: ClassVar[str] = "addons"

    load_balancer_controller_values: Mapping[str, Any]
    cluster_autoscaler_values: Mapping[str, Any]
    eks_addon_versions: Mapping[str, str]
    """EKS add-on name -> version, over the versions pinned for the Kubernetes version."""

    def __post_init__(self) -> None:
        for name, version in self.eks_addon_versions.items():
            key = f"{key_of(self.SECTION, 'eks_addon_versions')}.{name}"  # nested: eksAddonVersions.<add-on>
            if name not in MANAGED_ADDONS:
                raise ConfigError(key, f"is not an add-on this program manages; accepted: {', '.join(MANAGED_ADDONS)}")
            if not VERSION_PATTERN.match(version):
                raise ConfigError(key, f"'{version}' is not an EKS add-on version such as v1.21.1-eksbuild.7")
