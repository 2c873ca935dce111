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

AWS_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)
"""The regions of the `aws` partition: pulumi-aws 7.51.1's `Region` enum (the SDK requirements.txt
pins; pulumi_aws/_enums.py) less the other partitions' regions (`OTHER_PARTITIONS`).
tests/unit/test_regions_and_arns.py holds it to the installed SDK's enum."""
OTHER_PARTITIONS = {
    "cn-": "aws-cn (China)",
    "us-gov-": "aws-us-gov (GovCloud)",
    "us-iso-": "aws-iso",
    "us-isob-": "aws-iso-b",
    "us-isof-": "aws-iso-f",
    "eu-isoe-": "aws-iso-e",
    "eusc-": "aws-eusc (European Sovereign Cloud)",
}
"""Region prefixes of the partitions other than `aws`. The program builds for `aws` alone: its ARNs
(`arn:aws:`: AWS managed policies, the EKS access policy, log groups, KMS principals), service
principals and endpoints (`amazonaws.com`, `.com.cn` in China), the ECR registries and add-on
versions it pins are the `aws` partition's; supporting another partition means all of those per
partition, and nothing here could test it, so such a region is refused."""
ZONE_IDS_READ = "2026-12-07"
ZONE_IDS: dict[str, tuple[str, ...]] = {
    "af-south-1": ("afs1-az1", "afs1-az2", "afs1-az3"),
    "ap-east-1": ("ape1-az1", "ape1-az2", "ape1-az3"),
    "ap-east-2": ("ape2-az1", "ape2-az2", "ape2-az3"),
    "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az3", "apne1-az4"),
    "ap-northeast-2": ("apne2-az1", "apne2-az2", "apne2-az3", "apne2-az4"),
    "ap-northeast-3": ("apne3-az1", "apne3-az2", "apne3-az3"),
    "ap-south-1": ("aps1-az1", "aps1-az2", "aps1-az3"),
    "ap-south-2": ("aps2-az1", "aps2-az2", "aps2-az3"),
    "ap-southeast-1": ("apse1-az1", "apse1-az2", "apse1-az3"),
    "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3"),
    "ap-southeast-3": ("apse3-az1", "apse3-az2", "apse3-az3"),
    "ap-southeast-4": ("apse4-az1", "apse4-az2", "apse4-az3"),
    "ap-southeast-5": ("apse5-az1", "apse5-az2", "apse5-az3"),
    "ap-southeast-6": ("apse6-az1", "apse6-az2", "apse6-az3"),
    "ap-southeast-7": ("apse7-az1", "apse7-az2", "apse7-az3"),
    "ca-central-1": ("cac1-az1", "cac1-az2", "cac1-az4"),
    "ca-west-1": ("caw1-az1", "caw1-az2", "caw1-az3"),
    "eu-central-1": ("euc1-az1", "euc1-az2", "euc1-az3"),
    "eu-central-2": ("euc2-az1", "euc2-az2", "euc2-az3"),
    "eu-north-1": ("eun1-az1", "eun1-az2", "eun1-az3"),
    "eu-south-1": ("eus1-az1", "eus1-az2", "eus1-az3"),
    "eu-south-2": ("eus2-az1", "eus2-az2", "eus2-az3"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "eu-west-2": ("euw2-az1", "euw2-az2", "euw2-az3", "euw2-az4"),
    "eu-west-3": ("euw3-az1", "euw3-az2", "euw3-az3"),
    "il-central-1": ("ilc1-az1", "ilc1-az2", "ilc1-az3"),
    "me-central-1": ("mec1-az1", "mec1-az2", "mec1-az3"),
    "me-south-1": ("mes1-az1", "mes1-az2", "mes1-az3"),
    "mx-central-1": ("mxc1-az1", "mxc1-az2", "mxc1-az3"),
    "sa-east-1": ("sae1-az1", "sae1-az2", "sae1-az3"),
    "us-east-1": ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"),
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
    "us-west-1": ("usw1-az1", "usw1-az2", "usw1-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"),
}
"""The AZ IDs of each region of `AWS_REGIONS`, read on 2026-12-07 (`ZONE_IDS_READ`) from the tables of
AWS's "AWS Availability Zones" page (https://docs.aws.amazon.com/global-infrastructure/latest/regions/
aws-availability-zones.md, every continent's table; ca-central-1's cac1-az3, a zone EKS refuses, is
not in it). The page lists constrained zones (use1-az3, usw1-az2, apne1-az3) with the others: an account that
has resources there may use them. Cross-checked where they overlap with the EFS guide's "Supported
Availability Zones for One Zone file systems" (https://docs.aws.amazon.com/efs/latest/ug/OneZoneAZs.html)
and the EKS page above (`EKS_UNSUPPORTED_ZONE_IDS`). A zone AWS opens after that date is refused until
added here (the page names one for us-east-1, Maryland, "coming in 2026", without its ID yet)."""
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


def region_problem(region: str) -> str | None:
    """Why `region` is not a region this program deploys to, or None."""
    other = next((name for prefix, name in OTHER_PARTITIONS.items() if region.startswith(prefix)), None)
    if other:
        return (
            f"'{region}' is in the {other} partition; this program builds for the aws partition only (its ARNs, "
            "service principals, image registries and add-on versions are that partition's)"
        )
    if region not in AWS_REGIONS:
        return f"'{region}' is not an AWS region (the aws partition's: {', '.join(AWS_REGIONS)})"
    return None


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


def zone_id_problem(region: str, zone_id: str) -> str | None:
    """Why `zone_id` is not one of the zones of `region` (a region of `AWS_REGIONS`: `ZONE_IDS` has
    every one's), or None."""
    zones = ZONE_IDS[region]
    if zone_id in zones:
        return None
    return (
        f"'{zone_id}' is not a zone ID of region {region}; its zones: {', '.join(zones)} "
        f"(AWS Availability Zones page, read {ZONE_IDS_READ})"
    )


def zone_key(index: int) -> str:
    """Name suffix of the `index`-th zone's resources."""
    return ZONE_KEYS[index]


def choose_zone_ids(region: str, available: Sequence[str], count: int = MAX_ZONES) -> tuple[str, ...]:
    """The first `count` zone IDs of `available` (as AWS lists them) that EKS supports."""
    usable = [z for z in available if is_zone_id_of(region, z) and z not in EKS_UNSUPPORTED_ZONE_IDS]
    return tuple(usable[:count])
