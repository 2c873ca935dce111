"""`taskEgress`: the rules a user writes, checked and read without a program run."""

from __future__ import annotations

from typing import Any

import pytest

from lib.airflow.task_egress import EgressRule, task_egress_problem, task_egress_rules


def test_rules_are_read_by_name_with_tcp_by_default_and_cidrs_normalised() -> None:
    value = {
        "warehouse": {"cidrs": ["10.50.0.0/16"], "ports": [5439]},
        "syslog": {"cidrs": ["10.60.0.10/32", "10.60.1.9/24"], "ports": [514, 6514], "protocol": "UDP"},
    }
    assert task_egress_problem(value) is None
    assert task_egress_rules(value) == (
        EgressRule("syslog", ("10.60.0.10/32", "10.60.1.0/24"), (514, 6514), "UDP"),
        EgressRule("warehouse", ("10.50.0.0/16",), (5439,), "TCP"),
    )


def test_a_rule_holding_the_metadata_range_excepts_it_and_others_do_not() -> None:
    (anywhere,) = task_egress_rules({"web": {"cidrs": ["0.0.0.0/0"], "ports": [80]}})
    assert anywhere.peers() == ({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}},)
    (vpc,) = task_egress_rules({"db": {"cidrs": ["10.0.0.0/8"], "ports": [5432]}})
    assert vpc.peers() == ({"ipBlock": {"cidr": "10.0.0.0/8"}},)


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("an upper-case name", {"Warehouse": {"cidrs": ["10.0.0.0/8"], "ports": [1]}}, "is not a rule name"),
    ("a name too long", {"w" * 41: {"cidrs": ["10.0.0.0/8"], "ports": [1]}}, "is not a rule name"),
    ("not a mapping", {"w": ["10.0.0.0/8"]}, "expected {cidrs"),
    ("an unknown field", {"w": {"cidrs": ["10.0.0.0/8"], "ports": [1], "port": 2}}, "expected {cidrs"),
    ("no ports", {"w": {"cidrs": ["10.0.0.0/8"]}}, "expected {cidrs"),
    ("empty cidrs", {"w": {"cidrs": [], "ports": [1]}}, "non-empty list of IPv4 CIDRs"),
    ("a host name", {"w": {"cidrs": ["db.example.com"], "ports": [1]}}, "'db.example.com' is not an IPv4 CIDR"),
    ("IPv6", {"w": {"cidrs": ["2001:db8::/32"], "ports": [1]}}, "is not an IPv4 CIDR"),
    ("instance metadata", {"w": {"cidrs": ["169.254.169.254/32"], "ports": [80]}}, "is link-local"),
    ("empty ports", {"w": {"cidrs": ["10.0.0.0/8"], "ports": []}}, "non-empty list of port numbers"),
    ("port 0", {"w": {"cidrs": ["10.0.0.0/8"], "ports": [0]}}, "0 is not a port number"),
    ("a port as text", {"w": {"cidrs": ["10.0.0.0/8"], "ports": ["443"]}}, "'443' is not a port number"),
    ("a boolean port", {"w": {"cidrs": ["10.0.0.0/8"], "ports": [True]}}, "True is not a port number"),
    ("SCTP", {"w": {"cidrs": ["10.0.0.0/8"], "ports": [1], "protocol": "SCTP"}}, "is not one of TCP, UDP"),
]


@pytest.mark.parametrize(("case", "value", "words"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_rule_is_named_with_what_is_accepted(case: str, value: dict[str, Any], words: str) -> None:
    problem = task_egress_problem(value)
    assert problem is not None and words in problem, problem
