"""LoadBalancer: the internal Network Load Balancer in front of the Airflow API server (UI).

Creates (`airflow:index:LoadBalancer`), owned by Pulumi rather than by a Kubernetes Service,
so that its DNS name, listener and certificate are ordinary, reviewable infrastructure:
- a security group for the NLB, its rules as separate resources: ingress on the listener port
  from each allowed CIDR only (`nlbAllowedCidrs`; outside production, by default the VPC's CIDR), egress to the
  `nodes` security group on the API server port only; and an ingress rule on the `nodes` group
  admitting the NLB's group on that port (so the controller needs no security group rights);
- an internal NLB in the node subnets of every AZ, cross-zone load balancing on, at a fixed
  private address per subnet (subnet mappings, `lib.network.subnets.load_balancer_address`: the
  API server's NetworkPolicy admits exactly these), each inside a block of its subnet reserved for
  explicit assignment (an EC2 subnet CIDR reservation), so that no node or pod takes it first;
- an IP target group (pods are registered directly) health-checked over HTTP on the API
  server's health endpoint, tagged so that only this cluster's controller may register targets;
- a listener: TLS on 443 with the ACM certificate and a TLS 1.3 policy when one is configured,
  otherwise TCP on 80;
- with the cluster's Kubernetes provider, a `TargetGroupBinding` (elbv2.k8s.aws/v1beta1) in the
  Airflow namespace that has the AWS Load Balancer Controller keep the API server Service's pod
  IPs registered in the target group. It waits for the controller (its CRD and webhook), the
  namespace and the listener.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.parts.outputs import register_public_outputs
from components.parts.security_groups import ingress_rule
from lib.cluster.helm_addons import TARGET_GROUP_BINDING_TAG
from lib.naming import child_name, slug, with_name
from lib.network.subnets import LoadBalancerAddress, load_balancer_address
from lib.network.zones import zone_key

TLS_PORT = 443
TCP_PORT = 80
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3, and 1.2 with forward secrecy only
DEREGISTRATION_DELAY_SECONDS = 15
"""API requests are short; a terminating API server pod keeps serving for longer than this
(its preStop delay, lib/airflow/values.py), so no request reaches a stopped pod."""
TARGET_GROUP_BINDING_API = "elbv2.k8s.aws/v1beta1"


@dataclass(frozen=True)
class LoadBalancerSubnet:
    """A subnet of the NLB (one per AZ)."""

    subnet_id: pulumi.Input[str]
    """The subnet."""
    cidr: pulumi.Input[str]
    """Its CIDR: the NLB's fixed address there is computed from it."""


@dataclass(frozen=True)
class LoadBalancerArgs:
    cluster_name: str
    """The EKS cluster: only its load balancer controller may register targets."""
    vpc_id: pulumi.Input[str]
    """The VPC of the NLB and its target group."""
    subnets: tuple[LoadBalancerSubnet, ...]
    """Node subnets, one per AZ: the NLB spans them all, at a fixed address in each."""
    allowed_cidrs: tuple[str, ...]
    """Sources allowed to reach the listener (the VPC's CIDR, a VPN's)."""
    target_security_group_id: pulumi.Input[str]
    """Security group of the targets' network interfaces (the nodes' group, with the VPC CNI):
    the NLB's traffic and health checks are admitted there, on the service port."""
    namespace: pulumi.Input[str]
    """Namespace of the Service (the binding lives there, and waits for it)."""
    service_name: str
    """The Service whose pods are the targets (the Airflow API server)."""
    service_port: int
    """The Service's port: the targets' port, health-checked over HTTP."""
    health_check_path: str
    """HTTP path the NLB checks on the service port; it must answer without a login."""
    controller: pulumi.Resource
    """The AWS Load Balancer Controller release (it owns the TargetGroupBinding CRD)."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    certificate_arn: str = ""
    """ACM certificate: TLS on 443 instead of TCP on 80."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource."""

    def __post_init__(self) -> None:
        if not self.cluster_name or not self.service_name:
            raise ValueError("LoadBalancerArgs: cluster_name and service_name are required")
        if not 1 <= self.service_port <= 65535:
            raise ValueError(f"LoadBalancerArgs.service_port {self.service_port} is not a port")
        if not self.health_check_path.startswith("/"):
            raise ValueError(f"LoadBalancerArgs.health_check_path '{self.health_check_path}' is not a path")
        if not self.allowed_cidrs:
            raise ValueError("LoadBalancerArgs.allowed_cidrs is empty: nothing could reach the listener")
        if not self.subnets:
            raise ValueError("LoadBalancerArgs.subnets is empty: the NLB needs a subnet per AZ")

    @property
    def port(self) -> int:
        """The listener port: 443 with a certificate, 80 without."""
        return TLS_PORT if self.certificate_arn else TCP_PORT


class LoadBalancer(pulumi.ComponentResource):
    dns_name: pulumi.Output[str]
    """DNS name of the NLB (resolves to private addresses)."""
    arn: pulumi.Output[str]
    """ARN of the NLB."""
    url: pulumi.Output[str]
    """`https://<dns>` with a certificate, `http://<dns>` without."""
    security_group_id: pulumi.Output[str]
    """The NLB's security group."""
    target_group_arn: pulumi.Output[str]
    """The IP target group of the API server pods."""
    port: int
    """The listener port (443 or 80)."""
    arn_suffix: pulumi.Output[str]
    """The NLB's ARN suffix (`net/<name>/<id>`, CloudWatch's `LoadBalancer` dimension)."""
    target_group_arn_suffix: pulumi.Output[str]
    """The target group's ARN suffix (CloudWatch's `TargetGroup` dimension)."""
    private_addresses: pulumi.Output[list[str]]
    """The NLB's fixed private addresses, one per subnet (the sources its targets see)."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:LoadBalancer", name, None, opts)
        self.port = args.port
        security_group = self._security_group(name, args)
        nlb_name = child_name(name, "nlb")
        addresses = [pulumi.Output.from_input(s.cidr).apply(load_balancer_address) for s in args.subnets]
        reservations = [
            aws.ec2.SubnetCidrReservation(
                child_name(name, "nlb-address", zone_key(i)),
                subnet_id=subnet.subnet_id,
                cidr_block=address.apply(lambda a: a.reservation),
                reservation_type="explicit",
                description=f"Fixed address of the Airflow NLB ({args.cluster_name})",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for i, (subnet, address) in enumerate(zip(args.subnets, addresses, strict=True))
        ]
        nlb = aws.lb.LoadBalancer(
            nlb_name,
            internal=True,
            load_balancer_type="network",
            ip_address_type="ipv4",
            subnet_mappings=[
                aws.lb.LoadBalancerSubnetMappingArgs(subnet_id=s.subnet_id, private_ipv4_address=a.apply(_address))
                for s, a in zip(args.subnets, addresses, strict=True)
            ],
            security_groups=[security_group.id],
            enable_cross_zone_load_balancing=True,
            tags=with_name(args.tags, nlb_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=reservations),
        )
        target_group, listener = self._target_group_and_listener(name, args, nlb)
        k8s.apiextensions.CustomResource(
            child_name(name, "api-server-binding"),
            api_version=TARGET_GROUP_BINDING_API,
            kind="TargetGroupBinding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.service_name, namespace=args.namespace),
            spec={
                "serviceRef": {"name": args.service_name, "port": args.service_port},
                "targetGroupARN": target_group.arn,
                "targetType": "ip",
            },
            # After the listener: a pod's readiness gate turns true only once its target is
            # healthy, and a target group no listener uses keeps its targets `unused`.
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.controller, listener]),
        )
        scheme = "https" if args.certificate_arn else "http"
        self.dns_name = nlb.dns_name
        self.arn = nlb.arn
        self.url = nlb.dns_name.apply(lambda dns: f"{scheme}://{dns}")
        self.security_group_id = security_group.id
        self.target_group_arn = target_group.arn
        self.arn_suffix = nlb.arn_suffix
        self.target_group_arn_suffix = target_group.arn_suffix
        self.private_addresses = pulumi.Output.all(*[a.apply(_address) for a in addresses])
        register_public_outputs(self)

    def _security_group(self, name: str, args: LoadBalancerArgs) -> aws.ec2.SecurityGroup:
        """The NLB's group: the listener from the allowed CIDRs, and its way to the targets."""
        tags, sg_name, egress_name = args.tags, child_name(name, "nlb-sg"), child_name(name, "nlb-egress-nodes")
        security_group = aws.ec2.SecurityGroup(
            sg_name,
            description=f"Internal NLB of Airflow ({args.cluster_name}): listener from allowed CIDRs only",
            vpc_id=args.vpc_id,
            tags=with_name(tags, sg_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for cidr in args.allowed_cidrs:
            rule_name = child_name(name, "nlb-ingress", slug(cidr))
            ingress_rule(
                self, rule_name, security_group.id, args.port, f"Airflow UI/API from {cidr}", cidr=cidr, tags=tags
            )
        aws.vpc.SecurityGroupEgressRule(
            egress_name,
            security_group_id=security_group.id,
            description="Traffic and health checks to the API server pods",
            ip_protocol="tcp",
            from_port=args.service_port,
            to_port=args.service_port,
            referenced_security_group_id=args.target_security_group_id,
            tags=with_name(tags, egress_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The NLB owns this rule on the targets' group: its traffic, its rule (the controller
        # then needs no right to write security groups).
        ingress_rule(
            self,
            child_name(name, "nodes-ingress-nlb"),
            args.target_security_group_id,
            args.service_port,
            "Airflow API server pods from the internal NLB",
            source_security_group_id=security_group.id,
            tags=tags,
        )
        return security_group

    def _target_group_and_listener(
        self, name: str, args: LoadBalancerArgs, nlb: aws.lb.LoadBalancer
    ) -> tuple[aws.lb.TargetGroup, aws.lb.Listener]:
        tg_name, listener_name = child_name(name, "api-tg"), child_name(name, "nlb-listener")
        target_group = aws.lb.TargetGroup(
            tg_name,
            target_type="ip",
            protocol="TCP",
            port=args.service_port,
            vpc_id=args.vpc_id,
            # The NLB's own address is the source, so the nodes' rule can reference its group.
            preserve_client_ip="false",
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=args.health_check_path,
                matcher="200",
                interval=10,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=2,
            ),
            tags=with_name(args.tags, tg_name, **{TARGET_GROUP_BINDING_TAG: args.cluster_name}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        tls = bool(args.certificate_arn)
        listener = aws.lb.Listener(
            listener_name,
            load_balancer_arn=nlb.arn,
            port=args.port,
            protocol="TLS" if tls else "TCP",
            certificate_arn=args.certificate_arn if tls else None,
            ssl_policy=TLS_POLICY if tls else None,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            tags=with_name(args.tags, listener_name),
            # Replaced with the NLB (its `loadBalancerArn`): the old listener goes first, so that the
            # target group is never asked to serve two load balancers at once (the ELB API's rules
            # for that were not verified here; this order does not depend on them).
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        return target_group, listener


def _address(address: LoadBalancerAddress) -> str:
    return address.address
