"""The whole stack: settings in, components wired through their typed outputs, exports out.

`__main__.py` calls `main()` under the Pulumi CLI; the offline plan and the tests call it under
mocks. Settings are mapped to each component's own args here, and nowhere else. The exported
names are a public contract, defined in `contract/` (the `airflow_eks_contract` package other
stacks read them with): `tests/plans/test_contract.py` holds the program to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from airflow_eks_contract import CONTRACT_VERSION, PlatformOutputs, as_exports
from pulumi.runtime import config as runtime_config

from components.airflow import Airflow, AirflowArgs, VolumeClaimArgs
from components.alarms import Alarms, AlarmsArgs, LogMetric
from components.alerts import Alerts, AlertsArgs
from components.cluster import Cluster, ClusterArgs
from components.cluster_addon import ClusterAddon, ClusterAddonArgs
from components.cluster_telemetry import ClusterTelemetry, ClusterTelemetryArgs
from components.dashboard import Dashboard, DashboardArgs
from components.database import POSTGRES_PORT, Database, DatabaseArgs, ExistingDatabaseArgs
from components.database_roles import DatabaseRoles, DatabaseRolesArgs
from components.eks_addon import EksAddon, EksAddonArgs
from components.flow_logs import FlowLogs, FlowLogsArgs
from components.gpu_device_plugin import GpuDevicePlugin, GpuDevicePluginArgs
from components.image_cache import ImageCache, ImageCacheArgs
from components.karpenter import Karpenter, KarpenterArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerSubnet
from components.log_archive import LogArchive, LogArchiveArgs
from components.network import ExistingVpcArgs, Network, NetworkArgs
from components.node_groups import NodeGroups, NodeGroupsArgs
from components.parts.moves import former_parent
from components.secrets_backend import SecretsBackend, SecretsBackendArgs
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.shared_storage import SharedStorage, SharedStorageArgs
from components.task_images import TaskImages, TaskImagesArgs
from components.team import Team, TeamArgs
from config.errors import ConfigError
from config.project import check_secrets
from config.settings import Settings, load_settings
from lib.airflow.alarms import airflow_alarms, workers_at_max_alarm
from lib.airflow.secrets_backend import BackendTarget, reader_service_accounts
from lib.airflow.telemetry import REMOTE_LOG_READERS, RemoteLogs, StatsdTarget, service_account_name
from lib.airflow.values import (
    AIRFLOW_IMAGE_REPOSITORY,
    API_SERVER_HEALTH_PATH,
    API_SERVER_PORT,
    WORKER_SERVICE_ACCOUNT,
    api_server_service_name,
)
from lib.cluster import helm_addons as addons
from lib.cluster import karpenter as karpenter_lib
from lib.cluster.managed_addons import (
    CLOUDWATCH_OBSERVABILITY,
    EFS_CSI_DRIVER,
    Installer,
    Prerequisite,
    addon_versions,
    installed_by,
)
from lib.cluster.node_groups import NodeGroupRole
from lib.cluster.versions import utc_today
from lib.images import mirrored
from lib.naming import base_tags, child_name
from lib.network.subnets import MAX_AZS, load_balancer_address, plan_subnets
from lib.network.zones import MAX_ZONES, choose_zone_ids
from lib.observability import alarms as alarm_specs
from lib.observability.cloudwatch import STATSD_PREFIX
from lib.security.audit import cluster_log_group, flow_log_group
from policy.airflow_eks_guardrails.declaration import guardrail_tags

AIRFLOW_NAMESPACE = "airflow"
AIRFLOW_CLAIMS = {"dags": "airflow-dags", "logs": "airflow-logs"}
WORKERS_AT_MAX_METRIC = "workers_at_max_size"


def settings_from_pulumi() -> Settings:
    """Settings from the config the engine handed this program (all keys, as strings)."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{project}:"
    ours = {k[len(prefix) :]: v for k, v in everything.items() if k.startswith(prefix)}
    secret = {*runtime_config.get_config_secret_keys_env(), *filter(runtime_config.is_config_secret, everything)}
    check_secrets(ours, {k[len(prefix) :] for k in secret if k.startswith(prefix)})
    return load_settings(ours, stack, str(everything.get("aws:region", "")))


def with_zones(settings: Settings) -> Settings:
    """`settings` with zone IDs: the configured ones, or the first three available zones of the
    region that EKS supports (a read of the account, made only when none are configured)."""
    if settings.network.availability_zone_ids:
        return settings
    found = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    chosen = choose_zone_ids(settings.region, found.zone_ids, MAX_ZONES)
    if len(chosen) < 2:
        raise ConfigError(
            "availabilityZoneIds",
            f"is empty and {settings.region} offers {list(chosen)}, fewer than 2 zones EKS supports; list 2 or 3",
        )
    return replace(settings, network=replace(settings.network, availability_zone_ids=chosen))


@dataclass(frozen=True)
class Stack:
    """The components of the stack, in the order they are built."""

    network: Network
    flow_logs: FlowLogs
    cluster: Cluster
    node_groups: NodeGroups
    """Empty while the stack sleeps; the parts typed `| None` below are None then (`asleep_stack`)."""
    database: Database
    database_roles: DatabaseRoles
    storage: SharedStorage
    eks_addons: dict[str, EksAddon]
    """The catalog's add-ons the stack creates itself (the others: Cluster, ClusterTelemetry)."""
    lb_controller: ClusterAddon | None
    """None asleep (no cluster)."""
    autoscaler: ClusterAddon | None
    """The Cluster Autoscaler; None under Karpenter (`karpenter`) and asleep."""
    worker_role: ServiceAccountRole
    telemetry: ClusterTelemetry | None
    log_archive: LogArchive | None
    airflow: Airflow
    nlb: LoadBalancer | None
    alerts: Alerts | None
    dashboard: Dashboard | None
    gpu_device_plugin: GpuDevicePlugin | None = None
    """The NVIDIA device plugin, with a GPU node group."""
    secrets: SecretsBackend | None = None
    teams: dict[str, Team] = field(default_factory=dict)
    task_images: TaskImages | None = None
    karpenter: Karpenter | None = None
    """Karpenter and the task groups' NodePools, with `nodeAutoscaler: karpenter`."""


def network_and_cluster(settings: Settings, tags: dict[str, str], versions: dict[str, str]) -> tuple[Network, Cluster]:
    s, c, name = settings.network, settings.cluster, settings.name
    existing = (
        ExistingVpcArgs(
            s.existing_vpc_id, s.existing_node_subnet_ids, s.existing_data_subnet_ids, s.existing_public_subnet_ids
        )
        if s.existing
        else None
    )
    network = Network(
        name,
        NetworkArgs(
            availability_zone_ids=s.availability_zone_ids,
            cluster_name=name,
            region=settings.region,
            vpc_cidr=s.vpc_cidr,
            nat_gateways=s.nat_gateways,
            existing=existing,
            nat=not settings.hibernate,
            tags=tags,
            node_tags={karpenter_lib.DISCOVERY_TAG: name} if settings.karpenter else {},
        ),
    )
    cluster = Cluster(
        name,
        ClusterArgs(
            cluster_name=name,
            vpc_id=network.vpc_id,
            subnet_ids=network.node_subnet_ids,
            kubernetes_version=c.kubernetes_version,
            upgrade_policy=c.upgrade_policy,
            addon_versions=versions,
            region=settings.region,
            account_id=network.account_id,
            log_retention_days=settings.observability.audit_log_retention_days,
            endpoint_public_access=c.endpoint_public_access,
            public_access_cidrs=c.public_access_cidrs,
            private_access_cidrs=c.private_access_cidrs,
            admin_role_arns=c.admin_role_arns,
            protect=settings.protect,
            tags=tags,
            adopt_log_key_id=settings.observability.adopt_kept_audit_logs.get(cluster_log_group(name), ""),
            asleep=settings.hibernate,
        ),
    )
    return network, cluster


def awake_provider(cluster: Cluster) -> k8s.Provider:
    """The cluster's Kubernetes provider, for what only an awake stack builds."""
    if cluster.provider is None:
        raise AssertionError("an asleep stack builds nothing in Kubernetes (program.py, asleep_stack)")
    return cluster.provider


def node_groups_of(settings: Settings, network: Network, cluster: Cluster, tags: dict[str, str]) -> NodeGroups:
    return NodeGroups(
        settings.name,
        NodeGroupsArgs(
            # Under Karpenter the task groups are its NodePools, not managed groups.
            groups=settings.managed_node_groups,
            cluster=cluster.eks_cluster,  # None asleep
            subnet_ids=network.node_subnet_ids,
            security_group_ids=pulumi.Output.all(cluster.cluster_security_group_id, network.node_security_group_id),
            # PgBouncer runs on the control-plane group: its nodes alone reach the database.
            group_security_group_ids={NodeGroupRole.AIRFLOW: [network.database_client_security_group_id]},
            kubernetes_version=settings.cluster.kubernetes_version,
            account_id=network.account_id,
            ami_release_version=settings.cluster.node_ami_release_version,
            tags=tags,
            protect=settings.protect,
            apply_sizes=settings.node_groups_apply_sizes,
            asleep=settings.hibernate,
            network_ready=[a.addon for a in cluster.network_addons.values()],  # none asleep
        ),
    )


def flow_logs_of(settings: Settings, network: Network, tags: dict[str, str]) -> FlowLogs:
    """The VPC's flow logs, on a brought VPC too: the stack's own record of who talked to its
    nodes, database and file system, whatever the VPC's owner keeps (docs/security.md, Audit trail)."""
    return FlowLogs(
        child_name(settings.name, "flow-logs"),
        FlowLogsArgs(
            vpc_id=network.vpc_id,
            log_group_name=flow_log_group(settings.name),
            region=settings.region,
            account_id=network.account_id,
            retention_days=settings.observability.audit_log_retention_days,
            protect=settings.protect,
            tags=tags,
            adopt_key_id=settings.observability.adopt_kept_audit_logs.get(flow_log_group(settings.name), ""),
        ),
    )


def database_of(settings: Settings, network: Network, tags: dict[str, str]) -> Database:
    d = settings.database
    existing = None
    if d.existing:
        # A secret config key, read only when the stack brings its own database.
        password = pulumi.Config().require_secret("existingDbPassword")
        existing = ExistingDatabaseArgs(d.existing_host, password, d.existing_port, d.existing_security_group_id)
    return Database(
        settings.name,
        DatabaseArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.data_subnet_ids,
            client_security_group_id=network.database_client_security_group_id,
            region=settings.region,
            account_id=network.account_id,
            instance_class=d.instance_class,
            engine_version=d.engine_version,
            allocated_storage_gib=d.allocated_storage_gib,
            max_allocated_storage_gib=d.max_allocated_storage_gib,
            multi_az=d.multi_az,
            backup_retention_days=d.backup_retention_days,
            backup_window=d.backup_window,
            maintenance_window=d.maintenance_window,
            performance_insights=d.performance_insights,
            final_snapshot=d.final_snapshot,
            retain_automated_backups=d.retain_automated_backups,
            slow_statement_ms=d.slow_statement_ms,
            db_name=d.db_name,
            username=d.username,
            existing=existing,
            protect=settings.protect,
            stopped=settings.hibernate,
            one_key=d.one_key,
            restore_snapshot_identifier=d.restore_snapshot_identifier,
            tags=tags,
        ),
    )


def database_roles_of(
    settings: Settings,
    database: Database,
    cluster: Cluster,
    mirrors: pulumi.Input[dict[str, str]],
    nodes: list[pulumi.Resource],
    tags: dict[str, str],
) -> DatabaseRoles:
    """Airflow's own database role, made by a Job in the cluster as the master (whose password only
    RDS's managed secret holds); Airflow connects as it, never as the master."""
    a = settings.airflow
    image = pulumi.Output.from_input(mirrors).apply(
        lambda m: f"{mirrored(AIRFLOW_IMAGE_REPOSITORY, m)}:{a.airflow_version}"
    )
    return DatabaseRoles(
        settings.name,
        DatabaseRolesArgs(
            host=database.address,
            port=database.port,
            db_name=database.db_name,
            master_username=database.username,
            master_secret_arn=database.master_secret_arn,
            master_secret_key_arn=database.master_secret_key_arn,
            database_id=database.resource_id,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            region=settings.region,
            node_group=settings.node_group(NodeGroupRole.AIRFLOW),
            image=image,
            provider=cluster.provider,  # None asleep: only the generated password and key
            airflow_namespace=AIRFLOW_NAMESPACE,
            generation=settings.database.app_password_generation,
            depends_on=nodes,
            tags=tags,
        ),
    )


def storage_of(settings: Settings, network: Network, cluster: Cluster, tags: dict[str, str]) -> SharedStorage:
    return SharedStorage(
        settings.name,
        SharedStorageArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.data_subnet_ids,
            zone_count=len(network.availability_zone_ids),
            node_security_group_id=network.node_security_group_id,
            provider=cluster.provider,  # None asleep
            claim_namespace=AIRFLOW_NAMESPACE,
            claims=AIRFLOW_CLAIMS,
            transition_to_ia_days=settings.storage.transition_to_ia_days,
            backups=settings.storage.backups,
            protect=settings.protect,
            tags=tags,
        ),
    )


def eks_addons(
    settings: Settings,
    cluster: Cluster,
    storage: SharedStorage,
    nodes: list[pulumi.Resource],
    versions: dict[str, str],
    tags: dict[str, str],
) -> dict[str, EksAddon]:
    """The add-ons of the catalog (lib/cluster/managed_addons.py) that the stack creates itself, in
    its order, those gated by a config key only when it is on: EKS name -> add-on."""
    prerequisites: dict[Prerequisite, list[pulumi.Resource]] = {
        Prerequisite.NODES: nodes,
        Prerequisite.FILE_SYSTEM: list(storage.mount_ready),
    }
    on = settings.addon_toggles()
    created = {}
    for entry in installed_by(Installer.STACK):
        if entry.only_with is not None and not on[entry.only_with]:
            continue
        created[entry.name] = EksAddon(
            child_name(settings.name, entry.resource_name),
            EksAddonArgs.of(
                entry,
                versions[entry.name],
                cluster.cluster_name,
                cluster.oidc_provider_arn,
                cluster.oidc_issuer,
                depends_on=[r for p in Prerequisite if p in entry.waits_for for r in prerequisites[p]],
                former_parent=former_parent(entry.moved_from, settings.name) if entry.moved_from else None,
                tags=tags,
            ),
        )
    return created


def image_mirrors_of(settings: Settings, node_groups: NodeGroups) -> tuple[pulumi.Input[dict[str, str]], list[Any]]:
    """Registry -> mirror for every image, and what a pull through them needs first (the cache's rules)."""
    arn = settings.pull_through_cache_credential_arn
    if not arn:
        return dict(settings.image_mirrors), []
    cache = ImageCache(
        child_name(settings.name, "image-cache"),
        ImageCacheArgs(region=settings.region, credential_arn=arn, node_role_name=node_groups.node_role_name),
    )
    return cache.mirrors, [cache]


def chart_addons(
    settings: Settings,
    network: Network,
    cluster: Cluster,
    nodes: list[pulumi.Resource],
    tags: dict[str, str],
    mirrors: pulumi.Input[dict[str, str]],
) -> tuple[ClusterAddon, ClusterAddon | None]:
    """The AWS Load Balancer Controller and the Cluster Autoscaler (not under Karpenter), on the system node group."""
    name, region, system = settings.name, settings.region, settings.node_group(NodeGroupRole.SYSTEM)

    def addon(chart: addons.AddonChart, values: Any, overrides: Any, policy: dict[str, Any]) -> ClusterAddon:
        return ClusterAddon(
            child_name(name, chart.key),
            ClusterAddonArgs(
                chart=chart,
                values=values,
                overrides=overrides,
                policy=policy,
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer=cluster.oidc_issuer,
                provider=awake_provider(cluster),
                depends_on=nodes,
                tags=tags,
            ),
        )

    lb_controller = addon(
        addons.LOAD_BALANCER_CONTROLLER,
        pulumi.Output.all(network.vpc_id, mirrors).apply(
            lambda v: addons.load_balancer_controller_values(cluster.cluster_name, region, v[0], system, v[1])
        ),
        settings.addons.load_balancer_controller_values,
        addons.load_balancer_controller_policy(region, cluster.cluster_name),
    )
    if settings.karpenter:
        return lb_controller, None
    autoscaler = addon(
        addons.CLUSTER_AUTOSCALER,
        pulumi.Output.from_input(mirrors).apply(
            lambda m: addons.cluster_autoscaler_values(
                cluster.cluster_name, region, settings.cluster.kubernetes_version, system, m
            )
        ),
        settings.addons.cluster_autoscaler_values,
        addons.cluster_autoscaler_policy(region, cluster.cluster_name),
    )
    return lb_controller, autoscaler


def karpenter_of(
    settings: Settings,
    network: Network,
    cluster: Cluster,
    node_groups: NodeGroups,
    nodes: list[pulumi.Resource],
    tags: dict[str, str],
) -> Karpenter | None:
    """Karpenter on the system group and a NodePool per task group, with `nodeAutoscaler: karpenter`.
    Awake only: it needs the cluster (`asleep_stack` never calls it)."""
    if not settings.karpenter:
        return None
    brought = settings.network.existing_node_subnet_ids if settings.network.existing else None
    return Karpenter(
        child_name(settings.name, "karpenter"),
        KarpenterArgs(
            cluster_name=cluster.cluster_name,
            region=settings.region,
            account_id=network.account_id,
            system=settings.node_group(NodeGroupRole.SYSTEM),
            task_groups=settings.task_groups,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            cluster_security_group_id=cluster.cluster_security_group_id,
            volume_key_arn=node_groups.volume_kms_key_arn,
            provider=awake_provider(cluster),
            ami_release_version=settings.cluster.node_ami_release_version,
            subnet_ids_to_tag=list(brought) if brought else None,
            subnet_count=len(brought or ()),
            pull_through_cache=bool(settings.pull_through_cache_credential_arn),
            depends_on=nodes,
            tags=tags,
        ),
    )


def gpu_device_plugin_of(
    settings: Settings, cluster: Cluster, nodes: list[pulumi.Resource], mirrors: pulumi.Input[dict[str, str]]
) -> GpuDevicePlugin | None:
    """NVIDIA's device plugin on the GPU node groups, when there is one (a GPU queue's pods ask `nvidia.com/gpu`)."""
    if not any(g.gpu for g in settings.node_groups):
        return None
    return GpuDevicePlugin(
        child_name(settings.name, "gpu-device-plugin"),
        GpuDevicePluginArgs(settings.node_groups, awake_provider(cluster), mirrors, depends_on=nodes),
    )


def worker_role_of(settings: Settings, cluster: Cluster, tags: dict[str, str]) -> ServiceAccountRole:
    """The task pods' IAM role: no policy from this stack; teams attach theirs (`For consuming teams`)."""
    return ServiceAccountRole(
        child_name(settings.name, "airflow-worker"),
        ServiceAccountRoleArgs(
            namespace=AIRFLOW_NAMESPACE,
            service_account=WORKER_SERVICE_ACCOUNT,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            description=f"Airflow task pods of EKS cluster {cluster.cluster_name} (IRSA)",
            tags=tags,
            asleep=settings.hibernate,
        ),
    )


def secrets_backend_of(
    settings: Settings, network: Network, cluster: Cluster, tags: dict[str, str]
) -> SecretsBackend | None:
    """The secrets backend's role (and key) when `secretsManagerBackend` is on."""
    t = settings.teams
    if not t.secrets_manager_backend:
        return None
    return SecretsBackend(
        child_name(settings.name, "secrets-backend"),
        SecretsBackendArgs(
            prefixes=t.prefixes,
            region=settings.region,
            account_id=network.account_id,
            namespace=AIRFLOW_NAMESPACE,
            service_accounts=reader_service_accounts(),
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            kms_key_arn=t.kms_key_arn,
            protect=settings.protect,
            tags=tags,
            asleep=settings.hibernate,
        ),
    )


def teams_of(
    settings: Settings,
    network: Network,
    cluster: Cluster,
    airflow: Airflow,
    secrets: SecretsBackend | None,
    tags: dict[str, str],
) -> dict[str, Team]:
    """A `Team` per team of `teams` (the loader requires the secrets backend with them)."""
    if secrets is None:
        return {}
    if cluster.eks_cluster is None:
        raise AssertionError("an asleep stack has no teams (program.py, asleep_stack)")
    eks_cluster = cluster.eks_cluster.eks_cluster
    return {
        team.name: Team(
            child_name(settings.name, "team", team.name),
            TeamArgs(
                team=team,
                teams_prefix=settings.teams.teams_prefix,
                region=settings.region,
                account_id=network.account_id,
                namespace=airflow.namespace,
                namespace_name=AIRFLOW_NAMESPACE,
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer=cluster.oidc_issuer,
                kms_key_arn=secrets.kms_key_arn,
                cluster_name=eks_cluster.name,
                cluster_endpoint=cluster.endpoint,
                cluster_ca=eks_cluster.certificate_authority.apply(lambda ca: ca.data or ""),
                provider=awake_provider(cluster),
                tags=tags,
            ),
        )
        for team in settings.teams.teams
    }


def task_images_of(
    settings: Settings, node_groups: NodeGroups, cluster: Cluster, airflow: Airflow
) -> TaskImages | None:
    """The task images teams may run (`taskImageRepositories`)."""
    repositories = settings.teams.task_image_repositories
    if not repositories:
        return None
    return TaskImages(
        child_name(settings.name, "task-images"),
        TaskImagesArgs(
            repositories=repositories,
            namespace=airflow.namespace,
            node_role_name=node_groups.node_role_name,
            provider=awake_provider(cluster),
        ),
    )


def subnet_cidrs(settings: Settings, tier: str) -> pulumi.Output[list[str]]:
    """The CIDRs of the `node` or `data` subnets, in zone order: planned for a created VPC, read for a
    brought one (a data source, as `pulumi up` reads it)."""
    net = settings.network
    if not net.existing:
        zones = net.availability_zone_ids or tuple(str(i) for i in range(MAX_AZS))  # empty: three zones
        return pulumi.Output.from_input([getattr(p, tier) for p in plan_subnets(net.vpc_cidr, zones)])
    ids = net.existing_node_subnet_ids if tier == "node" else net.existing_data_subnet_ids
    return pulumi.Output.all(*[aws.ec2.get_subnet_output(id=i).cidr_block for i in ids])


def load_balancer_sources(node_cidrs: pulumi.Output[list[str]]) -> pulumi.Output[list[str]]:
    """The NLB's own addresses, fixed in each node subnet (`lib.network.subnets.load_balancer_address`,
    the same the LoadBalancer pins): its health checks and requests come from them (no client IP
    preservation), and the API server's network policy admits them and no other address."""
    return node_cidrs.apply(lambda cidrs: [load_balancer_address(c).address for c in cidrs])


def kubernetes_api_sources(cluster: Cluster, node_cidrs: pulumi.Output[list[str]]) -> pulumi.Output[list[str]]:
    """Where pods reach the Kubernetes API: the `kubernetes` Service's ClusterIP (what a pod's egress
    shows before kube-proxy's DNAT), and the node subnets, where EKS places its network interfaces."""
    return pulumi.Output.all(cluster.kubernetes_service_ip, node_cidrs).apply(lambda v: [f"{v[0]}/32", *v[1]])


def airflow_of(
    settings: Settings,
    database: Database,
    database_roles: DatabaseRoles,
    storage: SharedStorage,
    cluster: Cluster,
    worker_role: ServiceAccountRole,
    mirrors: pulumi.Input[dict[str, str]],
    depends_on: list[pulumi.Resource],
    node_cidrs: pulumi.Output[list[str]],
    telemetry: ClusterTelemetry | None = None,
    archive: LogArchive | None = None,
    secrets: SecretsBackend | None = None,
) -> Airflow:
    a = settings.airflow
    statsd = StatsdTarget(telemetry.statsd_host, telemetry.statsd_port, STATSD_PREFIX) if telemetry else None
    remote_logs = (
        pulumi.Output.all(archive.bucket_name, archive.role_arn).apply(
            lambda v: RemoteLogs(v[0], v[1], settings.region, chained=secrets is not None)
        )
        if archive
        else None
    )
    backend = (
        secrets.role_arn.apply(lambda arn: BackendTarget(settings.teams.prefixes, settings.region, arn))
        if secrets
        else None
    )
    return Airflow(
        settings.name,
        AirflowArgs(
            connection_uri=database_roles.connection_uri,
            max_connections=database.max_connections,
            volumes={
                volume: VolumeClaimArgs(claim, storage.volume_names.get(volume, ""), storage.volume_capacity)
                for volume, claim in storage.claim_names.items()
            },
            control_plane=settings.node_group(NodeGroupRole.AIRFLOW),
            workers=settings.node_group(NodeGroupRole.WORKERS),
            queue_groups=settings.queue_groups,
            task_pod_annotations=karpenter_lib.TASK_POD_ANNOTATIONS if settings.karpenter else {},
            provider=cluster.provider,  # None asleep
            namespace=storage.claim_namespace,
            chart_version=a.chart_version,
            airflow_version=a.airflow_version,
            replicas=a.replicas,
            resource_profile=a.resource_profile,
            task_pod_size=a.task_pod_size,
            parallelism=settings.task_capacity,
            create_admin_user=a.create_admin_user,
            fernet_key_generations=a.fernet_key_generations,
            failed_pod_retention_hours=a.failed_pod_retention_hours,
            git_sync=a.git_sync,
            worker_role_arn=worker_role.role_arn,
            image_mirrors=mirrors,
            statsd=statsd,
            remote_logs=remote_logs,
            load_balancer_cidrs=load_balancer_sources(node_cidrs),
            kubernetes_api_cidrs=kubernetes_api_sources(cluster, node_cidrs),
            # A brought host may be anywhere the nodes route to (a peered VPC, on premises): its port only.
            database_cidrs=["0.0.0.0/0"] if settings.database.existing else subnet_cidrs(settings, "data"),
            # The port as configured, not the instance's output: the policies need not wait for the database.
            database_port=settings.database.existing_port if settings.database.existing else POSTGRES_PORT,
            secrets_backend=backend,
            task_egress=a.task_egress_rules,
            team_service_accounts=tuple(team.service_account for team in settings.teams.teams),
            # Production holds task pods to the images the policy pack reviews (lib/airflow/task_accounts.py).
            task_image_repositories=settings.teams.task_image_repositories if settings.production else None,
            sso=a.sso,
            # A secret config key, read only with single sign-on.
            sso_client_secret=pulumi.Config().require_secret("ssoClientSecret") if a.sso else None,
            values=a.values,
            depends_on=depends_on,
        ),
    )


def _item(values: pulumi.Output[list[str]], index: int) -> pulumi.Output[str]:
    return values.apply(lambda v: v[index])


def load_balancer_of(
    settings: Settings,
    network: Network,
    cluster: Cluster,
    airflow: Airflow,
    controller: ClusterAddon,
    node_cidrs: pulumi.Output[list[str]],
    tags: dict[str, str],
) -> LoadBalancer:
    lb = settings.load_balancer
    # The default source is the VPC's CIDR outside production (the loader requires explicit CIDRs in
    # production and for a brought VPC).
    allowed = lb.allowed_cidrs or (settings.network.vpc_cidr,)
    ids, cidrs = network.node_subnet_ids, node_cidrs
    zones = len(settings.network.existing_node_subnet_ids or settings.network.availability_zone_ids) or MAX_AZS
    return LoadBalancer(
        settings.name,
        LoadBalancerArgs(
            cluster_name=cluster.cluster_name,
            vpc_id=network.vpc_id,
            subnets=tuple(LoadBalancerSubnet(_item(ids, i), _item(cidrs, i)) for i in range(zones)),
            allowed_cidrs=allowed,
            target_security_group_id=network.node_security_group_id,
            namespace=airflow.namespace,
            service_name=api_server_service_name(airflow.release_name),
            service_port=API_SERVER_PORT,
            health_check_path=API_SERVER_HEALTH_PATH,
            controller=controller.release,
            provider=awake_provider(cluster),
            certificate_arn=lb.certificate_arn,
            tags=tags,
        ),
    )


def telemetry_of(
    settings: Settings,
    network: Network,
    cluster: Cluster,
    nodes: list[pulumi.Resource],
    versions: dict[str, str],
    tags: dict[str, str],
) -> ClusterTelemetry | None:
    """Container Insights, the StatsD listener and container logs (`clusterMetrics`)."""
    o = settings.observability
    if not o.cluster_metrics:
        return None
    return ClusterTelemetry(
        child_name(settings.name, "telemetry"),
        ClusterTelemetryArgs(
            cluster_name=cluster.cluster_name,
            region=settings.region,
            account_id=network.account_id,
            addon_version=versions[CLOUDWATCH_OBSERVABILITY],
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            log_retention_days=o.log_retention_days,
            depends_on=nodes,
            protect=settings.protect,
            tags=tags,
            asleep=settings.hibernate,
        ),
    )


def log_archive_of(
    settings: Settings,
    cluster: Cluster,
    worker_role: ServiceAccountRole,
    tags: dict[str, str],
    secrets: SecretsBackend | None = None,
) -> LogArchive | None:
    """The S3 bucket of Airflow's remote logs and its role (`remoteLogs`). With the secrets backend,
    the API server's and triggerer's accounts carry its role, from which they assume the logs role."""
    o = settings.observability
    if not o.remote_logs:
        return None
    assuming = [worker_role.role_arn, *([secrets.role_arn] if secrets else [])]
    return LogArchive(
        child_name(settings.name, "task-logs"),
        LogArchiveArgs(
            namespace=AIRFLOW_NAMESPACE,
            service_accounts=tuple(service_account_name(section) for section in REMOTE_LOG_READERS),
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            assuming_role_arns=assuming,
            transition_days=o.remote_logs_transition_days,
            expiration_days=o.remote_logs_expiration_days,
            protect=settings.protect,
            tags=tags,
            asleep=settings.hibernate,
        ),
    )


def nat_gateway_id(network: Network, index: int) -> pulumi.Output[str]:
    return network.nat_gateway_ids.apply(lambda ids: ids[index])


def alarm_list(settings: Settings, s: Stack, nlb: LoadBalancer) -> tuple[list[alarm_specs.Alarm], list[LogMetric]]:
    """Every alarm of the stack, and the log metrics they read."""
    t, db = settings.observability.thresholds, settings.database
    specs = [
        *alarm_specs.file_system_alarms(s.storage.file_system_id, t),
        *alarm_specs.load_balancer_alarms(nlb.arn_suffix, nlb.target_group_arn_suffix, t),
        *alarm_specs.nat_alarms([nat_gateway_id(s.network, i) for i in range(s.network.nat_gateway_count)], t),
        *alarm_specs.nat_instance_alarms(
            [s.network.nat_instance_ids.apply(lambda ids: ids[0])] if s.network.nat_instance_count else [], t
        ),
    ]
    if s.database.instance_identifier is not None:
        specs += alarm_specs.database_alarms(
            s.database.instance_identifier, db.instance_class, db.allocated_storage_gib, t
        )
    if s.telemetry is None:
        return specs, []
    namespace = s.telemetry.metrics_namespace
    if s.karpenter is not None:
        # No Cluster Autoscaler to log "max size reached"; a NodePool at its limit is Karpenter's to say.
        return specs + airflow_alarms(namespace, STATSD_PREFIX, t), []
    workers = LogMetric(
        name="workers-at-max-log",
        log_group_name=s.telemetry.log_group_names["application"],
        # The Cluster Autoscaler's line (klog V(4), its chart's default verbosity; autoscaler
        # 1.33 core/scaleup/orchestrator/orchestrator.go): "Skipping node group eks-<group>-<id>
        # - max size reached".
        pattern=s.node_groups.node_group_names[NodeGroupRole.WORKERS].apply(lambda n: f'"max size reached" "eks-{n}-"'),
        namespace=namespace,
        metric=WORKERS_AT_MAX_METRIC,
    )
    specs += [
        workers_at_max_alarm(namespace, WORKERS_AT_MAX_METRIC, t),
        *airflow_alarms(namespace, STATSD_PREFIX, t),
    ]
    return specs, [workers]


def monitoring_of(settings: Settings, s: Stack, tags: dict[str, str]) -> Stack:
    """The alerts topic and alarms (`alarms`) and the dashboard (`dashboard`), over the stack."""
    o, name = settings.observability, settings.name
    alerts, alarm_arns = None, []
    if o.alarms:
        alerts = Alerts(
            child_name(name, "alerts"),
            AlertsArgs(
                account_id=s.network.account_id,
                region=settings.region,
                emails=o.alarm_emails,
                existing_topic_arn=o.alarm_topic_arn,
                protect=settings.protect,
                tags=tags,
            ),
        )
    if alerts is not None and s.nlb is not None:  # no alarm while asleep
        specs, log_metrics = alarm_list(settings, s, s.nlb)
        alarms = Alarms(
            child_name(name, "alarms"),
            AlarmsArgs(
                topic_arn=alerts.topic_arn,
                alarms=specs,
                log_metrics=log_metrics,
                db_instance_identifier=s.database.instance_identifier,
                tags=tags,
            ),
        )
        alarm_arns = list(alarms.alarm_arns.values())
    dashboard = None
    if o.dashboard and s.nlb is not None:  # none while asleep
        telemetry = s.telemetry
        dashboard = Dashboard(
            child_name(name, "dashboard"),
            DashboardArgs(
                region=settings.region,
                cluster_name=s.cluster.cluster_name,
                airflow_namespace=AIRFLOW_NAMESPACE,
                file_system_id=s.storage.file_system_id,
                load_balancer_arn_suffix=s.nlb.arn_suffix,
                target_group_arn_suffix=s.nlb.target_group_arn_suffix,
                alarm_arns=alarm_arns,
                metrics_namespace=telemetry.metrics_namespace if telemetry else None,
                db_instance_identifier=s.database.instance_identifier,
                workers_at_max_metric=(telemetry.metrics_namespace, WORKERS_AT_MAX_METRIC) if telemetry else None,
            ),
        )
    return replace(s, alerts=alerts, dashboard=dashboard)


def build_stack(settings: Settings) -> Stack:
    """Create every component, each once, in dependency order. Awake (`hibernate` false) the whole
    stack; asleep only what holds data, under the same names (docs/cost.md, Hibernation)."""
    tags = base_tags(settings.project, settings.stack, settings.tags)
    tags |= guardrail_tags(settings.production, settings.policy_waivers)  # what the policy pack reads
    versions = addon_versions(settings.cluster.kubernetes_version, settings.addons.eks_addon_versions)
    network, cluster = network_and_cluster(settings, tags, versions)
    flow_logs = flow_logs_of(settings, network, tags)
    if settings.hibernate:
        return asleep_stack(settings, network, cluster, flow_logs, versions, tags)
    node_groups = node_groups_of(settings, network, cluster, tags)
    mirrors, cache = image_mirrors_of(settings, node_groups)
    nodes: list[pulumi.Resource] = [*node_groups.groups.values(), *cache]
    database = database_of(settings, network, tags)
    database_roles = database_roles_of(settings, database, cluster, mirrors, nodes, tags)
    storage = storage_of(settings, network, cluster, tags)
    managed = eks_addons(settings, cluster, storage, nodes, versions, tags)
    lb_controller, autoscaler = chart_addons(settings, network, cluster, nodes, tags, mirrors)
    karpenter = karpenter_of(settings, network, cluster, node_groups, nodes, tags)
    # The task groups' pools wait for Karpenter's release; what needs a task node waits for them.
    nodes = [*nodes, *(karpenter.node_pools.values() if karpenter else ())]
    device_plugin = gpu_device_plugin_of(settings, cluster, nodes, mirrors)
    worker_role = worker_role_of(settings, cluster, tags)
    telemetry = telemetry_of(settings, network, cluster, nodes, versions, tags)
    secrets = secrets_backend_of(settings, network, cluster, tags)
    archive = log_archive_of(settings, cluster, worker_role, tags, secrets)
    # The release's pods need the volumes' driver, nodes, and the controller's webhook answering.
    # ... and the database's roles in step before the chart's migration Job runs as Airflow's.
    if database_roles.job is None:
        raise AssertionError("an awake stack runs the database roles Job")
    ready = [managed[EFS_CSI_DRIVER].addon, *nodes, lb_controller.release, database_roles.job]
    node_cidrs = subnet_cidrs(settings, "node")  # read once for a brought VPC
    airflow = airflow_of(
        settings,
        database,
        database_roles,
        storage,
        cluster,
        worker_role,
        mirrors,
        ready,
        node_cidrs,
        telemetry,
        archive,
        secrets,
    )
    nlb = load_balancer_of(settings, network, cluster, airflow, lb_controller, node_cidrs, tags)
    stack = Stack(
        network,
        flow_logs,
        cluster,
        node_groups,
        database,
        database_roles,
        storage,
        managed,
        lb_controller,
        autoscaler,
        worker_role,
        telemetry,
        archive,
        airflow,
        nlb,
        alerts=None,
        dashboard=None,
        gpu_device_plugin=device_plugin,
        secrets=secrets,
        teams=teams_of(settings, network, cluster, airflow, secrets, tags),
        task_images=task_images_of(settings, node_groups, cluster, airflow),
        karpenter=karpenter,
    )
    return monitoring_of(settings, stack, tags)


def asleep_stack(
    settings: Settings,
    network: Network,
    cluster: Cluster,
    flow_logs: FlowLogs,
    versions: dict[str, str],
    tags: dict[str, str],
) -> Stack:
    """The stack asleep (`hibernate`): what holds data, and nothing billed by the hour. Built by the
    same functions as awake, so each kept resource has the same URN and inputs:
    - kept: the VPC, subnets and security groups (free); the flow logs; the cluster's keys and its
      control-plane log group (`ClusterArgs.asleep`); the database, stopped; the file system with its
      access points and mount targets (no PersistentVolume: `provider` None); the task pods' role (its
      trust refuses everyone: `ServiceAccountRoleArgs.asleep`); the container log groups and their key
      (`ClusterTelemetryArgs.asleep`); the task logs bucket and its key (`LogArchiveArgs.asleep`);
      Airflow's generated keys and passwords (`AirflowArgs.provider` None: with auth's JWT signing
      key); Airflow's database password (`DatabaseRolesArgs.provider` None); the secrets backend's
      key and role (its trust refuses everyone: `SecretsBackendArgs.asleep`); the alerts topic.
    - gone: the NAT gateways and their addresses (`NetworkArgs.nat`), the EKS cluster and its
      provider, the node groups with their role and volume key (`NodeGroupsArgs.asleep`: a key of
      root volumes only), the image cache rules, every EKS add-on (the cluster's vpc-cni with its
      role among them) and Helm release, every Kubernetes object (network policies, the database
      roles Job, the GPU device plugin, the task images' list), the IRSA roles of the add-ons and of
      the database roles Job, the teams (their roles and kubeconfig: recreated on waking), the task
      images' node pull policy (the node role is gone), the NLB, the alarms and the dashboard.
    A new hourly-billed or in-cluster part belongs in `build_stack` only."""
    node_groups = node_groups_of(settings, network, cluster, tags)
    database = database_of(settings, network, tags)
    database_roles = database_roles_of(settings, database, cluster, {}, [], tags)
    storage = storage_of(settings, network, cluster, tags)
    worker_role = worker_role_of(settings, cluster, tags)
    telemetry = telemetry_of(settings, network, cluster, [], versions, tags)
    secrets = secrets_backend_of(settings, network, cluster, tags)
    archive = log_archive_of(settings, cluster, worker_role, tags, secrets)
    node_cidrs = subnet_cidrs(settings, "node")
    airflow = airflow_of(
        settings,
        database,
        database_roles,
        storage,
        cluster,
        worker_role,
        {},
        [],
        node_cidrs,
        telemetry,
        archive,
        secrets,
    )
    stack = Stack(
        network,
        flow_logs,
        cluster,
        node_groups,
        database,
        database_roles,
        storage,
        {},
        None,
        None,
        worker_role,
        telemetry,
        archive,
        airflow,
        None,
        alerts=None,
        dashboard=None,
        secrets=secrets,
    )
    return monitoring_of(settings, stack, tags)


def by_team(s: Stack, attribute: str) -> pulumi.Output[dict[str, str]]:
    """Team name -> that attribute of its `Team` (`{}` without teams: `Output.all()` of nothing is a list)."""
    if not s.teams:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**{n: getattr(t, attribute) for n, t in s.teams.items()})


def exports(settings: Settings, s: Stack) -> PlatformOutputs:
    """The stack outputs, as the published contract (`contract/`) types them: every one
    exported whatever the config (`""` where it does not apply), so readers always find it. While
    the stack sleeps, what names a part that is gone (the cluster, its nodes, Airflow's release and
    claims, the NLB, the add-ons' roles, the dashboard) is `""` (`{}` for the node groups, `[]` for
    the NAT gateways); what is kept keeps its value (contract/README.md, While the platform sleeps)."""
    plain = pulumi.Output.from_input
    awake = not settings.hibernate

    def if_awake(value: Any) -> pulumi.Output[Any]:
        return plain(value if awake else "")

    nlb = s.nlb
    return PlatformOutputs(
        vpc_id=s.network.vpc_id,
        vpc_availability_zones=plain(s.network.availability_zones),
        vpc_availability_zone_ids=plain(s.network.availability_zone_ids),
        vpc_public_subnet_ids=plain(s.network.public_subnet_ids),
        vpc_node_subnet_ids=plain(s.network.node_subnet_ids),
        vpc_data_subnet_ids=plain(s.network.data_subnet_ids),
        vpc_nat_gateway_ids=plain(s.network.nat_gateway_ids),
        vpc_flow_log_group_name=s.flow_logs.log_group_name,
        cluster_name=if_awake(s.cluster.cluster_name),
        cluster_endpoint=s.cluster.endpoint,
        cluster_kubernetes_version=if_awake(settings.cluster.kubernetes_version),
        cluster_oidc_provider_arn=s.cluster.oidc_provider_arn,
        cluster_security_group_id=s.cluster.cluster_security_group_id,
        cluster_node_security_group_id=s.network.node_security_group_id,
        cluster_secrets_kms_key_arn=s.cluster.secrets_key_arn,
        cluster_log_group_name=s.cluster.log_group_name,
        cluster_kubeconfig=s.cluster.kubeconfig,
        # Output.all() of no keyword is a list: asleep the map is empty, still a map.
        node_group_names=pulumi.Output.all(**names) if (names := s.node_groups.node_group_names) else plain({}),
        node_group_role_arn=s.node_groups.node_role_arn,
        db_address=plain(s.database.address),
        db_port=plain(s.database.port),
        db_name=plain(s.database.db_name),
        db_security_group_id=plain(s.database.security_group_id),
        db_kms_key_arn=plain(s.database.kms_key_arn if s.database.kms_key_arn is not None else ""),
        efs_file_system_id=s.storage.file_system_id,
        efs_dags_access_point_id=s.storage.access_point_ids["dags"],
        efs_logs_access_point_id=s.storage.access_point_ids["logs"],
        efs_dags_claim_name=if_awake(s.storage.claim_names["dags"]),
        efs_logs_claim_name=if_awake(s.storage.claim_names["logs"]),
        airflow_namespace=s.airflow.namespace,
        airflow_url=nlb.url if nlb else plain(""),
        airflow_release_name=if_awake(s.airflow.release_name),
        airflow_chart_version=if_awake(s.airflow.chart_version),
        airflow_admin_password=(
            s.airflow.admin_password if s.airflow.admin_password is not None else pulumi.Output.secret("")
        ),
        airflow_worker_service_account=if_awake(s.airflow.worker_service_account),
        airflow_worker_role_arn=s.worker_role.role_arn,
        airflow_worker_role_name=s.worker_role.role_name,
        nlb_dns_name=nlb.dns_name if nlb else plain(""),
        nlb_arn=nlb.arn if nlb else plain(""),
        nlb_security_group_id=nlb.security_group_id if nlb else plain(""),
        addon_load_balancer_controller_role_arn=s.lb_controller.role_arn if s.lb_controller else plain(""),
        # "" under Karpenter: no Cluster Autoscaler (contract: every output exported whatever the config).
        addon_cluster_autoscaler_role_arn=s.autoscaler.role_arn if s.autoscaler else plain(""),
        sns_alerts_topic_arn=s.alerts.topic_arn if s.alerts else plain(""),
        cloudwatch_dashboard_url=plain(s.dashboard.url if s.dashboard else ""),
        cloudwatch_metrics_namespace=plain(s.telemetry.metrics_namespace if s.telemetry else ""),
        cloudwatch_container_log_group=plain(s.telemetry.log_group_names["application"] if s.telemetry else ""),
        task_logs_bucket_name=s.log_archive.bucket_name if s.log_archive else plain(""),
        task_logs_role_arn=s.log_archive.role_arn if s.log_archive else plain(""),
        secrets_backend_role_arn=s.secrets.role_arn if s.secrets else plain(""),
        secrets_kms_key_arn=s.secrets.kms_key_arn if s.secrets else plain(""),
        team_role_arns=by_team(s, "role_arn"),
        team_role_names=by_team(s, "role_name"),
        team_service_accounts=plain({n: t.service_account for n, t in s.teams.items()}),
        team_secrets_prefixes=plain({n: t.secrets_prefix for n, t in s.teams.items()}),
        team_deployer_role_arns=by_team(s, "deployer_role_arn"),
        team_kubeconfigs=by_team(s, "kubeconfig"),
        task_image_repositories=plain(list(settings.teams.task_image_repositories)),
        contract_version=plain(CONTRACT_VERSION),
    )


def main() -> dict[str, Any]:
    settings = with_zones(settings_from_pulumi())
    for warning in settings.warnings(utc_today()):
        pulumi.log.warn(warning)
    outputs = as_exports(exports(settings, build_stack(settings)))
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
