"""Hypothesis strategies for tests/plans/test_config_fuzz.py: realistic mutations of the committed stacks.

A generated example is (stack name, config): the config of `dev` or `prod` as the CLI hands it to
the program (strings; objects and lists JSON-encoded) with one to four keys perturbed the ways a
user gets them wrong: CIDRs in other notations, names with a trailing newline (a YAML `|` block),
non-ASCII digits, repeated items, too many tags, values nested too deep, numbers too long.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

from config.project import read_declarations
from policy.airflow_eks_guardrails.declaration import POLICY_NAMES

Config = dict[str, str | None]  # None: remove the key
_PARENTS = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/0",
        "203.0.113.0/24",
        "8.8.0.0/16",
        "224.0.0.0/4",
    )
]


@st.composite
def ipv4_network(draw: st.DrawFn) -> ipaddress.IPv4Network:
    parent = draw(st.sampled_from(_PARENTS))
    prefix = draw(st.sampled_from([parent.prefixlen, 16, 20, 24, 32, 1, 12, 8]))
    address = parent.network_address + draw(st.integers(0, parent.num_addresses - 1))
    return ipaddress.IPv4Network(f"{address}/{max(prefix, parent.prefixlen)}", strict=False)


def _forms(net: ipaddress.IPv4Network) -> st.SearchStrategy[str]:
    canonical = str(net)
    return st.sampled_from(
        [canonical] * 6
        + [net.with_netmask, str(net.network_address), f"{net.network_address}/0{net.prefixlen}", canonical + "\n"]
        + [f"2001:db8:{net.prefixlen:x}::/48", f"{net.network_address}/{net.prefixlen} ", canonical.upper() + "x"]
    )


CIDR = ipv4_network().flatmap(_forms)
CIDR_LISTS = st.one_of(
    st.lists(CIDR, max_size=6),
    st.lists(CIDR, min_size=38, max_size=62),
    st.just(["0.0.0.0/1", "128.0.0.0/1"]),
    st.lists(st.sampled_from(["203.0.113.10/32", "198.51.100.0/24"]), min_size=1, max_size=3),
)
STACK = st.one_of(
    st.sampled_from(["dev", "prod", "staging", "dev-", "a--b", "dev\n", "abcdefghi", "abcdefghij", "a", "Dev"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,22}", fullmatch=True),
    st.text(max_size=24),
)
_TAG_KEY = st.one_of(
    st.sampled_from(["Name", "name", "NAME", "project", "Project", "tier", "environment", "Environment", "team"]),
    st.sampled_from(
        ["aws:x", "AWS:x", "airflow-eks:x", "kubernetes.io/role/elb", "k8s.io/x", "cost center", "a" * 129]
    ),
    st.text(st.sampled_from("abcXYZ019 _.:/=+-@é<>\n"), min_size=0, max_size=12),
)
_TAG_VALUE = st.one_of(st.text(st.sampled_from("abc019 _.:/=+-@é<\n"), max_size=12), st.just("v" * 257))
TAGS = st.one_of(
    st.dictionaries(_TAG_KEY, _TAG_VALUE, max_size=5),
    st.dictionaries(st.from_regex(r"k[0-9]{1,3}", fullmatch=True), st.just("v"), min_size=35, max_size=50),
)
WAIVERS = st.dictionaries(
    st.sampled_from(POLICY_NAMES), st.sampled_from(["a reason of ten characters", "short", "ticket OPS-42 ok"])
)
ZONES = st.lists(
    st.sampled_from(["use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az1\n", "use1-az\u0664"]),
    max_size=4,
)
EC2_ID = st.one_of(
    st.from_regex(r"subnet-[0-9a-f]{17}", fullmatch=True),
    st.sampled_from(["subnet-0123456789abcdef0", "subnet-0123456789abcdef0\n", "subnet-12345678", "subnet-xyz"]),
)
HOST = st.one_of(
    st.sampled_from([".", "db..example", "-db.example", "db.example\n", "10.0.0.5", "db_1.example", "a" * 64 + ".x"]),
    st.sampled_from(["db.example.internal", "db", "mydb.abc123.us-east-1.rds.amazonaws.com", "1.2.3", "db-"]),
    st.text(max_size=20),
)
RAW_NUMBERS = st.one_of(
    st.sampled_from(["9" * 5000, "[" * 3000 + "]" * 3000, "1e400", "-1", "NaN", "1.5", "true", '"3"', "9" * 30]),
    st.integers(-(2**70), 2**70).map(str),
)


def helm_values_deep(levels: int) -> dict[str, Any]:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


HELM_VALUES = st.one_of(
    st.integers(1, 60).map(helm_values_deep),
    st.sampled_from([{"a": 2**60}, {"a": float("inf")}, {"workers": {"replicas": 2}}, {"images": {}}]),
)


def _existing_vpc(draw: st.DrawFn, base: Mapping[str, str]) -> Config:
    zones = 3 if base.get("availabilityZoneIds") is None else len(str(base["availabilityZoneIds"]).split(","))
    count = draw(st.sampled_from([zones, max(zones - 1, 0)]))
    ids = st.lists(EC2_ID, min_size=count, max_size=count)
    changes: Config = {
        "vpcCidr": None,
        "natGateways": None,
        "existingVpcId": draw(st.sampled_from(["vpc-0a1b2c3d4e5f60718", "vpc-1"])),
    }
    changes |= {"existingNodeSubnetIds": json.dumps(draw(ids)), "existingDataSubnetIds": json.dumps(draw(ids))}
    if draw(st.booleans()):
        changes["existingPublicSubnetIds"] = json.dumps(draw(ids))
    changes["nlbAllowedCidrs"] = json.dumps(draw(CIDR_LISTS))
    return changes


def _existing_db(draw: st.DrawFn, base: Mapping[str, str]) -> Config:
    changes: Config = {k: None for k in base if k.startswith("db") and k not in ("dbName", "dbUsername")}
    return changes | {"existingDbHost": draw(HOST), "existingDbPassword": "a password"}


def _node_labels(draw: st.DrawFn, base: Mapping[str, str]) -> Config:
    groups = copy.deepcopy(json.loads(base["nodeGroups"]))
    group = draw(st.sampled_from(sorted(groups)))
    groups[group]["labels"] = draw(
        st.dictionaries(
            st.sampled_from(["team", "Team", "a/b", "x" * 64, "tier\n"]), st.sampled_from(["", "a", "b c"]), max_size=3
        )
    )
    return {"nodeGroups": json.dumps(groups)}


_JSON = {
    "clusterPublicAccessCidrs": CIDR_LISTS,
    "clusterPrivateAccessCidrs": CIDR_LISTS,
    "nlbAllowedCidrs": CIDR_LISTS,
    "tags": TAGS,
    "policyWaivers": WAIVERS,
    "availabilityZoneIds": ZONES,
    "airflowValues": HELM_VALUES,
    "loadBalancerControllerValues": HELM_VALUES,
}
_RAW = {"vpcCidr": CIDR, "dbAllocatedStorageGib": RAW_NUMBERS, "airflowParallelism": RAW_NUMBERS}
_COMPOUND: list[Callable[[st.DrawFn, Mapping[str, str]], Config]] = [_existing_vpc, _existing_db, _node_labels]


@st.composite
def _mutation(draw: st.DrawFn, base: Mapping[str, str]) -> Config:
    kind = draw(st.sampled_from(["json"] * 5 + ["raw"] * 2 + ["compound"] * 2 + ["noise"]))
    if kind == "json":
        key = draw(st.sampled_from(sorted(_JSON)))
        return {key: json.dumps(draw(_JSON[key]))}
    if kind == "raw":
        key = draw(st.sampled_from(sorted(_RAW)))
        return {key: draw(_RAW[key])}
    if kind == "compound":
        return draw(st.sampled_from(_COMPOUND))(draw, base)
    key = draw(st.sampled_from(sorted(read_declarations()[1])))
    return {key: draw(st.one_of(st.text(max_size=12), RAW_NUMBERS, st.just('{"a": [1, {"b": null}]}')))}


@st.composite
def mutated_configs(
    draw: st.DrawFn, bases: Mapping[str, tuple[dict[str, str], str]], most: int = 4
) -> tuple[str, dict[str, str]]:
    """(stack name, config): a committed stack's config with 1 to `most` mutations, or its own name changed."""
    base = draw(st.sampled_from(sorted(bases)))
    config: dict[str, Any] = dict(bases[base][0])
    stack = draw(st.one_of(st.just(base), STACK))
    for _ in range(draw(st.integers(0 if stack != base else 1, most))):
        config |= draw(_mutation(config))
    return stack, {k: v for k, v in config.items() if v is not None}


def configs(bases: Mapping[str, tuple[dict[str, str], str]]) -> st.SearchStrategy[tuple[str, dict[str, str]]]:
    """Configs for the registration sample: mostly accepted ones (one mutation)."""
    return mutated_configs(bases, most=1)
