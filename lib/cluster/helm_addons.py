"""Cluster add-ons as data: pinned charts, computed Helm values and least-privilege IAM.

Everything here is plain Python (no Pulumi), so that it is unit-tested directly;
`components/cluster_addon.py` turns one `AddonChart` into an IAM role for its service account
(IRSA) and a Helm release.

- AWS Load Balancer Controller: this program uses it for one thing only, a TargetGroupBinding
  that registers the Airflow API server pods in a target group Pulumi owns. Its IAM policy
  allows the describe calls that reconciling needs and registering targets only in target
  groups tagged for this cluster; it creates no load balancer and writes no security group (the
  program adds the NLB -> nodes rule itself), so it gets no permission to. It does read
  security groups: read in controller v3.4.3 (the same in v3.5.0), a binding without `spec.networking` still runs
  the networking reconcile, and so does the finalizer's cleanup, whose first call is
  `ec2:DescribeSecurityGroups` (pkg/networking/networking_manager.go: reconcile l.100-110, gc
  l.243-246 and l.615-634; cleanup l.124-126). Without it, every reconcile fails and the
  binding's finalizer is never removed: `pulumi destroy` hangs on the namespace.
- Cluster Autoscaler: discovers the managed node groups' Auto Scaling groups by the tags EKS puts
  on them, and may change only the groups tagged as owned by this cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lib.cluster.node_groups import NODE_GROUP_LABEL, NodeGroup
from lib.cluster.scheduling import node_selector, tolerations
from lib.images import mirrored
from lib.merge import ListKeys, compose_owned, merge_overrides, owned

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
ADDON_NAMESPACE = "kube-system"
TARGET_GROUP_BINDING_TAG = "airflow-eks/target-group-binding"
"""Tag (value: the cluster name) marking target groups this cluster's controller may fill."""


@dataclass(frozen=True)
class AddonChart:
    """A Helm chart installed as a cluster add-on, at a pinned version."""

    key: str
    """Short name, used in resource names (`lb-controller`)."""
    repository: str
    chart: str
    version: str
    release_name: str
    service_account: str
    service_account_annotations_path: tuple[str, ...]
    """Where the chart reads the service account's annotations, as a path of value keys."""
    namespace: str = ADDON_NAMESPACE


# Chart 3.x installs controller v3.x (chart and app versions are equal since 3.0). 3.5.0 (eks-charts
# 5239609, 2026-08-03) is the newest: its templates, values and IAM policy are 3.4.3's but for the
# image tag; the controller checks dualstack subnets and fixes a TargetGroupBinding cache-key
# collision (#4864). The controller sources cited below read the same at v3.4.3 and v3.5.0
# (the module path became .../v3: import lines only).
LOAD_BALANCER_CONTROLLER = AddonChart(
    key="lb-controller",
    repository="https://aws.github.io/eks-charts",
    chart="aws-load-balancer-controller",
    version="3.5.0",
    release_name="aws-load-balancer-controller",
    service_account="aws-load-balancer-controller",
    service_account_annotations_path=("serviceAccount", "annotations"),
)

# Chart 9.59.0 (tag cluster-autoscaler-chart-9.59.0 of kubernetes/autoscaler, 2026-07-21, the newest
# read here) ships Cluster Autoscaler 1.35.0 (appVersion); the image is set per cluster minor below,
# as the autoscaler's docs require. 9.51.0 (appVersion 1.33.0) lacks the RBAC that autoscalers from
# 1.35 read through (resource.k8s.io resourceslices, deviceclasses and resourceclaims, added in chart
# 9.54.0; podtemplates; autoscaling.x-k8s.io capacitybuffers and provisioningrequests); the values
# this program sets are unchanged between the two (values.yaml diff read).
CLUSTER_AUTOSCALER = AddonChart(
    key="cluster-autoscaler",
    repository="https://kubernetes.github.io/autoscaler",
    chart="cluster-autoscaler",
    version="9.59.0",
    release_name="cluster-autoscaler",
    service_account="cluster-autoscaler",
    service_account_annotations_path=("rbac", "serviceAccount", "annotations"),
)

CLUSTER_AUTOSCALER_IMAGE_TAGS = {
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}
"""The autoscaler release for each accepted Kubernetes minor (it must match the cluster's): the
newest patch tag `cluster-autoscaler-<version>` of kubernetes/autoscaler read here (1.33.6, 1.34.5,
1.35.2 and 1.36.1 all tagged 2026-07-22, 1.32.7 earlier; snapshot of 2026-08-22). The images
at registry.k8s.io/autoscaling/cluster-autoscaler were not pulled from here."""

# Requests and limits of the add-on pods: small, fixed, measured against their defaults.
LOAD_BALANCER_CONTROLLER_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
CLUSTER_AUTOSCALER_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "300Mi"},
    "limits": {"cpu": "500m", "memory": "600Mi"},
}


ZONE_KEY = "topology.kubernetes.io/zone"


def zone_spread(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """At most one more pod in one zone than in another, strictly (`DoNotSchedule`): losing a zone
    loses at most ceil(replicas / zones) of them (reports/az_loss.py). With replicas no more than the
    zones, a lost zone's pod always finds a zone left to go to. Tainted nodes the pods cannot use
    are no zone of theirs (`nodeTaintsPolicy: Honor`, Kubernetes 1.26 and later)."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "DoNotSchedule",
            "nodeTaintsPolicy": "Honor",
            "labelSelector": {"matchLabels": dict(labels)},
        }
    ]


ADDON_UID = 65534
"""The add-on containers' user and group (nobody): both are static binaries that read their
mounted files only (the controller's webhook certificate, mode 0644)."""
RESTRICTED_VIA = "the add-on pods run under the Restricted Pod Security Standard, as the Airflow pods do"
ADDON_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": ADDON_UID,
    "runAsGroup": ADDON_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Every add-on container's security context. The charts' own defaults fall short of Restricted:
aws-load-balancer-controller 3.5.0 (eks-charts 5239609, values.yaml L48-57) drops no capability and
sets no seccomp profile; cluster-autoscaler 9.59.0 (kubernetes/autoscaler 5a0b98e4, values.yaml
L166-171 and L421-426) sets no security context at all."""
ADDON_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": ADDON_UID,
    "runAsGroup": ADDON_UID,
    "fsGroup": ADDON_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""Every add-on pod's security context (the controller chart's default `fsGroup` kept)."""
ADDON_PULL_POLICY = "Always"
"""As the Airflow control plane's: the kubelet checks the registry's credentials on each start."""


def partition(region: str) -> str:
    """The AWS partition of `region` (`aws`, `aws-cn`, `aws-us-gov`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


ADDON_LIST_KEYS = ListKeys.of(named=("extraVolumes",), unnamed=("tolerations",), extraVolumeMounts="mountPath")
"""Lists of both charts whose entries add up (`lib.merge`): the extra volumes and mounts follow
the chart's own in its Deployment (aws-load-balancer-controller's webhook certificate, eks-charts
stable/aws-load-balancer-controller/templates/deployment.yaml; the cluster autoscaler's
`extraVolumes`); `tolerations`, rendered whole by both, add up as the Airflow chart's do
(`lib.airflow.values.CHART_LIST_KEYS`: a toleration only allows a node). Their `env`, `extraEnv`
and `extraArgs` are maps, merged key by key anyway."""


IMAGE_VIA = (
    "the image is the program's pin (the autoscaler's: the cluster's Kubernetes minor), pulled through "
    "imageRegistryMirrors or imagePullThroughCacheCredentialArn"
)
CLUSTER_VIA = "the program's: the stack's cluster, region and VPC"
ACCOUNT_VIA = "the service account carries the IAM role the program made for it (IRSA)"
REPLICAS_VIA = "the replicas the program runs, with their disruption budget"
SCOPE_VIA = "the controller here only binds the API server's target group (its IAM policy allows nothing else)"


def _account(chart: AddonChart) -> dict[str, Any]:
    """The chart's service account, created under the name its IAM role trusts (other annotations are the user's)."""
    return {"create": owned(True, ACCOUNT_VIA), "name": owned(chart.service_account, ACCOUNT_VIA)}


def irsa_values(chart: AddonChart, role_arn: str) -> dict[str, Any]:
    """The values that annotate `chart`'s service account with its IAM role."""
    values: dict[str, Any] = {IRSA_ANNOTATION: owned(role_arn, ACCOUNT_VIA)}
    for key in reversed(chart.service_account_annotations_path):
        values = {key: values}
    return values


def release_values(
    chart: AddonChart, values: Mapping[str, Any], role_arn: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The release's values: the computed ones and the role's annotation, each value with one
    owner (`lib.merge.compose`), then the user's overrides, their list entries added (`deep_merge`)."""
    program, owned_paths = compose_owned(
        [("computed values", values), ("irsa_values", irsa_values(chart, role_arn))], ADDON_LIST_KEYS
    )
    return merge_overrides(program, owned_paths, overrides, ADDON_LIST_KEYS)


# --------------------------------------------------------------------------- load balancer controller


def load_balancer_controller_policy(region: str, cluster_name: str) -> dict[str, Any]:
    """IAM policy for TargetGroupBinding of Pulumi-owned IP target groups, and nothing else."""
    target_groups = f"arn:{partition(region)}:elasticloadbalancing:{region}:*:targetgroup/*/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # Read-only calls of reconciling (target group, its health and tags; the
                # webhook's DescribeTargetGroups), of IP target checks (the VPC's CIDRs, subnets
                # and zones) and of the networking reconcile and cleanup (security groups).
                "Sid": "Describe",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetHealth",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                "Resource": "*",
            },
            {
                # Only target groups in this region tagged for this cluster.
                "Sid": "RegisterTargetsOfOwnTargetGroups",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                "Resource": target_groups,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{TARGET_GROUP_BINDING_TAG}": cluster_name}},
            },
        ],
    }


LOAD_BALANCER_CONTROLLER_IMAGE = "public.ecr.aws/eks/aws-load-balancer-controller"  # the chart's default
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"  # the chart's default


def load_balancer_controller_values(
    cluster_name: str, region: str, vpc_id: str, group: NodeGroup, image_mirrors: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Values of the controller chart (before the IRSA annotation and the user's overrides); those
    marked `owned` the user's values may not change (`release_values`)."""
    return {
        "clusterName": owned(cluster_name, CLUSTER_VIA),
        "image": owned(
            {
                "repository": mirrored(LOAD_BALANCER_CONTROLLER_IMAGE, image_mirrors or {}),
                "pullPolicy": ADDON_PULL_POLICY,
            },
            IMAGE_VIA,
        ),
        # The chart's deployment.yaml (L56-57, L235-236) renders both as given.
        "podSecurityContext": owned(ADDON_POD_SECURITY, RESTRICTED_VIA),
        "securityContext": owned(ADDON_CONTAINER_SECURITY, RESTRICTED_VIA),
        # Explicit: nodes allow a single IMDS hop, so pods cannot read these from the instance.
        "region": owned(region, CLUSTER_VIA),
        "vpcId": owned(vpc_id, CLUSTER_VIA),
        "replicaCount": owned(2, REPLICAS_VIA),
        "podDisruptionBudget": {"maxUnavailable": 1},
        # The chart's pod labels (eks-charts aws-load-balancer-controller 3.5.0, _helpers.tpl selectorLabels).
        "topologySpreadConstraints": zone_spread(
            {
                "app.kubernetes.io/name": LOAD_BALANCER_CONTROLLER.chart,
                "app.kubernetes.io/instance": LOAD_BALANCER_CONTROLLER.release_name,
            }
        ),
        "serviceAccount": _account(LOAD_BALANCER_CONTROLLER),
        "nodeSelector": node_selector(group),
        "tolerations": tolerations(group),
        "resources": LOAD_BALANCER_CONTROLLER_RESOURCES,
        # TargetGroupBinding only: no take-over of Services of type LoadBalancer, no ingress
        # class, no ALB add-ons (Shield, WAF), no shared backend security group to manage.
        **{
            key: owned(value, SCOPE_VIA)
            for key, value in {
                "enableServiceMutatorWebhook": False,
                "createIngressClassResource": False,
                "ingressClassParams": {"create": False},
                "enableShield": False,
                "enableWaf": False,
                "enableWafv2": False,
                "enableBackendSecurityGroup": False,
            }.items()
        },
    }


# --------------------------------------------------------------------------- cluster autoscaler


def autoscaler_discovery_tags(cluster_name: str) -> list[str]:
    """The tags EKS puts on every managed node group's Auto Scaling group."""
    return ["k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{cluster_name}"]


def cluster_autoscaler_policy(region: str, cluster_name: str) -> dict[str, Any]:
    """IAM policy: describe freely; scale only the Auto Scaling groups owned by this cluster."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Describe",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                # Labels, taints and resources of a group with no node yet (scale up from zero).
                "Sid": "DescribeOwnNodegroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:{partition(region)}:eks:{region}:*:nodegroup/{cluster_name}/*/*",
            },
            {
                "Sid": "ScaleOwnGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ],
    }


def cluster_autoscaler_values(
    cluster_name: str,
    region: str,
    kubernetes_version: str,
    group: NodeGroup,
    image_mirrors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Values of the autoscaler chart (before the IRSA annotation and the user's overrides)."""
    if kubernetes_version not in CLUSTER_AUTOSCALER_IMAGE_TAGS:
        raise ValueError(f"no Cluster Autoscaler release pinned for Kubernetes {kubernetes_version}")
    return {
        "cloudProvider": owned("aws", CLUSTER_VIA),
        "awsRegion": owned(region, CLUSTER_VIA),
        # Its IAM policy lets it scale only the groups tagged as this cluster's.
        "autoDiscovery": owned(
            {"clusterName": cluster_name, "tags": autoscaler_discovery_tags(cluster_name)}, CLUSTER_VIA
        ),
        "image": owned(
            {
                "repository": mirrored(CLUSTER_AUTOSCALER_IMAGE, image_mirrors or {}),
                "tag": CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetes_version],
                "pullPolicy": ADDON_PULL_POLICY,
            },
            IMAGE_VIA,
        ),
        # The chart's deployment.yaml renders `securityContext` on the pod (L342-345) and
        # `containerSecurityContext` on its one container (L298-301).
        "securityContext": owned(ADDON_POD_SECURITY, RESTRICTED_VIA),
        "containerSecurityContext": owned(ADDON_CONTAINER_SECURITY, RESTRICTED_VIA),
        "fullnameOverride": owned(CLUSTER_AUTOSCALER.release_name, ACCOUNT_VIA),
        "rbac": {"serviceAccount": _account(CLUSTER_AUTOSCALER)},
        # Two, leader-elected (the autoscaler's --leader-elect defaults to true): losing the leader's
        # zone hands the lease to the other within its lease duration, instead of waiting for a new pod.
        "replicaCount": owned(2, REPLICAS_VIA),
        "podDisruptionBudget": {"maxUnavailable": 1},
        # The chart's pod labels (cluster-autoscaler 9.59.0, _helpers.tpl `cluster-autoscaler.instance-name`:
        # the release, and `<cloudProvider>-<chart>` as its name).
        "topologySpreadConstraints": zone_spread(
            {
                "app.kubernetes.io/instance": CLUSTER_AUTOSCALER.release_name,
                "app.kubernetes.io/name": f"aws-{CLUSTER_AUTOSCALER.chart}",
            }
        ),
        "nodeSelector": node_selector(group),
        "tolerations": tolerations(group),
        "resources": CLUSTER_AUTOSCALER_RESOURCES,
        "extraArgs": {
            "expander": "least-waste",
            "balance-similar-node-groups": True,
            # Add-ons on the system group (CoreDNS, the controllers) must not pin its nodes forever.
            "skip-nodes-with-system-pods": False,
            "skip-nodes-with-local-storage": False,
        },
    }


# --------------------------------------------------------------------------- NVIDIA device plugin

# Chart 0.20.0 of NVIDIA/k8s-device-plugin (tag v0.20.0, commit 1b826acc6af3, 2026-08-19: the newest
# read here): a DaemonSet advertising `nvidia.com/gpu` on the nodes it runs on. Read there:
# values.yaml (its default affinity wants node-feature-discovery's labels or `nvidia.com/gpu.present`,
# which EKS does not set; its tolerations only `CriticalAddonsOnly` and `nvidia.com/gpu`),
# templates/daemonset-device-plugin.yml (`affinity`, `tolerations`, `nodeSelector` and `resources`
# taken whole) and _helpers.tpl (the image `<repository>:v<appVersion>` unless `image.tag`). It needs
# no AWS permission: no IAM role. The EKS AL2023 NVIDIA AMI brings the driver and the container
# toolkit, so the chart's defaults (no GFD, no MIG, no MPS) are kept. Rendered once by hand with
# `helm template` from that tag and these values (the chart is not vendored here, so no test renders
# it): the plugin's DaemonSet takes this affinity, these tolerations and image v0.20.0; the chart's
# MPS control DaemonSet also renders, but selects `nvidia.com/mps.capable=true`, set only with MPS on.
NVIDIA_DEVICE_PLUGIN = AddonChart(
    key="nvidia-device-plugin",
    repository="https://nvidia.github.io/k8s-device-plugin",
    chart="nvidia-device-plugin",
    version="0.20.0",
    release_name="nvidia-device-plugin",
    service_account="nvidia-device-plugin-service-account",  # the chart's `<fullname>-service-account`
    service_account_annotations_path=(),
)
NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin"  # the chart's default
NVIDIA_DEVICE_PLUGIN_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "100m", "memory": "128Mi"},
}


def gpu_groups(groups: Sequence[NodeGroup]) -> tuple[NodeGroup, ...]:
    return tuple(g for g in groups if g.gpu)


def nvidia_device_plugin_values(
    groups: Sequence[NodeGroup], image_mirrors: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Values of the device plugin chart: on every node of the GPU groups, tolerating their taints."""
    gpus = gpu_groups(groups)
    if not gpus:
        raise ValueError("the NVIDIA device plugin runs only with a GPU node group")
    tolerated: list[dict[str, Any]] = []
    for group in gpus:
        tolerated += [t for t in tolerations(group) if t not in tolerated]
    term = {"key": NODE_GROUP_LABEL, "operator": "In", "values": [g.name for g in gpus]}
    # No key of the user's reaches these values: nothing to mark `owned`.
    return {
        "fullnameOverride": NVIDIA_DEVICE_PLUGIN.release_name,
        "image": {
            "repository": mirrored(NVIDIA_DEVICE_PLUGIN_IMAGE, image_mirrors or {}),
            "tag": f"v{NVIDIA_DEVICE_PLUGIN.version}",
        },
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [term]}]}
            }
        },
        "tolerations": tolerated,
        "resources": NVIDIA_DEVICE_PLUGIN_RESOURCES,
    }
