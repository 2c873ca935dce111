"""NatInstance: the node subnets' way out through one EC2 instance (`natGateways: instance`).

Creates (`airflow:index:NatInstance`, a child of the Network):
- a security group that admits the node subnets only and lets the instance reach the internet;
- a KMS key (yearly rotation) for its root volume;
- a launch template: the newest Amazon Linux 2023 for arm64 (resolved by EC2 at launch), IMDSv2
  only, an encrypted gp3 root volume, `standard` CPU credits, and the user data that makes it a
  NAT (lib/network/nat_instance.py: iptables masquerading for the node subnets only);
- the instance, in the first zone's public subnet, with a public address from launch and the
  source/destination check off (it forwards packets that are not its own).
The Network points every node subnet's default route at the instance's network interface. EC2's
simplified automatic recovery (on by default for the type) moves it off failed hardware with its
addresses and disk; to patch it, replace it (docs/operations.md, "The NAT instance"). Sleep
(`hibernate`) deletes all of it: it holds no data.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.parts.kms import encryption_key
from components.parts.launch_templates import encrypted_root_volume, imdsv2_one_hop, instance_and_volume_tags
from components.parts.outputs import register_public_outputs
from lib.naming import child_name, with_name
from lib.network import nat_instance


@dataclass(frozen=True)
class NatInstanceArgs:
    cluster_name: str
    """The EKS cluster whose nodes it serves (descriptions only)."""
    vpc_id: pulumi.Input[str]
    """The VPC of its security group."""
    subnet_id: pulumi.Input[str]
    """A public subnet (a route to the internet gateway)."""
    node_cidrs: tuple[str, ...]
    """The node subnets' CIDRs: the only sources it admits and forwards."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        if not self.node_cidrs:
            raise ValueError("NatInstanceArgs.node_cidrs: the node subnets' CIDRs are required")


class NatInstance(pulumi.ComponentResource):
    """Outputs."""

    instance_id: pulumi.Output[str]
    """The instance (its status checks are alarmed)."""
    network_interface_id: pulumi.Output[str]
    """Its primary network interface: the node subnets' default route."""

    def __init__(self, name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:NatInstance", name, None, opts)
        tags, child = args.tags, pulumi.ResourceOptions(parent=self)
        cidrs = list(args.node_cidrs)
        group = aws.ec2.SecurityGroup(
            child_name(name, "sg"),
            description=f"NAT instance of {args.cluster_name}: the node subnets in, the internet out",
            vpc_id=args.vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=cidrs, description="the node subnets"
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"], description="the internet"
                )
            ],
            tags=with_name(tags, child_name(name, "sg")),
            opts=child,
        )
        # Its own key: the nodes' volume key is the node groups', made after the network.
        key = encryption_key(
            self,
            child_name(name, "key"),
            alias=name,
            description=f"Root volume of the NAT instance of {args.cluster_name}",
            protect=False,  # the disk holds the operating system only
            tags=tags,
        )
        template = aws.ec2.LaunchTemplate(
            child_name(name, "lt"),
            description=f"NAT instance of {args.cluster_name} (natGateways: instance)",
            image_id=nat_instance.AMI,
            user_data=base64.b64encode(nat_instance.user_data(cidrs).encode()).decode(),
            metadata_options=imdsv2_one_hop(),
            block_device_mappings=[encrypted_root_volume(nat_instance.ROOT_VOLUME_GIB, key.arn)],
            credit_specification=aws.ec2.LaunchTemplateCreditSpecificationArgs(cpu_credits="standard"),
            tag_specifications=instance_and_volume_tags(tags, name),
            tags=with_name(tags, child_name(name, "lt")),
            opts=child,
        )
        instance = aws.ec2.Instance(
            name,
            instance_type=nat_instance.INSTANCE_TYPE,
            launch_template=aws.ec2.InstanceLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[group.id],
            # Its address from launch: the first boot installs the iptables service from the internet.
            associate_public_ip_address=True,
            source_dest_check=False,
            tags=with_name(tags, name),
            opts=child,
        )
        self.instance_id = instance.id
        self.network_interface_id = instance.primary_network_interface_id
        register_public_outputs(self)
