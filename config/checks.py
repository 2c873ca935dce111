"""Checks shared by the settings sections, and the base every section derives from.

A check takes a value and raises `ValueError` with what is wrong; a section runs it for one of
its fields (`Section.check`), which turns the error into a `ConfigError` naming that field's
config key (config/keys.py): sections never write key names themselves.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from config.errors import ConfigError
from config.keys import key_of

T = TypeVar("T")

ID_PATTERNS = {
    "vpc": re.compile(r"^vpc-[0-9a-f]{8,17}$"),
    "subnet": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    "sg": re.compile(r"^sg-[0-9a-f]{8,17}$"),
}
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
"""RFC 5737 and 3849 ranges: examples that no machine's traffic comes from."""


class Section:
    """Base of the settings sections: their checks raise errors that name the config key."""

    SECTION: ClassVar[str]

    def invalid(self, field: str, message: str) -> ConfigError:
        return ConfigError(key_of(self.SECTION, field), message)

    def check(self, field: str, check: Callable[..., T], *args: Any) -> T:
        try:
            return check(*args)
        except ValueError as err:
            raise self.invalid(field, str(err)) from None


def in_range(value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{value} is outside the accepted range {low} to {high}")


def matches(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.match(value):
        raise ValueError(f"'{value}' is not {what}")


def ids(kind: str, values: Iterable[str]) -> None:
    for value in values:
        matches(ID_PATTERNS[kind], value, f"a {kind} ID ({kind}-0123456789abcdef0)")


def private_vpc_cidr(value: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ValueError(f"'{value}' is not an IPv4 CIDR such as 10.0.0.0/16") from None
    if not net.is_private:
        raise ValueError(f"'{value}' is not a private (RFC 1918) range")
    return net


def source_cidrs(values: Iterable[str], private: bool = False) -> None:
    """CIDRs that may reach an endpoint: valid, never the whole internet (and private, if asked)."""
    for value in values:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ValueError(f"'{value}' is not a CIDR such as 203.0.113.0/24") from None
        if net.prefixlen == 0:
            raise ValueError(f"'{value}' opens the endpoint to the whole internet; list narrower CIDRs")
        if private and not net.is_private:
            raise ValueError(f"'{value}' is not a private range; use clusterPublicAccessCidrs")


def documentation_range(cidr: str) -> bool:
    net = ipaddress.ip_network(cidr)
    return any(net.version == doc.version and net.subnet_of(doc) for doc in DOCUMENTATION_RANGES)  # type: ignore[arg-type]


def one_of(value: T, accepted: Iterable[T]) -> None:
    choices = list(accepted)
    if value not in choices:
        raise ValueError(f"'{value}' is not one of: {', '.join(map(str, choices))}")
