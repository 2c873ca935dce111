"""PgBouncer's generated configuration reaching its pods: TLS verification towards the database,
and the checksum that restarts the pods when their files change. Plain Python, no Pulumi.

- TLS: PgBouncer verifies the database's certificate (`server_tls_sslmode = verify-full`) against
  the Amazon RDS root CAs (certs/rds-ca-bundle.pem, refreshed by scripts/rds_ca_bundle.py), which
  the Airflow component ships in a ConfigMap mounted into the PgBouncer pods. The instance the
  program creates pins its CA (`RDS_CA_IDENTIFIER`), which the bundle holds. A brought database
  (`existingDbHost`) is verified the same way when its host is an RDS endpoint
  (`*.rds.amazonaws.com`); any other host (a self-managed server, a CNAME in front of RDS) keeps
  `require`: encrypted, its certificate not checked, and the program warns (docs/security.md, Security defaults).
- Rollout: the chart mounts the config Secret's files with `subPath`, so a changed Secret never
  reaches a running pod, and the chart's own checksum covers only its (unused) template. A pod
  annotation carrying a digest of the files makes a change roll the Deployment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lib.airflow.secrets import RELEASE_NAME

RDS_CA_IDENTIFIER = "rds-ca-rsa2048-g1"
"""The created instance's CA: RDS's default for new instances since 2024, held by the bundle."""
RDS_CA_BUNDLE = Path(__file__).resolve().parents[3] / "certs" / "rds-ca-bundle.pem"
RDS_HOST_SUFFIX = ".rds.amazonaws.com"
CA_CONFIG_MAP = f"{RELEASE_NAME}-pgbouncer-rds-ca"
CA_KEY = "rds-ca-bundle.pem"
CA_DIR = "/etc/pgbouncer-rds-ca"
RDS_CA_FILE = f"{CA_DIR}/{CA_KEY}"
CA_VOLUME = "rds-ca-bundle"
CHECKSUM_ANNOTATION = "checksum/pgbouncer-generated-config"


def rds_ca_bundle() -> str:
    return RDS_CA_BUNDLE.read_text()


def verifies_server(host: str) -> bool:
    """Whether the RDS bundle can verify this host's certificate: an RDS endpoint, by name."""
    return host.lower().rstrip(".").endswith(RDS_HOST_SUFFIX)


def server_tls_settings(host: str) -> list[str]:
    """pgbouncer.ini's lines for the hop to the database (TLS is always required: rds.force_ssl)."""
    if verifies_server(host):
        return ["server_tls_sslmode = verify-full", f"server_tls_ca_file = {RDS_CA_FILE}"]
    return ["server_tls_sslmode = require"]


def unverified_warning(host: str) -> str | None:
    if verifies_server(host):
        return None
    return (
        f"PgBouncer encrypts its connections to the database at '{host}' but cannot verify its certificate "
        f"(server_tls_sslmode = require): only RDS endpoints (*{RDS_HOST_SUFFIX}) are checked against the "
        "RDS CA bundle. Use the instance's RDS endpoint as existingDbHost to have it verified."
    )


def config_checksum(key: str, files: Mapping[str, str]) -> str:
    """HMAC-SHA256 of the generated files, keyed with a random value kept in the stack's state.

    The files hold the database password. A plain sha256 of them, published unsecreted in the
    Helm values and on every pod, would let anyone who reads a pod's metadata test guesses of a
    weak brought password offline; kept secret instead, it would make all the Helm values secret.
    Keyed, the digest reveals nothing without the key, so it alone can be unsecreted."""
    canonical = json.dumps(dict(files), sort_keys=True).encode()
    return hmac.new(key.encode(), canonical, hashlib.sha256).hexdigest()


def pgbouncer_rollout_values(checksum: str) -> dict[str, Any]:
    """Helm values: the checksum on PgBouncer's pod template and the CA bundle mounted (a
    directory, not `subPath`, though PgBouncer reads it only at start: the checksum rolls it)."""
    return {
        "pgbouncer": {
            "podAnnotations": {CHECKSUM_ANNOTATION: checksum},
            "extraVolumes": [{"name": CA_VOLUME, "configMap": {"name": CA_CONFIG_MAP}}],
            "extraVolumeMounts": [{"name": CA_VOLUME, "mountPath": CA_DIR, "readOnly": True}],
        }
    }
