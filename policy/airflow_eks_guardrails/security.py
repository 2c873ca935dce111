"""Encryption at rest, exposure to the internet, and the nodes' instance metadata."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from .declaration import ENCRYPTION, IMDSV2, NO_PUBLIC_EXPOSURE
from .model import (
    BUCKET,
    DB,
    EFS,
    EKS_CLUSTER,
    EKS_COMPONENT,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LOAD_BALANCER,
    NODE_GROUPS,
    PUBLIC_ACCESS_BLOCK,
    RELEASE,
    SG,
    SG_EGRESS,
    SG_INGRESS,
    SG_RULE,
    SUBNET,
    UNKNOWN,
    Resource,
    Stack,
    Violation,
    known,
    nat_instances,
    violation,
    walk,
)


def _key_problem(stack: Stack, arn: Any) -> str | None:
    """Why `arn` is not a customer-managed rotating key of this stack, or None (also when unknown)."""
    if arn == UNKNOWN:
        return None
    if not isinstance(arn, str) or not arn:
        return "no customer-managed KMS key is set (AWS's own key cannot be rotated or restricted by you)"
    if ":alias/aws/" in arn or arn.startswith("alias/aws/"):
        return f"{arn} is an AWS-managed key; use a customer-managed key"
    key = stack.by_id(KMS_KEY).get(arn.rsplit("/", 1)[-1])
    if key is not None and key.props.get("enableKeyRotation") is not True:
        return f"its key {key.name} does not rotate (enableKeyRotation)"
    return None


def encryption(stack: Stack) -> Iterator[Violation]:
    """Encryption at rest of the data stores, EKS secrets and node volumes, with rotating CMKs."""
    for key in stack.of_type(KMS_KEY):
        spec = key.props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
        if spec == "SYMMETRIC_DEFAULT" and key.props.get("enableKeyRotation") is not True:
            yield violation(ENCRYPTION, key, "set enableKeyRotation: true (yearly rotation of a symmetric key)")
    for db in stack.of_type(DB):
        if db.props.get("storageEncrypted") is not True:
            yield violation(ENCRYPTION, db, "set storageEncrypted: true")
        fields = ["kmsKeyId"] + (["performanceInsightsKmsKeyId"] if db.props.get("performanceInsightsEnabled") else [])
        for name in fields:
            if problem := _key_problem(stack, db.props.get(name)):
                yield violation(ENCRYPTION, db, f"{name}: {problem}")
    for fs in stack.of_type(EFS):
        if fs.props.get("encrypted") is not True:
            yield violation(ENCRYPTION, fs, "set encrypted: true")
        if problem := _key_problem(stack, fs.props.get("kmsKeyId")):
            yield violation(ENCRYPTION, fs, f"kmsKeyId: {problem}")
    for cluster in stack.of_type(EKS_COMPONENT):
        if problem := _key_problem(stack, cluster.props.get("encryptionConfigKeyArn")):
            yield violation(ENCRYPTION, cluster, f"encryptionConfigKeyArn (Kubernetes secrets): {problem}")
    for cluster in stack.of_type(EKS_CLUSTER):
        config = cluster.get("encryptionConfig", default={})
        if known(config) and "secrets" not in (config.get("resources") or []):
            yield violation(ENCRYPTION, cluster, "encryptionConfig must cover the `secrets` resources")
        if known(config) and (problem := _key_problem(stack, cluster.get("encryptionConfig", "provider", "keyArn"))):
            yield violation(ENCRYPTION, cluster, f"encryptionConfig.provider.keyArn: {problem}")
    for template in stack.of_type(LAUNCH_TEMPLATE):
        for i, mapping in enumerate(template.props.get("blockDeviceMappings") or []):
            ebs = mapping.get("ebs") or {}
            if str(ebs.get("encrypted")).lower() != "true":
                yield violation(ENCRYPTION, template, f"blockDeviceMappings[{i}].ebs: set encrypted: true")
            if problem := _key_problem(stack, ebs.get("kmsKeyId")):
                yield violation(ENCRYPTION, template, f"blockDeviceMappings[{i}].ebs.kmsKeyId: {problem}")


def _networks(cidrs: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except (TypeError, ValueError):  # unknown, or not a CIDR: AWS refuses it, nothing is opened
            continue
    return networks


def _covers_everything(cidrs: Any) -> bool:
    """The CIDRs together admit every IPv4 (or every IPv6) address."""
    nets = _networks(cidrs)
    v4 = ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv4Network))
    v6 = ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv6Network))
    return any(n.prefixlen == 0 for n in v4) or any(n.prefixlen == 0 for n in v6)


def _egress_security_groups(stack: Stack) -> set[str]:
    """The groups of the nodes (their launch templates') and of a NAT instance (an instance that
    forwards: source/destination check off), which reach the internet by design."""
    groups = [
        *(g for t in stack.of_type(LAUNCH_TEMPLATE) for g in t.props.get("vpcSecurityGroupIds") or []),
        *(g for i in nat_instances(stack) for g in i.props.get("vpcSecurityGroupIds") or []),
    ]
    return {g for g in groups if known(g)}


def _rule_to_world(rule: Mapping[str, Any]) -> bool:
    cidrs = [rule.get("cidrIpv4"), rule.get("cidrIpv6"), *(rule.get("cidrBlocks") or [])]
    return _covers_everything([c for c in cidrs if c] + list(rule.get("ipv6CidrBlocks") or []))


def _world_rules(stack: Stack) -> Iterator[tuple[Resource, str, str]]:
    """(resource, direction, security group ID) of every rule open to every address."""
    for rule in stack.of_type(SG_INGRESS, SG_EGRESS):
        if _rule_to_world(rule.props):
            yield rule, "ingress" if rule.type == SG_INGRESS else "egress", rule.props.get("securityGroupId", "")
    for rule in stack.of_type(SG_RULE):
        if _rule_to_world(rule.props):
            yield rule, str(rule.props.get("type")), rule.props.get("securityGroupId", "")
    for group in stack.of_type(SG):
        for direction in ("ingress", "egress"):
            if any(_rule_to_world(r) for r in group.props.get(direction) or []):
                yield group, direction, group.id


def no_public_exposure(stack: Stack) -> Iterator[Violation]:
    """Nothing reachable from the internet but through the NAT path's egress (NAT gateways, a NAT instance)."""
    policy = NO_PUBLIC_EXPOSURE
    for cluster in stack.of_type(EKS_COMPONENT, EKS_CLUSTER):
        vpc = cluster.props if cluster.type == EKS_COMPONENT else cluster.props.get("vpcConfig") or {}
        cidrs = vpc.get("publicAccessCidrs")
        public = vpc.get("endpointPublicAccess", True)  # both default to a public endpoint
        if public is True and (not cidrs or _covers_everything(cidrs)):
            yield violation(
                policy, cluster, "the public EKS endpoint admits 0.0.0.0/0: list only the CIDRs that need it"
            )
        if cluster.props.get("nodeAssociatePublicIpAddress") is True:
            yield violation(policy, cluster, "set nodeAssociatePublicIpAddress: false")
    for lb in stack.of_type(LOAD_BALANCER):
        if lb.props.get("internal") is not True:
            yield violation(policy, lb, "set internal: true (the load balancer must not face the internet)")
    for db in stack.of_type(DB):
        if db.props.get("publiclyAccessible") is True:
            yield violation(policy, db, "set publiclyAccessible: false")
    for subnet in stack.of_type(SUBNET):
        if subnet.props.get("mapPublicIpOnLaunch") is True:
            yield violation(
                policy, subnet, "set mapPublicIpOnLaunch: false (the NAT gateways have their own addresses)"
            )
    nodes = _egress_security_groups(stack)
    for resource, direction, group in _world_rules(stack):
        if direction == "ingress":
            yield violation(
                policy, resource, "an ingress rule open to the world: admit only the CIDRs or groups that need it"
            )
        elif group not in nodes:
            yield violation(
                policy,
                resource,
                "egress to the world from a group neither the nodes nor a NAT instance use (only the NAT path may)",
            )
    blocks = stack.of_type(PUBLIC_ACCESS_BLOCK)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for block in blocks:
        if not all(block.props.get(f) is True for f in flags):
            yield violation(policy, block, f"set {', '.join(flags)} all true")
    blocked = {b.props.get("bucket") for b in blocks}
    for bucket in stack.of_type(BUCKET):
        if bucket.id and bucket.id not in blocked and UNKNOWN not in blocked:
            yield violation(policy, bucket, "add a BucketPublicAccessBlock that blocks every kind of public access")
    for release in stack.of_type(RELEASE):
        for path, value in walk(release.props.get("values") or {}):
            if path and path[-1] == "type" and value in ("LoadBalancer", "NodePort"):
                where = ".".join(path)
                yield violation(
                    policy, release, f"values.{where} is {value}: keep Services ClusterIP behind the internal NLB"
                )


def imdsv2(stack: Stack) -> Iterator[Violation]:
    """Every node requires IMDSv2 tokens with a hop limit of 1 (pods cannot borrow the node's role)."""
    for template in stack.of_type(LAUNCH_TEMPLATE):
        options = template.props.get("metadataOptions") or {}
        if options.get("httpEndpoint") == "disabled":
            continue
        if options.get("httpTokens") != "required":
            yield violation(IMDSV2, template, "set metadataOptions.httpTokens: required (IMDSv2 only)")
        if known(options.get("httpPutResponseHopLimit")) and options.get("httpPutResponseHopLimit") != 1:
            yield violation(IMDSV2, template, "set metadataOptions.httpPutResponseHopLimit: 1")
    for group in stack.of_type(*NODE_GROUPS):
        if not group.props.get("launchTemplate"):
            yield violation(
                IMDSV2, group, "give the node group a launch template (EKS's default allows a hop limit of 2)"
            )
    for cluster in stack.of_type(EKS_COMPONENT):
        if cluster.props.get("skipDefaultNodeGroup") is not True:
            yield violation(
                IMDSV2, cluster, "set skipDefaultNodeGroup: true (its nodes have no IMDSv2 launch template)"
            )
