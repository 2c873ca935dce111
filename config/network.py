"""Network settings: the zones, and the VPC the program creates or the one you bring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from config.checks import Section, ids, private_vpc_cidr
from lib.network.subnets import NatGatewayMode
from lib.network.zones import EKS_UNSUPPORTED_ZONE_IDS, MAX_ZONES

VPC_PREFIXES = (16, 20)  # the layout of lib/network/subnets.py needs room for 3 subnet tiers


@dataclass(frozen=True)
class NetworkSettings(Section):
    SECTION: ClassVar[str] = "network"

    availability_zone_ids: tuple[str, ...]
    """Zone IDs in order; empty: three available zones EKS supports (a read at deploy time)."""
    vpc_cidr: str
    nat_gateways: NatGatewayMode
    existing_vpc_id: str
    """A VPC to use instead of creating one; empty: the program creates it."""
    existing_public_subnet_ids: tuple[str, ...]
    existing_node_subnet_ids: tuple[str, ...]
    existing_data_subnet_ids: tuple[str, ...]

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
