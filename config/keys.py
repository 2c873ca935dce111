"""Every config key of the program, in one table: where it goes and when it applies.

`Pulumi.yaml` declares each key's type, description and default; this table says which settings
section and field it fills, how its value is converted, and in which mode it applies. The loader,
the checks that refuse a value that would be ignored, the error messages (a section names its
fields, `key_of` finds the key) and the tests of coverage and documentation all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from config.errors import ConfigError, shown
from config.node_groups import parse_node_groups
from lib.airflow.resources import ResourceProfile
from lib.cluster.versions import SupportType
from lib.network.subnets import NatGatewayMode

Convert = Callable[[str, Any], Any]


def keep(key: str, value: Any) -> Any:
    return value


def as_tuple(key: str, value: Any) -> tuple[Any, ...]:
    return tuple(value)


def as_bool(key: str, value: Any) -> bool:
    return bool(value)


def str_map(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(key, f"{shown(value)} is not a map of strings to strings")
    return dict(value)


def enum_of(enum: type[Enum]) -> Convert:
    def convert(key: str, value: Any) -> Any:
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in enum)
            raise ConfigError(key, f"'{value}' is not one of: {choices}") from None

    return convert


def optional(convert: Convert) -> Convert:
    """An empty value is None (the key's default says what that means); others convert."""

    def optional_convert(key: str, value: Any) -> Any:
        return None if value in ("", None) else convert(key, value)

    return optional_convert


@dataclass(frozen=True)
class Key:
    section: str
    """The settings section (`Settings` attribute) it fills; `settings` for top-level fields."""
    field: str
    convert: Convert = keep
    only_with: str = ""
    """It applies only when this key is set (a value other than its default is an error otherwise)."""
    only_without: str = ""
    """It applies only when this key is empty (it configures what the program creates)."""
    required_with: str = ""
    """It must be set when this key is."""


_VPC, _DB, _GIT = "existingVpcId", "existingDbHost", "gitSyncRepo"
_CACHE = "imagePullThroughCacheCredentialArn"
_ALARMS, _METRICS, _LOGS = "alarms", "clusterMetrics", "remoteLogs"

KEYS: dict[str, Key] = {
    "availabilityZoneIds": Key("network", "availability_zone_ids", as_tuple),
    "vpcCidr": Key("network", "vpc_cidr", only_without=_VPC),
    "natGateways": Key("network", "nat_gateways", enum_of(NatGatewayMode), only_without=_VPC),
    "existingVpcId": Key("network", "existing_vpc_id"),
    "existingPublicSubnetIds": Key("network", "existing_public_subnet_ids", as_tuple, only_with=_VPC),
    "existingNodeSubnetIds": Key("network", "existing_node_subnet_ids", as_tuple, only_with=_VPC),
    "existingDataSubnetIds": Key("network", "existing_data_subnet_ids", as_tuple, only_with=_VPC),
    "kubernetesVersion": Key("cluster", "kubernetes_version"),
    "clusterEndpointPublicAccess": Key("cluster", "endpoint_public_access"),
    "clusterPublicAccessCidrs": Key("cluster", "public_access_cidrs", as_tuple),
    "clusterPrivateAccessCidrs": Key("cluster", "private_access_cidrs", as_tuple),
    "clusterAdminRoleArns": Key("cluster", "admin_role_arns", as_tuple),
    "nodeAmiReleaseVersion": Key("cluster", "node_ami_release_version"),
    "clusterUpgradePolicy": Key("cluster", "upgrade_policy", enum_of(SupportType)),
    "protectStatefulResources": Key("settings", "protect"),
    "hibernate": Key("settings", "hibernate"),
    "nodeGroups": Key("settings", "node_groups", parse_node_groups),
    "tags": Key("settings", "tags", str_map),
    "production": Key("settings", "production"),
    "policyWaivers": Key("settings", "policy_waivers", str_map),
    "imagePullThroughCacheCredentialArn": Key("settings", "pull_through_cache_credential_arn"),
    "imageRegistryMirrors": Key("settings", "image_mirrors", str_map, only_without=_CACHE),
    "dbInstanceClass": Key("database", "instance_class", only_without=_DB),
    "dbEngineVersion": Key("database", "engine_version", only_without=_DB),
    "dbAllocatedStorageGib": Key("database", "allocated_storage_gib", only_without=_DB),
    "dbMaxAllocatedStorageGib": Key("database", "max_allocated_storage_gib", only_without=_DB),
    "dbMultiAz": Key("database", "multi_az", only_without=_DB),
    "dbBackupRetentionDays": Key("database", "backup_retention_days", only_without=_DB),
    "dbBackupWindow": Key("database", "backup_window", only_without=_DB),
    "dbMaintenanceWindow": Key("database", "maintenance_window", only_without=_DB),
    "dbPerformanceInsights": Key("database", "performance_insights", only_without=_DB),
    "dbFinalSnapshot": Key("database", "final_snapshot", only_without=_DB),
    "dbRetainAutomatedBackups": Key("database", "retain_automated_backups", only_without=_DB),
    "dbSlowStatementMs": Key("database", "slow_statement_ms", only_without=_DB),
    "dbName": Key("database", "db_name"),
    "dbUsername": Key("database", "username"),
    "existingDbHost": Key("database", "existing_host"),
    "existingDbPort": Key("database", "existing_port", only_with=_DB),
    "existingDbSecurityGroupId": Key("database", "existing_security_group_id", only_with=_DB),
    # Only whether it is set: the program reads the value itself, as a Pulumi secret.
    "existingDbPassword": Key("database", "existing_password_set", as_bool, only_with=_DB, required_with=_DB),
    "efsTransitionToIaDays": Key("storage", "transition_to_ia_days"),
    "efsBackups": Key("storage", "backups"),
    "nlbAllowedCidrs": Key("load_balancer", "allowed_cidrs", as_tuple),
    "nlbCertificateArn": Key("load_balancer", "certificate_arn"),
    "airflowChartVersion": Key("airflow", "chart_version"),
    "airflowVersion": Key("airflow", "airflow_version"),
    "airflowSchedulerReplicas": Key("airflow", "scheduler_replicas"),
    "airflowApiServerReplicas": Key("airflow", "api_server_replicas"),
    "airflowTriggererReplicas": Key("airflow", "triggerer_replicas"),
    "airflowDagProcessorReplicas": Key("airflow", "dag_processor_replicas"),
    "airflowPgbouncerReplicas": Key("airflow", "pgbouncer_replicas"),
    "airflowResourceProfile": Key("airflow", "resource_profile", enum_of(ResourceProfile)),
    "airflowTaskPodSize": Key("airflow", "task_pod_size", optional(enum_of(ResourceProfile))),
    "airflowParallelism": Key("airflow", "parallelism"),
    "airflowCreateAdminUser": Key("airflow", "create_admin_user"),
    "gitSyncRepo": Key("airflow", "git_sync_repo"),
    "gitSyncBranch": Key("airflow", "git_sync_branch", only_with=_GIT),
    "gitSyncSubPath": Key("airflow", "git_sync_sub_path", only_with=_GIT),
    "gitSyncCredentialsSecret": Key("airflow", "git_sync_credentials_secret", only_with=_GIT),
    "airflowValues": Key("airflow", "values"),
    "loadBalancerControllerValues": Key("addons", "load_balancer_controller_values"),
    "clusterAutoscalerValues": Key("addons", "cluster_autoscaler_values"),
    "eksAddonVersions": Key("addons", "eks_addon_versions", str_map),
    "alarms": Key("observability", "alarms"),
    "alarmEmails": Key("observability", "alarm_emails", as_tuple, only_with=_ALARMS, only_without="alarmTopicArn"),
    "alarmTopicArn": Key("observability", "alarm_topic_arn", only_with=_ALARMS),
    "alarmThresholds": Key("observability", "alarm_thresholds", only_with=_ALARMS),
    "dashboard": Key("observability", "dashboard"),
    "clusterMetrics": Key("observability", "cluster_metrics"),
    "logRetentionDays": Key("observability", "log_retention_days", only_with=_METRICS),
    "auditLogRetentionDays": Key("observability", "audit_log_retention_days"),
    "remoteLogs": Key("observability", "remote_logs"),
    "remoteLogsTransitionDays": Key("observability", "remote_logs_transition_days", only_with=_LOGS),
    "remoteLogsExpirationDays": Key("observability", "remote_logs_expiration_days", only_with=_LOGS),
}

REPLACED_KEYS = {
    "availabilityZones": "availabilityZoneIds: zone IDs such as use1-az1, the same physical zones in every account",
}

_BY_FIELD = {(k.section, k.field): name for name, k in KEYS.items()}


def key_of(section: str, field: str) -> str:
    """The config key that fills `field` of `section`."""
    return _BY_FIELD[(section, field)]
