"""CIDR math for the VPC: three subnet tiers per availability zone.

The VPC is cut in four quarters. The first three hold the node subnets, one per AZ (pods take
their IPs from these with the VPC CNI, so they get the most room). The last quarter is cut in
eight: the first three are the public subnets, the next three the data subnets (database and
file system). With a /16 that is /18 node subnets (16,384 addresses) and /21 public and data
subnets (2,048 addresses).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

MAX_AZS = 3


class NatGatewayMode(StrEnum):
    """The node subnets' way out of a created VPC: a NAT gateway per AZ (an AZ outage leaves the
    others their way out), a single one (cheaper; every AZ's node subnet routes through it), or one
    NAT instance (cheaper still, and one instance to keep: lib/network/nat_instance.py)."""

    SINGLE = "single"
    PER_AZ = "perAz"
    INSTANCE = "instance"


@dataclass(frozen=True)
class SubnetPlan:
    """CIDRs of one AZ's subnets."""

    availability_zone: str
    public: str
    node: str
    data: str


def plan_subnets(vpc_cidr: str, availability_zones: tuple[str, ...]) -> tuple[SubnetPlan, ...]:
    """Subnet CIDRs for each AZ, in order. Raises ValueError when they cannot fit."""
    if len(availability_zones) > MAX_AZS:
        raise ValueError(f"at most {MAX_AZS} availability zones fit this layout, got {len(availability_zones)}")
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    quarters = list(vpc.subnets(prefixlen_diff=2))
    eighths = list(quarters[3].subnets(prefixlen_diff=3))
    return tuple(
        SubnetPlan(
            availability_zone=az,
            node=str(quarters[i]),
            public=str(eighths[i]),
            data=str(eighths[MAX_AZS + i]),
        )
        for i, az in enumerate(availability_zones)
    )


def node_subnet_cidrs(vpc_cidr: str, zone_count: int = MAX_AZS) -> list[str]:
    """The node subnets' CIDRs of a created VPC (`plan_subnets`' `node`), whatever the zones."""
    return [p.node for p in plan_subnets(vpc_cidr, tuple(str(i) for i in range(zone_count)))]


LOAD_BALANCER_RESERVATION_PREFIX = 28
"""The block of each node subnet kept for the NLB's fixed address (AWS's smallest useful reservation
for a few interfaces; the NLB takes one address of it)."""


@dataclass(frozen=True)
class LoadBalancerAddress:
    """The NLB's fixed private address in one subnet, inside a block of that subnet reserved for
    explicit assignment (an EC2 subnet CIDR reservation, type `explicit`: EC2 never hands its
    addresses to nodes or pods on its own, so the VPC CNI cannot take the NLB's address first)."""

    reservation: str
    address: str


def load_balancer_address(subnet_cidr: str) -> LoadBalancerAddress:
    """The NLB's address in a node subnet: the first of the subnet's second-to-last /28 (the last
    /28 holds the address AWS reserves at the end of every subnet). Raises ValueError for a subnet
    too small to spare it (smaller than a /26)."""
    subnet = ipaddress.IPv4Network(subnet_cidr, strict=True)
    if subnet.prefixlen > LOAD_BALANCER_RESERVATION_PREFIX - 2:
        raise ValueError(
            f"subnet {subnet_cidr} is too small to reserve a /{LOAD_BALANCER_RESERVATION_PREFIX} for the load "
            f"balancer's address: a /{LOAD_BALANCER_RESERVATION_PREFIX - 2} or larger is needed"
        )
    size = subnet.max_prefixlen - LOAD_BALANCER_RESERVATION_PREFIX
    # The second-to-last block, computed: listing a /16's blocks makes 4,096 networks.
    block = ipaddress.IPv4Network((int(subnet.broadcast_address) + 1 - 2 * 2**size, LOAD_BALANCER_RESERVATION_PREFIX))
    return LoadBalancerAddress(str(block), str(block.network_address))


def kubernetes_service_ip(service_cidr: str) -> str:
    """The `kubernetes` Service's ClusterIP: the first address of the service CIDR, which the API
    server reserves for it (Kubernetes' `--service-cluster-ip-range`: 172.20.0.1 for EKS's 172.20.0.0/16)."""
    return str(ipaddress.IPv4Network(service_cidr, strict=True)[1])
