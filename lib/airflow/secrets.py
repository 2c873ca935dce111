"""The Kubernetes Secrets the Airflow release reads: their names, and the key the chart reads in each.

Plain data: the Airflow component writes these Secrets (generated keys, the database connection
through PgBouncer, PgBouncer's files), and the Helm values name them, never their contents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.airflow.signing import PRIVATE_KEY_FILE

RELEASE_NAME = "airflow"
ADMIN_PASSWORD_KEY = "password"

# The keys the chart reads in each Secret it is given.
SECRET_KEYS = {
    "metadata": "connection",
    "fernet_key": "fernet-key",
    "api_secret_key": "api-secret-key",
    "jwt_signing_key": PRIVATE_KEY_FILE,
    "webserver_secret_key": "webserver-secret-key",
    "pgbouncer_stats": "connection",
}


@dataclass(frozen=True)
class SecretNames:
    """Names of the Kubernetes Secrets (in the Airflow namespace) the values refer to."""

    metadata: str
    fernet_key: str
    api_secret_key: str
    jwt_signing_key: str
    """The private key the API server and the scheduler sign JWTs with (`lib/airflow/signing.py`)."""
    webserver_secret_key: str
    pgbouncer_config: str
    pgbouncer_stats: str
    admin_password: str | None = None
    """The admin user's password; None: no admin user is created."""


SECRET_NAMES = SecretNames(
    metadata=f"{RELEASE_NAME}-secret-metadata",
    fernet_key=f"{RELEASE_NAME}-secret-fernet-key",
    api_secret_key=f"{RELEASE_NAME}-secret-api-key",
    jwt_signing_key=f"{RELEASE_NAME}-secret-jwt-signing-key",
    webserver_secret_key=f"{RELEASE_NAME}-secret-webserver-key",
    pgbouncer_config=f"{RELEASE_NAME}-secret-pgbouncer-config",
    pgbouncer_stats=f"{RELEASE_NAME}-secret-pgbouncer-stats",
    admin_password=f"{RELEASE_NAME}-secret-admin-password",
)
"""The Secrets the Airflow component writes: none is a name the chart would make itself."""


def fernet_key(random_base64: str) -> str:
    """A Fernet key from the standard base64 of 32 random bytes: the url-safe alphabet."""
    return random_base64.replace("+", "-").replace("/", "_")


def fernet_generations(generation: int, previous: int | None) -> tuple[int, ...]:
    """The Fernet key generations the Secret holds, newest first: Airflow encrypts with the first
    and decrypts with any (`[core] fernet_key` takes a comma-separated list, MultiFernet), so a
    rotation adds a generation before the old one and drops the old one after `airflow
    rotate-fernet-key` has re-encrypted (docs/runbook.md, Rotating the Fernet key)."""
    if generation < 0 or (previous is not None and not 0 <= previous < generation):
        raise ValueError(f"Fernet key generations {generation} and {previous}: the previous one is below the current")
    return (generation,) if previous is None else (generation, previous)


def fernet_key_suffix(generation: int) -> tuple[str, ...]:
    """Name parts of a generation's random resource: generation 0 keeps the name it always had."""
    return () if generation == 0 else (f"gen{generation}",)


def fernet_key_list(keys: list[str]) -> str:
    """`[core] fernet_key`'s value: the keys, newest first, comma-separated."""
    return ",".join(keys)


ROLLOUT_ANNOTATION = "checksum/airflow-keys"
"""Not `...secrets`: the policy pack reads a value under a key naming a secret as a credential."""
ROLLOUT_SECTIONS = ("scheduler", "apiServer", "triggerer", "dagProcessor")
"""The chart sections whose pods read the metadata connection, the Fernet, API, JWT or webserver key
at start (the JWT signing key: the API server and the scheduler only). The chart's own
`checksum/metadata-secret` and `checksum/jwt-secret` (1.22.0) hash its templates, which render
nothing when the Secrets are brought, as here: they never change."""
ROLLED_SECRETS = ("metadata", "fernet_key", "api_secret_key", "jwt_signing_key", "webserver_secret_key")
"""The Secrets (`SecretNames` fields) whose change rolls those pods."""


def secrets_rollout_values(checksum: str) -> dict[str, Any]:
    """Helm values: a keyed checksum of the secrets (lib.database.pgbouncer.tls.config_checksum) on each
    section's pods, so a rotation rolls them (task pods hold none of these: lib/airflow/task_pod.py)."""
    return {section: {"podAnnotations": {ROLLOUT_ANNOTATION: checksum}} for section in ROLLOUT_SECTIONS}
