"""The whole stack: settings in, components wired through their typed outputs, exports out.

`__main__.py` calls `main()` under the Pulumi CLI; the offline plan and the tests call it
under mocks. The exported names are a public contract (other stacks read them through
`StackReference`): add new ones freely, never rename or remove one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from components.airflow import Airflow, AirflowArgs
from components.cluster import Cluster, ClusterArgs
from components.cluster_addon import ClusterAddon, ClusterAddonArgs
from components.database import Database, DatabaseArgs
from components.eks_addon import EksAddon, EksAddonArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.node_groups import NodeGroups, NodeGroupsArgs
from components.shared_storage import SharedStorage, SharedStorageArgs
from config.settings import ConfigError, Settings, load_settings
from lib import addons
from lib.airflow_values import API_SERVER_HEALTH_PATH, API_SERVER_PORT, api_server_service_name
from lib.eks_addons import COREDNS, EFS_CSI_DRIVER, addon_versions
from lib.naming import base_tags, child_name
from lib.zones import MAX_ZONES, choose_zone_ids


def settings_from_pulumi() -> Settings:
    """Settings from the config the engine handed this program (all keys, as strings)."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{project}:"
    ours = {k[len(prefix) :]: v for k, v in everything.items() if k.startswith(prefix)}
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


def build(settings: Settings) -> dict[str, Any]:
    """Create every component; return the stack outputs."""
    settings = with_zones(settings)
    for warning in settings.warnings():
        pulumi.log.warn(warning)
    name = settings.name
    tags = base_tags(settings.project, settings.stack, settings.tags)
    versions = addon_versions(settings.cluster.kubernetes_version, settings.addons.eks_addon_versions)

    network = Network(
        name,
        NetworkArgs(settings=settings.network, region=settings.region, cluster_name=name, tags=tags),
    )
    cluster = Cluster(
        name,
        ClusterArgs(
            settings=settings.cluster,
            cluster_name=name,
            vpc_id=network.vpc_id,
            subnet_ids=network.node_subnet_ids,
            addon_versions=versions,
            protect=settings.protect,
            tags=tags,
        ),
    )
    node_groups = NodeGroups(
        name,
        NodeGroupsArgs(
            groups=settings.node_groups,
            cluster=cluster.eks_cluster,
            subnet_ids=network.node_subnet_ids,
            security_group_ids=pulumi.Output.all(cluster.cluster_security_group_id, cluster.node_security_group_id),
            kubernetes_version=settings.cluster.kubernetes_version,
            ami_release_version=settings.cluster.node_ami_release_version,
            tags=tags,
        ),
    )

    database = Database(
        name,
        DatabaseArgs(
            settings=settings.database,
            vpc_id=network.vpc_id,
            subnet_ids=network.data_subnet_ids,
            node_security_group_id=cluster.node_security_group_id,
            protect=settings.protect,
            # A secret config key, read only when the stack brings its own database.
            existing_password=(
                pulumi.Config().require_secret("existingDbPassword") if settings.database.existing else None
            ),
            tags=tags,
        ),
    )
    storage = SharedStorage(
        name,
        SharedStorageArgs(
            settings=settings.storage,
            vpc_id=network.vpc_id,
            zone_count=len(network.availability_zone_ids),
            subnet_ids=network.data_subnet_ids,
            node_security_group_id=cluster.node_security_group_id,
            cluster_name=cluster.cluster_name,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            provider=cluster.provider,
            csi_driver_version=versions[EFS_CSI_DRIVER],
            addon_depends_on=list(node_groups.groups.values()),
            protect=settings.protect,
            tags=tags,
        ),
    )

    system_group = settings.node_group("system")
    nodes = list(node_groups.groups.values())  # add-on pods need nodes before their releases settle
    # pulumi-eks leaves CoreDNS self-managed without a default node group (v4.3 cluster.ts
    # L1175-1184): managed here, once there are nodes for its pods.
    EksAddon(
        child_name(name, COREDNS),
        EksAddonArgs(
            cluster_name=cluster.cluster_name,
            addon_name=COREDNS,
            version=versions[COREDNS],
            depends_on=nodes,
            tags=tags,
        ),
    )
    lb_controller = ClusterAddon(
        child_name(name, addons.LOAD_BALANCER_CONTROLLER.key),
        ClusterAddonArgs(
            chart=addons.LOAD_BALANCER_CONTROLLER,
            values=network.vpc_id.apply(
                lambda vpc_id: addons.load_balancer_controller_values(
                    cluster.cluster_name, settings.region, vpc_id, system_group
                )
            ),
            overrides=settings.addons.load_balancer_controller_values,
            policy=addons.load_balancer_controller_policy(settings.region, cluster.cluster_name),
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            provider=cluster.provider,
            depends_on=nodes,
            tags=tags,
        ),
    )
    autoscaler = ClusterAddon(
        child_name(name, addons.CLUSTER_AUTOSCALER.key),
        ClusterAddonArgs(
            chart=addons.CLUSTER_AUTOSCALER,
            values=addons.cluster_autoscaler_values(
                cluster.cluster_name, settings.region, settings.cluster.kubernetes_version, system_group
            ),
            overrides=settings.addons.cluster_autoscaler_values,
            policy=addons.cluster_autoscaler_policy(settings.region, cluster.cluster_name),
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            provider=cluster.provider,
            depends_on=nodes,
            tags=tags,
        ),
    )
    airflow = Airflow(
        name,
        AirflowArgs(
            settings=settings.airflow,
            control_plane=settings.node_group("airflow"),
            workers=settings.node_group("workers"),
            namespace=storage.namespace,
            namespace_resource=storage.namespace_resource,
            connection_uri=database.connection_uri,
            max_connections=database.max_connections,
            dags_claim_name=storage.dags_claim_name,
            logs_claim_name=storage.logs_claim_name,
            provider=cluster.provider,
            # Exactly what the release needs: its namespace and volumes (claims, CSI driver), nodes
            # for its pods, and the controller's webhook answering before any pod is admitted.
            depends_on=[storage.namespace_resource, *storage.claims, storage.csi_driver, *nodes, lb_controller.release],
        ),
    )
    nlb = LoadBalancer(
        name,
        LoadBalancerArgs(
            settings=settings.load_balancer,
            vpc_cidr=settings.network.vpc_cidr,
            cluster_name=cluster.cluster_name,
            vpc_id=network.vpc_id,
            subnet_ids=network.node_subnet_ids,
            node_security_group_id=cluster.node_security_group_id,
            namespace=storage.namespace,
            namespace_resource=storage.namespace_resource,
            service_name=api_server_service_name(airflow.release_name),
            service_port=API_SERVER_PORT,
            health_check_path=API_SERVER_HEALTH_PATH,
            controller=lb_controller.release,
            provider=cluster.provider,
            tags=tags,
        ),
    )
    return {
        "vpc_id": network.vpc_id,
        "vpc_availability_zones": network.availability_zones,
        "vpc_availability_zone_ids": network.availability_zone_ids,
        "vpc_public_subnet_ids": network.public_subnet_ids,
        "vpc_node_subnet_ids": network.node_subnet_ids,
        "vpc_data_subnet_ids": network.data_subnet_ids,
        "vpc_nat_gateway_ids": network.nat_gateway_ids,
        "cluster_name": cluster.cluster_name,
        "cluster_endpoint": cluster.endpoint,
        "cluster_kubernetes_version": settings.cluster.kubernetes_version,
        "cluster_oidc_provider_arn": cluster.oidc_provider_arn,
        "cluster_security_group_id": cluster.cluster_security_group_id,
        "cluster_node_security_group_id": cluster.node_security_group_id,
        "cluster_secrets_kms_key_arn": cluster.secrets_key_arn,
        "cluster_kubeconfig": cluster.kubeconfig,
        "node_group_names": node_groups.node_group_names,
        "node_group_role_arn": node_groups.node_role_arn,
        "db_address": database.address,
        "db_port": database.port,
        "db_name": database.db_name,
        "db_security_group_id": database.security_group_id,
        "db_connection_uri": database.connection_uri,
        "efs_file_system_id": storage.file_system_id,
        "efs_dags_access_point_id": storage.dags_access_point_id,
        "efs_logs_access_point_id": storage.logs_access_point_id,
        "efs_dags_claim_name": storage.dags_claim_name,
        "efs_logs_claim_name": storage.logs_claim_name,
        "airflow_namespace": storage.namespace,
        "airflow_url": nlb.url,
        "airflow_release_name": airflow.release_name,
        "airflow_chart_version": airflow.chart_version,
        "nlb_dns_name": nlb.dns_name,
        "nlb_arn": nlb.arn,
        "nlb_security_group_id": nlb.security_group_id,
        "addon_load_balancer_controller_role_arn": lb_controller.role_arn,
        "addon_cluster_autoscaler_role_arn": autoscaler.role_arn,
        # Exported whatever the config ("" when not applicable): readers see the same outputs.
        "db_kms_key_arn": database.kms_key_arn if database.kms_key_arn is not None else "",
        "airflow_admin_password": (
            airflow.admin_password if airflow.admin_password is not None else pulumi.Output.secret("")
        ),
    }


def main() -> dict[str, Any]:
    exports = build(settings_from_pulumi())
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports
