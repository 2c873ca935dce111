"""Where task pods may connect besides the platform's own flows (`taskEgress`).

The Airflow namespace denies first (`lib/airflow/network_flows.py`): a task pod reaches CoreDNS,
the API server's execution API, StatsD and HTTPS (443) outside the private ranges, nothing else.
A DAG that reads a warehouse inside the VPC, or an SFTP server on 22, needs a rule of its own:

    taskEgress:
      warehouse: {cidrs: [10.50.0.0/16], ports: [5439]}
      partner-sftp: {cidrs: [203.0.113.7/32], ports: [22]}
      syslog: {cidrs: [10.60.0.10/32], ports: [514], protocol: UDP}

Each rule is a flow `task-egress-<name>` of the table, from the task pods only. The instance
metadata service's link-local range stays shut: a rule inside it is refused, and a rule that
contains it (0.0.0.0/0) excepts it, so a task pod never reaches the node's credentials.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
PROTOCOLS = ("TCP", "UDP")
FIELDS = ("cidrs", "ports", "protocol")
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")


@dataclass(frozen=True)
class EgressRule:
    """Task pods may connect to `cidrs` on `ports` (all of one protocol)."""

    name: str
    cidrs: tuple[str, ...]
    ports: tuple[int, ...]
    protocol: str = "TCP"

    def peers(self) -> tuple[dict[str, Any], ...]:
        """NetworkPolicy ipBlocks: each CIDR, the link-local range excepted where it holds it."""
        blocks: list[dict[str, Any]] = []
        for cidr in self.cidrs:
            network = ipaddress.IPv4Network(cidr, strict=False)
            block: dict[str, Any] = {"cidr": str(network)}
            if LINK_LOCAL.subnet_of(network):
                block["except"] = [str(LINK_LOCAL)]
            blocks.append({"ipBlock": block})
        return tuple(blocks)


def _rule_problem(name: Any, rule: Any) -> str | None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"'{name}' is not a rule name: 1 to 40 lowercase letters, digits and '-' (it names the flow)"
    if not isinstance(rule, Mapping) or set(rule) - set(FIELDS) or not {"cidrs", "ports"} <= set(rule):
        return f"{name}: expected {{cidrs: [...], ports: [...], protocol: TCP or UDP (optional)}}"
    cidrs, ports, protocol = rule["cidrs"], rule["ports"], rule.get("protocol", "TCP")
    if not isinstance(cidrs, list) or not cidrs:
        return f"{name}: cidrs must be a non-empty list of IPv4 CIDRs"
    for cidr in cidrs:
        try:
            network = ipaddress.IPv4Network(cidr, strict=False) if isinstance(cidr, str) else None
        except ValueError:
            network = None
        if network is None:
            return f"{name}: '{cidr}' is not an IPv4 CIDR such as 10.50.0.0/16"
        if network.subnet_of(LINK_LOCAL):
            return f"{name}: {cidr} is link-local (the instance metadata service): task pods never reach it"
    if not isinstance(ports, list) or not ports:
        return f"{name}: ports must be a non-empty list of port numbers (1 to 65535)"
    bad = [p for p in ports if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535]
    if bad:
        return f"{name}: {bad[0]!r} is not a port number (1 to 65535)"
    if protocol not in PROTOCOLS:
        return f"{name}: protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}"
    return None


def task_egress_problem(value: Mapping[str, Any]) -> str | None:
    """Why `value` (the key's mapping of name -> rule) is not a set of rules, or None."""
    for name, rule in value.items():
        if problem := _rule_problem(name, rule):
            return problem
    return None


def task_egress_rules(value: Mapping[str, Any]) -> tuple[EgressRule, ...]:
    """The rules of a value `task_egress_problem` accepts, by name."""
    return tuple(
        EgressRule(
            name=name,
            cidrs=tuple(str(ipaddress.IPv4Network(c, strict=False)) for c in rule["cidrs"]),
            ports=tuple(rule["ports"]),
            protocol=rule.get("protocol", "TCP"),
        )
        for name, rule in sorted(value.items())
    )
