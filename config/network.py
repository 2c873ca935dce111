"""Network settings: the zones, and the VPC the program creates or the one you bring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from config.checks import Section, ids, private_vpc_cidr
from config.keys import as_tuple, enum_of, key
from lib.network.subnets import NatGatewayMode
from lib.network.zones import EKS_UNSUPPORTED_ZONE_IDS, MAX_ZONES

VPC_PREFIXES = (16, 20)  # the layout of lib/network/subnets.py needs room for 3 subnet tiers


@dataclass(frozen=True)
class NetworkSettings(Section):
    SECTION: ClassVar[str] = "network"
    TITLE: ClassVar[str] = "Network"

    availability_zone_ids: tuple[str, ...] = key(
        "availabilityZoneIds",
        [],
        "Availability zone IDs (use1-az1, the same physical zone in every account), 2 or 3 (3 for HA), "
        "never one EKS refuses (use1-az3, usw1-az2, cac1-az3). Empty picks three available zones EKS "
        "supports; required with existingVpcId.",
        convert=as_tuple,
    )
    vpc_cidr: str = key(
        "vpcCidr",
        "10.0.0.0/16",
        "Private IPv4 CIDR of the VPC (/16 to /20), in canonical form, within 10/8, 172.16/12, 192.168/16 "
        "or 100.64/10. Only when the program creates the VPC.",
        only_without="existingVpcId",
    )
    nat_gateways: NatGatewayMode = key(
        "natGateways",
        "perAz",
        "The node subnets' way out: perAz (a NAT gateway per AZ, survives an AZ outage), single (one "
        "NAT gateway, cheaper) or instance (one t4g.nano NAT instance, about $29 a month less than single; "
        "not with production: true). Only when the program creates the VPC.",
        convert=enum_of(NatGatewayMode),
        only_without="existingVpcId",
    )
    existing_vpc_id: str = key(
        "existingVpcId",
        "",
        "Bring your own VPC. When set, no VPC is created and the `existing*SubnetIds` keys are used; it "
        "requires availabilityZoneIds, existingNodeSubnetIds, existingDataSubnetIds and nlbAllowedCidrs.",
    )
    existing_public_subnet_ids: tuple[str, ...] = key(
        "existingPublicSubnetIds",
        [],
        "Public subnets of the existing VPC, one per AZ in availabilityZones order (optional).",
        convert=as_tuple,
        only_with="existingVpcId",
    )
    existing_node_subnet_ids: tuple[str, ...] = key(
        "existingNodeSubnetIds",
        [],
        "Private subnets for nodes and the internal NLB, one per AZ in availabilityZones order, each once.",
        convert=as_tuple,
        only_with="existingVpcId",
    )
    existing_data_subnet_ids: tuple[str, ...] = key(
        "existingDataSubnetIds",
        [],
        "Private subnets for the database and the file system, one per AZ in availabilityZones order.",
        convert=as_tuple,
        only_with="existingVpcId",
    )

    @property
    def existing(self) -> bool:
        return bool(self.existing_vpc_id)

    def __post_init__(self) -> None:
        azs = self.availability_zone_ids
        if azs and not 2 <= len(azs) <= MAX_ZONES:
            raise self.invalid("availability_zone_ids", f"lists {len(azs)} zones; accepted: 2 or 3 (3 for HA)")
        if len(set(azs)) != len(azs):
            raise self.invalid("availability_zone_ids", f"{list(azs)} repeats a zone")
        unsupported = sorted(set(azs) & EKS_UNSUPPORTED_ZONE_IDS)
        if unsupported:
            refused = ", ".join(sorted(EKS_UNSUPPORTED_ZONE_IDS))
            raise self.invalid(
                "availability_zone_ids", f"{unsupported} cannot hold EKS cluster subnets; EKS refuses {refused}"
            )
        net = self.check("vpc_cidr", private_vpc_cidr, self.vpc_cidr)
        if not VPC_PREFIXES[0] <= net.prefixlen <= VPC_PREFIXES[1]:
            raise self.invalid(
                "vpc_cidr", f"'{self.vpc_cidr}' must have a prefix from /16 to /20 to fit 3 subnet tiers"
            )
        if self.existing:
            self._check_existing()

    def _check_existing(self) -> None:
        azs = self.availability_zone_ids
        self.check("existing_vpc_id", ids, "vpc", [self.existing_vpc_id])
        for field in ("existing_node_subnet_ids", "existing_data_subnet_ids", "existing_public_subnet_ids"):
            self.check(field, ids, "subnet", getattr(self, field))
            if len(set(getattr(self, field))) != len(getattr(self, field)):
                raise self.invalid(field, f"{list(getattr(self, field))} lists a subnet twice; list one per zone")
        private = set(self.existing_node_subnet_ids) | set(self.existing_data_subnet_ids)
        shared = sorted(private & set(self.existing_public_subnet_ids))
        if shared:
            raise self.invalid(
                "existing_public_subnet_ids", f"{shared} also listed as node or data subnets; public subnets are others"
            )
        if not azs:
            raise self.invalid(
                "availability_zone_ids", "is required with existingVpcId: list the zone IDs of the given subnets"
            )
        for field in ("existing_node_subnet_ids", "existing_data_subnet_ids"):
            count = len(getattr(self, field))
            if count != len(azs):
                raise self.invalid(field, f"lists {count} subnets; accepted: one per availability zone ({len(azs)})")
        public = self.existing_public_subnet_ids
        if public and len(public) != len(azs):
            raise self.invalid(
                "existing_public_subnet_ids",
                f"lists {len(public)} subnets; accepted: none or one per zone ({len(azs)})",
            )
