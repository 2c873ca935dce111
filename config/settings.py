"""Typed, validated settings for the whole program.

`Pulumi.yaml` declares every config key (name, type, default). `load_settings` takes the
stack's resolved config (what the Pulumi CLI hands the program: project defaults overlaid
with the stack file, every value a string), rejects unknown keys and wrong types, and builds
frozen dataclasses that check their own meaning in `__post_init__`. Every error is a
`ConfigError` naming the config key and what it accepts, raised before any resource exists.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import yaml

from lib.eks_addons import ADDON_NAMES as EKS_ADDON_NAMES
from lib.eks_addons import VERSION_PATTERN as EKS_ADDON_VERSION
from lib.git_sync import SSH_SECRET_KEYS, is_ssh
from lib.naming import access_entry_key
from lib.postgres import instance_memory_gib
from lib.zones import EKS_UNSUPPORTED_ZONE_IDS, MAX_ZONES, is_zone_id_of, zone_id_prefix

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"

SUPPORTED_KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34")
SUPPORTED_POSTGRES_MAJORS = (13, 14, 15, 16, 17)
EFS_TRANSITION_DAYS = (1, 7, 14, 30, 60, 90, 180, 270, 365)
REQUIRED_NODE_GROUPS = ("system", "airflow", "workers")
REPLACED_KEYS = {
    "availabilityZones": "availabilityZoneIds: zone IDs such as use1-az1, the same physical zones in every account",
}
NODE_GROUP_FIELDS = frozenset(
    {"instanceTypes", "capacityType", "minSize", "desiredSize", "maxSize", "diskSizeGib", "labels", "taints"}
)


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; `key` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key '{key}': {message}")
        self.key = key


class NatGatewayMode(StrEnum):
    SINGLE = "single"
    PER_AZ = "perAz"


class CapacityType(StrEnum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NO_SCHEDULE"
    NO_EXECUTE = "NO_EXECUTE"
    PREFER_NO_SCHEDULE = "PREFER_NO_SCHEDULE"

    @property
    def kubernetes(self) -> str:
        """The effect as Kubernetes spells it in a toleration (`NoSchedule`, ...)."""
        return "".join(part.capitalize() for part in self.value.split("_"))


class ResourceProfile(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


def _choices(enum: type[Enum]) -> str:
    return ", ".join(str(m.value) for m in enum)


def _enum(key: str, enum: type[Enum], value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ConfigError(key, f"'{value}' is not one of: {_choices(enum)}") from None


def _private_cidr(key: str, value: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ConfigError(key, f"'{value}' is not an IPv4 CIDR such as 10.0.0.0/16") from None
    if not net.is_private:
        raise ConfigError(key, f"'{value}' is not a private (RFC 1918) range")
    return net


def _source_cidrs(key: str, values: tuple[str, ...]) -> None:
    """CIDRs that may reach an endpoint: valid, and never the whole internet."""
    for value in values:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ConfigError(key, f"'{value}' is not a CIDR such as 203.0.113.0/24") from None
        if net.prefixlen == 0:
            raise ConfigError(key, f"'{value}' opens the endpoint to the whole internet; list narrower CIDRs")


_ID_PATTERNS = {
    "vpc": re.compile(r"^vpc-[0-9a-f]{8,17}$"),
    "subnet": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    "sg": re.compile(r"^sg-[0-9a-f]{8,17}$"),
}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_BACKUP_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
"""RFC 5737 and 3849 ranges: examples that no machine's traffic comes from."""


def _is_arm(instance_type: str) -> bool:
    """Graviton families: a1, and a digit then `g` (m6g, c7gn, t4g, r8gd)."""
    family = instance_type.split(".")[0]
    return family == "a1" or re.match(r"^[a-z]+\d+g", family) is not None


def _ids(key: str, kind: str, values: tuple[str, ...]) -> None:
    for value in values:
        if not _ID_PATTERNS[kind].match(value):
            raise ConfigError(key, f"'{value}' is not a {kind} ID ({kind}-0123456789abcdef0)")


def _range(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(key, f"{value} is outside the accepted range {low} to {high}")


# --------------------------------------------------------------------------- network


@dataclass(frozen=True)
class ExistingVpc:
    """A VPC and subnets the program uses instead of creating them."""

    vpc_id: str
    node_subnet_ids: tuple[str, ...]
    data_subnet_ids: tuple[str, ...]
    public_subnet_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _ids("existingVpcId", "vpc", (self.vpc_id,))
        _ids("existingNodeSubnetIds", "subnet", self.node_subnet_ids)
        _ids("existingDataSubnetIds", "subnet", self.data_subnet_ids)
        _ids("existingPublicSubnetIds", "subnet", self.public_subnet_ids)


@dataclass(frozen=True)
class NetworkSettings:
    availability_zone_ids: tuple[str, ...] = ()
    """Zone IDs (`use1-az1`), in order; empty: three available zones that EKS supports."""
    vpc_cidr: str = "10.0.0.0/16"
    nat_gateways: NatGatewayMode = NatGatewayMode.PER_AZ
    existing: ExistingVpc | None = None

    def __post_init__(self) -> None:
        azs = self.availability_zone_ids
        if azs and not 2 <= len(azs) <= MAX_ZONES:
            raise ConfigError("availabilityZoneIds", f"lists {len(azs)} zones; accepted: 2 or 3 (3 for HA)")
        if len(set(azs)) != len(azs):
            raise ConfigError("availabilityZoneIds", f"{list(azs)} repeats a zone")
        unsupported = sorted(set(azs) & EKS_UNSUPPORTED_ZONE_IDS)
        if unsupported:
            raise ConfigError(
                "availabilityZoneIds",
                f"{unsupported} cannot hold EKS cluster subnets; "
                f"EKS refuses {', '.join(sorted(EKS_UNSUPPORTED_ZONE_IDS))}",
            )
        net = _private_cidr("vpcCidr", self.vpc_cidr)
        if not 16 <= net.prefixlen <= 20:
            raise ConfigError("vpcCidr", f"'{self.vpc_cidr}' must have a prefix from /16 to /20 to fit 3 subnet tiers")
        if self.existing is not None:
            if not azs:
                raise ConfigError(
                    "availabilityZoneIds", "is required with existingVpcId: list the zone IDs of the given subnets"
                )
            for key, ids in (
                ("existingNodeSubnetIds", self.existing.node_subnet_ids),
                ("existingDataSubnetIds", self.existing.data_subnet_ids),
            ):
                if len(ids) != len(azs):
                    raise ConfigError(
                        key, f"lists {len(ids)} subnets; accepted: one per availability zone ({len(azs)})"
                    )
            public = self.existing.public_subnet_ids
            if public and len(public) != len(azs):
                raise ConfigError(
                    "existingPublicSubnetIds",
                    f"lists {len(public)} subnets; accepted: none or one per zone ({len(azs)})",
                )


# --------------------------------------------------------------------------- cluster


@dataclass(frozen=True)
class ClusterSettings:
    kubernetes_version: str = "1.33"
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()
    private_access_cidrs: tuple[str, ...] = ()
    admin_role_arns: tuple[str, ...] = ()
    node_ami_release_version: str = ""
    """EKS AMI release of every node group (`1.33.0-20250610`); empty: the newest at creation."""

    def __post_init__(self) -> None:
        if self.kubernetes_version not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ConfigError(
                "kubernetesVersion",
                f"'{self.kubernetes_version}' is not one of: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}",
            )
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ConfigError(
                "clusterPublicAccessCidrs", "is empty while clusterEndpointPublicAccess is true; list the CIDRs allowed"
            )
        if not self.endpoint_public_access and self.public_access_cidrs:
            raise ConfigError(
                "clusterPublicAccessCidrs", "is set while clusterEndpointPublicAccess is false; it would be ignored"
            )
        _source_cidrs("clusterPublicAccessCidrs", self.public_access_cidrs)
        _source_cidrs("clusterPrivateAccessCidrs", self.private_access_cidrs)
        for cidr in self.private_access_cidrs:
            if not ipaddress.ip_network(cidr).is_private:
                raise ConfigError(
                    "clusterPrivateAccessCidrs", f"'{cidr}' is not a private range; use clusterPublicAccessCidrs"
                )
        if not self.endpoint_public_access and not self.private_access_cidrs:
            # The machine running `pulumi up` creates Kubernetes objects right after the cluster:
            # with a private endpoint and nothing admitted to it, it could never reach the API.
            raise ConfigError(
                "clusterPrivateAccessCidrs",
                "is empty while clusterEndpointPublicAccess is false, so nothing could reach the Kubernetes API, "
                "not even `pulumi up`; list the network it runs from (VPN, bastion, CI runners routed to the VPC), "
                "or set clusterEndpointPublicAccess to true with clusterPublicAccessCidrs set to its egress CIDR",
            )
        for arn in self.admin_role_arns:
            if not _ROLE_ARN.match(arn):
                raise ConfigError(
                    "clusterAdminRoleArns", f"'{arn}' is not an IAM role ARN (arn:aws:iam::123456789012:role/name)"
                )
        keys = [access_entry_key(arn) for arn in self.admin_role_arns]
        if len(set(keys)) != len(keys):
            raise ConfigError("clusterAdminRoleArns", f"{list(self.admin_role_arns)} lists a role twice")
        release = self.node_ami_release_version
        if release and not re.match(rf"^{re.escape(self.kubernetes_version)}\.\d+-\d{{8}}$", release):
            raise ConfigError(
                "nodeAmiReleaseVersion",
                f"'{release}' is not an EKS AMI release of Kubernetes {self.kubernetes_version} "
                f"({self.kubernetes_version}.0-20250610, say); empty takes the newest when a node group is created",
            )


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: TaintEffect


@dataclass(frozen=True)
class NodeGroupSettings:
    """One managed node group; `name` is its key in the `nodeGroups` map."""

    name: str
    instance_types: tuple[str, ...]
    min_size: int
    desired_size: int
    max_size: int
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    disk_size_gib: int = 50
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()

    @property
    def ami_type(self) -> str:
        """Amazon Linux 2023 for the instance types' architecture (checked to be one)."""
        return "AL2023_ARM_64_STANDARD" if _is_arm(self.instance_types[0]) else "AL2023_x86_64_STANDARD"

    def __post_init__(self) -> None:
        key = f"nodeGroups.{self.name}"
        if not re.match(r"^[a-z][a-z0-9-]{0,19}$", self.name):
            raise ConfigError(key, "a node group name is 1 to 20 lowercase letters, digits or '-'")
        if not self.instance_types:
            raise ConfigError(f"{key}.instanceTypes", "is empty; list at least one EC2 instance type")
        for itype in self.instance_types:
            if not _INSTANCE_TYPE.match(itype):
                raise ConfigError(f"{key}.instanceTypes", f"'{itype}' is not an EC2 instance type such as m6i.large")
        if len({_is_arm(t) for t in self.instance_types}) > 1:
            raise ConfigError(
                f"{key}.instanceTypes", f"{list(self.instance_types)} mixes Graviton (arm64) and x86_64 types; use one"
            )
        _range(f"{key}.minSize", self.min_size, 0, 1000)
        _range(f"{key}.maxSize", self.max_size, 1, 1000)
        if self.min_size > self.max_size:
            raise ConfigError(f"{key}.minSize", f"{self.min_size} is greater than maxSize {self.max_size}")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ConfigError(
                f"{key}.desiredSize",
                f"{self.desired_size} is outside minSize..maxSize ({self.min_size}..{self.max_size})",
            )
        _range(f"{key}.diskSizeGib", self.disk_size_gib, 20, 16384)
        for lkey, lvalue in self.labels.items():
            if not _LABEL_KEY.match(lkey) or not _LABEL_VALUE.match(lvalue):
                raise ConfigError(f"{key}.labels", f"'{lkey}: {lvalue}' is not a valid Kubernetes label")
        for taint in self.taints:
            if not _LABEL_KEY.match(taint.key) or not _LABEL_VALUE.match(taint.value):
                raise ConfigError(f"{key}.taints", f"'{taint.key}={taint.value}' is not a valid taint key and value")


# --------------------------------------------------------------------------- data tier


@dataclass(frozen=True)
class ExistingDatabase:
    """A PostgreSQL server the program uses instead of creating one."""

    host: str
    port: int = 5432
    security_group_id: str = ""

    def __post_init__(self) -> None:
        if not re.match(r"^[A-Za-z0-9.-]+$", self.host):
            raise ConfigError("existingDbHost", f"'{self.host}' is not a host name")
        _range("existingDbPort", self.port, 1, 65535)
        if self.security_group_id:
            _ids("existingDbSecurityGroupId", "sg", (self.security_group_id,))


@dataclass(frozen=True)
class DatabaseSettings:
    instance_class: str = "db.r6g.large"
    engine_version: str = "16"
    allocated_storage_gib: int = 50
    max_allocated_storage_gib: int = 500
    multi_az: bool = True
    backup_retention_days: int = 14
    backup_window: str = "02:00-03:00"
    maintenance_window: str = "sun:04:00-sun:05:00"
    performance_insights: bool = True
    final_snapshot: bool = True
    retain_automated_backups: bool = True
    slow_statement_ms: int = 1000
    db_name: str = "airflow"
    username: str = "airflow"
    existing: ExistingDatabase | None = None

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])

    def __post_init__(self) -> None:
        if not _DB_INSTANCE_CLASS.match(self.instance_class):
            raise ConfigError("dbInstanceClass", f"'{self.instance_class}' is not an RDS class such as db.r6g.large")
        if self.existing is None:
            try:  # PgBouncer pools are sized from the class's memory: it must be a known one
                instance_memory_gib(self.instance_class)
            except ValueError as err:
                raise ConfigError("dbInstanceClass", str(err).split(": ", 1)[1]) from None
        if not re.match(r"^\d+(\.\d+)?$", self.engine_version) or self.engine_major not in SUPPORTED_POSTGRES_MAJORS:
            raise ConfigError(
                "dbEngineVersion",
                f"'{self.engine_version}' is not a PostgreSQL version with major {SUPPORTED_POSTGRES_MAJORS}",
            )
        _range("dbAllocatedStorageGib", self.allocated_storage_gib, 20, 65536)
        # RDS storage autoscaling wants the ceiling at least 10% above the allocated storage.
        if self.max_allocated_storage_gib * 10 < self.allocated_storage_gib * 11:
            raise ConfigError(
                "dbMaxAllocatedStorageGib",
                f"{self.max_allocated_storage_gib} is not at least 10% above dbAllocatedStorageGib "
                f"{self.allocated_storage_gib}",
            )
        _range("dbMaxAllocatedStorageGib", self.max_allocated_storage_gib, 20, 65536)
        _range("dbBackupRetentionDays", self.backup_retention_days, 1, 35)
        if not _BACKUP_WINDOW.match(self.backup_window):
            raise ConfigError("dbBackupWindow", f"'{self.backup_window}' is not hh:mm-hh:mm (UTC)")
        if not _MAINTENANCE_WINDOW.match(self.maintenance_window):
            raise ConfigError("dbMaintenanceWindow", f"'{self.maintenance_window}' is not ddd:hh:mm-ddd:hh:mm (UTC)")
        _range("dbSlowStatementMs", self.slow_statement_ms, -1, 3_600_000)
        if not _IDENTIFIER.match(self.db_name):
            raise ConfigError("dbName", f"'{self.db_name}' is not a lowercase identifier")
        if not _IDENTIFIER.match(self.username) or self.username in ("admin", "postgres", "rdsadmin"):
            raise ConfigError("dbUsername", f"'{self.username}' is reserved or not a lowercase identifier")


@dataclass(frozen=True)
class StorageSettings:
    transition_to_ia_days: int = 30
    backups: bool = True

    def __post_init__(self) -> None:
        if self.transition_to_ia_days not in EFS_TRANSITION_DAYS:
            raise ConfigError(
                "efsTransitionToIaDays",
                f"{self.transition_to_ia_days} is not one of: {', '.join(map(str, EFS_TRANSITION_DAYS))}",
            )


# --------------------------------------------------------------------------- airflow tier


@dataclass(frozen=True)
class LoadBalancerSettings:
    allowed_cidrs: tuple[str, ...] = ()
    certificate_arn: str = ""

    def __post_init__(self) -> None:
        _source_cidrs("nlbAllowedCidrs", self.allowed_cidrs)
        if self.certificate_arn and not _ACM_ARN.match(self.certificate_arn):
            raise ConfigError("nlbCertificateArn", f"'{self.certificate_arn}' is not an ACM certificate ARN")


@dataclass(frozen=True)
class AddonSettings:
    load_balancer_controller_values: Mapping[str, Any] = field(default_factory=dict)
    cluster_autoscaler_values: Mapping[str, Any] = field(default_factory=dict)
    eks_addon_versions: Mapping[str, str] = field(default_factory=dict)
    """EKS add-on name -> version, over the versions pinned for the Kubernetes version."""

    def __post_init__(self) -> None:
        for name, version in self.eks_addon_versions.items():
            key = f"eksAddonVersions.{name}"
            if name not in EKS_ADDON_NAMES:
                raise ConfigError(key, f"is not an add-on this program manages; accepted: {', '.join(EKS_ADDON_NAMES)}")
            if not EKS_ADDON_VERSION.match(version):
                raise ConfigError(key, f"'{version}' is not an EKS add-on version such as v1.21.1-eksbuild.7")


@dataclass(frozen=True)
class GitSync:
    repo: str
    branch: str = "main"
    sub_path: str = "dags"
    credentials_secret: str = ""

    def __post_init__(self) -> None:
        if not re.match(r"^(https://|ssh://|git@)\S+$", self.repo):
            raise ConfigError("gitSyncRepo", f"'{self.repo}' is not an https://, ssh:// or git@ repository URL")
        if not self.branch:
            raise ConfigError("gitSyncBranch", "is empty")
        if any(part in ("", ".", "..") for part in self.sub_path.split("/")) and self.sub_path:
            raise ConfigError("gitSyncSubPath", f"'{self.sub_path}' is not a folder of the repository such as dags")
        if self.credentials_secret and not _K8S_NAME.match(self.credentials_secret):
            raise ConfigError(
                "gitSyncCredentialsSecret", f"'{self.credentials_secret}' is not a Kubernetes Secret name"
            )
        if is_ssh(self.repo) and not self.credentials_secret:
            raise ConfigError(
                "gitSyncCredentialsSecret",
                f"is required for the ssh URL {self.repo}: a Secret holding {' and '.join(SSH_SECRET_KEYS)}",
            )


@dataclass(frozen=True)
class AirflowSettings:
    chart_version: str = "1.18.0"
    airflow_version: str = "3.0.2"
    scheduler_replicas: int = 2
    api_server_replicas: int = 2
    triggerer_replicas: int = 2
    dag_processor_replicas: int = 2
    pgbouncer_replicas: int = 2
    resource_profile: ResourceProfile = ResourceProfile.LARGE
    create_admin_user: bool = True
    git_sync: GitSync | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _SEMVER.match(self.chart_version):
            raise ConfigError("airflowChartVersion", f"'{self.chart_version}' is not a chart version such as 1.18.0")
        if not _SEMVER.match(self.airflow_version) or not self.airflow_version.startswith("3."):
            raise ConfigError("airflowVersion", f"'{self.airflow_version}' is not an Airflow 3 version such as 3.0.2")
        for key, value in (
            ("airflowSchedulerReplicas", self.scheduler_replicas),
            ("airflowApiServerReplicas", self.api_server_replicas),
            ("airflowTriggererReplicas", self.triggerer_replicas),
            ("airflowDagProcessorReplicas", self.dag_processor_replicas),
            ("airflowPgbouncerReplicas", self.pgbouncer_replicas),
        ):
            _range(key, value, 1, 10)


# --------------------------------------------------------------------------- whole program


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    region: str
    network: NetworkSettings
    cluster: ClusterSettings
    node_groups: tuple[NodeGroupSettings, ...]
    database: DatabaseSettings
    storage: StorageSettings
    load_balancer: LoadBalancerSettings
    addons: AddonSettings
    airflow: AirflowSettings
    protect: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Base name of every resource, unique per stack (`airflow-dev`)."""
        return f"airflow-{self.stack}"

    def node_group(self, name: str) -> NodeGroupSettings:
        return next(g for g in self.node_groups if g.name == name)

    def __post_init__(self) -> None:
        if not re.match(r"^[a-z][a-z0-9-]{0,19}$", self.stack):
            raise ConfigError("stack", f"'{self.stack}' must be 1 to 20 lowercase letters, digits or '-'")
        try:
            zone_id_prefix(self.region)
        except ValueError as err:
            raise ConfigError("aws:region", str(err)) from None
        for zone_id in self.network.availability_zone_ids:
            if not is_zone_id_of(self.region, zone_id):
                raise ConfigError(
                    "availabilityZoneIds",
                    f"'{zone_id}' is not a zone ID of region {self.region} ({zone_id_prefix(self.region)}-az1, ...)",
                )
        names = [g.name for g in self.node_groups]
        missing = [n for n in REQUIRED_NODE_GROUPS if n not in names]
        if missing:
            raise ConfigError("nodeGroups", f"lacks {missing}; required groups: {', '.join(REQUIRED_NODE_GROUPS)}")
        if not any(t.effect is not TaintEffect.PREFER_NO_SCHEDULE for t in self.node_group("workers").taints):
            raise ConfigError(
                "nodeGroups.workers.taints",
                "needs a NO_SCHEDULE or NO_EXECUTE taint so that only task pods land on the workers group",
            )
        if self.network.existing is not None and not self.load_balancer.allowed_cidrs:
            # The default source is the VPC's CIDR, which the program knows only for a VPC it creates.
            raise ConfigError(
                "nlbAllowedCidrs", "is required with existingVpcId; list the CIDRs allowed to reach the Airflow UI"
            )
        if self.protect and self.database.existing is None and self.database.backup_retention_days < 7:
            raise ConfigError(
                "dbBackupRetentionDays",
                f"{self.database.backup_retention_days} is below 7 while protectStatefulResources is true",
            )
        for key, value in self.tags.items():
            if not key or len(key) > 128 or len(value) > 256 or key.lower().startswith("aws:"):
                raise ConfigError("tags", f"'{key}: {value}' is not a valid AWS tag (key 1-128 chars, not 'aws:')")

    def warnings(self) -> list[str]:
        """What is accepted but would not work as it stands (shown by `pulumi preview` and the plan)."""
        found = []
        for cidr in self.cluster.public_access_cidrs:
            net = ipaddress.ip_network(cidr)
            if any(net.version == doc.version and net.subnet_of(doc) for doc in DOCUMENTATION_RANGES):  # type: ignore[arg-type]
                found.append(
                    f"clusterPublicAccessCidrs: {cidr} is a documentation range that no machine connects from; "
                    "set the egress CIDR of the machine that runs `pulumi up`, or it cannot reach the Kubernetes API "
                    "(README, Deploying for real)"
                )
        return found


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Declaration:
    """One key of `Pulumi.yaml`: its type (None for object keys) and default."""

    type: str | None
    default: Any
    has_default: bool
    items: str | None = None


def read_declarations(project_file: Path = PROJECT_FILE) -> tuple[str, dict[str, Declaration]]:
    """Project name and declared config keys of `Pulumi.yaml`."""
    doc = yaml.safe_load(project_file.read_text())
    decls: dict[str, Declaration] = {}
    for key, spec in (doc.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec:
            decls[key] = Declaration(None, spec["value"], True)
        else:
            decls[key] = Declaration(
                spec["type"], spec.get("default"), "default" in spec, (spec.get("items") or {}).get("type")
            )
    return doc["name"], decls


def _parse(key: str, decl: Declaration, raw: Any) -> Any:
    """Turn a config value (a string from the engine, or a default) into its declared type."""
    kind = decl.type or "object"
    value = raw
    if isinstance(raw, str) and kind != "string":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(key, f"'{raw}' is not a valid {kind}") from None
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "object": isinstance(value, dict),
    }[kind]
    if not ok:
        expected = "a list of strings" if kind == "array" else f"a {kind}"
        raise ConfigError(key, f"{json.dumps(value)} is not {expected}")
    return value


def _strict_map(key: str, value: Any, fields: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"{json.dumps(value)} is not an object")
    unknown = sorted(set(value) - fields)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"is not a known field; accepted: {', '.join(sorted(fields))}")
    return value


def _typed(key: str, value: Any, kind: type, label: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(key, f"{json.dumps(value)} is not {label}")
    return value


def _str_map(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(key, f"{json.dumps(value)} is not a map of strings to strings")
    return dict(value)


def _node_group(name: str, spec: Any) -> NodeGroupSettings:
    key = f"nodeGroups.{name}"
    spec = _strict_map(key, spec, NODE_GROUP_FIELDS)
    for required in ("instanceTypes", "minSize", "desiredSize", "maxSize"):
        if required not in spec:
            raise ConfigError(f"{key}.{required}", "is required")
    types = _typed(f"{key}.instanceTypes", spec["instanceTypes"], list, "a list of instance types")
    taints = []
    for i, taint in enumerate(_typed(f"{key}.taints", spec.get("taints", []), list, "a list of taints")):
        tkey = f"{key}.taints[{i}]"
        taint = _strict_map(tkey, taint, frozenset({"key", "value", "effect"}))
        taints.append(
            Taint(
                key=_typed(f"{tkey}.key", taint.get("key"), str, "a string"),
                value=_typed(f"{tkey}.value", taint.get("value", ""), str, "a string"),
                effect=_enum(f"{tkey}.effect", TaintEffect, taint.get("effect")),
            )
        )
    return NodeGroupSettings(
        name=name,
        instance_types=tuple(_typed(f"{key}.instanceTypes", t, str, "an instance type") for t in types),
        capacity_type=_enum(f"{key}.capacityType", CapacityType, spec.get("capacityType", "ON_DEMAND")),
        min_size=_typed(f"{key}.minSize", spec["minSize"], int, "an integer"),
        desired_size=_typed(f"{key}.desiredSize", spec["desiredSize"], int, "an integer"),
        max_size=_typed(f"{key}.maxSize", spec["maxSize"], int, "an integer"),
        disk_size_gib=_typed(f"{key}.diskSizeGib", spec.get("diskSizeGib", 50), int, "an integer"),
        labels=_str_map(f"{key}.labels", spec.get("labels", {})),
        taints=tuple(taints),
    )


def load_settings(config: Mapping[str, Any], stack: str, region: str, project_file: Path = PROJECT_FILE) -> Settings:
    """Validate a stack's resolved config (keys without the project prefix) into `Settings`.

    Values given by the stack that differ from a default but apply only to a mode that is
    off (say `natGateways` with an existing VPC) are errors, never silently ignored.
    """
    project, decls = read_declarations(project_file)
    unknown = sorted(set(config) - set(decls))
    for key in unknown:
        if key in REPLACED_KEYS:
            raise ConfigError(key, f"was replaced by {REPLACED_KEYS[key]}; see UPGRADING.md")
    if unknown:
        raise ConfigError(unknown[0], f"is not a config key of this project; known keys: {', '.join(sorted(decls))}")
    values: dict[str, Any] = {}
    for key, decl in decls.items():
        if key in config:
            values[key] = _parse(key, decl, config[key])
        elif decl.has_default:
            values[key] = _parse(key, decl, decl.default)
        else:
            raise ConfigError(key, "is required; set it in the stack's config file")

    def changed(*keys: str) -> list[str]:
        return [k for k in keys if values[k] != _parse(k, decls[k], decls[k].default)]

    def refuse_ignored(switch: str, keys: list[str]) -> None:
        if keys:
            raise ConfigError(keys[0], f"applies only when {switch} is set; it would be ignored")

    existing_vpc: ExistingVpc | None = None
    if values["existingVpcId"]:
        set_create_only = changed("vpcCidr", "natGateways")
        if set_create_only:
            raise ConfigError(
                set_create_only[0], "applies only when the program creates the VPC (existingVpcId is set)"
            )
        existing_vpc = ExistingVpc(
            vpc_id=values["existingVpcId"],
            node_subnet_ids=tuple(values["existingNodeSubnetIds"]),
            data_subnet_ids=tuple(values["existingDataSubnetIds"]),
            public_subnet_ids=tuple(values["existingPublicSubnetIds"]),
        )
    else:
        refuse_ignored(
            "existingVpcId", changed("existingNodeSubnetIds", "existingDataSubnetIds", "existingPublicSubnetIds")
        )

    existing_db: ExistingDatabase | None = None
    if values["existingDbHost"]:
        set_create_only = changed(
            "dbInstanceClass",
            "dbEngineVersion",
            "dbAllocatedStorageGib",
            "dbMaxAllocatedStorageGib",
            "dbMultiAz",
            "dbBackupRetentionDays",
            "dbBackupWindow",
            "dbMaintenanceWindow",
            "dbPerformanceInsights",
            "dbFinalSnapshot",
            "dbRetainAutomatedBackups",
            "dbSlowStatementMs",
        )
        if not values["existingDbPassword"]:
            raise ConfigError("existingDbPassword", "is required with existingDbHost; set it with --secret")
        if set_create_only:
            raise ConfigError(
                set_create_only[0], "applies only when the program creates the database (existingDbHost is set)"
            )
        existing_db = ExistingDatabase(
            host=values["existingDbHost"],
            port=values["existingDbPort"],
            security_group_id=values["existingDbSecurityGroupId"],
        )
    else:
        refuse_ignored("existingDbHost", changed("existingDbPort", "existingDbSecurityGroupId", "existingDbPassword"))

    git_sync: GitSync | None = None
    if values["gitSyncRepo"]:
        git_sync = GitSync(
            repo=values["gitSyncRepo"],
            branch=values["gitSyncBranch"],
            sub_path=values["gitSyncSubPath"],
            credentials_secret=values["gitSyncCredentialsSecret"],
        )
    else:
        refuse_ignored("gitSyncRepo", changed("gitSyncBranch", "gitSyncSubPath", "gitSyncCredentialsSecret"))

    node_groups_raw = values["nodeGroups"]
    if not node_groups_raw:
        raise ConfigError("nodeGroups", "is empty; required groups: " + ", ".join(REQUIRED_NODE_GROUPS))

    return Settings(
        project=project,
        stack=stack,
        region=region,
        protect=values["protectStatefulResources"],
        tags=_str_map("tags", values["tags"]),
        network=NetworkSettings(
            availability_zone_ids=tuple(values["availabilityZoneIds"]),
            vpc_cidr=values["vpcCidr"],
            nat_gateways=_enum("natGateways", NatGatewayMode, values["natGateways"]),
            existing=existing_vpc,
        ),
        cluster=ClusterSettings(
            kubernetes_version=values["kubernetesVersion"],
            endpoint_public_access=values["clusterEndpointPublicAccess"],
            public_access_cidrs=tuple(values["clusterPublicAccessCidrs"]),
            private_access_cidrs=tuple(values["clusterPrivateAccessCidrs"]),
            admin_role_arns=tuple(values["clusterAdminRoleArns"]),
            node_ami_release_version=values["nodeAmiReleaseVersion"],
        ),
        node_groups=tuple(_node_group(name, spec) for name, spec in node_groups_raw.items()),
        database=DatabaseSettings(
            instance_class=values["dbInstanceClass"],
            engine_version=values["dbEngineVersion"],
            allocated_storage_gib=values["dbAllocatedStorageGib"],
            max_allocated_storage_gib=values["dbMaxAllocatedStorageGib"],
            multi_az=values["dbMultiAz"],
            backup_retention_days=values["dbBackupRetentionDays"],
            backup_window=values["dbBackupWindow"],
            maintenance_window=values["dbMaintenanceWindow"],
            performance_insights=values["dbPerformanceInsights"],
            final_snapshot=values["dbFinalSnapshot"],
            retain_automated_backups=values["dbRetainAutomatedBackups"],
            slow_statement_ms=values["dbSlowStatementMs"],
            db_name=values["dbName"],
            username=values["dbUsername"],
            existing=existing_db,
        ),
        storage=StorageSettings(
            transition_to_ia_days=values["efsTransitionToIaDays"],
            backups=values["efsBackups"],
        ),
        load_balancer=LoadBalancerSettings(
            allowed_cidrs=tuple(values["nlbAllowedCidrs"]),
            certificate_arn=values["nlbCertificateArn"],
        ),
        addons=AddonSettings(
            load_balancer_controller_values=values["loadBalancerControllerValues"],
            cluster_autoscaler_values=values["clusterAutoscalerValues"],
            eks_addon_versions=_str_map("eksAddonVersions", values["eksAddonVersions"]),
        ),
        airflow=AirflowSettings(
            chart_version=values["airflowChartVersion"],
            airflow_version=values["airflowVersion"],
            scheduler_replicas=values["airflowSchedulerReplicas"],
            api_server_replicas=values["airflowApiServerReplicas"],
            triggerer_replicas=values["airflowTriggererReplicas"],
            dag_processor_replicas=values["airflowDagProcessorReplicas"],
            pgbouncer_replicas=values["airflowPgbouncerReplicas"],
            resource_profile=_enum("airflowResourceProfile", ResourceProfile, values["airflowResourceProfile"]),
            create_admin_user=values["airflowCreateAdminUser"],
            git_sync=git_sync,
            values=values["airflowValues"],
        ),
    )


def resolve_stack_config(stack: str, config_dir: Path | None = None) -> tuple[dict[str, str], str]:
    """What the Pulumi CLI would hand the program for `stack`: the project's config values
    (without prefix, as engine strings) and `aws:region`, read from `config/Pulumi.<stack>.yaml`.
    Project defaults are applied by `load_settings`, as the CLI would."""
    project, _ = read_declarations()
    path = (config_dir or PROJECT_FILE.parent / "config") / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError("stack", f"no config file {path.name}; stacks: {', '.join(available_stacks())}")
    raw = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    config: dict[str, str] = {}
    region = ""
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if full_key == "aws:region":
            region = str(value)
        elif namespace == project:
            config[key] = value if isinstance(value, str) else json.dumps(value)
        elif namespace != "aws":
            raise ConfigError(
                full_key, f"has namespace '{namespace}'; this program reads '{project}:' and 'aws:region'"
            )
    if not region:
        raise ConfigError("aws:region", "is required in the stack's config file")
    return config, region


def available_stacks() -> list[str]:
    return sorted(
        p.name[len("Pulumi.") : -len(".yaml")] for p in (PROJECT_FILE.parent / "config").glob("Pulumi.*.yaml")
    )
