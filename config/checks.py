"""Checks shared by the settings sections, and the base every section derives from.

A check takes a value and raises `ValueError` with what is wrong; a section runs it for one of
its fields (`Section.check`), which turns the error into a `ConfigError` naming the config key
the field declares (config/keys.py `key_of`): sections never write key names themselves.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from config.errors import ConfigError, cut
from config.keys import key_of

T = TypeVar("T")

# Every pattern is matched whole (`matches` uses fullmatch; elsewhere `\Z`): `$` would let a
# trailing newline through, which a YAML `|` block gives. Digits are [0-9]: `\d` takes any
# Unicode digit.
ID_PATTERNS = {
    "vpc": re.compile(r"vpc-([0-9a-f]{8}|[0-9a-f]{17})"),
    "subnet": re.compile(r"subnet-([0-9a-f]{8}|[0-9a-f]{17})"),
    "sg": re.compile(r"sg-([0-9a-f]{8}|[0-9a-f]{17})"),
}
"""EC2 IDs: a prefix and 8 hex digits (before 2016) or 17."""
ROLE_ARN = re.compile(r"arn:aws:iam::[0-9]{12}:role/(?P<path>(?:[!-.0-~]+/)*)(?P<name>[A-Za-z0-9_+=,.@-]+)")
"""An IAM role's ARN in the aws partition (the only one the program builds for, lib/network/zones.py):
a 12-digit account, an optional path, the name (`role_arn`)."""
ROLE_NAME_MAX, ROLE_PATH_MAX = 64, 512
"""IAM's limits (CreateRole: RoleName 1 to 64 of `[\\w+=,.@-]`; Path 1 to 512, `/` delimited)."""
ACM_ARN = re.compile(r"arn:aws:acm:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):certificate/[0-9a-f-]+")
DOCUMENTATION_ACCOUNT = "123456789012"
"""The account ID AWS's documentation uses in its examples: a placeholder, never a real account."""
SEMVER = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\Z")
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
"""RFC 5737 and 3849 ranges: examples that no machine's traffic comes from."""


class Section:
    """Base of the settings sections: their checks raise errors that name the config key."""

    SECTION: ClassVar[str]
    """The `Settings` attribute that holds the section."""
    TITLE: ClassVar[str]
    """Its heading in docs/configuration.md and its comment in `Pulumi.yaml`."""
    __dataclass_fields__: ClassVar[dict[str, Any]]  # every section is a dataclass (for `key_of`'s type)

    def invalid(self, field: str, message: str) -> ConfigError:
        return ConfigError(key_of(self, field), message)

    def check(self, field: str, check: Callable[..., T], *args: Any) -> T:
        try:
            return check(*args)
        except ValueError as err:
            raise self.invalid(field, str(err)) from None


def in_range(value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{value} is outside the accepted range {low} to {high}")


def matches(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise ValueError(f"'{value}' is not {what}")


def role_arn(value: str) -> None:
    """An IAM role ARN IAM could hold: aws partition, 12-digit account, a path and a name within IAM's limits."""
    match = ROLE_ARN.fullmatch(value)
    if not match:
        raise ValueError(
            f"'{cut(value)}' is not an IAM role ARN of the aws partition (arn:aws:iam::123456789012:role/name, "
            "a 12-digit account, an optional path such as ops/)"
        )
    if len(match["name"]) > ROLE_NAME_MAX:
        raise ValueError(f"'{cut(value)}' names a role of {len(match['name'])} characters; IAM allows {ROLE_NAME_MAX}")
    path = len(match["path"]) + 1  # with its leading /
    if path > ROLE_PATH_MAX:
        raise ValueError(f"'{cut(value)}' has a path of {path} characters; IAM allows {ROLE_PATH_MAX}")


def ids(kind: str, values: Iterable[str]) -> None:
    for value in values:
        matches(ID_PATTERNS[kind], value, f"a {kind} ID ({kind}-0123456789abcdef0)")


PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
"""RFC 1918, and RFC 6598 shared space, which AWS accepts for a VPC (EC2 CreateVpc's own example is
100.68.0.0/18). Not loopback, link-local (169.254/16: instance metadata, DNS) or other reserved ranges."""
MAX_RULE_CIDRS = 50
"""CIDRs of a list that becomes security group rules, one each: a group holds 60 inbound rules by
default (VPC quotas), and it has rules of its own."""
EKS_PUBLIC_CIDRS = 40
"""EKS quota: public endpoint access CIDR ranges per cluster, 40 (not adjustable)."""


def ipv4_cidr(value: str) -> ipaddress.IPv4Network:
    """An IPv4 CIDR in canonical form (what AWS stores and returns, so the plan never drifts)."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"'{cut(value)}' is not an IPv4 CIDR such as 10.0.0.0/16") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"'{value}' is an IPv6 CIDR; the VPC and the cluster are IPv4 only")
    if str(net) != value:
        raise ValueError(f"'{value}' is not a CIDR in canonical form; write {net}")
    return net


def private_vpc_cidr(value: str) -> ipaddress.IPv4Network:
    net = ipv4_cidr(value)
    if not any(net.subnet_of(r) for r in PRIVATE_RANGES):
        raise ValueError(f"'{value}' is not within a private range: {', '.join(map(str, PRIVATE_RANGES))}")
    return net


def source_cidrs(values: Iterable[str], private: bool = False, most: int = MAX_RULE_CIDRS) -> None:
    """CIDRs that may reach an endpoint: canonical IPv4, each once, at most `most`, together never
    the whole internet (and private, if asked)."""
    nets = [ipv4_cidr(value) for value in values]
    if len(nets) > most:
        raise ValueError(f"lists {len(nets)} CIDRs; at most {most} are accepted")
    repeated = next((str(n) for i, n in enumerate(nets) if n in nets[:i]), None)
    if repeated:
        raise ValueError(f"lists '{repeated}' twice")
    if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(nets)):
        raise ValueError(
            f"{[str(n) for n in nets]} together open the endpoint to the whole internet; list narrower CIDRs"
        )
    for net in nets:
        if private and not any(net.subnet_of(r) for r in PRIVATE_RANGES):
            raise ValueError(f"'{net}' is not a private range; use clusterPublicAccessCidrs")


HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def host_name(value: str) -> None:
    """A server's address: an IPv4 address or a DNS host name (RFC 1123: dot-separated labels of 1
    to 63 letters, digits and inner hyphens, 253 characters in all, not all digits at the end)."""
    try:
        ipaddress.IPv4Address(value)
        return
    except ValueError:
        pass
    labels = value.split(".")
    if len(value) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels) or labels[-1].isdecimal():
        raise ValueError(
            f"'{cut(value)}' is not a host name (such as db.example.internal) or an IPv4 address: dot-separated "
            "labels of 1 to 63 letters, digits and inner hyphens, at most 253 characters"
        )


def documentation_range(cidr: str) -> bool:
    net = ipaddress.ip_network(cidr)
    return any(net.version == doc.version and net.subnet_of(doc) for doc in DOCUMENTATION_RANGES)  # type: ignore[arg-type]


def no_problem(problem: str | None) -> None:
    """Raise the problem a check that returns one (a `..._problem` function of lib/) found."""
    if problem:
        raise ValueError(problem)


def one_of(value: T, accepted: Iterable[T]) -> None:
    choices = list(accepted)
    if value not in choices:
        raise ValueError(f"'{value}' is not one of: {', '.join(map(str, choices))}")
