"""Karpenter: the task groups' nodes, instead of managed node groups and the Cluster Autoscaler.

Creates (`airflow:index:Karpenter`), from the data of `lib/cluster/karpenter.py` (read at
aws/karpenter-provider-aws v1.14.1):
- the controller's IRSA role (the chart's service account `kube-system/karpenter`; the chart's
  `serviceAccount.annotations` carries the role, as for the other add-ons), its least-privilege
  policy and its use of the nodes' volume key through EC2 (it launches the instances itself);
- the nodes' own IAM role (the managed groups' policies) and its EKS access entry of type
  `EC2_LINUX`, so the instances Karpenter launches join the cluster (the managed groups' role has
  the entry EKS made for them, and a principal has one entry);
- the interruption queue (SQS-managed encryption, five minutes' retention as the upstream template)
  with its policy, and one EventBridge rule and target per event Karpenter reads;
- the `karpenter.sh/discovery` tag on the EKS cluster security group (the network tags the node
  subnets and the `nodes` group itself, or here for a brought VPC's subnets);
- the Helm release (chart pinned; its CRDs come from the chart's `crds/` on install), then a
  NodePool and an EC2NodeClass per task group, after the release.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.image_cache import import_policy
from components.node_groups import EC2_TRUST, NODE_POLICIES
from components.parts.helm import helm_release
from components.parts.iam_roles import chart_role, iam_role
from components.parts.outputs import register_public_outputs
from lib.cluster import karpenter as kp
from lib.cluster.helm_addons import release_values
from lib.cluster.node_groups import NodeGroup
from lib.naming import child_name, with_name

RELEASE_TIMEOUT_SECONDS = 600
QUEUE_RETENTION_SECONDS = 300  # the upstream template's: an interruption notice is stale after that


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: str
    """The EKS cluster (its discovery tag value and the chart's `settings.clusterName`)."""
    region: str
    """The AWS region (the controller policy's ARNs)."""
    account_id: pulumi.Input[str]
    """The cluster's account (the controller policy's ARNs)."""
    system: NodeGroup
    """The group the controller runs on (its node selector and tolerations)."""
    task_groups: tuple[NodeGroup, ...]
    """A NodePool and an EC2NodeClass each."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider (the controller's IRSA trust)."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    cluster_security_group_id: pulumi.Input[str]
    """The EKS-made cluster security group: the nodes carry it, as the managed groups' do."""
    volume_key_arn: pulumi.Input[str]
    """KMS key of the nodes' root volumes (the managed groups' key)."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    ami_release_version: str = ""
    """EKS AMI release (`nodeAmiReleaseVersion`); empty follows the newest."""
    subnet_ids_to_tag: pulumi.Input[list[str]] | None = None
    """A brought VPC's node subnets, tagged here (the network tags the subnets it creates)."""
    subnet_count: int = 0
    """How many of them (one per zone)."""
    pull_through_cache: bool = False
    """The stack's images come through ECR pull-through cache rules: the nodes import on a first pull
    (the same inline policy the image cache gives the managed nodes' role)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the release waits for (the managed groups: its pods run on the system group)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource, and on the instances and volumes Karpenter launches."""

    def __post_init__(self) -> None:
        if not self.task_groups:
            raise ValueError("KarpenterArgs.task_groups is empty: Karpenter runs the task groups' nodes")
        if self.subnet_ids_to_tag is not None and self.subnet_count < 1:
            raise ValueError("KarpenterArgs.subnet_count: how many node subnets to tag, one per zone")


class Karpenter(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """The controller's IAM role."""
    node_role_arn: pulumi.Output[str]
    """The role of the nodes Karpenter launches."""
    node_role_name: pulumi.Output[str]
    """Its name (the EC2NodeClasses' `role`)."""
    queue_name: pulumi.Output[str]
    """The interruption queue."""
    release: k8s.helm.v3.Release
    """The Helm release (its CRDs and controller)."""
    node_pools: dict[str, k8s.apiextensions.CustomResource]
    """NodePool per task group name (depend on these to wait for the task groups)."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Karpenter", name, None, opts)
        chart, tags = kp.KARPENTER, args.tags
        child = pulumi.ResourceOptions(parent=self)

        node_role, node_attachments = iam_role(
            self,
            child_name(name, "node-role"),
            json.dumps(EC2_TRUST),
            tags,
            managed_policies=NODE_POLICIES,
            description=f"Nodes Karpenter launches for EKS cluster {args.cluster_name}",
        )
        if args.pull_through_cache:
            node_attachments = [
                *node_attachments,
                aws.iam.RolePolicy(  # type: ignore[list-item]
                    child_name(name, "node-import"),
                    role=node_role.name,
                    policy=pulumi.Output.from_input(args.account_id).apply(
                        lambda a: json.dumps(import_policy(a, args.region))
                    ),
                    opts=child,
                ),
            ]
        access = aws.eks.AccessEntry(
            child_name(name, "node-access"),
            cluster_name=args.cluster_name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            tags=with_name(tags, child_name(name, "node-access")),
            opts=child,
        )

        queue = aws.sqs.Queue(
            child_name(name, "interruptions"),
            name=f"{args.cluster_name}-karpenter",
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=with_name(tags, child_name(name, "interruptions")),
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            child_name(name, "interruptions-policy"),
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(kp.interruption_queue_policy(arn))),
            opts=child,
        )
        rules = []
        for suffix, pattern in kp.interruption_rules().items():
            rule = aws.cloudwatch.EventRule(
                child_name(name, suffix),
                description=f"{pattern['detail-type'][0]} events to Karpenter's queue ({args.cluster_name})",
                event_pattern=json.dumps(pattern),
                tags=with_name(tags, child_name(name, suffix)),
                opts=child,
            )
            rules.append(
                aws.cloudwatch.EventTarget(
                    child_name(name, suffix, "target"), rule=rule.name, arn=queue.arn, opts=child
                )
            )

        role, attachment = chart_role(
            self,
            name,
            chart,
            args.oidc_provider_arn,
            args.oidc_issuer,
            pulumi.Output.all(args.account_id, node_role.arn, queue.arn).apply(
                lambda v: json.dumps(kp.karpenter_controller_policy(args.region, v[0], args.cluster_name, v[1], v[2]))
            ),
            "Least privilege of the Karpenter controller",
            tags,
        )
        key_use = aws.iam.RolePolicy(
            child_name(name, "volume-key"),
            role=role.name,
            policy=pulumi.Output.from_input(args.volume_key_arn).apply(
                lambda arn: json.dumps(kp.volume_key_policy(args.region, arn))
            ),
            opts=child,
        )

        tagged = [
            aws.ec2.Tag(
                child_name(name, "cluster-sg-discovery"),
                resource_id=args.cluster_security_group_id,
                key=kp.DISCOVERY_TAG,
                value=args.cluster_name,
                opts=child,
            )
        ]
        if args.subnet_ids_to_tag is not None:
            ids = pulumi.Output.from_input(args.subnet_ids_to_tag)
            tagged += [
                aws.ec2.Tag(
                    child_name(name, "subnet-discovery", str(i)),
                    resource_id=ids.apply(lambda v, i=i: v[i]),  # type: ignore[misc]
                    key=kp.DISCOVERY_TAG,
                    value=args.cluster_name,
                    opts=child,
                )
                for i in range(args.subnet_count)
            ]

        self.release = helm_release(
            self,
            child_name(name, "release"),
            release_name=chart.release_name,
            chart=chart.chart,
            version=chart.version,
            repository=chart.repository,
            namespace=chart.namespace,
            values=pulumi.Output.all(queue.name, role.arn).apply(
                lambda v: release_values(chart, kp.karpenter_values(args.cluster_name, v[0], args.system), v[1], {})
            ),
            provider=args.provider,
            timeout=RELEASE_TIMEOUT_SECONDS,
            depends_on=[attachment, key_use, queue_policy, *args.depends_on],
        )
        # The CRDs come with the release; nodes need their role's entry, tags and rules first.
        after = pulumi.ResourceOptions(
            parent=self,
            provider=args.provider,
            depends_on=[self.release, access, *node_attachments, *tagged, *rules],
        )
        version = kp.ami_alias_version(args.ami_release_version)
        self.node_pools = {}
        for group in args.task_groups:
            ec2 = self._node_class(group, args, node_role.name, version)
            node_class = k8s.apiextensions.CustomResource(
                child_name(name, group.name, "node-class"),
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata={"name": kp.node_class_name(group)},
                spec=ec2.apply(lambda d: d["spec"]),
                opts=after,
            )
            pool = kp.node_pool(group)
            self.node_pools[group.name] = k8s.apiextensions.CustomResource(
                child_name(name, group.name, "node-pool"),
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata=pool["metadata"],
                spec=pool["spec"],
                opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[node_class])),
            )
        self.role_arn = role.arn
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.queue_name = queue.name
        register_public_outputs(self)

    @staticmethod
    def _node_class(
        group: NodeGroup, args: KarpenterArgs, node_role_name: pulumi.Output[str], version: str
    ) -> pulumi.Output[dict[str, Any]]:
        return pulumi.Output.all(node_role_name, args.volume_key_arn).apply(
            lambda v: kp.ec2_node_class(group, args.cluster_name, v[0], v[1], version, args.tags)
        )
