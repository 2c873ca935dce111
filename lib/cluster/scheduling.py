"""Where pods land: node group labels, taints as tolerations, autoscaler node templates."""

from __future__ import annotations

from typing import Any

from lib.cluster.node_groups import NODE_GROUP_LABEL, NodeGroup

# NODE_GROUP_LABEL is defined with the node group, which refuses it as a configured label.
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"


def node_labels(group: NodeGroup) -> dict[str, str]:
    """The group's configured labels plus the label Airflow pods select nodes by."""
    return {**group.labels, NODE_GROUP_LABEL: group.name}


def node_selector(group: NodeGroup) -> dict[str, str]:
    return {NODE_GROUP_LABEL: group.name}


def tolerations(group: NodeGroup) -> list[dict[str, Any]]:
    """Tolerations matching every taint of `group` exactly."""
    return [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect.kubernetes} for t in group.taints]


def autoscaler_node_template_tags(group: NodeGroup) -> dict[str, str]:
    """ASG tags describing a group's nodes to the cluster autoscaler while it has none."""
    prefix = "k8s.io/cluster-autoscaler/node-template"
    tags = {f"{prefix}/label/{k}": v for k, v in node_labels(group).items()}
    tags.update({f"{prefix}/taint/{t.key}": f"{t.value}:{t.effect.kubernetes}" for t in group.taints})
    return tags
