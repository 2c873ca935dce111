"""PgBouncer's files for the Airflow component: its connection Secrets, the RDS CA bundle, and
the Helm values that roll the pods when the files change (`lib/database/pgbouncer/pools.py`,
`lib/database/pgbouncer/tls.py`).

Creates, under the Airflow component: the metadata connection Secret (Airflow to PgBouncer),
PgBouncer's config Secret (`pgbouncer.ini`, `users.txt`) and its exporter's Secret, all built from
the database URI inside Pulumi secrets; a ConfigMap with the RDS root CAs PgBouncer verifies the
database with. The random key of the files' checksum (`checksum_key`: `pulumi_random`, no keepers:
generated once, so the checksum changes only when the files do) is created by the Airflow
component with its other generated values (kept while the stack sleeps); the Airflow pods'
checksum of their secrets uses it too (components/airflow.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from lib.airflow.secrets import RELEASE_NAME, SECRET_KEYS, SECRET_NAMES
from lib.database.pgbouncer import pools as pgbouncer
from lib.database.pgbouncer import tls as pgbouncer_tls
from lib.naming import child_name

CHECKSUM_KEY_LENGTH = 64

SecretMaker = Callable[[str, str, Mapping[str, pulumi.Input[str]]], k8s.core.v1.Secret]
"""(child key, Secret name, data) -> the Secret, as the Airflow component writes its Secrets."""


@dataclass(frozen=True)
class PgBouncerFiles:
    resources: list[pulumi.Resource]
    """The Secrets and the CA ConfigMap: the release waits for them."""
    values: pulumi.Output[dict[str, Any]]
    """Helm values (not secret): the pod annotation with the files' keyed checksum, the CA mount."""
    connection: pulumi.Output[str]
    """The metadata connection (Airflow to PgBouncer), a secret."""
    checksum_key: pulumi.Output[str]
    """The random key of the checksums (a secret): the Airflow pods' secrets checksum uses it too."""


def checksum_key(parent: pulumi.Resource, name: str) -> random.RandomPassword:
    """The random key of the files' checksum, under `parent` (the Airflow component)."""
    return random.RandomPassword(
        child_name(name, "pgbouncer-checksum-key"),
        length=CHECKSUM_KEY_LENGTH,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _unverified(db: pgbouncer.DatabaseUri) -> pgbouncer.DatabaseUri:
    warning = pgbouncer_tls.unverified_warning(db.host)
    if warning:
        pulumi.log.warn(warning)
    return db


def pgbouncer_files(
    parent: pulumi.Resource,
    name: str,
    connection_uri: pulumi.Input[str],
    max_connections: pulumi.Input[int],
    replicas: int,
    namespace: str,
    namespace_ref: pulumi.Input[str],
    provider: k8s.Provider,
    secret: SecretMaker,
    checksum_key: pulumi.Input[str],
) -> PgBouncerFiles:
    db = pulumi.Output.secret(connection_uri).apply(pgbouncer.parse_database_uri).apply(_unverified)
    pools = pulumi.Output.from_input(max_connections).apply(lambda c: pgbouncer.pgbouncer_pools(c, replicas))
    client = db.apply(lambda d: pgbouncer.pgbouncer_client_uri(d, namespace, RELEASE_NAME))
    ini = pulumi.Output.all(db, pools).apply(lambda v: pgbouncer.pgbouncer_ini(v[0], v[1], RELEASE_NAME))
    files = {"pgbouncer.ini": ini, "users.txt": db.apply(pgbouncer.pgbouncer_users)}
    stats = {SECRET_KEYS["pgbouncer_stats"]: db.apply(pgbouncer.pgbouncer_stats_uri)}
    bundle = pgbouncer_tls.rds_ca_bundle()
    ca = k8s.core.v1.ConfigMap(
        child_name(name, "pgbouncer-rds-ca"),
        metadata=k8s.meta.v1.ObjectMetaArgs(name=pgbouncer_tls.CA_CONFIG_MAP, namespace=namespace_ref),
        data={pgbouncer_tls.CA_KEY: bundle},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    checksum = pulumi.Output.all(checksum_key, ini, files["users.txt"]).apply(
        lambda v: pgbouncer_tls.config_checksum(v[0], {"pgbouncer.ini": v[1], "users.txt": v[2], "ca": bundle})
    )
    # Keyed with a secret random value, the digest reveals nothing of the password (see
    # lib.database.pgbouncer.tls.config_checksum): unsecreted, so the Helm values stay plain.
    values = pulumi.Output.unsecret(checksum).apply(pgbouncer_tls.pgbouncer_rollout_values)
    resources: list[pulumi.Resource] = [
        secret("metadata-secret", SECRET_NAMES.metadata, {SECRET_KEYS["metadata"]: client}),
        secret("pgbouncer-config-secret", SECRET_NAMES.pgbouncer_config, files),
        secret("pgbouncer-stats-secret", SECRET_NAMES.pgbouncer_stats, stats),
        ca,
    ]
    return PgBouncerFiles(resources, values, pulumi.Output.secret(client), pulumi.Output.secret(checksum_key))
