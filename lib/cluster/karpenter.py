"""Karpenter, the alternative to the Cluster Autoscaler for the task groups, as plain data.

Read at aws/karpenter-provider-aws tag v1.14.1 (commit of 2026-08, `fetch` mirror): the chart
(charts/karpenter: values.yaml `settings.clusterName`, `settings.interruptionQueue`,
`serviceAccount.annotations`, `replicas`, `nodeSelector`, `tolerations`; its default affinity keeps
the controller off the nodes it launches), the v1 CRDs (pkg/apis/crds/karpenter.sh_nodepools.yaml,
karpenter.k8s.aws_ec2nodeclasses.yaml), the getting-started CloudFormation template (the
controller's permissions, the interruption queue and its EventBridge rules) and the docs
(concepts/disruption.md: `karpenter.sh/do-not-disrupt`, consolidation; reference/settings.md:
batching). What this module builds, per task group (`workers` and each queue group):

- a NodePool: the group's labels (the group label with them, so the queue policy's node selector
  and the pod template still select it) and taints, its instance types and capacity type
  (`karpenter.sh/capacity-type` spot or on-demand), its architecture, a node limit of its
  `maxSize`, and disruption that never takes a node from a running task: `WhenEmpty`
  consolidation (a node goes once no pod but DaemonSets' is left on it), and the task pods carry
  `karpenter.sh/do-not-disrupt: "true"` (`TASK_POD_ANNOTATIONS`), which also holds off drift and
  expiry while they run;
- an EC2NodeClass: the EKS AL2023 AMI (`al2023@<version>`; Karpenter takes its NVIDIA variant for
  GPU types), the nodes' role, the cluster's subnets and security groups by their discovery tag,
  IMDSv2 with one hop and the encrypted gp3 root volume the managed groups have.

And for the controller: its IRSA policy (launch and terminate only what carries this cluster's
tags), the interruption queue's policy and the EventBridge rules feeding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.cluster.helm_addons import AddonChart, partition
from lib.cluster.node_groups import CapacityType, NodeGroup, is_arm
from lib.cluster.scheduling import node_labels, node_selector, tolerations

# The chart is only on ECR Public's OCI registry since v0.17 (charts.karpenter.sh stopped there).
KARPENTER = AddonChart(
    key="karpenter",
    repository="oci://public.ecr.aws/karpenter",
    chart="karpenter",
    version="1.14.1",
    release_name="karpenter",
    service_account="karpenter",
    service_account_annotations_path=("serviceAccount", "annotations"),
)
DISCOVERY_TAG = "karpenter.sh/discovery"
"""Tag (value: the cluster name) on the node subnets and security groups the EC2NodeClasses select."""
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
TASK_POD_ANNOTATIONS = {DO_NOT_DISRUPT: "true"}
"""On every task pod: Karpenter never voluntarily disrupts a node while it runs one (disruption.md)."""
CONSOLIDATE_AFTER = "60s"
"""How long a node stays empty before `WhenEmpty` consolidation removes it."""
CAPACITY_TYPES = {CapacityType.ON_DEMAND: "on-demand", CapacityType.SPOT: "spot"}
KARPENTER_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
INTERRUPTION_EVENTS = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
"""EventBridge rule -> (source, detail-type) of the events Karpenter reads from its queue."""


def node_class_name(group: NodeGroup) -> str:
    return group.name


def karpenter_values(cluster_name: str, queue_name: str, system: NodeGroup) -> dict[str, Any]:
    """Values of the Karpenter chart: the controller on the system group, this cluster, its queue."""
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"create": True, "name": KARPENTER.service_account},
        "replicas": 2,
        "nodeSelector": node_selector(system),
        "tolerations": tolerations(system),
        "controller": {"resources": KARPENTER_RESOURCES},
    }


def node_pool(group: NodeGroup) -> dict[str, Any]:
    """The task group's NodePool (karpenter.sh/v1)."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": group.name},
        "spec": {
            "template": {
                "metadata": {"labels": node_labels(group)},
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": node_class_name(group),
                    },
                    "taints": [{"key": t.key, "value": t.value, "effect": t.effect.kubernetes} for t in group.taints],
                    "requirements": [
                        {
                            "key": "node.kubernetes.io/instance-type",
                            "operator": "In",
                            "values": list(group.instance_types),
                        },
                        {
                            "key": "karpenter.sh/capacity-type",
                            "operator": "In",
                            "values": [CAPACITY_TYPES[group.capacity_type]],
                        },
                        {
                            "key": "kubernetes.io/arch",
                            "operator": "In",
                            "values": ["arm64" if is_arm(group.instance_types[0]) else "amd64"],
                        },
                    ],
                    # Never: a node lives until it is empty (expiry would wait on do-not-disrupt anyway).
                    "expireAfter": "Never",
                },
            },
            "disruption": {
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": CONSOLIDATE_AFTER,
                "budgets": [{"nodes": "10%"}],
            },
            "limits": {"nodes": str(group.max_size)},
        },
    }


def ec2_node_class(
    group: NodeGroup,
    cluster_name: str,
    node_role_name: str,
    volume_key_arn: str,
    ami_version: str,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The task group's EC2NodeClass (karpenter.k8s.aws/v1). `ami_version`: an EKS AMI release
    (`v20260801`) or `latest`."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": node_class_name(group)},
        "spec": {
            "amiSelectorTerms": [{"alias": f"al2023@{ami_version}"}],
            "role": node_role_name,
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            # IMDSv2, one hop, as the managed groups' launch templates: pods cannot borrow the node's role.
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpTokens": "required",
                "httpPutResponseHopLimit": 1,
                "httpProtocolIPv6": "disabled",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "rootVolume": True,
                    "ebs": {
                        "volumeSize": f"{group.disk_size_gib}Gi",
                        "volumeType": "gp3",
                        "encrypted": True,
                        "kmsKeyID": volume_key_arn,
                        "deleteOnTermination": True,
                    },
                }
            ],
            "tags": dict(tags),
        },
    }


def interruption_queue_policy(queue_arn: str) -> dict[str, Any]:
    """Only EventBridge (and SQS itself) sends to the queue; nothing reaches it without TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeSends",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def interruption_rules() -> dict[str, dict[str, list[str]]]:
    """EventBridge rule name suffix -> its event pattern."""
    return {name: {"source": [source], "detail-type": [kind]} for name, (source, kind) in INTERRUPTION_EVENTS.items()}


def karpenter_controller_policy(
    region: str, account_id: str, cluster_name: str, node_role_arn: str, queue_arn: str
) -> dict[str, Any]:
    """The controller's IRSA policy: launch from this region's images, subnets and groups; create,
    tag and end only instances, fleets and templates tagged as this cluster's and a NodePool's;
    pass only the nodes' role; its instance profiles; read its queue; describe freely in the region."""
    aws = partition(region)
    ec2 = f"arn:{aws}:ec2:{region}"
    owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    own_resource = {
        "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }
    profiles = f"arn:{aws}:iam::{account_id}:instance-profile/*"
    request, resource, node_class_tag = "aws:RequestTag", "aws:ResourceTag", "karpenter.k8s.aws/ec2nodeclass"
    profile_resource = {
        f"{resource}/kubernetes.io/cluster/{cluster_name}": "owned",
        f"{resource}/topology.kubernetes.io/region": region,
    }
    profile_request = {
        f"{request}/kubernetes.io/cluster/{cluster_name}": "owned",
        f"{request}/eks:eks-cluster-name": cluster_name,
        f"{request}/topology.kubernetes.io/region": region,
    }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LaunchFromRegionalImagesSubnetsAndGroups",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": [
                    f"{ec2}::image/*",
                    f"{ec2}::snapshot/*",
                    f"{ec2}:*:security-group/*",
                    f"{ec2}:*:subnet/*",
                    f"{ec2}:*:capacity-reservation/*",
                    f"{ec2}:*:placement-group/*",
                ],
            },
            {
                "Sid": "LaunchFromOwnTemplates",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Resource": f"{ec2}:*:launch-template/*",
                "Condition": own_resource,
            },
            {
                "Sid": "CreateOnlyOwnTagged",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                "Resource": launched,
                "Condition": {"StringEquals": owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": launched,
                "Condition": {
                    "StringEquals": {
                        **owned,
                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                    },
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "TagOwnInstancesWithTheirNodeClaim",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": f"{ec2}:*:instance/*",
                "Condition": {
                    **own_resource,
                    "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                    },
                },
            },
            {
                "Sid": "EndOwnInstancesAndTemplates",
                "Effect": "Allow",
                "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
                "Condition": own_resource,
            },
            {
                "Sid": "PassTheNodesRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": node_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                "Sid": "CreateOwnInstanceProfiles",
                "Effect": "Allow",
                "Action": "iam:CreateInstanceProfile",
                "Resource": profiles,
                "Condition": {"StringEquals": profile_request, "StringLike": {f"{request}/{node_class_tag}": "*"}},
            },
            {
                "Sid": "TagOwnInstanceProfiles",
                "Effect": "Allow",
                "Action": "iam:TagInstanceProfile",
                "Resource": profiles,
                "Condition": {
                    "StringEquals": {**profile_resource, **profile_request},
                    "StringLike": {f"{resource}/{node_class_tag}": "*", f"{request}/{node_class_tag}": "*"},
                },
            },
            {
                "Sid": "ManageOwnInstanceProfiles",
                "Effect": "Allow",
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile",
                ],
                "Resource": profiles,
                "Condition": {"StringEquals": profile_resource, "StringLike": {f"{resource}/{node_class_tag}": "*"}},
            },
            {
                "Sid": "ReadInstanceProfiles",
                "Effect": "Allow",
                "Action": "iam:GetInstanceProfile",
                "Resource": profiles,
            },
            {"Sid": "ListInstanceProfiles", "Effect": "Allow", "Action": "iam:ListInstanceProfiles", "Resource": "*"},
            {
                "Sid": "ReadTheInterruptionQueue",
                "Effect": "Allow",
                "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
                "Resource": queue_arn,
            },
            {
                "Sid": "FindTheApiServer",
                "Effect": "Allow",
                "Action": "eks:DescribeCluster",
                "Resource": f"arn:{aws}:eks:{region}:{account_id}:cluster/{cluster_name}",
            },
            {
                "Sid": "DescribeInTheRegion",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            {
                # The EKS AMIs' IDs (the `al2023@...` alias resolves through these public parameters).
                "Sid": "ReadAmiParameters",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": f"arn:{aws}:ssm:{region}::parameter/aws/service/*",
            },
            {"Sid": "ReadPrices", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
        ],
    }


def ami_alias_version(node_ami_release_version: str) -> str:
    """The EC2NodeClass alias version of an EKS AMI release (`1.36.2-20260714` -> `v20260714`);
    `latest` without one (Karpenter then follows new releases by drift, held off by do-not-disrupt)."""
    if not node_ami_release_version:
        return "latest"
    return "v" + node_ami_release_version.rsplit("-", 1)[1]


def volume_key_policy(region: str, volume_key_arn: str) -> dict[str, Any]:
    """The controller launches the nodes (CreateFleet as itself, not the Auto Scaling service-linked
    role), so it uses the nodes' volume key, through EC2 only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EncryptNodeVolumesThroughEc2",
                "Effect": "Allow",
                "Action": [
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                "Resource": volume_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"}},
            }
        ],
    }
