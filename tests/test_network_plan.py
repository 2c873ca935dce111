"""CIDR math, without mocks."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from lib.naming import az_suffix, base_tags, child_name, slug, with_name
from lib.network_plan import plan_subnets


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
    a, b, c = plan_subnets("10.30.0.0/16", ("us-east-1a", "us-east-1b", "us-east-1c"))
    assert (a.node, b.node, c.node) == ("10.30.0.0/18", "10.30.64.0/18", "10.30.128.0/18")
    assert (a.public, b.public, c.public) == ("10.30.192.0/21", "10.30.200.0/21", "10.30.208.0/21")
    assert (a.data, b.data, c.data) == ("10.30.216.0/21", "10.30.224.0/21", "10.30.232.0/21")


def test_more_zones_than_the_layout_holds() -> None:
    with pytest.raises(ValueError, match="at most 3"):
        plan_subnets("10.0.0.0/16", ("a", "b", "c", "d"))


def test_naming_helpers() -> None:
    assert child_name("airflow-dev", "nat", "a") == "airflow-dev-nat-a"
    assert az_suffix("eu-central-1b") == "b"
    assert slug("label/airflow-eks/node-group") == "label-airflow-eks-node-group"
    tags = base_tags("p", "s", {"team": "data", "stack": "override"})
    assert tags == {"project": "p", "stack": "override", "managed-by": "pulumi", "team": "data"}
    assert with_name(tags, "x", tier="data")["Name"] == "x"
