"""The whole stack: settings in, components wired through their typed outputs, exports out.

`__main__.py` calls `main()` under the Pulumi CLI; the offline plan and the tests call it
under mocks. The exported names are a public contract (other stacks read them through
`StackReference`): add new ones freely, never rename or remove one.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.cluster import Cluster, ClusterArgs
from components.network import Network, NetworkArgs
from components.node_groups import NodeGroups, NodeGroupsArgs
from config.settings import Settings, load_settings
from lib.naming import base_tags


def settings_from_pulumi() -> Settings:
    """Settings from the config the engine handed this program (all keys, as strings)."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{project}:"
    ours = {k[len(prefix) :]: v for k, v in everything.items() if k.startswith(prefix)}
    return load_settings(ours, stack, str(everything.get("aws:region", "")))


def build(settings: Settings) -> dict[str, Any]:
    """Create every component; return the stack outputs."""
    name = settings.name
    tags = base_tags(settings.project, settings.stack, settings.tags)

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
            tags=tags,
        ),
    )

    exports: dict[str, Any] = {
        "vpc_id": network.vpc_id,
        "vpc_availability_zones": network.availability_zones,
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
    }

    # --- data tier (issue 3) ---
    # --- end data tier ---

    # --- airflow tier (issue 4) ---
    # --- end airflow tier ---

    return exports


def main() -> dict[str, Any]:
    exports = build(settings_from_pulumi())
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports
