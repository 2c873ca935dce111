"""Typed, validated settings for the whole program, loaded from a stack's config.

`load_settings` takes the stack's resolved config (what the Pulumi CLI hands the program: every
value a string), checks it against `Pulumi.yaml` (config/project.py), refuses values that would
be ignored (config/keys.py says when each key applies), and builds the frozen sections, which
check their own meaning; `Settings` adds the rules that span sections. Every error is a
`ConfigError` naming the config key and what it accepts, raised before any resource exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from config.airflow import AddonSettings, AirflowSettings, LoadBalancerSettings
from config.checks import documentation_range
from config.cluster import ClusterSettings
from config.data import DatabaseSettings, StorageSettings
from config.errors import ConfigError
from config.keys import KEYS, REPLACED_KEYS, key_of
from config.names import check_stack_name, check_tags
from config.network import NetworkSettings
from config.node_groups import check_node_group_tags
from config.observability import ObservabilitySettings
from config.project import PROJECT_FILE, parse_value, read_declarations
from lib.cluster.node_groups import NodeGroup, TaintEffect
from lib.cluster.sizing import has_shapes, node_task_capacity
from lib.cluster.versions import support_warning
from lib.images import CREDENTIAL_ARN, PULL_THROUGH_CACHE
from lib.network.zones import is_zone_id_of, zone_id_prefix
from lib.quantities import cpu_millicores, memory_mebibytes
from policy.airflow_eks_guardrails.declaration import waiver_problem

REQUIRED_NODE_GROUPS = ("system", "airflow", "workers")
MIN_PROTECTED_BACKUP_DAYS = 7
MIRROR = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._-]+)*")


@dataclass(frozen=True)
class Settings:
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
    node_groups: tuple[NodeGroup, ...]
    protect: bool = True
    hibernate: bool = False
    """Node groups at zero and the database stopped (`hibernate`)."""
    pull_through_cache_credential_arn: str = ""
    """Docker Hub credential of the ECR pull-through cache; empty: no cache."""
    image_mirrors: Mapping[str, str] = field(default_factory=dict)
    """Upstream registry -> mirror prefix (without the cache)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    production: bool = True
    """The stack declares itself production to the policy pack (`policy/airflow_eks_guardrails/declaration.py`)."""
    policy_waivers: Mapping[str, str] = field(default_factory=dict)
    """Policy of the pack -> why this stack opts out of it."""

    @property
    def name(self) -> str:
        """Base name of every resource, unique per stack (`airflow-dev`)."""
        return f"airflow-{self.stack}"

    def node_group(self, name: str) -> NodeGroup:
        return next(g for g in self.node_groups if g.name == name)

    def __post_init__(self) -> None:
        check_stack_name(self.stack)
        try:
            prefix = zone_id_prefix(self.region)
        except ValueError as err:
            raise ConfigError("aws:region", str(err)) from None
        for zone_id in self.network.availability_zone_ids:
            if not is_zone_id_of(self.region, zone_id):
                raise ConfigError(
                    key_of("network", "availability_zone_ids"),
                    f"'{zone_id}' is not a zone ID of region {self.region} ({prefix}-az1, ...)",
                )
        self._check_node_groups()
        if self.network.existing and not self.load_balancer.allowed_cidrs:
            # The default source is the VPC's CIDR, which the program knows only for a VPC it creates.
            raise ConfigError(
                key_of("load_balancer", "allowed_cidrs"),
                "is required with existingVpcId; list the CIDRs allowed to reach the Airflow UI",
            )
        backups = self.database.backup_retention_days
        if self.protect and not self.database.existing and backups < MIN_PROTECTED_BACKUP_DAYS:
            raise ConfigError(
                key_of("database", "backup_retention_days"),
                f"{backups} is below {MIN_PROTECTED_BACKUP_DAYS} while protectStatefulResources is true",
            )
        self._check_images()
        self._check_task_capacity()
        check_tags(self.tags, self.policy_waivers)
        extra_tags = len(self.tags) + len(self.policy_waivers)
        check_node_group_tags(key_of("settings", "node_groups"), self.node_groups, extra_tags)
        for policy, reason in self.policy_waivers.items():
            problem = waiver_problem(policy, reason)
            if problem:
                raise ConfigError(f"{key_of('settings', 'policy_waivers')}.{policy}", problem)

    @property
    def task_capacity(self) -> int:
        """Tasks the stack runs at once: the worker group's capacity (`make cost`'s "nodes" line,
        lib.cluster.sizing.node_task_capacity), or `airflowParallelism` when set and lower. Airflow enforces
        it: `default_pool`'s slots and each scheduler's [core] parallelism (lib.airflow.values)."""
        cap = self.airflow.parallelism
        workers = self.node_group("workers")
        if not has_shapes(workers.instance_types):
            return cap
        cpu, memory = self.airflow.task_pod_requests
        types, size = workers.instance_types, workers.max_size
        nodes = node_task_capacity(types, size, cpu_millicores(cpu), memory_mebibytes(memory))
        return min(nodes, cap) if cap else nodes

    def _check_task_capacity(self) -> None:
        workers = self.node_group("workers")
        if not self.airflow.parallelism and not has_shapes(workers.instance_types):
            raise ConfigError(
                key_of("airflow", "parallelism"),
                f"is required: the program sizes Airflow's pool from the worker group's instance types, and "
                f"{list(workers.instance_types)} are not all in sizing/instance-types.json; set it to the stack's "
                "task capacity (1 to 5000) or add the types' shapes there",
            )
        try:
            cpu, memory = self.airflow.task_pod_requests
            cpu_millicores(cpu), memory_mebibytes(memory)
        except ValueError as err:
            key = f"{key_of('airflow', 'values')}.workers.kubernetes.resources.requests"
            raise ConfigError(key, str(err)) from None

    def _check_images(self) -> None:
        arn = self.pull_through_cache_credential_arn
        if arn and not CREDENTIAL_ARN.match(arn):
            raise ConfigError(
                key_of("settings", "pull_through_cache_credential_arn"),
                f"'{arn}' is not the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/ "
                "(ECR requires that prefix)",
            )
        for registry, mirror in self.image_mirrors.items():
            if registry not in PULL_THROUGH_CACHE or not MIRROR.fullmatch(mirror):
                raise ConfigError(
                    f"{key_of('settings', 'image_mirrors')}.{registry}",
                    f"'{mirror}' for '{registry}': registries accepted: {', '.join(PULL_THROUGH_CACHE)}; a mirror is "
                    "a host and optional path without a scheme, such as registry.example.com/dockerhub",
                )

    def _check_node_groups(self) -> None:
        key = key_of("settings", "node_groups")
        missing = [n for n in REQUIRED_NODE_GROUPS if n not in {g.name for g in self.node_groups}]
        if missing:
            raise ConfigError(key, f"lacks {missing}; required groups: {', '.join(REQUIRED_NODE_GROUPS)}")
        if not any(t.effect is not TaintEffect.PREFER_NO_SCHEDULE for t in self.node_group("workers").taints):
            raise ConfigError(
                f"{key}.workers.taints",
                "needs a NO_SCHEDULE or NO_EXECUTE taint so that only task pods land on the workers group",
            )

    def warnings(self, today: date) -> list[str]:
        """What is accepted but would not work as it stands, or soon costs more, on `today` (UTC): shown
        by `pulumi preview` and the plan."""
        support = support_warning(self.cluster.kubernetes_version, self.cluster.upgrade_policy, today)
        hibernation = [
            f"hibernate: the database at {key_of('database', 'existing_host')} is not this stack's; it keeps "
            "running (only the node groups go to zero)"
        ]
        return (
            (hibernation if self.hibernate and self.database.existing else [])
            + [
                f"{key_of('cluster', 'public_access_cidrs')}: {cidr} is a documentation range that no machine connects "
                "from; set the egress CIDR of the machine that runs `pulumi up`, or it cannot reach the Kubernetes API "
                "(docs/operations.md, Deploying for real)"
                for cidr in self.cluster.public_access_cidrs
                if documentation_range(cidr)
            ]
            + ([support] if support else [])
        )


def _refuse_ignored(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """A value set for a mode that is off would be ignored: refuse it, naming the key."""
    for name, key in KEYS.items():
        if key.required_with and values[key.required_with] and not values[name]:
            raise ConfigError(name, f"is required when {key.required_with} is set")
    for name, key in KEYS.items():
        if values[name] == defaults[name]:
            continue
        if key.only_with and not values[key.only_with]:
            raise ConfigError(name, f"applies only when {key.only_with} is set; it would be ignored")
        if key.only_without and values[key.only_without]:
            raise ConfigError(name, f"applies only when {key.only_without} is empty; it would be ignored")


def load_settings(config: Mapping[str, Any], stack: str, region: str, project_file: Path = PROJECT_FILE) -> Settings:
    """Validate a stack's resolved config (keys without the project prefix) into `Settings`."""
    project, decls = read_declarations(project_file)
    unknown = sorted(set(config) - set(decls))
    for old in unknown:
        if old in REPLACED_KEYS:
            raise ConfigError(old, f"was replaced by {REPLACED_KEYS[old]}; see UPGRADING.md")
    if unknown:
        raise ConfigError(unknown[0], f"is not a config key of this project; known keys: {', '.join(sorted(decls))}")
    values: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, decl in decls.items():
        if name not in config and not decl.has_default:
            raise ConfigError(name, "is required; set it in the stack's config file")
        defaults[name] = parse_value(name, decl, decl.default) if decl.has_default else None
        values[name] = parse_value(name, decl, config[name]) if name in config else defaults[name]
    _refuse_ignored(values, defaults)
    sections: dict[str, dict[str, Any]] = {}
    for name, key in KEYS.items():
        sections.setdefault(key.section, {})[key.field] = key.convert(name, values[name])
    return Settings(
        project=project,
        stack=stack,
        region=region,
        network=NetworkSettings(**sections["network"]),
        cluster=ClusterSettings(**sections["cluster"]),
        database=DatabaseSettings(**sections["database"]),
        storage=StorageSettings(**sections["storage"]),
        load_balancer=LoadBalancerSettings(**sections["load_balancer"]),
        addons=AddonSettings(**sections["addons"]),
        airflow=AirflowSettings(**sections["airflow"]),
        observability=ObservabilitySettings(**sections["observability"]),
        **sections["settings"],
    )
