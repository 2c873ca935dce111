"""LoadBalancer: the internal Network Load Balancer in front of the Airflow API server (UI).

Creates (`airflow:index:LoadBalancer`), owned by Pulumi rather than by a Kubernetes Service,
so that its DNS name, listener and certificate are ordinary, reviewable infrastructure:
- a security group for the NLB, its rules as separate resources: ingress on the listener port
  from each allowed CIDR only (`nlbAllowedCidrs`, by default the VPC's CIDR), egress to the
  `nodes` security group on the API server port only; and an ingress rule on the `nodes` group
  admitting the NLB's group on that port (so the controller needs no security group rights);
- an internal NLB in the node subnets of every AZ, cross-zone load balancing on;
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

from config.settings import LoadBalancerSettings
from lib.addons import TARGET_GROUP_BINDING_TAG
from lib.naming import child_name, slug, with_name

TLS_PORT = 443
TCP_PORT = 80
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3, and 1.2 with forward secrecy only
DEREGISTRATION_DELAY_SECONDS = 15
"""API requests are short; a terminating API server pod keeps serving for longer than this
(its preStop delay, lib/airflow_values.py), so no request reaches a stopped pod."""
TARGET_GROUP_BINDING_API = "elbv2.k8s.aws/v1beta1"


def allowed_cidrs(settings: LoadBalancerSettings, vpc_cidr: str) -> tuple[str, ...]:
    """Sources allowed to reach the listener: the configured CIDRs, or the VPC's CIDR."""
    return settings.allowed_cidrs or (vpc_cidr,)


def listener_port(settings: LoadBalancerSettings) -> int:
    return TLS_PORT if settings.certificate_arn else TCP_PORT


@dataclass(frozen=True)
class LoadBalancerArgs:
    settings: LoadBalancerSettings
    vpc_cidr: str
    """The VPC's CIDR: the default allowed source (the loader requires explicit CIDRs for an
    existing VPC, whose CIDR the program does not know)."""
    cluster_name: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    """Node subnets, one per AZ."""
    node_security_group_id: pulumi.Input[str]
    namespace: str
    namespace_resource: pulumi.Resource
    service_name: str
    """The API server Service the binding targets."""
    service_port: int
    health_check_path: str
    controller: pulumi.Resource
    """The AWS Load Balancer Controller release (it owns the TargetGroupBinding CRD)."""
    provider: k8s.Provider
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cluster_name or not self.service_name or not self.namespace:
            raise ValueError("LoadBalancerArgs: cluster_name, service_name and namespace are required")
        if not 1 <= self.service_port <= 65535:
            raise ValueError(f"LoadBalancerArgs.service_port {self.service_port} is not a port")
        if not self.health_check_path.startswith("/"):
            raise ValueError(f"LoadBalancerArgs.health_check_path '{self.health_check_path}' is not a path")
        if not allowed_cidrs(self.settings, self.vpc_cidr):
            raise ValueError("LoadBalancerArgs: no CIDR is allowed to reach the listener")


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

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:LoadBalancer", name, None, opts)
        s, tags = args.settings, args.tags
        child = pulumi.ResourceOptions(parent=self)
        self.port = listener_port(s)

        sg_name = child_name(name, "nlb-sg")
        security_group = aws.ec2.SecurityGroup(
            sg_name,
            description=f"Internal NLB of Airflow ({args.cluster_name}): listener from allowed CIDRs only",
            vpc_id=args.vpc_id,
            tags=with_name(tags, sg_name),
            opts=child,
        )
        for cidr in allowed_cidrs(s, args.vpc_cidr):
            family = {"cidr_ipv6": cidr} if ":" in cidr else {"cidr_ipv4": cidr}
            rule_name = child_name(name, "nlb-ingress", slug(cidr))
            aws.vpc.SecurityGroupIngressRule(
                rule_name,
                security_group_id=security_group.id,
                description=f"Airflow UI/API from {cidr}",
                ip_protocol="tcp",
                from_port=self.port,
                to_port=self.port,
                tags=with_name(tags, rule_name),
                opts=child,
                **family,
            )
        egress_name = child_name(name, "nlb-egress-nodes")
        aws.vpc.SecurityGroupEgressRule(
            egress_name,
            security_group_id=security_group.id,
            description="Traffic and health checks to the API server pods",
            ip_protocol="tcp",
            from_port=args.service_port,
            to_port=args.service_port,
            referenced_security_group_id=args.node_security_group_id,
            tags=with_name(tags, egress_name),
            opts=child,
        )
        nodes_rule_name = child_name(name, "nodes-ingress-nlb")
        aws.vpc.SecurityGroupIngressRule(
            nodes_rule_name,
            security_group_id=args.node_security_group_id,
            description="Airflow API server pods from the internal NLB",
            ip_protocol="tcp",
            from_port=args.service_port,
            to_port=args.service_port,
            referenced_security_group_id=security_group.id,
            tags=with_name(tags, nodes_rule_name),
            opts=child,
        )

        nlb_name = child_name(name, "nlb")
        nlb = aws.lb.LoadBalancer(
            nlb_name,
            internal=True,
            load_balancer_type="network",
            ip_address_type="ipv4",
            subnets=args.subnet_ids,
            security_groups=[security_group.id],
            enable_cross_zone_load_balancing=True,
            tags=with_name(tags, nlb_name),
            opts=child,
        )
        tg_name = child_name(name, "api-tg")
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
            tags=with_name(tags, tg_name, **{TARGET_GROUP_BINDING_TAG: args.cluster_name}),
            opts=child,
        )
        tls = bool(s.certificate_arn)
        listener_name = child_name(name, "nlb-listener")
        listener = aws.lb.Listener(
            listener_name,
            load_balancer_arn=nlb.arn,
            port=self.port,
            protocol="TLS" if tls else "TCP",
            certificate_arn=s.certificate_arn if tls else None,
            ssl_policy=TLS_POLICY if tls else None,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            tags=with_name(tags, listener_name),
            opts=child,
        )

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
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=[args.controller, args.namespace_resource, listener]
            ),
        )

        scheme = "https" if tls else "http"
        self.dns_name = nlb.dns_name
        self.arn = nlb.arn
        self.url = nlb.dns_name.apply(lambda dns: f"{scheme}://{dns}")
        self.security_group_id = security_group.id
        self.target_group_arn = target_group.arn
        self.register_outputs(
            {
                "dnsName": self.dns_name,
                "arn": self.arn,
                "url": self.url,
                "securityGroupId": self.security_group_id,
                "targetGroupArn": self.target_group_arn,
                "port": self.port,
            }
        )
