"""Identifiers checked for existence, not only shape (issue 25, item 4, second and third classes):
regions (and the partition the program builds for), RDS engine versions, EKS AMI release versions,
IAM role ARNs. The lists are sourced (each module says where from); these tests hold the checks to
them and, for the regions, the list to the pinned pulumi-aws SDK's own."""

from __future__ import annotations

import pulumi_aws
import pytest

from config.checks import ROLE_NAME_MAX, role_arn
from config.errors import ConfigError
from lib.cluster.ami_releases import AMI_RELEASES, ami_release_problem
from lib.cluster.versions import EKS_VERSIONS
from lib.database.postgres import RDS_POSTGRES_MINORS, engine_version_problem
from lib.network.zones import (
    AWS_REGIONS,
    OTHER_PARTITIONS,
    ZONE_IDS,
    choose_zone_ids,
    is_zone_id_of,
    region_problem,
    zone_id_prefix,
    zone_id_problem,
)
from tests.support.settings import settings_of


def test_the_regions_are_the_pinned_sdks_of_the_aws_partition() -> None:
    sdk = {region.value for region in pulumi_aws.Region}
    assert pulumi_aws._utilities.get_version().startswith("7.51.")
    assert set(AWS_REGIONS) == {r for r in sdk if not r.startswith(tuple(OTHER_PARTITIONS))}
    assert {r for r in sdk if r.startswith(tuple(OTHER_PARTITIONS))} >= {"us-gov-west-1", "cn-north-1"}


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_every_region_is_accepted_and_has_zone_ids(region: str) -> None:
    assert region_problem(region) is None
    assert zone_id_prefix(region)


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-gov-west-1", "aws-us-gov (GovCloud)"),
        ("us-gov-east-1", "aws-us-gov (GovCloud)"),
        ("cn-north-1", "aws-cn (China)"),
        ("cn-northwest-1", "aws-cn (China)"),
        ("us-iso-east-1", "aws-iso"),
        ("eusc-de-east-1", "aws-eusc (European Sovereign Cloud)"),
    ],
)
def test_a_region_of_another_partition_is_refused_naming_it(region: str, partition: str) -> None:
    assert region_problem(region) == (
        f"'{region}' is in the {partition} partition; this program builds for the aws partition only (its ARNs, "
        "service principals, image registries and add-on versions are that partition's)"
    )


@pytest.mark.parametrize("region", ["us-east-7", "eu-middle-1", "us-east-1 ", "US-EAST-1", ""])
def test_a_region_of_the_right_shape_that_does_not_exist_is_refused(region: str) -> None:
    problem = region_problem(region)
    assert problem is not None and problem.startswith(f"'{region}' is not an AWS region (the aws partition's: ")


@pytest.mark.parametrize(("major", "span"), sorted(RDS_POSTGRES_MINORS.items()))
def test_every_released_rds_minor_is_accepted_and_no_other(major: int, span: tuple[int, int]) -> None:
    first, last = span
    assert engine_version_problem(str(major)) is None
    for minor in range(first, last + 1):
        assert engine_version_problem(f"{major}.{minor}") is None
    for minor in (first - 1, last + 1, 99):
        assert engine_version_problem(f"{major}.{minor}") == (
            f"'{major}.{minor}' is not a release of RDS for PostgreSQL {major}, which has {major}.{first} to "
            f"{major}.{last}; give the major alone ({major}) for RDS's default minor"
        )


@pytest.mark.parametrize("version", ["12", "18.1", "16.", "16.1.2", "v16", "١٦"])
def test_an_rds_version_of_another_major_or_shape_is_refused(version: str) -> None:
    assert engine_version_problem(version) == f"'{version}' is not a PostgreSQL version with major (13, 14, 15, 16, 17)"


def test_the_ami_release_each_version_pins_is_a_listed_release() -> None:
    assert set(AMI_RELEASES) == set(EKS_VERSIONS)
    for minor, version in EKS_VERSIONS.items():
        assert version.ami_release == AMI_RELEASES[minor][-1]


@pytest.mark.parametrize("minor", sorted(AMI_RELEASES))
def test_every_listed_ami_release_is_accepted(minor: str) -> None:
    assert all(ami_release_problem(minor, release) is None for release in AMI_RELEASES[minor])


@pytest.mark.parametrize(
    ("release", "problem"),
    [
        ("1.36.2-20260801", None),  # after the last listed, same patch: released since, cannot be known here
        ("1.36.3-20261101", None),
        (
            "1.36.1-20260714",
            "'1.36.1-20260714' was not released: the AMIs of 20260714 for Kubernetes 1.36 are 1.36.2-20260714",
        ),
        (
            "1.36.2-20250101",
            "'1.36.2-20250101' was not released: no EKS AMI of Kubernetes 1.36 dates from 20250101 "
            "(releases 1.36.1-20260610 to 1.36.2-20260714, or a later one)",
        ),
        (
            "1.36.1-20260801",
            "'1.36.1-20260801' was not released: no EKS AMI of Kubernetes 1.36 dates from 20260801 "
            "(releases 1.36.1-20260610 to 1.36.2-20260714, or a later one)",
        ),
        ("1.36.2-20261340", "'1.36.2-20261340' does not end in a date (YYYYMMDD)"),
        ("1.35.6-20260714", "'1.35.6-20260714' is not an EKS AMI release of Kubernetes 1.36 (1.36.2-20260714, say)"),
    ],
)
def test_an_ami_release_that_was_never_released_is_refused(release: str, problem: str | None) -> None:
    assert ami_release_problem("1.36", release) == problem


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/platform",
        "arn:aws:iam::123456789012:role/ops/team/platform-admin",
        f"arn:aws:iam::123456789012:role/{'r' * ROLE_NAME_MAX}",
        "arn:aws:iam::123456789012:role/a_b+c=d,e.f@g-h",
    ],
)
def test_role_arns_iam_could_hold_are_accepted(arn: str) -> None:
    role_arn(arn)


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        ("arn:aws-us-gov:iam::123456789012:role/platform", "is not an IAM role ARN of the aws partition"),
        ("arn:aws-cn:iam::123456789012:role/platform", "is not an IAM role ARN of the aws partition"),
        ("arn:aws:iam::12345678901:role/platform", "is not an IAM role ARN of the aws partition"),
        ("arn:aws:iam::123456789012:user/platform", "is not an IAM role ARN of the aws partition"),
        ("arn:aws:iam::123456789012:role/", "is not an IAM role ARN of the aws partition"),
        ("arn:aws:iam::123456789012:role/ops//x", "is not an IAM role ARN of the aws partition"),
        ("arn:aws:iam::123456789012:role/bad name", "is not an IAM role ARN of the aws partition"),
        (f"arn:aws:iam::123456789012:role/{'r' * 65}", "names a role of 65 characters; IAM allows 64"),
        (f"arn:aws:iam::123456789012:role/{'p' * 511}/x", "has a path of 513 characters; IAM allows 512"),
    ],
)
def test_role_arns_iam_could_not_hold_are_refused(arn: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        role_arn(arn)


def test_every_region_has_its_zone_ids() -> None:
    assert set(ZONE_IDS) == set(AWS_REGIONS)
    for region, zones in ZONE_IDS.items():
        assert len(zones) >= 3 and len(set(zones)) == len(zones), region
        assert all(is_zone_id_of(region, zone) for zone in zones), region
    # Regions whose tables are not az1 to az3 on the page: a fourth zone, or a gap.
    assert {r: z for r, z in ZONE_IDS.items() if z != tuple(f"{zone_id_prefix(r)}-az{n}" for n in (1, 2, 3))} == {
        "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az3", "apne1-az4"),
        "ap-northeast-2": ("apne2-az1", "apne2-az2", "apne2-az3", "apne2-az4"),
        "ca-central-1": ("cac1-az1", "cac1-az2", "cac1-az4"),
        "eu-west-2": ("euw2-az1", "euw2-az2", "euw2-az3", "euw2-az4"),
        "us-east-1": ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"),
        "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"),
    }


def test_the_zone_ids_read_for_the_committed_stacks_region() -> None:
    assert ZONE_IDS["us-east-1"] == ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6")
    assert zone_id_problem("us-east-1", "use1-az6") is None
    assert zone_id_problem("us-east-1", "use1-az9") == (
        "'use1-az9' is not a zone ID of region us-east-1; its zones: use1-az1, use1-az2, use1-az3, use1-az4, "
        "use1-az5, use1-az6 (AWS Availability Zones page, read 2026-12-07)"
    )
    assert zone_id_problem("us-east-1", "use2-az1") is not None


def test_a_zone_of_another_region_or_shape_is_refused_everywhere() -> None:
    assert zone_id_problem("ap-northeast-1", "apne1-az4") is None
    assert zone_id_problem("ap-northeast-1", "apne1-az5") == (
        "'apne1-az5' is not a zone ID of region ap-northeast-1; its zones: apne1-az1, apne1-az2, apne1-az3, "
        "apne1-az4 (AWS Availability Zones page, read 2026-12-07)"
    )
    assert zone_id_problem("ca-central-1", "cac1-az3") is not None
    assert zone_id_problem("ap-northeast-1", "use1-az1") is not None


@pytest.mark.parametrize("zones", [["use1-az1", "use1-az9"], ["use1-az7", "use1-az2", "use1-az4"]])
def test_a_zone_id_that_does_not_exist_in_the_region_is_refused_at_load(zones: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        settings_of("dev", availabilityZoneIds=zones)
    made_up = next(z for z in zones if z not in ZONE_IDS["us-east-1"])
    assert error.value.key == "availabilityZoneIds"
    assert str(error.value) == (
        f"config key 'availabilityZoneIds': '{made_up}' is not a zone ID of region us-east-1; its zones: "
        "use1-az1, use1-az2, use1-az3, use1-az4, use1-az5, use1-az6 (AWS Availability Zones page, read 2026-12-07)"
    )


def test_every_existing_zone_the_account_lists_is_still_chosen() -> None:
    # The account's own list is the authority at deploy time: a zone AWS opens after the table was
    # read is chosen rather than dropped; only another region's and those EKS refuses are skipped.
    available = ["use1-az7", "use1-az3", "use1-az1", "usw2-az1", "use1-az2"]
    assert choose_zone_ids("us-east-1", available) == ("use1-az7", "use1-az1", "use1-az2")
