"""CIDR math, without mocks."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from lib.naming import access_entry_key, base_tags, child_name, slug, with_name
from lib.network.subnets import LoadBalancerAddress, load_balancer_address, plan_subnets
from lib.network.zones import EKS_UNSUPPORTED_ZONE_IDS, choose_zone_ids, is_zone_id_of, zone_id_prefix, zone_key


@pytest.mark.parametrize("prefix", [16, 17, 18, 19, 20])
@pytest.mark.parametrize("azs", [("z-1a", "z-1b"), ("z-1a", "z-1b", "z-1c")])
def test_subnets_fit_the_vpc_and_never_overlap(prefix: int, azs: tuple[str, ...]) -> None:
    vpc = ipaddress.IPv4Network(f"10.8.0.0/{prefix}")
    plans = plan_subnets(str(vpc), azs)
    assert [p.availability_zone for p in plans] == list(azs)
    nets = [ipaddress.IPv4Network(c) for p in plans for c in (p.public, p.node, p.data)]
    assert len(nets) == 3 * len(azs)
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(nets, 2))
    # Node subnets hold the pods: a quarter of the VPC each; public and data an eighth of the last quarter.
    assert {n.prefixlen for n in (ipaddress.IPv4Network(p.node) for p in plans)} == {prefix + 2}
    assert {ipaddress.IPv4Network(p.data).prefixlen for p in plans} == {prefix + 5}


def test_known_layout_of_a_slash_16() -> None:
    a, b, c = plan_subnets("10.30.0.0/16", ("use1-az1", "use1-az2", "use1-az4"))
    assert (a.node, b.node, c.node) == ("10.30.0.0/18", "10.30.64.0/18", "10.30.128.0/18")
    assert (a.public, b.public, c.public) == ("10.30.192.0/21", "10.30.200.0/21", "10.30.208.0/21")
    assert (a.data, b.data, c.data) == ("10.30.216.0/21", "10.30.224.0/21", "10.30.232.0/21")


def test_more_zones_than_the_layout_holds() -> None:
    with pytest.raises(ValueError, match="at most 3"):
        plan_subnets("10.0.0.0/16", ("a", "b", "c", "d"))


def test_naming_helpers() -> None:
    assert child_name("airflow-dev", "nat", "a") == "airflow-dev-nat-a"
    assert [zone_key(i) for i in range(3)] == ["a", "b", "c"]
    assert slug("label/airflow-eks/node-group") == "label-airflow-eks-node-group"
    tags = base_tags("p", "s", {"team": "data", "stack": "override"})
    assert tags == {"project": "p", "stack": "override", "managed-by": "pulumi", "team": "data"}
    assert with_name(tags, "x", tier="data")["Name"] == "x"


# Zone ID codes as the AWS page "AWS Availability Zones" lists them (regions/aws-availability-zones.html).
ZONE_ID_PREFIXES = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "ca-central-1": "cac1",
    "ca-west-1": "caw1",
    "mx-central-1": "mxc1",
    "sa-east-1": "sae1",
    "eu-central-1": "euc1",
    "eu-central-2": "euc2",
    "eu-north-1": "eun1",
    "eu-south-2": "eus2",
    "eu-west-3": "euw3",
    "ap-east-1": "ape1",
    "ap-northeast-3": "apne3",
    "ap-south-2": "aps2",
    "ap-southeast-7": "apse7",
    "me-central-1": "mec1",
    "me-south-1": "mes1",
    "af-south-1": "afs1",
    "il-central-1": "ilc1",
    "us-gov-west-1": "usgw1",
    "us-gov-east-1": "usge1",
}


@pytest.mark.parametrize(("region", "prefix"), sorted(ZONE_ID_PREFIXES.items()))
def test_zone_id_prefix_of_each_region(region: str, prefix: str) -> None:
    assert zone_id_prefix(region) == prefix
    assert is_zone_id_of(region, f"{prefix}-az2")


def test_zone_ids_of_another_region_or_malformed() -> None:
    assert not is_zone_id_of("us-east-1", "use2-az1")
    assert not is_zone_id_of("us-east-1", "us-east-1a")
    assert not is_zone_id_of("eu-west-1", "euw1-az")
    for region in ("useast1", "us-nowhere-1", "us-east-x"):
        with pytest.raises(ValueError, match="not an AWS region"):
            zone_id_prefix(region)


def test_discovered_zones_skip_those_eks_refuses() -> None:
    assert {"use1-az3", "usw1-az2", "cac1-az3"} == EKS_UNSUPPORTED_ZONE_IDS
    available = ["use1-az6", "use1-az3", "use1-az1", "use2-az1", "use1-az2", "use1-az4"]
    assert choose_zone_ids("us-east-1", available) == ("use1-az6", "use1-az1", "use1-az2")
    assert choose_zone_ids("us-west-1", ["usw1-az1", "usw1-az2", "usw1-az3"]) == ("usw1-az1", "usw1-az3")


def test_access_entries_are_keyed_by_their_principal() -> None:
    assert access_entry_key("arn:aws:iam::123456789012:role/platform-admin") == "123456789012-platform-admin"
    assert access_entry_key("arn:aws-cn:iam::123456789012:role/ops/team/Data_Admin") == "123456789012-data-admin"


@pytest.mark.parametrize(
    ("subnet", "reservation"),
    [
        ("10.0.64.0/18", "10.0.127.224/28"),
        ("10.1.2.0/24", "10.1.2.224/28"),
        ("10.1.2.64/26", "10.1.2.96/28"),
        ("172.16.0.0/12", "172.31.255.224/28"),
    ],
)
def test_the_load_balancers_address_opens_the_subnets_second_to_last_slash_28(subnet: str, reservation: str) -> None:
    assert load_balancer_address(subnet) == LoadBalancerAddress(reservation, reservation.split("/")[0])


def test_a_subnet_smaller_than_a_slash_26_has_no_address_to_spare() -> None:
    with pytest.raises(ValueError, match=r"too small .* a /26 or larger"):
        load_balancer_address("10.1.2.0/27")
