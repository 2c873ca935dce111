"""Network: the VPC Airflow runs in, or the one you bring, and the security group of its nodes.

Creates (`airflow:index:Network`), when no existing VPC is given:
- a VPC with DNS support, and its default security group stripped of every rule;
- per availability zone, placed by zone ID (the same physical zone in every account) and
  named by position (`-a`, `-b`, `-c`): a public subnet, a private node subnet (nodes, pods,
  internal NLB) and a private data subnet (database, file system);
- an internet gateway, and the node subnets' way out: NAT gateways with Elastic IPs, one per AZ
  or a single one, or one NAT instance (`components/nat_instance.py`) (none while
  the stack sleeps, `nat`: the node subnets then have no route out);
- route tables: one public, one private per AZ (default route to that AZ's NAT gateway, or the
  single one, or the NAT instance's network interface), and one for the data subnets with no
  route out of the VPC;
- an S3 gateway endpoint on the private route tables (image layers from ECR, logs);
- the subnet tags that load balancers and cluster discovery read.
With an existing VPC it creates none of these, passes the given IDs through and reads the names
of the given zones (a data source).
Either way, two security groups, which depend only on the VPC (the data tier never waits for the
cluster), and which hold no rule of their own:
- `nodes`: every node carries it; the file system admits it (task pods mount the DAGs and logs),
  and so may a consuming team's services (the contract's `cluster_node_security_group_id`);
- `db-clients`: only the nodes of the control-plane group (`airflow`, where PgBouncer runs)
  carry it, and it is the only source the database admits. Task pods run on the tainted
  `workers` group (their template selects it), so a task pod's address is not admitted to
  PostgreSQL: all of Airflow reaches the database through PgBouncer, whose NetworkPolicy admits
  no task pod (`lib/airflow/network_flows.py`). (A DAG's `executor_config` pod override can still
  change its pod's node selector and labels: nothing in the cluster refuses that yet.)

Why a node-level group, not security groups for pods: with the VPC CNI (no ENI trunking), a
pod's traffic leaves from its node's network interfaces, which carry the node's groups, so
placing PgBouncer and the task pods on different node groups is enough to tell them apart at the
database. Security groups for pods would need ENI trunking (`ENABLE_POD_ENI`, Nitro instance
types only, a per-type cap of branch interfaces that caps such pods per node), a
SecurityGroupPolicy per workload, a branch interface attached by the VPC resource controller
before each pod starts (hundreds of task pods a minute), and a check of how its enforcing mode
(`POD_SECURITY_GROUP_ENFORCING_MODE`) combines with the network policy agent the namespace's
NetworkPolicies rely on; none of which a node-level group needs.
The EKS cluster security group, which every node also carries, admits all traffic among its
members; the database's group never admits it, so it opens nothing to PostgreSQL (a connection
to RDS is decided by the RDS instance's own groups alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.nat_instance import NatInstance, NatInstanceArgs
from components.parts.moves import former_parent
from components.parts.outputs import register_public_outputs
from lib.naming import child_name, with_name
from lib.network.subnets import MAX_AZS, NatGatewayMode, SubnetPlan, plan_subnets
from lib.network.zones import zone_key


@dataclass(frozen=True)
class ExistingVpcArgs:
    """A VPC and subnets to use instead of creating them, one subnet per zone in zone order."""

    vpc_id: str
    """The VPC."""
    node_subnet_ids: tuple[str, ...]
    """Private subnets of the nodes, pods and the internal NLB."""
    data_subnet_ids: tuple[str, ...]
    """Private subnets of the database and the file system."""
    public_subnet_ids: tuple[str, ...] = ()
    """Public subnets (optional: exported for reference only)."""


@dataclass(frozen=True)
class NetworkArgs:
    availability_zone_ids: tuple[str, ...]
    """Zone IDs (`use1-az1`), 1 to 3, in order; every per-zone list follows this order."""
    cluster_name: str
    """The EKS cluster that uses the network: its subnet discovery tag and the nodes' group."""
    region: str
    """The AWS region (the S3 endpoint's service name)."""
    vpc_cidr: str = "10.0.0.0/16"
    """Private IPv4 CIDR of the created VPC, /16 to /20."""
    nat_gateways: NatGatewayMode = NatGatewayMode.PER_AZ
    """One NAT gateway per zone (survives a zone outage), a single one, or one NAT instance."""
    existing: ExistingVpcArgs | None = None
    """Use this VPC instead of creating one."""
    nat: bool = True
    """False while the stack sleeps: no NAT gateway, Elastic IP or NAT instance (billed by the hour),
    and the node subnets' route tables without a default route; everything else stays."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""
    node_tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags on the node subnets it creates and the `nodes` group (Karpenter's discovery tag)."""

    def __post_init__(self) -> None:
        zones = len(self.availability_zone_ids)
        if not self.cluster_name or not self.region:
            raise ValueError("NetworkArgs: cluster_name and region are required")
        if not 1 <= zones <= MAX_AZS:
            raise ValueError(f"NetworkArgs.availability_zone_ids lists {zones} zones; accepted: 1 to {MAX_AZS}")
        if self.existing and zones not in (len(self.existing.node_subnet_ids), len(self.existing.data_subnet_ids)):
            raise ValueError("NetworkArgs.existing: one node and one data subnet per availability zone")


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
    """Outputs (one list entry per AZ, in `availability_zone_ids` order)."""

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
    nat_gateway_count: int
    """How many: one per AZ or one (0 for an existing VPC or a NAT instance)."""
    nat_instance_ids: pulumi.Output[list[str]]
    """The NAT instance (`natGateways: instance`), else empty."""
    nat_instance_count: int
    """1 with a NAT instance, else 0."""
    availability_zone_ids: list[str]
    """The zone IDs, in order."""
    availability_zones: pulumi.Output[list[str]]
    """The zones' names in this account, in order."""
    node_security_group_id: pulumi.Output[str]
    """The `nodes` security group: every node carries it; admit it to reach a service from pods."""
    database_client_security_group_id: pulumi.Output[str]
    """The `db-clients` group: only PgBouncer's nodes (the control-plane group) carry it; the
    database admits only it."""
    account_id: pulumi.Output[str]
    """The AWS account the stack deploys to, read from the `nodes` group's ARN (no call to AWS)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Network", name, None, opts)
        self.availability_zone_ids = list(args.availability_zone_ids)
        if args.existing is not None:
            self.vpc_id = pulumi.Output.from_input(args.existing.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(args.existing.public_subnet_ids))
            self.node_subnet_ids = pulumi.Output.from_input(list(args.existing.node_subnet_ids))
            self.data_subnet_ids = pulumi.Output.from_input(list(args.existing.data_subnet_ids))
            self.nat_gateway_ids = pulumi.Output.from_input([])
            self.nat_gateway_count = 0
            self.nat_instance_ids = pulumi.Output.from_input([])
            self.nat_instance_count = 0
            self.availability_zones = zone_names(self.availability_zone_ids)
        else:
            self._create(name, args)
        nodes_sg = aws.ec2.SecurityGroup(
            child_name(name, "nodes-sg"),
            description=f"Nodes of EKS cluster {args.cluster_name}; the database and file system admit this group",
            vpc_id=self.vpc_id,
            tags=with_name(args.tags, child_name(name, "nodes-sg"), **args.node_tags),
            # Created by the Cluster component until the reshape (UPGRADING.md).
            opts=pulumi.ResourceOptions(parent=self, aliases=[former_parent("airflow:index:Cluster", name)]),
        )
        self.node_security_group_id = nodes_sg.id
        db_clients_sg = aws.ec2.SecurityGroup(
            child_name(name, "db-clients-sg"),
            description=f"PgBouncer's nodes of EKS cluster {args.cluster_name}: the only group the database admits",
            vpc_id=self.vpc_id,
            tags=with_name(args.tags, child_name(name, "db-clients-sg")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.database_client_security_group_id = db_clients_sg.id
        self.account_id = nodes_sg.arn.apply(lambda arn: arn.split(":")[4])
        register_public_outputs(self)

    def _subnets(
        self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, plans: Sequence[SubnetPlan]
    ) -> dict[str, list[aws.ec2.Subnet]]:
        """Public, node and data subnets, one of each per zone."""
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        tiers: dict[str, list[aws.ec2.Subnet]] = {"public": [], "nodes": [], "data": []}
        for i, plan in enumerate(plans):
            for tier, cidr, extra in (
                ("public", plan.public, {"kubernetes.io/role/elb": "1"}),
                ("nodes", plan.node, {"kubernetes.io/role/internal-elb": "1", **cluster_tag, **args.node_tags}),
                ("data", plan.data, {}),
            ):
                sname = child_name(name, tier, zone_key(i))
                tiers[tier].append(
                    aws.ec2.Subnet(
                        sname,
                        vpc_id=vpc.id,
                        cidr_block=cidr,
                        availability_zone_id=plan.availability_zone,
                        map_public_ip_on_launch=False,
                        tags=with_name(args.tags, sname, tier=tier, **extra),
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
        return tiers

    def _route_table(
        self,
        name: str,
        tier: str,
        table_name: str,
        subnets: Mapping[int, aws.ec2.Subnet],
        vpc: aws.ec2.Vpc,
        tags: Mapping[str, str],
        clear: bool = False,
        **route: pulumi.Input[str],
    ) -> aws.ec2.RouteTable:
        """A route table (with a default route when `route` names its target), associated with the
        `subnets` of `tier`, given by zone index (associations `<tier>-rta-<zone>`). `clear`: an empty
        list of routes, which removes a default route the table had (the provider manages the inline
        routes only when the list is given)."""
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(
            table_name,
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", **route)] if route else [] if clear else None,
            tags=with_name(tags, table_name),
            opts=child,
        )
        for i, subnet in subnets.items():
            aws.ec2.RouteTableAssociation(
                child_name(name, f"{tier}-rta", zone_key(i)), subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
        return table

    def _nat_gateways(
        self, name: str, args: NetworkArgs, public: list[aws.ec2.Subnet], igw: aws.ec2.InternetGateway
    ) -> list[aws.ec2.NatGateway]:
        """One per zone, in its public subnet, or a single one in the first zone's."""
        tags, child = args.tags, pulumi.ResourceOptions(parent=self)
        nats: list[aws.ec2.NatGateway] = []
        if not args.nat or args.nat_gateways is NatGatewayMode.INSTANCE:
            return nats
        for i in range(len(public) if args.nat_gateways is NatGatewayMode.PER_AZ else 1):
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
        return nats

    def _create(self, name: str, args: NetworkArgs) -> None:
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            child_name(name, "vpc"),
            cidr_block=args.vpc_cidr,
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
        plans = plan_subnets(args.vpc_cidr, args.availability_zone_ids)
        subnets = self._subnets(name, args, vpc, plans)
        public = dict(enumerate(subnets["public"]))
        self._route_table(name, "public", child_name(name, "public-rt"), public, vpc, tags, gateway_id=igw.id)
        nats = self._nat_gateways(name, args, subnets["public"], igw)
        instance = None
        if args.nat and args.nat_gateways is NatGatewayMode.INSTANCE:
            instance = NatInstance(
                child_name(name, "nat-instance"),
                NatInstanceArgs(
                    cluster_name=args.cluster_name,
                    vpc_id=vpc.id,
                    subnet_id=subnets["public"][0].id,
                    node_cidrs=tuple(plan.node for plan in plans),
                    tags=tags,
                ),
                opts=child,
            )
        # Each zone's nodes leave through their zone's NAT gateway, the single one, or the instance.
        zones = range(len(subnets["nodes"]))
        ways_out: list[dict[str, pulumi.Input[str]]] = [{} for _ in zones]
        if instance is not None:
            ways_out = [{"network_interface_id": instance.network_interface_id} for _ in zones]
        elif nats:
            ways_out = [{"nat_gateway_id": nats[min(i, len(nats) - 1)].id} for i in zones]
        private = [
            self._route_table(
                name,
                "nodes",
                child_name(name, "nodes-rt", zone_key(i)),
                {i: subnet},
                vpc,
                tags,
                clear=not ways_out[i],
                **ways_out[i],
            )
            for i, subnet in enumerate(subnets["nodes"])
        ]
        # The data tier has no route out of the VPC: RDS and EFS need none.
        self._route_table(name, "data", child_name(name, "data-rt"), dict(enumerate(subnets["data"])), vpc, tags)
        aws.ec2.VpcEndpoint(
            child_name(name, "s3-endpoint"),
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private],
            tags=with_name(tags, child_name(name, "s3-endpoint")),
            opts=child,
        )
        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[sn.id for sn in subnets["public"]])
        self.node_subnet_ids = pulumi.Output.all(*[sn.id for sn in subnets["nodes"]])
        self.data_subnet_ids = pulumi.Output.all(*[sn.id for sn in subnets["data"]])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats])
        self.nat_gateway_count = len(nats)
        self.nat_instance_ids = pulumi.Output.all(*([instance.instance_id] if instance is not None else []))
        self.nat_instance_count = 0 if instance is None else 1
        self.availability_zones = pulumi.Output.all(*[sn.availability_zone for sn in subnets["nodes"]])
