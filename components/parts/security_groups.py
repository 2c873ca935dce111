"""Security group rules of the components: one helper for an ingress rule on one port.

Each rule is its own resource (never inline in its group): it waits only for the groups it
names, so the data tier, say, never waits for the EKS cluster.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from lib.naming import with_name


def ingress_rule(
    parent: pulumi.Resource,
    name: str,
    security_group_id: pulumi.Input[str],
    port: int,
    description: str,
    source_security_group_id: pulumi.Input[str] | None = None,
    cidr: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> aws.vpc.SecurityGroupIngressRule:
    """TCP `port` into `security_group_id`, from another group or from a CIDR (IPv4 or IPv6)."""
    if (source_security_group_id is None) == (cidr is None):
        raise ValueError(f"ingress rule {name}: give either a source security group or a CIDR")
    source: dict[str, pulumi.Input[str]] = (
        {"referenced_security_group_id": source_security_group_id}
        if source_security_group_id is not None
        else {("cidr_ipv6" if ":" in str(cidr) else "cidr_ipv4"): str(cidr)}
    )
    return aws.vpc.SecurityGroupIngressRule(
        name,
        security_group_id=security_group_id,
        description=description,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        tags=with_name(tags, name) if tags is not None else None,
        opts=pulumi.ResourceOptions(parent=parent),
        **source,
    )
