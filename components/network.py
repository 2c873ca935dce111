"""Network: the VPC Airflow runs in, or the one you bring.

Creates, when no existing VPC is given (`airflow:index:Network`):
- a VPC with DNS support, and its default security group stripped of every rule;
- per availability zone, placed by zone ID (the same physical zone in every account) and
  named by position (`-a`, `-b`, `-c`): a public subnet, a private node subnet (nodes, pods,
  internal NLB) and a private data subnet (database, file system);
- an internet gateway, and NAT gateways with Elastic IPs: one per AZ or a single one;
- route tables: one public, one private per AZ (default route to that AZ's NAT, or the
  single NAT), and one for the data subnets with no route out of the VPC;
- an S3 gateway endpoint on the private route tables (image layers from ECR, logs);
- the subnet tags that load balancers and cluster discovery read.
With an existing VPC it creates nothing, passes the given IDs through and reads the names of the
given zones (a data source).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from config.settings import NatGatewayMode, NetworkSettings
from lib.naming import child_name, with_name
from lib.network_plan import plan_subnets
from lib.zones import zone_key


@dataclass(frozen=True)
class NetworkArgs:
    settings: NetworkSettings
    region: str
    cluster_name: str  # for the `kubernetes.io/cluster/<name>` discovery tag
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cluster_name:
            raise ValueError("NetworkArgs.cluster_name is empty")
        if not self.settings.availability_zone_ids:
            raise ValueError("NetworkArgs.settings.availability_zone_ids is empty; resolve the zones first")


def zone_names(zone_ids: list[str]) -> pulumi.Output[list[str]]:
    """The names of `zone_ids` in this account, in the same order."""
    found = aws.get_availability_zones_output(
        all_availability_zones=True,
        filters=[aws.GetAvailabilityZonesFilterArgs(name="zone-id", values=zone_ids)],
    )
    return pulumi.Output.all(found.zone_ids, found.names).apply(
        lambda v: [dict(zip(v[0], v[1], strict=True))[z] for z in zone_ids]
    )


class Network(pulumi.ComponentResource):
    """Outputs (one list entry per AZ, in `availabilityZoneIds` order)."""

    vpc_id: pulumi.Output[str]
    """ID of the VPC."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets (NAT gateways); empty for an existing VPC given without them."""
    node_subnet_ids: pulumi.Output[list[str]]
    """Private subnets of the nodes, pods and the internal NLB."""
    data_subnet_ids: pulumi.Output[list[str]]
    """Private subnets of the database and the file system."""
    nat_gateway_ids: pulumi.Output[list[str]]
    """NAT gateways the program created (empty for an existing VPC)."""
    availability_zone_ids: list[str]
    """The zone IDs, in order."""
    availability_zones: pulumi.Output[list[str]]
    """The zones' names in this account, in order."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Network", name, None, opts)
        s = args.settings
        self.availability_zone_ids = list(s.availability_zone_ids)
        if s.existing is not None:
            self.vpc_id = pulumi.Output.from_input(s.existing.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(s.existing.public_subnet_ids))
            self.node_subnet_ids = pulumi.Output.from_input(list(s.existing.node_subnet_ids))
            self.data_subnet_ids = pulumi.Output.from_input(list(s.existing.data_subnet_ids))
            self.nat_gateway_ids = pulumi.Output.from_input([])
            self.availability_zones = zone_names(self.availability_zone_ids)
        else:
            self._create(name, args)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "nodeSubnetIds": self.node_subnet_ids,
                "dataSubnetIds": self.data_subnet_ids,
                "natGatewayIds": self.nat_gateway_ids,
            }
        )

    def _create(self, name: str, args: NetworkArgs) -> None:
        s, tags = args.settings, args.tags
        child = pulumi.ResourceOptions(parent=self)
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        vpc = aws.ec2.Vpc(
            child_name(name, "vpc"),
            cidr_block=s.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=with_name(tags, child_name(name, "vpc")),
            opts=child,
        )
        # No rule at all: nothing may use the default group by accident (CIS AWS 5.4).
        aws.ec2.DefaultSecurityGroup(
            child_name(name, "default-sg"),
            vpc_id=vpc.id,
            tags=with_name(tags, child_name(name, "default-sg")),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            child_name(name, "igw"), vpc_id=vpc.id, tags=with_name(tags, child_name(name, "igw")), opts=child
        )

        public: list[aws.ec2.Subnet] = []
        nodes: list[aws.ec2.Subnet] = []
        data: list[aws.ec2.Subnet] = []
        for i, plan in enumerate(plan_subnets(s.vpc_cidr, s.availability_zone_ids)):
            z = zone_key(i)
            for tier, cidr, bucket, extra in (
                ("public", plan.public, public, {"kubernetes.io/role/elb": "1"}),
                ("nodes", plan.node, nodes, {"kubernetes.io/role/internal-elb": "1", **cluster_tag}),
                ("data", plan.data, data, {}),
            ):
                sname = child_name(name, tier, z)
                bucket.append(
                    aws.ec2.Subnet(
                        sname,
                        vpc_id=vpc.id,
                        cidr_block=cidr,
                        availability_zone_id=plan.availability_zone,
                        map_public_ip_on_launch=False,
                        tags=with_name(tags, sname, tier=tier, **extra),
                        opts=child,
                    )
                )

        public_rt = aws.ec2.RouteTable(
            child_name(name, "public-rt"),
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=with_name(tags, child_name(name, "public-rt")),
            opts=child,
        )
        for i, subnet in enumerate(public):
            aws.ec2.RouteTableAssociation(
                child_name(name, "public-rta", zone_key(i)),
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )

        nat_count = len(public) if s.nat_gateways is NatGatewayMode.PER_AZ else 1
        nats = []
        for i in range(nat_count):
            z = zone_key(i)
            eip = aws.ec2.Eip(
                child_name(name, "nat-eip", z),
                domain="vpc",
                tags=with_name(tags, child_name(name, "nat-eip", z)),
                opts=child,
            )
            nats.append(
                aws.ec2.NatGateway(
                    child_name(name, "nat", z),
                    allocation_id=eip.allocation_id,
                    subnet_id=public[i].id,
                    connectivity_type="public",
                    tags=with_name(tags, child_name(name, "nat", z)),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        private_rts = []
        for i in range(len(nodes)):
            z = zone_key(i)
            nat = nats[i] if s.nat_gateways is NatGatewayMode.PER_AZ else nats[0]
            rt = aws.ec2.RouteTable(
                child_name(name, "nodes-rt", z),
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=with_name(tags, child_name(name, "nodes-rt", z)),
                opts=child,
            )
            private_rts.append(rt)
            aws.ec2.RouteTableAssociation(
                child_name(name, "nodes-rta", z), subnet_id=nodes[i].id, route_table_id=rt.id, opts=child
            )

        # The data tier has no route out of the VPC: RDS and EFS need none.
        data_rt = aws.ec2.RouteTable(
            child_name(name, "data-rt"), vpc_id=vpc.id, tags=with_name(tags, child_name(name, "data-rt")), opts=child
        )
        for i, subnet in enumerate(data):
            aws.ec2.RouteTableAssociation(
                child_name(name, "data-rta", zone_key(i)), subnet_id=subnet.id, route_table_id=data_rt.id, opts=child
            )

        aws.ec2.VpcEndpoint(
            child_name(name, "s3-endpoint"),
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags=with_name(tags, child_name(name, "s3-endpoint")),
            opts=child,
        )

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[sn.id for sn in public])
        self.node_subnet_ids = pulumi.Output.all(*[sn.id for sn in nodes])
        self.data_subnet_ids = pulumi.Output.all(*[sn.id for sn in data])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats])
        self.availability_zones = pulumi.Output.all(*[sn.availability_zone for sn in nodes])
