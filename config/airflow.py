"""Airflow-tier settings: the release, DAG delivery, the load balancer in front and the add-ons."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from config.checks import ACM_ARN, SEMVER, Section, in_range, matches, source_cidrs
from config.errors import ConfigError
from config.keys import as_tuple, enum_of, key, key_of, optional, secret_key, str_map
from lib.airflow.git_sync import SSH_SECRET_KEYS, GitSyncSource, branch_problem, is_ssh, sub_path_problem
from lib.airflow.resources import RESOURCE_PROFILES, ResourceProfile
from lib.airflow.secrets import fernet_generations
from lib.airflow.sso import (
    ROLES,
    OidcProvider,
    claim_problem,
    client_id_problem,
    issuer_problem,
    role_mapping_problem,
)
from lib.airflow.task_egress import EgressRule, task_egress_problem, task_egress_rules
from lib.airflow.task_pod import TASK_POD_KEYS
from lib.airflow.values import WORKER_SERVICE_ACCOUNT, Replicas
from lib.cluster.managed_addons import MANAGED_ADDONS, VERSION_PATTERN
from lib.cluster.start_latency import NodeAutoscaler
from lib.kubernetes_names import dns_subdomain_problem

MAX_REPLICAS = 10
MAX_PARALLELISM = 5000
MAX_FERNET_GENERATION = 999
MAX_RETENTION_HOURS = 720
_REPO = re.compile(r"(https://|ssh://|git@)\S+")


@dataclass(frozen=True)
class AirflowSettings(Section):
    SECTION: ClassVar[str] = "airflow"
    TITLE: ClassVar[str] = "Airflow"

    chart_version: str = key(
        "airflowChartVersion",
        "1.22.0",
        "Version of the official Apache Airflow Helm chart.",
    )
    airflow_version: str = key(
        "airflowVersion",
        "3.3.2",
        "Apache Airflow version (image tag), 3.x.",
    )
    scheduler_replicas: int = key(
        "airflowSchedulerReplicas",
        2,
        "Scheduler replicas (2 or more for HA).",
    )
    api_server_replicas: int = key(
        "airflowApiServerReplicas",
        2,
        "API server / UI replicas.",
    )
    triggerer_replicas: int = key(
        "airflowTriggererReplicas",
        2,
        "Triggerer replicas.",
    )
    dag_processor_replicas: int = key(
        "airflowDagProcessorReplicas",
        2,
        "DAG processor replicas.",
    )
    pgbouncer_replicas: int = key(
        "airflowPgbouncerReplicas",
        2,
        "PgBouncer replicas.",
    )
    resource_profile: ResourceProfile = key(
        "airflowResourceProfile",
        "large",
        "Requests and limits of the Airflow pods: small, medium or large.",
        convert=enum_of(ResourceProfile),
    )
    task_pod_size: ResourceProfile | None = key(
        "airflowTaskPodSize",
        "",
        "Requests and limits of a task pod: small (250m CPU, 512Mi), medium (500m, 1Gi) or large (1 CPU, "
        "2Gi). Empty: the airflowResourceProfile's.",
        convert=optional(enum_of(ResourceProfile)),
    )
    """None: the resource profile's task pod."""
    parallelism: int = key(
        "airflowParallelism",
        0,
        "Tasks the stack runs at once at most (1 to 5000; 0: the worker group's capacity, as `make cost` "
        "reports it). Airflow enforces it: default_pool's slots and each scheduler's [core] parallelism.",
    )
    """At most this many tasks at once over the stack; 0: the worker group's capacity (`Settings.task_capacity`)."""
    create_admin_user: bool = key(
        "airflowCreateAdminUser",
        True,
        "Create an `admin` user with a generated password (secret output). Turn off when you configure "
        "your own authentication.",
    )
    fernet_key_generation: int = key(
        "fernetKeyGeneration",
        0,
        "Generation of the Fernet key Airflow encrypts connections and variables with (0 to 999): raising "
        "it generates a new key, first in the list Airflow reads. Raise it together with "
        "fernetKeyPreviousGeneration set to the old generation, so the old key still decrypts until "
        "`airflow rotate-fernet-key` has re-encrypted (docs/runbook.md, Rotating the Fernet key).",
    )
    fernet_key_previous_generation: int = key(
        "fernetKeyPreviousGeneration",
        -1,
        "A former Fernet key generation kept after the current one, for decryption only, during a "
        "rotation: below fernetKeyGeneration; -1 (none) drops it, once `airflow rotate-fernet-key` has run.",
    )
    failed_pod_retention_hours: int = key(
        "airflowFailedPodRetentionHours",
        24,
        "Hours a failed task pod is kept for its events and logs before a CronJob deletes it (1 to 720; "
        "it runs hourly, so a pod goes within the hour after). Succeeded pods are deleted at once.",
    )
    git_sync_repo: str = key(
        "gitSyncRepo",
        "",
        "Git repository the airflow-git-sync Deployment keeps in the DAGs volume (empty turns git-sync off).",
    )
    git_sync_branch: str = key(
        "gitSyncBranch",
        "main",
        "Branch for git-sync: a name `git check-ref-format --branch` accepts (no space, control "
        "character, `..`, `@{`, `//`, `~ ^ : ? * [ \\`; no part beginning with `.` or ending with `.lock`; "
        "not `@`).",
        only_with="gitSyncRepo",
    )
    git_sync_sub_path: str = key(
        "gitSyncSubPath",
        "dags",
        'Folder of the repository that holds the DAGs (`""`: its top): relative, without `..`, `.` or empty parts.',
        only_with="gitSyncRepo",
    )
    git_sync_credentials_secret: str = key(
        "gitSyncCredentialsSecret",
        "",
        "Kubernetes secret in the airflow namespace (a DNS subdomain: lowercase, at most 253) for a "
        "private repository: GITSYNC_USERNAME and GITSYNC_PASSWORD (https), or gitSshKey and known_hosts "
        "(ssh URLs, required).",
        only_with="gitSyncRepo",
    )
    values: Mapping[str, Any] = key(
        "airflowValues",
        {},
        "Helm values merged last over the computed values of the Airflow release: maps merge, scalars "
        "replace, null removes, and entries of the lists the chart appends (env, volumes, volumeMounts, extra "
        "containers and volumes, tolerations) are added to the program's, one of the same name (a mount: the "
        "same path) replacing it (docs/architecture.md, Chart values). The merged values must meet the chart's "
        "own values schema (a misspelt key or a wrong type is refused with its path). Values the program owns are "
        "refused, naming the key that sets them (`<section>.replicas`: airflow<Section>Replicas; "
        "`config.core.parallelism`: airflowParallelism; `images`, the Secrets' names, `executor`, the task pods' "
        "service account, `podTemplate`, ...), and so is what would break the Restricted pod security profile "
        "(security contexts, host namespaces, volumes other than configMap, secret, emptyDir, ...; extra "
        "containers lacking allowPrivilegeEscalation: false and capabilities.drop: [ALL]). `workers.serviceAccount` "
        "is refused (the task pods' IAM role trusts the program's account), and so are the shared `workers.*` keys "
        "of the task pods chart 1.22 deprecates (`workers.env`, ...: set `workers.kubernetes.*`).",
    )

    task_egress: Mapping[str, Any] = key(
        "taskEgress",
        {},
        "Where task pods may connect besides the platform's own flows (the Airflow namespace denies first; task "
        "pods already reach HTTPS, 443, outside the private ranges): rule name -> {cidrs: [IPv4 CIDRs], ports: "
        "[numbers], protocol: TCP or UDP (default TCP)}, e.g. warehouse: {cidrs: [10.50.0.0/16], ports: [5439]}. "
        "Each rule is a flow task-egress-<name> from the task pods only; the link-local range (the instance "
        "metadata service) is refused, and excepted from a rule that contains it.",
    )

    sso_issuer: str = key(
        "ssoIssuer",
        "",
        "Single sign-on for the Airflow UI and API: the OIDC identity provider's issuer URL (https; Cognito: "
        "https://cognito-idp.<region>.amazonaws.com/<user pool ID>), whose /.well-known/openid-configuration the "
        "API server reads. Empty: SSO off (the local admin user, airflowCreateAdminUser). On, the FAB auth manager "
        "signs users in with it (docs/sso.md); it needs airflowCreateAdminUser false and the TLS listener "
        "(nlbCertificateArn), and the provider must allow the callback https://<UI host>/auth/oauth-authorized/sso.",
    )
    sso_client_id: str = key(
        "ssoClientId",
        "",
        "The OIDC client (app client) ID registered at the identity provider for Airflow.",
        only_with="ssoIssuer",
        required_with="ssoIssuer",
    )
    sso_client_secret_set: bool = secret_key("ssoClientSecret", only_with="ssoIssuer", required_with="ssoIssuer")
    """Whether `ssoClientSecret` is set (the program reads it itself, as a secret)."""
    sso_role_mapping: Mapping[str, str] = key(
        "ssoRoleMapping",
        {},
        f"Group -> Airflow role ({', '.join(ROLES)}) its members get, synced at every login; a user in no "
        "mapped group gets Public (no permission). The groups are the values of ssoGroupsClaim.",
        convert=str_map,
        only_with="ssoIssuer",
        required_with="ssoIssuer",
    )
    sso_groups_claim: str = key(
        "ssoGroupsClaim",
        "groups",
        "The ID token's claim listing the user's groups (Cognito: cognito:groups).",
        only_with="ssoIssuer",
    )
    sso_username_claim: str = key(
        "ssoUsernameClaim",
        "email",
        "The ID token's claim that names the user in Airflow: unique and stable at the provider (email, sub, "
        "preferred_username, cognito:username).",
        only_with="ssoIssuer",
    )

    @property
    def sso(self) -> OidcProvider | None:
        if not self.sso_issuer:
            return None
        return OidcProvider(
            issuer=self.sso_issuer,
            client_id=self.sso_client_id,
            role_mapping=dict(self.sso_role_mapping),
            groups_claim=self.sso_groups_claim,
            username_claim=self.sso_username_claim,
        )

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
        self.check("failed_pod_retention_hours", in_range, self.failed_pod_retention_hours, 1, MAX_RETENTION_HOURS)
        self._check_fernet_generations()
        if self.git_sync_repo:
            self._check_git_sync()
        if self.sso_issuer:
            self._check_sso()
        if problem := task_egress_problem(self.task_egress):
            raise self.invalid("task_egress", problem)
        workers = self.values.get("workers")
        if isinstance(workers, Mapping) and "serviceAccount" in workers:
            raise ConfigError(
                f"{key_of(self, 'values')}.workers.serviceAccount",
                f"is the program's: task pods run as '{WORKER_SERVICE_ACCOUNT}' with the IAM role exported as "
                "airflow_worker_role_arn; attach policies to that role (airflow_worker_role_name) instead",
            )
        shared = [key for key in TASK_POD_KEYS if isinstance(workers, Mapping) and key in workers]
        if shared:
            raise ConfigError(
                f"{key_of(self, 'values')}.workers.{shared[0]}",
                f"is deprecated by the Airflow chart (1.22) and never reaches the task pods: set "
                f"workers.kubernetes.{shared[0]} instead",
            )

    @property
    def task_egress_rules(self) -> tuple[EgressRule, ...]:
        return task_egress_rules(self.task_egress)

    @property
    def fernet_key_generations(self) -> tuple[int, ...]:
        """The Fernet key generations the Secret holds, newest first."""
        previous = self.fernet_key_previous_generation
        return fernet_generations(self.fernet_key_generation, None if previous == -1 else previous)

    def _check_fernet_generations(self) -> None:
        self.check("fernet_key_generation", in_range, self.fernet_key_generation, 0, MAX_FERNET_GENERATION)
        previous = self.fernet_key_previous_generation
        if previous != -1 and not 0 <= previous < self.fernet_key_generation:
            raise self.invalid(
                "fernet_key_previous_generation",
                f"{previous} is not a generation below fernetKeyGeneration {self.fernet_key_generation} "
                f"(0 to {self.fernet_key_generation - 1}), nor -1 (none)",
            )

    def _check_sso(self) -> None:
        for field, problem in (
            ("sso_issuer", issuer_problem(self.sso_issuer)),
            ("sso_client_id", client_id_problem(self.sso_client_id)),
            ("sso_role_mapping", role_mapping_problem(self.sso_role_mapping)),
            ("sso_groups_claim", claim_problem(self.sso_groups_claim)),
            ("sso_username_claim", claim_problem(self.sso_username_claim)),
        ):
            if problem:
                raise self.invalid(field, problem)
        if self.create_admin_user:
            raise self.invalid(
                "create_admin_user",
                "must be false with ssoIssuer: the local admin user (a shared password) is off when users sign "
                "in with single sign-on; map an identity provider group to Admin in ssoRoleMapping instead",
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
    TITLE: ClassVar[str] = "Load balancer"

    allowed_cidrs: tuple[str, ...] = key(
        "nlbAllowedCidrs",
        [],
        "CIDRs allowed to reach the Airflow UI through the internal NLB, the only sources its security group "
        "admits: canonical IPv4 CIDRs, each once, at most 50. Required in production (no VPC-wide default) "
        "and with existingVpcId; otherwise the VPC's CIDR.",
        convert=as_tuple,
    )
    certificate_arn: str = key(
        "nlbCertificateArn",
        "",
        "ACM certificate ARN (a public certificate, or a private one issued by AWS Private CA) for the "
        "name clients use for the UI; when set the NLB listens with TLS on 443, otherwise TCP on 80, which "
        "the policy pack refuses in production unless waived (policyWaivers: production-tls-listeners; "
        "docs/security.md, TLS on the load balancer).",
    )

    def __post_init__(self) -> None:
        self.check("allowed_cidrs", source_cidrs, self.allowed_cidrs)
        if self.certificate_arn:
            self.check("certificate_arn", matches, ACM_ARN, self.certificate_arn, "an ACM certificate ARN")


@dataclass(frozen=True)
class AddonSettings(Section):
    SECTION: ClassVar[str] = "addons"
    TITLE: ClassVar[str] = "Cluster add-ons"

    load_balancer_controller_values: Mapping[str, Any] = key(
        "loadBalancerControllerValues",
        {},
        "Helm values merged last over the AWS Load Balancer Controller's computed values; `tolerations` and "
        "extra volumes are added to the program's (docs/architecture.md, Chart values). The values the program "
        "owns are refused: clusterName, region, vpcId, image, replicaCount, the service account's name and IAM "
        "role, and the features it keeps off (webhooks, ingress class, Shield, WAF). The chart ships no schema.",
    )
    cluster_autoscaler_values: Mapping[str, Any] = key(
        "clusterAutoscalerValues",
        {},
        "Helm values merged last over the Cluster Autoscaler's computed values; `tolerations` and extra "
        "volumes are added to the program's (docs/architecture.md, Chart values). The values the program owns "
        "are refused: cloudProvider, awsRegion, autoDiscovery, image, replicaCount, fullnameOverride, the service "
        "account's name and IAM role. The chart ships no schema.",
    )
    node_autoscaler: NodeAutoscaler = key(
        "nodeAutoscaler",
        NodeAutoscaler.CLUSTER_AUTOSCALER.value,
        "What adds and removes the task groups' nodes (`workers` and each `taskQueue` group): "
        "`clusterAutoscaler` (managed node groups, the Cluster Autoscaler on the system group) or `karpenter` "
        "(Karpenter 1.14 on the system group: a NodePool and EC2NodeClass per task group, no managed group for "
        "them; their minSize and desiredSize must be 0, their maxSize is the NodePool's node limit; task pods "
        "carry `karpenter.sh/do-not-disrupt`). Switching deletes the task groups' nodes: UPGRADING.md "
        "(docs/task-queues.md, Karpenter).",
        convert=enum_of(NodeAutoscaler),
    )
    eks_addon_versions: Mapping[str, str] = key(
        "eksAddonVersions",
        {},
        f"EKS add-on name ({', '.join(MANAGED_ADDONS)}) -> version, over the versions the program pins for "
        "the cluster's Kubernetes version.",
        convert=str_map,
    )

    def __post_init__(self) -> None:
        if self.node_autoscaler is NodeAutoscaler.KARPENTER and self.cluster_autoscaler_values:
            raise self.invalid(
                "cluster_autoscaler_values",
                "is set but nodeAutoscaler is karpenter: no Cluster Autoscaler runs; remove it or set "
                "nodeAutoscaler: clusterAutoscaler",
            )
        for name, version in self.eks_addon_versions.items():
            key = f"{key_of(self, 'eks_addon_versions')}.{name}"  # nested: eksAddonVersions.<add-on>
            if name not in MANAGED_ADDONS:
                raise ConfigError(key, f"is not an add-on this program manages; accepted: {', '.join(MANAGED_ADDONS)}")
            if not VERSION_PATTERN.match(version):
                raise ConfigError(key, f"'{version}' is not an EKS add-on version such as v1.21.1-eksbuild.7")
