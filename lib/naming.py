"""Resource names and tags."""

from __future__ import annotations

import re
from collections.abc import Mapping


def child_name(component: str, *parts: str) -> str:
    """Name of a child resource: the component's name, then its parts (`airflow-dev-vpc`)."""
    return "-".join((component, *parts))


def base_tags(project: str, stack: str, extra: Mapping[str, str]) -> dict[str, str]:
    """Tags on every AWS resource: who manages it, then the user's tags (which win)."""
    return {"project": project, "stack": stack, "managed-by": "pulumi", **extra}


def with_name(tags: Mapping[str, str], name: str, **more: str) -> dict[str, str]:
    """`tags` plus the `Name` tag the AWS console shows, plus any extra tags."""
    return {**tags, "Name": name, **more}


def access_entry_key(principal_arn: str) -> str:
    """Key of a principal's EKS access entry: its account and name (`123456789012-platform-admin`
    for `arn:aws:iam::123456789012:role/ops/platform-admin`), so that reordering or shortening a
    list of principals never moves an entry to another principal."""
    account, resource = principal_arn.split(":", 5)[4:]
    return slug(f"{account}-{resource.split('/')[-1]}")


def slug(text: str) -> str:
    """`text` with every run of characters other than letters and digits made one `-`."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
