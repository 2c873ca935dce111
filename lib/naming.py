"""Resource names and tags."""

from __future__ import annotations

import re
from collections.abc import Mapping


def child_name(component: str, *parts: str) -> str:
    """Name of a child resource: the component's name, then its parts (`airflow-dev-vpc`)."""
    return "-".join((component, *parts))


def az_suffix(availability_zone: str) -> str:
    """The zone letter of an AZ name (`us-east-1a` -> `a`), to name per-AZ children."""
    return availability_zone[-1]


def base_tags(project: str, stack: str, extra: Mapping[str, str]) -> dict[str, str]:
    """Tags on every AWS resource: who manages it, then the user's tags (which win)."""
    return {"project": project, "stack": stack, "managed-by": "pulumi", **extra}


def with_name(tags: Mapping[str, str], name: str, **more: str) -> dict[str, str]:
    """`tags` plus the `Name` tag the AWS console shows, plus any extra tags."""
    return {**tags, "Name": name, **more}


def slug(text: str) -> str:
    """`text` with every run of characters other than letters and digits made one `-`."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
