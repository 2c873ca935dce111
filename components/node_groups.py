"""NodeGroups: the managed node groups Airflow and the cluster add-ons run on.

Creates (`airflow:index:NodeGroups`):
- one node IAM role shared by every group, with only the AWS managed policies a node needs
  (EKS worker, ECR pull-only; aws-node has its own role, components/cluster.py);
- a KMS key (yearly rotation) for the nodes' root volumes, which the EC2 Auto Scaling
  service-linked role may use to launch them (`lib/security/audit.py`: the policy and what was read);
- per group in the `nodeGroups` config map:
  - a launch template: IMDSv2 required with a hop limit of 1 (pods cannot borrow the node's
    role; add-ons get their own through IRSA), a gp3 root volume encrypted with that key, the
    EKS cluster security group and the `nodes` security group, plus the groups given for that
    group alone (the control-plane group's `db-clients`: components/network.py says why);
  - an `eks.ManagedNodeGroup` (Amazon Linux 2023) in the private node subnets of every AZ, at
    the cluster's Kubernetes version and, when one is pinned, AMI release (EKS rolls an
    update one node at a time, its default, within the PodDisruptionBudgets), with its labels
    (plus `airflow-eks/node-group: <name>`) and taints; its desired size is left to the
    cluster autoscaler after creation (but for a group of `apply_sizes`, whose configured sizes
    an update sends, to raise its minimum above its live size). While the stack sleeps
    (`asleep`) the component is empty: no key (it encrypts only the nodes' root volumes, which go
    with the nodes), role, template or group; waking creates each group at its configured sizes;
  - Auto Scaling group tags that tell the cluster autoscaler the labels and taints of a
    group that has no node yet, so that it can scale a tainted group up from zero.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.parts.iam_roles import iam_role
from components.parts.kms import encryption_key
from components.parts.launch_templates import encrypted_root_volume, imdsv2_one_hop, instance_and_volume_tags
from components.parts.outputs import register_public_outputs
from lib.cluster.node_groups import NodeGroup
from lib.cluster.scheduling import autoscaler_node_template_tags, node_labels
from lib.naming import child_name, slug, with_name
from lib.security.audit import node_volume_key_policy

NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
}
# No aws:SourceArn / aws:SourceAccount: EC2 assumes the role for the instance profile of whatever
# instance it is passed to (iam:PassRole gates that), and the EKS user guide's node role trust
# ("Amazon EKS node IAM role") carries no condition; EC2 documents none for this trust
# (lib/security/iam_documents.py SERVICE_TRUSTS_WITHOUT_SOURCE_ARN).
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _first_asg_name(node_group: aws.eks.NodeGroup) -> pulumi.Output[str]:
    # A managed node group has one Auto Scaling group, known once the group exists.
    return node_group.resources.apply(lambda rs: (rs[0].autoscaling_groups or [])[0].name or "")


@dataclass(frozen=True)
class NodeGroupsArgs:
    groups: tuple[NodeGroup, ...]
    """The node groups (each validates itself), by unique name."""
    cluster: eks.Cluster | None
    """The pulumi-eks cluster the groups join; None asleep (`asleep`), where no group is made."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets, one per zone: every group spans them all."""
    security_group_ids: pulumi.Input[list[str]]
    """Security groups of every node: the EKS cluster group and the `nodes` group."""
    kubernetes_version: str
    """The cluster's version: every group follows it (pulumi-eks defaults it only without a
    launch template), so raising it rolls the nodes after the control plane."""
    account_id: pulumi.Input[str]
    """The cluster's account (the volume key's policy names its Auto Scaling service-linked role)."""
    ami_release_version: str = ""
    """EKS AMI release of every group; empty takes the newest when a group is created."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource (and the nodes' instances and volumes)."""
    protect: bool = True
    """Pulumi `protect` on the volume key."""
    asleep: bool = False
    """The stack sleeps: nothing (no node, so no volume to encrypt: the key goes too)."""
    group_security_group_ids: Mapping[str, Sequence[pulumi.Input[str]]] = field(default_factory=dict)
    """Group name -> security groups its nodes carry besides `security_group_ids` (a change rolls
    that group's nodes)."""
    apply_sizes: tuple[str, ...] = ()
    """Groups whose configured sizes this update sends, desired size included (see `_group`)."""
    network_ready: Sequence[pulumi.Resource] = ()
    """What a node needs before it turns Ready (the vpc-cni add-on with aws-node's role): every
    group waits for it, as pulumi-eks's groups wait for the add-on it creates (v4.3 nodegroup.ts
    L1143-1152)."""

    def __post_init__(self) -> None:
        names = [g.name for g in self.groups]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"NodeGroupsArgs.groups must be non-empty with unique names, not {names}")
        unknown = sorted(set(self.group_security_group_ids) - set(names))
        if unknown:
            raise ValueError(f"NodeGroupsArgs.group_security_group_ids names {unknown}, not among the groups {names}")
        unknown = sorted(set(self.apply_sizes) - set(names))
        if unknown:
            raise ValueError(f"NodeGroupsArgs.apply_sizes {list(self.apply_sizes)}: groups among {names}")


class NodeGroups(pulumi.ComponentResource):
    node_role_arn: pulumi.Output[str]
    """ARN of the IAM role of every node."""
    node_role_name: pulumi.Output[str]
    """Name of that role (for inline policies such as the image cache's)."""
    node_group_names: dict[str, pulumi.Output[str]]
    """Physical EKS node group name per configured group name."""
    groups: dict[str, eks.ManagedNodeGroup]
    """The managed node groups, by configured name (depend on these to wait for nodes)."""
    volume_kms_key_arn: pulumi.Output[str]
    """KMS key of the nodes' root volumes."""

    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:NodeGroups", name, None, opts)
        if args.asleep:
            self.groups, self.node_group_names = {}, {}
            self.node_role_arn = self.node_role_name = self.volume_kms_key_arn = pulumi.Output.from_input("")
            register_public_outputs(self)
            return
        key = encryption_key(
            self,
            child_name(name, "node-volume-key"),
            alias=f"{name}-node-volumes",
            description=f"Root volumes of the nodes of {name}",
            protect=args.protect,
            tags=args.tags,
            policy=pulumi.Output.from_input(args.account_id).apply(lambda a: json.dumps(node_volume_key_policy(a))),
        )
        self.volume_kms_key_arn = key.arn
        role, attachments = iam_role(
            self, child_name(name, "node-role"), json.dumps(EC2_TRUST), args.tags, managed_policies=NODE_POLICIES
        )
        self.groups = {
            g.name: self._group(child_name(name, g.name), g, args, role, attachments, key) for g in args.groups
        }
        self.node_group_names = {n: g.node_group.node_group_name for n, g in self.groups.items()}
        self.node_role_arn = role.arn
        self.node_role_name = role.name
        register_public_outputs(self)

    @staticmethod
    def _security_groups(group: NodeGroup, args: NodeGroupsArgs) -> pulumi.Input[list[str]]:
        own = args.group_security_group_ids.get(group.name, ())
        if not own:
            return args.security_group_ids
        return pulumi.Output.all(args.security_group_ids, *own).apply(lambda v: [*v[0], *v[1:]])

    def _launch_template(
        self, name: str, group: NodeGroup, args: NodeGroupsArgs, volume_key: aws.kms.Key
    ) -> aws.ec2.LaunchTemplate:
        return aws.ec2.LaunchTemplate(
            child_name(name, "lt"),
            description=f"Nodes of the {group.name} node group",
            update_default_version=True,
            vpc_security_group_ids=self._security_groups(group, args),
            # IMDSv2, one hop: pods cannot borrow the node's role (add-ons get theirs through IRSA).
            metadata_options=imdsv2_one_hop(),
            block_device_mappings=[encrypted_root_volume(group.disk_size_gib, volume_key.arn)],
            tag_specifications=instance_and_volume_tags(args.tags, name),
            tags=with_name(args.tags, child_name(name, "lt")),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _group(
        self,
        name: str,
        group: NodeGroup,
        args: NodeGroupsArgs,
        role: aws.iam.Role,
        attachments: Sequence[aws.iam.RolePolicyAttachment],
        volume_key: aws.kms.Key,
    ) -> eks.ManagedNodeGroup:
        template = self._launch_template(name, group, args, volume_key)
        # pulumi-eks 4.x (nodejs/eks/nodes/nodegroup.ts, the same from v4.3.0 to the 2026-08 head)
        # turns ignoreScalingChanges into `ignoreChanges: ["scalingConfig.desiredSize"]` on the
        # aws.eks.NodeGroup; the engine then sends the desired size of the state with the new
        # minimum, so EKS's min <= desired <= max refuses a minimum raised above it, whatever
        # the program passes. A group of `apply_sizes` drops the option for that update: its
        # configured sizes go as they are (UpdateNodegroupConfig), the autoscaler's taken over once.
        size = (group.min_size, group.desired_size)
        mng = eks.ManagedNodeGroup(
            name,
            cluster=args.cluster,
            node_role=role,
            subnet_ids=args.subnet_ids,
            ami_type=group.ami_type,
            instance_types=list(group.instance_types),
            capacity_type=group.capacity_type.value,
            version=args.kubernetes_version,
            release_version=args.ami_release_version or None,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=size[0], desired_size=size[1], max_size=group.max_size
            ),
            # The cluster autoscaler owns the desired size once the group exists.
            ignore_scaling_changes=group.name not in args.apply_sizes,
            labels=node_labels(group),
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.effect.value) for t in group.taints],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            tags=with_name(args.tags, name, **autoscaler_node_template_tags(group)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*attachments, *args.network_ready]),
        )
        # Managed node group tags stay on the EKS resource; the autoscaler reads the ASG's.
        asg_name: pulumi.Output[str] = mng.node_group.apply(_first_asg_name)
        for key, value in sorted(autoscaler_node_template_tags(group).items()):
            aws.autoscaling.Tag(
                child_name(name, "asg-tag", slug(key.removeprefix("k8s.io/cluster-autoscaler/node-template/"))),
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return mng
