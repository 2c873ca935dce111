"""Availability zones by zone ID, the name of a physical zone that is the same in every account.

Zone names (`us-east-1a`) map to different physical zones in each AWS account; zone IDs
(`use1-az1`) do not, so the program places subnets by ID. A zone ID starts with its region's
code: the region's geography, the initials of its other words and its number (`us-east-1` ->
`use1`, `ap-southeast-2` -> `apse2`, `us-gov-west-1` -> `usgw1`), as listed on
https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""Zones where EKS refuses cluster subnets (UnsupportedAvailabilityZoneException), from the EKS
user guide, "Subnet requirements for clusters":
https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html#network-requirements-subnets"""

MAX_ZONES = 3
ZONE_KEYS = "abc"
"""Per-zone resources are named by position (`nodes-a`, `nodes-b`, ...), never by zone."""

_WORDS = {
    "gov": "g",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "southeast": "se",
    "northwest": "nw",
    "southwest": "sw",
}


def zone_id_prefix(region: str) -> str:
    """The code zone IDs of `region` start with (`us-east-1` -> `use1`)."""
    parts = region.split("-")
    geography, words, number = parts[0], parts[1:-1], parts[-1]
    if (
        len(parts) < 3
        or not re.fullmatch(r"[a-z]{2}", geography)
        or not re.fullmatch(r"[0-9]+", number)
        or not set(words) <= _WORDS.keys()
    ):
        raise ValueError(f"'{region}' is not an AWS region such as us-east-1")
    return geography + "".join(_WORDS[w] for w in words) + number


def is_zone_id_of(region: str, zone_id: str) -> bool:
    return re.fullmatch(rf"{zone_id_prefix(region)}-az[0-9]+", zone_id) is not None


def zone_key(index: int) -> str:
    """Name suffix of the `index`-th zone's resources."""
    return ZONE_KEYS[index]


def choose_zone_ids(region: str, available: Sequence[str], count: int = MAX_ZONES) -> tuple[str, ...]:
    """The first `count` zone IDs of `available` (as AWS lists them) that EKS supports."""
    usable = [z for z in available if is_zone_id_of(region, z) and z not in EKS_UNSUPPORTED_ZONE_IDS]
    return tuple(usable[:count])
