"""GpuDevicePlugin: the NVIDIA device plugin on the GPU node groups.

Creates (`airflow:index:GpuDevicePlugin`), when a node group has NVIDIA GPU instance types:
- a Helm v3 release of NVIDIA's `nvidia-device-plugin` chart at its pinned version
  (`lib.cluster.helm_addons.NVIDIA_DEVICE_PLUGIN`) in kube-system: a DaemonSet on the nodes of
  those groups only (a required node affinity on their group label), tolerating their taints,
  that advertises each node's GPUs as `nvidia.com/gpu`, the resource a GPU queue's task pods ask
  (lib/airflow/queues.py). It makes no AWS call and gets no IAM role. The release waits for the
  node groups; a GPU group at zero nodes leaves the DaemonSet with nothing to run, which Helm's
  wait accepts (a DaemonSet is ready when its scheduled pods are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.parts.helm import helm_release
from components.parts.outputs import register_public_outputs
from lib.cluster.helm_addons import NVIDIA_DEVICE_PLUGIN, gpu_groups, nvidia_device_plugin_values
from lib.cluster.node_groups import NodeGroup
from lib.naming import child_name

RELEASE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class GpuDevicePluginArgs:
    groups: tuple[NodeGroup, ...]
    """The stack's node groups; the plugin runs on those with GPU instance types (one at least)."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    image_mirrors: pulumi.Input[Mapping[str, str]]
    """Registry -> mirror prefix (the plugin's image is on nvcr.io, which no pull-through cache rule mirrors)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the release waits for (the node groups)."""

    def __post_init__(self) -> None:
        if not gpu_groups(self.groups):
            raise ValueError("GpuDevicePluginArgs.groups has no GPU node group: the plugin would run nowhere")


class GpuDevicePlugin(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    """The Helm release."""
    chart_version: str
    """The pinned chart version."""

    def __init__(self, name: str, args: GpuDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:GpuDevicePlugin", name, None, opts)
        chart = NVIDIA_DEVICE_PLUGIN
        self.release = helm_release(
            self,
            child_name(name, "release"),
            release_name=chart.release_name,
            chart=chart.chart,
            version=chart.version,
            repository=chart.repository,
            namespace=chart.namespace,
            values=pulumi.Output.from_input(args.image_mirrors).apply(
                lambda m: nvidia_device_plugin_values(args.groups, m)
            ),
            provider=args.provider,
            timeout=RELEASE_TIMEOUT_SECONDS,
            depends_on=args.depends_on,
        )
        self.chart_version = chart.version
        register_public_outputs(self)
