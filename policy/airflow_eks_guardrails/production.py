"""What a stack that declares itself production must add: protection, backups, and no zone holding a tier."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .chart import CONTROL_PLANE_LABELS, ZONE_KEY, control_plane_sections
from .declaration import PRODUCTION_HA, PRODUCTION_PROTECTION, PRODUCTION_TLS
from .model import (
    BUCKET,
    DB,
    EFS,
    EFS_BACKUP,
    KMS_KEY,
    LISTENER,
    MOUNT_TARGET,
    NAT,
    NODE_GROUPS,
    PDB,
    RELEASE,
    SUBNET,
    UNKNOWN,
    Resource,
    Stack,
    Violation,
    known,
    nat_instances,
    violation,
)

MIN_BACKUP_DAYS = 7
ENCRYPTED_PROTOCOLS = frozenset({"TLS", "HTTPS"})
"""Listener protocols that terminate TLS at the load balancer (ELB's `Protocol`: an NLB's TCP,
UDP and TCP_UDP, an ALB's HTTP, carry the bytes as they come)."""


def production_protection(stack: Stack) -> Iterator[Violation]:
    """In production, stateful resources are protected and keep final snapshots and backups."""
    if not stack.production:
        return
    policy = PRODUCTION_PROTECTION
    for resource in stack.of_type(DB, EFS, KMS_KEY, BUCKET):
        if not resource.protect:
            yield violation(
                policy, resource, "protect it (protectStatefulResources: true): `pulumi destroy` must not delete it"
            )
    for db in stack.of_type(DB):
        p = db.props
        if p.get("deletionProtection") is not True:
            yield violation(policy, db, "set deletionProtection: true")
        if p.get("skipFinalSnapshot") is not False or not p.get("finalSnapshotIdentifier"):
            yield violation(policy, db, "take a final snapshot: skipFinalSnapshot false and a finalSnapshotIdentifier")
        days = p.get("backupRetentionPeriod", 0)
        if known(days) and int(days) < MIN_BACKUP_DAYS:
            yield violation(
                policy, db, f"keep automated backups {MIN_BACKUP_DAYS} days or more (backupRetentionPeriod)"
            )
        if p.get("deleteAutomatedBackups") is not False:
            yield violation(
                policy, db, "set deleteAutomatedBackups: false (keep backups after the instance is deleted)"
            )
    backed_up = {
        b.props.get("fileSystemId") for b in stack.of_type(EFS_BACKUP) if b.get("backupPolicy", "status") == "ENABLED"
    }
    for fs in stack.of_type(EFS):
        if fs.id and fs.id not in backed_up and UNKNOWN not in backed_up:
            yield violation(
                policy, fs, "enable AWS Backup for the file system (an EFS BackupPolicy with status ENABLED)"
            )


@dataclass(frozen=True)
class _Zones:
    all: set[str]
    of_subnet: dict[str, str]

    def of(self, subnet_ids: Any) -> set[str] | None:
        """The zones of these subnets, or None when any is unknown to the stack."""
        ids = list(subnet_ids or [])
        if not ids or not all(i in self.of_subnet for i in ids):
            return None
        return {self.of_subnet[i] for i in ids}


def _zones(stack: Stack) -> _Zones:
    subnets = stack.of_type(SUBNET)
    of_subnet = {
        s.id: str(s.props.get("availabilityZoneId") or s.props.get("availabilityZone")) for s in subnets if s.id
    }
    return _Zones({z for z in of_subnet.values() if known(z)}, of_subnet)


def _spread_over(zones: _Zones, resource: Resource, subnet_ids: Any, what: str) -> Iterator[Violation]:
    placed = zones.of(subnet_ids)
    if placed is not None and placed != zones.all:
        missing = ", ".join(sorted(zones.all - placed))
        yield violation(PRODUCTION_HA, resource, f"{what} in every availability zone: none in {missing}")
    elif placed is None and known(subnet_ids) and len(zones.all) > len(list(subnet_ids or [])):
        yield violation(PRODUCTION_HA, resource, f"{what} in every availability zone ({len(zones.all)})")


def _airflow_values(stack: Stack) -> tuple[Resource, Mapping[str, Any]] | None:
    for release in stack.of_type(RELEASE):
        if release.props.get("chart") == "airflow" and isinstance(release.props.get("values"), Mapping):
            return release, release.props["values"]
    return None


def _control_plane(stack: Stack) -> Iterator[Violation]:
    found = _airflow_values(stack)
    if found is None:
        return
    release, values = found
    budgets = {b.get("spec", "selector", "matchLabels", "component") for b in stack.of_type(PDB)}
    for section, v in control_plane_sections(values):  # PgBouncer when the chart runs it (Helm's truthiness)
        component = CONTROL_PLANE_LABELS[section]
        if int(v.get("replicas") or 1) < 2:
            yield violation(PRODUCTION_HA, release, f"values.{section}.replicas: run 2 or more")
        if not any(c.get("topologyKey") == ZONE_KEY for c in v.get("topologySpreadConstraints") or []):
            yield violation(PRODUCTION_HA, release, f"values.{section}: spread its pods over zones ({ZONE_KEY})")
        if (v.get("podDisruptionBudget") or {}).get("enabled") is not True and component not in budgets:
            yield violation(PRODUCTION_HA, release, f"{section}: give it a PodDisruptionBudget")


def production_high_availability(stack: Stack) -> Iterator[Violation]:
    """In production, no single availability zone holds a tier."""
    if not stack.production:
        return
    for db in stack.of_type(DB):
        if db.props.get("multiAz") is not True:
            yield violation(PRODUCTION_HA, db, "set multiAz: true (a standby in another zone)")
    zones = _zones(stack)
    nats = stack.of_type(NAT)
    if nats:
        nat_zones = zones.of([n.props.get("subnetId") for n in nats])
        if (nat_zones is not None and nat_zones != zones.all) or len(nats) < len(zones.all):
            yield violation(PRODUCTION_HA, nats[0], "a NAT gateway in every availability zone (natGateways: perAz)")
    for instance in nat_instances(stack):  # one machine in one zone
        yield violation(PRODUCTION_HA, instance, "NAT gateways, not a NAT instance (natGateways: perAz)")
    for group in stack.of_type(*NODE_GROUPS):
        yield from _spread_over(zones, group, group.props.get("subnetIds"), "node group subnets")
    targets = stack.of_type(MOUNT_TARGET)
    if targets and zones.all:
        placed = zones.of([t.props.get("subnetId") for t in targets])
        if (placed is not None and placed != zones.all) or len(targets) < len(zones.all):
            yield violation(PRODUCTION_HA, targets[0], "an EFS mount target in every availability zone")
    yield from _control_plane(stack)


def production_tls_listeners(stack: Stack) -> Iterator[Violation]:
    """In production, every load balancer listener terminates TLS (TLS or HTTPS): the Airflow UI and
    API carry logins and tokens. Waive it by name (`policyWaivers`) where TLS ends elsewhere."""
    if not stack.production:
        return
    for listener in stack.of_type(LISTENER):
        protocol = listener.props.get("protocol")
        if known(protocol) and str(protocol).upper() not in ENCRYPTED_PROTOCOLS:
            port = listener.props.get("port")  # a float from the engine
            where = f" on port {int(port)}" if isinstance(port, (int, float)) else ""
            yield violation(
                PRODUCTION_TLS,
                listener,
                f"the listener{where} is plain {protocol}: set nlbCertificateArn (an ACM certificate, public "
                f"or from a private CA: the NLB then listens with TLS on 443), or waive it: policyWaivers: "
                f"{{{PRODUCTION_TLS}: <why>}}",
            )
