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


AUTONAME_SUFFIX = 8
"""What Pulumi's auto-naming appends to a logical name for a physical one: `-` and 7 hex digits."""

NODE_GROUP_NAME_MAX = 20
"""Longest node group name (`lib/cluster/node_groups.py`)."""

# The names built from the stack's base name (`airflow-<stack>`) that come closest to a limit of
# AWS, per resource kind: (resource, name with `{}` for the base, AWS's limit in characters,
# characters added to it). A stack name is refused when any would overflow (config/names.py).
NAMES_FROM_STACK: tuple[tuple[str, str, int, int], ...] = (
    # ELB CreateLoadBalancer: a name of at most 32 characters (auto-named).
    ("load balancer", "{}-nlb", 32, AUTONAME_SUFFIX),
    # ELB CreateTargetGroup: a name of at most 32 characters (auto-named). The tightest limit.
    ("target group", "{}-api-tg", 32, AUTONAME_SUFFIX),
    # RDS DBInstanceIdentifier: 1 to 63 letters, digits or hyphens, no trailing or doubled hyphen.
    ("RDS instance", "{}-db", 63, 0),
    # IAM CreateRole: RoleName of at most 64 characters (auto-named); the longest of the roles.
    ("IAM role", "{}-telemetry-cloudwatch-role", 64, AUTONAME_SUFFIX),
    # EKS CreateCluster: a name of 1 to 100 characters.
    ("EKS cluster", "{}", 100, 0),
    # EKS CreateNodegroup: a name of at most 63 characters (auto-named); a hibernated group's.
    ("EKS node group", "{}-" + "g" * NODE_GROUP_NAME_MAX + "-hibernated", 63, AUTONAME_SUFFIX),
    # S3: bucket names of 3 to 63 characters; `bucket_prefix` takes at most 37 (26 are appended).
    ("S3 bucket prefix", "{}-task-logs-", 37, 0),
    # EFS CreateFileSystem: CreationToken of at most 64 characters.
    ("EFS creation token", "{}-efs", 64, 0),
    # SNS CreateTopic: a name of at most 256 characters (auto-named).
    ("SNS topic", "{}-alerts-topic", 256, AUTONAME_SUFFIX),
    # KMS CreateAlias: AliasName of at most 256 characters.
    ("KMS alias", "alias/{}-telemetry-logs", 256, 0),
    # CloudWatch Logs CreateLogGroup: logGroupName of at most 512 characters.
    ("log group", "/aws/containerinsights/{}/performance", 512, 0),
)


def name_overflow(base: str) -> str | None:
    """The first name built from `base` that AWS would refuse as too long, said plainly; or None."""
    for resource, template, limit, added in NAMES_FROM_STACK:
        length = len(template.format(base)) + added
        if length > limit:
            return f"the {resource} name would be {length} characters, over AWS's limit of {limit}"
    return None


def longest_stack_name(prefix: str = "airflow-") -> int:
    """The longest stack name whose names all fit (`prefix` + stack is the base name)."""
    return min(limit - added - len(template.format(prefix)) for _, template, limit, added in NAMES_FROM_STACK)


PROGRAM_TAGS_MAX = 8
"""Most tags the program puts on one AWS resource besides the user's and the waivers: a node
subnet's `project`, `stack`, `managed-by`, `Name`, `tier`, `airflow-eks:production`,
`kubernetes.io/cluster/<cluster>` and `kubernetes.io/role/internal-elb`."""
PROGRAM_TAG_KEYS = ("project", "stack", "managed-by", "Name", "tier")
"""Tag keys the program sets (prefixes `airflow-eks:`, `kubernetes.io/`, `k8s.io/` aside)."""
