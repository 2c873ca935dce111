"""Typed, validated settings for the whole program, loaded from a stack's config.

`load_settings` takes the stack's resolved config (what the Pulumi CLI hands the program: every
value a string), checks it against the keys the sections declare (`KEYS`: each field's `key()`,
config/keys.py), refuses values that would be ignored (a key's `only_with`, `only_without`,
`required_with`), and builds the frozen sections, which
check their own meaning; `Settings` adds the rules that span sections. Every error is a
`ConfigError` naming the config key and what it accepts, raised before any resource exists.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from config.airflow import AddonSettings, AirflowSettings, LoadBalancerSettings
from config.chart_values import check_chart_values
from config.checks import ACM_ARN, DOCUMENTATION_ACCOUNT, documentation_range
from config.cluster import ClusterSettings
from config.data import DatabaseSettings, StorageSettings
from config.errors import ConfigError, each, raise_all
from config.keys import REPLACED_KEYS, Key, as_tuple, declared, key, key_of, str_map
from config.names import check_stack_name, check_tags
from config.network import NetworkSettings
from config.node_groups import DEFAULT_NODE_GROUPS, check_node_group_tags, parse_node_groups
from config.observability import ObservabilitySettings
from config.project import PROJECT_FILE, SECRET_KEYS, Declaration, parse_value, read_declarations
from config.teams import TeamsSettings
from lib.cluster.managed_addons import MANAGED_ADDONS, Toggle, addons_on
from lib.cluster.node_groups import DEFAULT_QUEUE, REQUIRED_ROLES, NodeGroup, NodeGroupRole, TaintEffect
from lib.cluster.sizing import has_shapes, node_task_capacity
from lib.cluster.start_latency import NodeAutoscaler
from lib.cluster.versions import support_warning
from lib.images import ANONYMOUS_PULL_NODES, CREDENTIAL_ARN, PULL_THROUGH_CACHE, anonymous_docker_hub
from lib.network.subnets import NatGatewayMode
from lib.network.zones import region_problem, zone_id_problem
from lib.quantities import cpu_millicores, memory_mebibytes
from lib.security.audit import cluster_log_group, flow_log_group
from policy.airflow_eks_guardrails.declaration import waiver_problem

T = TypeVar("T")
MIN_PROTECTED_BACKUP_DAYS = 7
MIRROR = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._-]+)*")


@dataclass(frozen=True)
class Settings:
    SECTION: ClassVar[str] = "settings"
    TITLE: ClassVar[str] = "Stack-wide"

    project: str
    stack: str
    region: str
    network: NetworkSettings
    cluster: ClusterSettings
    database: DatabaseSettings
    storage: StorageSettings
    load_balancer: LoadBalancerSettings
    addons: AddonSettings
    airflow: AirflowSettings
    observability: ObservabilitySettings
    teams: TeamsSettings
    node_groups: tuple[NodeGroup, ...] = key(
        "nodeGroups",
        DEFAULT_NODE_GROUPS,
        "Managed node groups, name (1 to 20 lowercase letters, digits or `-`, from a letter to a letter "
        "or digit) -> `instanceTypes` (EC2 types the pulumi-aws SDK lists, one architecture, none twice), "
        "`capacityType` (`ON_DEMAND`/`SPOT`), `minSize`, `desiredSize`, `maxSize`, `diskSizeGib`, "
        "`labels` (Kubernetes label keys of at most 63 characters with their prefix, as EKS limits them, "
        "not in the `kubernetes.io`/`k8s.io` namespaces but for `node.`/`kubelet.` ones, nor "
        "`airflow-eks/node-group`; values 1 to 63, never empty), `taints` (at most 50, each key once; "
        "`key` (at most 63), `value`, `effect`: `NO_SCHEDULE`/`NO_EXECUTE`/`PREFER_NO_SCHEDULE`); keys "
        "may not differ only in case or punctuation (`team.a`, `team-a`), and labels plus taints stay "
        "within 44, less one per `tags` entry and `policyWaivers` entry (each is an autoscaler tag on the "
        "group, which AWS allows 50), `taskQueue` (an Airflow queue, 1 to 63 lowercase letters, digits, `-` "
        "or `_`, one group each: its tasks run on this group, which must be tainted; not on `system`, "
        "`airflow` or `workers`, whose queue is `default`; required with NVIDIA GPU instance types, which take "
        "the AL2023 NVIDIA AMI and bring NVIDIA's device plugin: docs/task-queues.md). `system`, `airflow` and "
        "`workers` are required; `workers` must be tainted. `make cost` knows the types in "
        "`sizing/instance-types.json`.",
        convert=parse_node_groups,
        type="object",
    )
    node_groups_apply_sizes: tuple[str, ...] = key(
        "nodeGroupsApplySizes",
        [],
        "Node groups (names of nodeGroups) whose configured minSize, desiredSize and maxSize this update "
        "sends to EKS as they are. A group's desired size is otherwise the cluster autoscaler's and an "
        "update sends the one Pulumi last applied, which EKS refuses below a raised minSize (min <= desired "
        "<= max): list the group while raising its minSize above its live size, then remove it, since while "
        "listed every update resets the autoscaler's size (docs/runbook.md, Raising a node group's minimum). "
        "Not while hibernating.",
        convert=as_tuple,
    )
    protect: bool = key(
        "protectStatefulResources",
        True,
        "Pulumi protect on the database, file system and KMS keys, and RDS deletion protection; requires "
        "dbBackupRetentionDays of 7 or more.",
    )
    hibernate: bool = key(
        "hibernate",
        False,
        "Asleep: only what holds data stays (the database, stopped; the file system; the KMS keys; the log "
        "groups and the task logs bucket; the generated passwords and keys); the EKS cluster with everything "
        "in it, the node groups, NAT gateways, load balancer, alarms and dashboard are deleted. false rebuilds "
        "them around the same data. Refused with production or protectStatefulResources. AWS starts a "
        "stopped database after 7 days: run `pulumi up` daily while asleep (docs/cost.md, Hibernation).",
    )
    pull_through_cache_credential_arn: str = key(
        "imagePullThroughCacheCredentialArn",
        "",
        "ARN of a Secrets Manager secret named ecr-pullthroughcache/... holding a Docker Hub username and "
        "access token. Set: the stack creates ECR pull-through cache rules (Docker Hub, Quay, "
        "registry.k8s.io, ECR Public) and every image it runs comes through them (docs/cost.md, Images at "
        "scale).",
    )
    image_mirrors: Mapping[str, str] = key(
        "imageRegistryMirrors",
        {},
        "Upstream registry (docker.io, quay.io, registry.k8s.io, public.ecr.aws) -> a mirror's prefix; "
        "every image of that registry the stack runs is pulled as `<prefix>/<path>`. Only without "
        "imagePullThroughCacheCredentialArn, which sets its own.",
        convert=str_map,
        only_without="imagePullThroughCacheCredentialArn",
    )
    tags: Mapping[str, str] = key(
        "tags",
        {},
        "Extra AWS tags on every resource, name -> value: at most 42 less one per policyWaivers entry "
        "(AWS allows 50; the program sets up to 8); keys of 1 to 128 and values of up to 256 ASCII "
        "letters, digits, spaces and `_ . : / = + - @`; not `Name`, `tier` or a case variant of a program "
        "tag, nor `aws:`, `airflow-eks:`, `kubernetes.io/`, `k8s.io/` keys.",
        convert=str_map,
    )
    production: bool = key(
        "production",
        True,
        "The stack declares itself production; the policy pack then requires protected stateful resources "
        "with final snapshots and backups, and high availability (docs/security.md, Guardrails).",
    )
    policy_waivers: Mapping[str, str] = key(
        "policyWaivers",
        {},
        "Policy of the pack (policy/) -> why this stack opts out of it (10-256 characters AWS tags "
        "accept); the pack reports the waived policy's violations as advisory, with the reason "
        "(docs/security.md, Guardrails).",
        convert=str_map,
    )

    @property
    def name(self) -> str:
        """Base name of every resource, unique per stack (`airflow-dev`)."""
        return f"airflow-{self.stack}"

    def node_group(self, name: str) -> NodeGroup:
        return next(g for g in self.node_groups if g.name == name)

    def addon_toggles(self) -> dict[Toggle, bool]:
        """Whether each config key an EKS add-on of the catalog comes only with is on."""
        return {Toggle.CLUSTER_METRICS: self.observability.cluster_metrics}

    def __post_init__(self) -> None:
        check_stack_name(self.stack)
        problem = region_problem(self.region)
        if problem:
            raise ConfigError("aws:region", problem)
        certificate = ACM_ARN.fullmatch(self.load_balancer.certificate_arn)
        if certificate and certificate["region"] != self.region:
            # ELB takes a certificate from ACM in its own region only.
            raise ConfigError(
                key_of(LoadBalancerSettings, "certificate_arn"),
                f"is a certificate of {certificate['region']}; the load balancer is in {self.region} and takes a "
                "certificate of its own region (import or request it there)",
            )
        if self.airflow.sso_issuer and not self.load_balancer.certificate_arn:
            # The authorization code and the session cookie would cross the network in clear.
            raise ConfigError(
                key_of(AirflowSettings, "sso_issuer"),
                "needs the load balancer's TLS listener: set nlbCertificateArn (an ACM certificate for the UI's "
                "host name); identity providers redirect only to https callbacks",
            )
        for zone_id in self.network.availability_zone_ids:
            zone_problem = zone_id_problem(self.region, zone_id)
            if zone_problem:
                raise ConfigError(key_of(NetworkSettings, "availability_zone_ids"), zone_problem)
        self._check_node_groups()
        self._check_karpenter_groups()
        self._check_kept_audit_logs()
        if self.production and not self.load_balancer.allowed_cidrs:
            # A production UI is reached from named networks only, never from every pod and node of the VPC.
            raise ConfigError(
                key_of(LoadBalancerSettings, "allowed_cidrs"),
                "is required in production (production: true): list the CIDRs allowed to reach the Airflow UI "
                "(a VPN's, an office's); the VPC's CIDR is the default of a stack that is not production only",
            )
        if self.production and self.network.nat_gateways is NatGatewayMode.INSTANCE:
            # One instance in one zone, patched by replacing it: dev's saving, not production's way out.
            raise ConfigError(
                key_of(NetworkSettings, "nat_gateways"),
                "is instance while production is true: one NAT instance is one zone and one machine every "
                "node's egress depends on; accepted in production: perAz or single",
            )
        if self.network.existing and not self.load_balancer.allowed_cidrs:
            # The default source is the VPC's CIDR, which the program knows only for a VPC it creates.
            raise ConfigError(
                key_of(LoadBalancerSettings, "allowed_cidrs"),
                "is required with existingVpcId; list the CIDRs allowed to reach the Airflow UI",
            )
        backups = self.database.backup_retention_days
        if self.protect and not self.database.existing and backups < MIN_PROTECTED_BACKUP_DAYS:
            raise ConfigError(
                key_of(DatabaseSettings, "backup_retention_days"),
                f"{backups} is below {MIN_PROTECTED_BACKUP_DAYS} while protectStatefulResources is true",
            )
        self._check_images()
        self._check_addon_versions()
        self._check_task_capacity()
        check_tags(self.tags, self.policy_waivers)
        extra_tags = len(self.tags) + len(self.policy_waivers)
        check_node_group_tags(key_of(self, "node_groups"), self.node_groups, extra_tags)
        for policy, reason in self.policy_waivers.items():
            problem = waiver_problem(policy, reason)
            if problem:
                raise ConfigError(f"{key_of(self, 'policy_waivers')}.{policy}", problem)
        check_chart_values(self)  # last: it reads the node groups and the task capacity checked above

    @property
    def task_capacity(self) -> int:
        """Tasks the stack runs at once: the task groups' capacity (`make cost`'s "nodes" line,
        lib.cluster.sizing.node_task_capacity), or `airflowParallelism` when set and lower. Airflow enforces
        it: `default_pool`'s slots and each scheduler's [core] parallelism (lib.airflow.values)."""
        cap = self.airflow.parallelism
        groups = self.task_groups
        if not all(has_shapes(g.instance_types) for g in groups):
            return cap
        cpu, memory = self.airflow.task_pod_requests
        addons = tuple(addons_on(self.addon_toggles()))
        # Every task group's nodes: default_pool holds the tasks of every queue.
        nodes = sum(
            node_task_capacity(
                g.instance_types,
                g.max_size,
                cpu_millicores(cpu),
                memory_mebibytes(memory),
                addons,
                task_gpus=int(g.gpu),
            )
            for g in groups
        )
        return min(nodes, cap) if cap else nodes

    @property
    def queue_groups(self) -> tuple[NodeGroup, ...]:
        """The groups with a `taskQueue`: a task of that queue runs there (lib/airflow/queues.py)."""
        return tuple(g for g in self.node_groups if g.task_queue)

    @property
    def karpenter(self) -> bool:
        """Karpenter, not the Cluster Autoscaler, runs the task groups' nodes (`nodeAutoscaler`)."""
        return self.addons.node_autoscaler is NodeAutoscaler.KARPENTER

    @property
    def managed_node_groups(self) -> tuple[NodeGroup, ...]:
        """The groups that are EKS managed node groups: all of them, but the task groups under Karpenter."""
        tasks = {g.name for g in self.task_groups} if self.karpenter else set()
        return tuple(g for g in self.node_groups if g.name not in tasks)

    def _check_karpenter_groups(self) -> None:
        # A NodePool has no minimum: a task group's configured floor would be ignored.
        if not self.karpenter:
            return
        tasks = [g.name for g in self.task_groups]
        applied = [n for n in self.node_groups_apply_sizes if n in tasks]
        if applied:
            raise ConfigError(
                key_of(self, "node_groups_apply_sizes"),
                f"lists {applied[0]}, a task group: with nodeAutoscaler karpenter it is a NodePool, not a managed "
                "node group, and has no sizes to apply",
            )
        for g in self.task_groups:
            for field, size in (("minSize", g.min_size), ("desiredSize", g.desired_size)):
                if size:
                    raise ConfigError(
                        f"{key_of(self, 'node_groups')}.{g.name}.{field}",
                        f"is {size}; with nodeAutoscaler karpenter a task group is a NodePool, which keeps no "
                        "minimum and starts at zero: set 0 (maxSize is its node limit), or set nodeAutoscaler: "
                        "clusterAutoscaler",
                    )

    @property
    def task_groups(self) -> tuple[NodeGroup, ...]:
        """The groups task pods run on: `workers` (the default queue), then the queue groups."""
        return (self.node_group(NodeGroupRole.WORKERS), *self.queue_groups)

    def _check_task_capacity(self) -> None:
        unknown = [t for g in self.task_groups for t in g.instance_types if not has_shapes([t])]
        if not self.airflow.parallelism and unknown:
            raise ConfigError(
                key_of(AirflowSettings, "parallelism"),
                f"is required: the program sizes Airflow's pool from the task groups' instance types, and "
                f"{unknown} are not in sizing/instance-types.json; set it to the stack's "
                "task capacity (1 to 5000) or add the types' shapes there",
            )
        try:
            cpu, memory = self.airflow.task_pod_requests
            cpu_millicores(cpu), memory_mebibytes(memory)
        except ValueError as err:
            key = f"{key_of(AirflowSettings, 'values')}.workers.kubernetes.resources.requests"
            raise ConfigError(key, str(err)) from None

    def _check_addon_versions(self) -> None:
        on = self.addon_toggles()
        for name in self.addons.eks_addon_versions:
            toggle = MANAGED_ADDONS[name].only_with
            if toggle is not None and not on[toggle]:
                raise ConfigError(
                    f"{key_of(AddonSettings, 'eks_addon_versions')}.{name}",
                    f"applies only when {toggle} is on (the add-on comes with it); it would be ignored",
                )

    def _check_images(self) -> None:
        arn = self.pull_through_cache_credential_arn
        if arn and not CREDENTIAL_ARN.match(arn):
            raise ConfigError(
                key_of(self, "pull_through_cache_credential_arn"),
                f"'{arn}' is not the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/ "
                "(ECR requires that prefix)",
            )
        if self.production and self.anonymous_task_pulls:
            raise ConfigError(key_of(self, "pull_through_cache_credential_arn"), self._anonymous_pulls_reason())
        for registry, mirror in self.image_mirrors.items():
            if registry not in PULL_THROUGH_CACHE or not MIRROR.fullmatch(mirror):
                raise ConfigError(
                    f"{key_of(self, 'image_mirrors')}.{registry}",
                    f"'{mirror}' for '{registry}': registries accepted: {', '.join(PULL_THROUGH_CACHE)}; a mirror is "
                    "a host and optional path without a scheme, such as registry.example.com/dockerhub",
                )

    @property
    def anonymous_task_pulls(self) -> bool:
        """More task nodes than Docker Hub serves anonymously would pull Airflow's image from it."""
        workers = self.node_group(NodeGroupRole.WORKERS)
        anonymous = anonymous_docker_hub(self.image_mirrors, self.pull_through_cache_credential_arn)
        return anonymous and workers.max_size > ANONYMOUS_PULL_NODES

    def _anonymous_pulls_reason(self) -> str:
        workers = self.node_group(NodeGroupRole.WORKERS)
        return (
            f"is empty and imageRegistryMirrors has no docker.io mirror, while nodeGroups.{workers.name}.maxSize "
            f"is {workers.max_size}: that many new task nodes would pull Airflow's image from Docker Hub "
            "anonymously, which allows 10 pulls an hour per NAT address, so a burst past "
            f"{ANONYMOUS_PULL_NODES} nodes waits in ImagePullBackOff. Set it to a Docker Hub credential secret "
            "(ecr-pullthroughcache/...) or set imageRegistryMirrors.docker.io (docs/cost.md, Images at scale)"
        )

    @property
    def kept_audit_log_groups(self) -> tuple[str, str]:
        """The log groups a destroy of this stack keeps (with their keys): flow logs, control plane."""
        return flow_log_group(self.name), cluster_log_group(self.name)

    def _check_kept_audit_logs(self) -> None:
        kept = self.kept_audit_log_groups
        for group in self.observability.adopt_kept_audit_logs:
            if group not in kept:
                raise ConfigError(
                    f"{key_of(ObservabilitySettings, 'adopt_kept_audit_logs')}.{group}",
                    f"is not a log group this stack keeps on destroy; accepted: {', '.join(kept)}",
                )

    def _check_task_queues(self) -> None:
        key = key_of(self, "node_groups")
        queues: dict[str, str] = {}
        for group in self.node_groups:
            queue = group.task_queue
            if not queue:
                continue
            if group.name in REQUIRED_ROLES:
                raise ConfigError(
                    f"{key}.{group.name}.taskQueue",
                    f"is for a group of its own: {NodeGroupRole.WORKERS} runs the '{DEFAULT_QUEUE}' queue (tasks "
                    f"without queue=), {NodeGroupRole.SYSTEM} and {NodeGroupRole.AIRFLOW} run no tasks; add a group",
                )
            if queue == DEFAULT_QUEUE or queue in queues:
                owner = queues.get(queue, NodeGroupRole.WORKERS)
                raise ConfigError(f"{key}.{group.name}.taskQueue", f"'{queue}' is the queue of group {owner}; one each")
            queues[queue] = group.name
            if not any(t.effect is not TaintEffect.PREFER_NO_SCHEDULE for t in group.taints):
                raise ConfigError(
                    f"{key}.{group.name}.taints",
                    f"needs a NO_SCHEDULE or NO_EXECUTE taint: the group runs the tasks of queue '{queue}' only",
                )

    def _check_node_groups(self) -> None:
        key = key_of(self, "node_groups")
        missing = [str(n) for n in REQUIRED_ROLES if n not in {g.name for g in self.node_groups}]
        if missing:
            raise ConfigError(key, f"lacks {missing}; required groups: {', '.join(REQUIRED_ROLES)}")
        if not any(
            t.effect is not TaintEffect.PREFER_NO_SCHEDULE for t in self.node_group(NodeGroupRole.WORKERS).taints
        ):
            raise ConfigError(
                f"{key}.{NodeGroupRole.WORKERS}.taints",
                "needs a NO_SCHEDULE or NO_EXECUTE taint so that only task pods land on the workers group",
            )
        self._check_task_queues()
        names = [g.name for g in self.node_groups]
        for name in self.node_groups_apply_sizes:
            if name not in names:
                raise ConfigError(
                    key_of(self, "node_groups_apply_sizes"),
                    f"'{name}' is not a group of {key}; accepted: {', '.join(names)}",
                )
        if len(set(self.node_groups_apply_sizes)) != len(self.node_groups_apply_sizes):
            raise ConfigError(
                key_of(self, "node_groups_apply_sizes"), f"{list(self.node_groups_apply_sizes)} lists a group twice"
            )
        if self.hibernate and self.production:
            raise ConfigError(
                key_of(self, "hibernate"),
                "is true while production is true: sleeping deletes the EKS cluster, and with it Airflow and "
                "every Kubernetes object consuming teams created there (their connections, secrets); accepted: "
                "false, or set production false first (docs/cost.md, Hibernation)",
            )
        if self.hibernate and self.protect:
            raise ConfigError(
                key_of(self, "hibernate"),
                f"is true while {key_of(self, 'protect')} is true: sleeping deletes the nodes' volume key, which "
                "it protects (Pulumi refuses to delete a protected resource, halfway through the sleep); accepted: "
                f"false, or set {key_of(self, 'protect')} false first (docs/cost.md, Hibernation)",
            )
        if self.hibernate and self.node_groups_apply_sizes:
            raise ConfigError(
                key_of(self, "node_groups_apply_sizes"),
                "is set while hibernate is true: asleep there are no node groups, and waking creates "
                "the groups at their configured sizes; empty it",
            )

    def warnings(self, today: date) -> list[str]:
        """What is accepted but would not work as it stands, or soon costs more, on `today` (UTC): shown
        by `pulumi preview` and the plan."""
        support = support_warning(self.cluster.kubernetes_version, self.cluster.upgrade_policy, today)
        hibernation = [
            f"hibernate: the database at {key_of(DatabaseSettings, 'existing_host')} is not this stack's; it keeps "
            "running (only this stack's cluster, nodes, NAT gateways and load balancer go)"
        ]
        return (
            (hibernation if self.hibernate and self.database.existing else [])
            + [
                f"{key_of(ClusterSettings, 'public_access_cidrs')}: {cidr} is a documentation range that no machine "
                "connects from; set the egress CIDR of the machine that runs `pulumi up`, or it cannot reach the "
                "Kubernetes API (docs/operations.md, Deploying for real)"
                for cidr in self.cluster.public_access_cidrs
                if documentation_range(cidr)
            ]
            + ([support] if support else [])
            + (
                [f"{key_of(self, 'pull_through_cache_credential_arn')} {self._anonymous_pulls_reason()}"]
                if self.anonymous_task_pulls and not self.production
                else []
            )
            + self._certificate_warnings()
            + [
                f"{key_of(self, 'node_groups_apply_sizes')}: this update sets node group '{g.name}' to {g.min_size} "
                f"min, {g.desired_size} desired, {g.max_size} max, over the cluster autoscaler's desired size; "
                "remove it from the list once applied"
                for g in self.node_groups
                if g.name in self.node_groups_apply_sizes
            ]
        )

    def _certificate_warnings(self) -> list[str]:
        certificate = ACM_ARN.fullmatch(self.load_balancer.certificate_arn)
        if not certificate or certificate["account"] != DOCUMENTATION_ACCOUNT:
            return []
        return [
            f"{key_of(LoadBalancerSettings, 'certificate_arn')}: {certificate[0]} is a placeholder (account "
            f"{DOCUMENTATION_ACCOUNT} is AWS's documentation account); set your certificate's ARN, or the "
            "listener cannot be created (docs/security.md, TLS on the load balancer)"
        ]


SECTIONS: tuple[type, ...] = (
    NetworkSettings,
    ClusterSettings,
    Settings,
    DatabaseSettings,
    StorageSettings,
    LoadBalancerSettings,
    AirflowSettings,
    AddonSettings,
    ObservabilitySettings,
    TeamsSettings,
)
"""Every settings section, in the order docs/configuration.md and `Pulumi.yaml` list their keys."""
KEYS: dict[str, Key] = {k.name: k for section in SECTIONS for k in declared(section)}
"""Every config key, as its field declares it (config/keys.py), in `SECTIONS`' order."""


def declaration(k: Key) -> Declaration:
    """What `Pulumi.yaml` declares of `k` (or `SECRET_KEYS`, for a secret it cannot declare)."""
    if k.secret:
        return SECRET_KEYS[k.name]
    return Declaration(k.type, k.default, True, "string" if k.type == "array" else None, description=k.description)


DECLARATIONS = {name: declaration(k) for name, k in KEYS.items()}
DEFAULT_VALUES = {name: parse_value(name, decl, decl.default) for name, decl in DECLARATIONS.items()}
"""Each key's default, as its declared type holds it."""
DEFAULT_FIELDS = {name: k.convert(name, DEFAULT_VALUES[name]) for name, k in KEYS.items()}
"""Each key's default, as its field holds it."""


def _refuse_ignored(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[ConfigError]:
    """A value set for a mode that is off would be ignored: an error for each, naming the key."""
    errors = []
    for name, k in KEYS.items():
        if k.required_with and values.get(k.required_with) and not values.get(name):
            errors.append(ConfigError(name, f"is required when {k.required_with} is set"))
    for name, k in KEYS.items():
        if name not in values or values[name] == defaults[name]:
            continue
        if k.only_with and not values.get(k.only_with):
            errors.append(ConfigError(name, f"applies only when {k.only_with} is set; it would be ignored"))
        if k.only_without and values.get(k.only_without):
            errors.append(ConfigError(name, f"applies only when {k.only_without} is empty; it would be ignored"))
    return errors


def unknown_key(name: str) -> ConfigError:
    """A key the project does not declare: what replaced it, else the nearest declared key (a typo)."""
    if name in REPLACED_KEYS:
        return ConfigError(name, f"was replaced by {REPLACED_KEYS[name]}; see UPGRADING.md")
    by_case = {k.lower(): k for k in DECLARATIONS}
    near = [by_case[name.lower()]] if name.lower() in by_case else []
    near = near or difflib.get_close_matches(name, list(DECLARATIONS), n=2, cutoff=0.7)
    hint = (
        f"did you mean {' or '.join(repr(k) for k in near)}?"
        if near
        else "docs/configuration.md lists the keys (Pulumi.yaml's config block declares them)"
    )
    return ConfigError(name, f"is not a config key of this project; {hint}")


def _root(key: str) -> str:
    """The config key an error names, without the path inside its value (`nodeGroups.workers` -> `nodeGroups`)."""
    return key.split(".")[0]


def _build(
    make: Callable[..., T], section: str, fields: Mapping[str, Any], failed: set[str], errors: list[ConfigError]
) -> T | None:
    """`make(**fields)` (the settings section `section`), or None once its errors are added to `errors`.

    A section stops at its first error. To report the others with it, the field at fault is put
    back to its default and the section built again, until it builds or the error is not one of
    its fields. An error that names a key put back (or one in `failed`, whose value was refused
    already and stands at its default) follows from a default, not from the stack's config, and is
    left out: dbMaxAllocatedStorageGib checked against the default dbAllocatedStorageGib once a
    wrong one is put back."""
    field_of = {k.name: k.field for k in KEYS.values() if k.section == section}
    put_back = set(failed)
    fields = dict(fields)
    while True:
        try:
            return make(**fields)
        except ConfigError as err:
            found = each(err)
        for error in found:
            mentioned = any(re.search(rf"\b{re.escape(k)}\b", str(error)) for k in put_back)
            if _root(error.key) not in put_back and not mentioned:
                errors.append(error)
        key = _root(found[0].key)
        if key not in field_of or key in put_back:
            return None
        put_back.add(key)
        fields[field_of[key]] = DEFAULT_FIELDS[key]


def load_settings(config: Mapping[str, Any], stack: str, region: str, project_file: Path = PROJECT_FILE) -> Settings:
    """Validate a stack's resolved config (keys without the project prefix) into `Settings`; the
    project's name is read from `project_file`, the keys are those `KEYS` declares.

    Every error that does not follow from another is reported, together (`ConfigErrors`; one
    alone is raised as it is): unknown keys, values not of their type, values that would be
    ignored, and each section's checks. The checks that span sections run once the sections hold."""
    project, _ = read_declarations(project_file)
    errors = [unknown_key(name) for name in sorted(set(config) - set(DECLARATIONS))]
    values: dict[str, Any] = {}
    for name, decl in DECLARATIONS.items():
        try:
            values[name] = parse_value(name, decl, config[name]) if name in config else DEFAULT_VALUES[name]
        except ConfigError as err:
            errors.append(err)
    errors.extend(_refuse_ignored(values, DEFAULT_VALUES))
    sections: dict[str, dict[str, Any]] = {}
    for name, k in KEYS.items():
        fields = sections.setdefault(k.section, {})
        fields[k.field] = DEFAULT_FIELDS[name]
        if name in values and name not in {error.key for error in errors}:
            try:
                fields[k.field] = k.convert(name, values[name])
            except ConfigError as err:
                errors.append(err)
    # A refused value stands at its default from here: the sections' own checks still run on the others.
    failed = {_root(error.key) for error in errors}
    built: dict[str, Any] = {
        name: _build(section, name, sections[name], failed, errors)
        for name, section in (
            ("network", NetworkSettings),
            ("cluster", ClusterSettings),
            ("database", DatabaseSettings),
            ("storage", StorageSettings),
            ("load_balancer", LoadBalancerSettings),
            ("addons", AddonSettings),
            ("airflow", AirflowSettings),
            ("observability", ObservabilitySettings),
            ("teams", TeamsSettings),
        )
    }
    raise_all(errors)
    settings = _build(
        functools.partial(Settings, project=project, stack=stack, region=region, **built),
        "settings",
        sections["settings"],
        failed,
        errors,
    )
    raise_all(errors)
    assert settings is not None
    return settings
