"""The Kubernetes Secrets the Airflow release reads: their names, and the key the chart reads in each.

Plain data: the Airflow component writes these Secrets (generated keys, the database connection
through PgBouncer, PgBouncer's files), and the Helm values name them, never their contents.
"""

from __future__ import annotations

from dataclasses import dataclass

RELEASE_NAME = "airflow"
ADMIN_PASSWORD_KEY = "password"

# The keys the chart reads in each Secret it is given.
SECRET_KEYS = {
    "metadata": "connection",
    "fernet_key": "fernet-key",
    "api_secret_key": "api-secret-key",
    "jwt_secret": "jwt-secret",
    "webserver_secret_key": "webserver-secret-key",
    "pgbouncer_stats": "connection",
}


@dataclass(frozen=True)
class SecretNames:
    """Names of the Kubernetes Secrets (in the Airflow namespace) the values refer to."""

    metadata: str
    fernet_key: str
    api_secret_key: str
    jwt_secret: str
    webserver_secret_key: str
    pgbouncer_config: str
    pgbouncer_stats: str
    admin_password: str | None = None
    """The admin user's password; None: no admin user is created."""


SECRET_NAMES = SecretNames(
    metadata=f"{RELEASE_NAME}-secret-metadata",
    fernet_key=f"{RELEASE_NAME}-secret-fernet-key",
    api_secret_key=f"{RELEASE_NAME}-secret-api-key",
    jwt_secret=f"{RELEASE_NAME}-secret-jwt",
    webserver_secret_key=f"{RELEASE_NAME}-secret-webserver-key",
    pgbouncer_config=f"{RELEASE_NAME}-secret-pgbouncer-config",
    pgbouncer_stats=f"{RELEASE_NAME}-secret-pgbouncer-stats",
    admin_password=f"{RELEASE_NAME}-secret-admin-password",
)
"""The Secrets the Airflow component writes: none is a name the chart would make itself."""


def fernet_key(random_base64: str) -> str:
    """A Fernet key from the standard base64 of 32 random bytes: the url-safe alphabet."""
    return random_base64.replace("+", "-").replace("/", "_")
