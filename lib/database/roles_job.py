"""The Kubernetes objects of the roles Job (`components/database_roles.py`), as plain manifests.

The Job runs `lib/database/roles.py` (shipped in a ConfigMap) with the Airflow image's Python, on
the control-plane node group: PgBouncer's nodes, the only ones the database admits. It reads the
master credentials from Secrets Manager through its service account's IAM role (IRSA), so no
Kubernetes Secret holds them; its own Secret holds the application role's password only. It lives
in a namespace of its own: whoever may create pods in Airflow's namespace (a team deploying its
DAGs' objects) cannot run a pod as its service account.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lib.airflow.hardening import AIRFLOW_UID, POD_SECURITY_LABELS, container_security, pod_security
from lib.cluster.node_groups import NodeGroup
from lib.cluster.scheduling import node_selector, tolerations
from lib.database import roles
from lib.database.pgbouncer.tls import CA_KEY, rds_ca_bundle, verifies_server

NAMESPACE_SUFFIX = "db-admin"
SERVICE_ACCOUNT = "airflow-db-roles"
CONFIG_MAP = "airflow-db-roles"
SECRET = "airflow-db-roles"
SECRET_KEY = "app-password"
SCRIPT_KEY = "roles.py"
MOUNT = "/opt/airflow-db-roles"
SECRET_MOUNT = "/opt/airflow-db-roles-secret"
"""The Job's Secret, mounted: the script reads the password from a file (no secret in the
environment, where `kubectl describe` and a crash dump show it)."""
SECRET_FILE_MODE = 0o440
"""Owner and group read: the pod runs as uid 50000 with fsGroup 0, the group of the mounted files."""
CHECKSUM_ANNOTATION = "checksum/airflow-db-roles"
"""The pod template's keyed checksum of what the Job applies: a new value replaces the Job (its
template is immutable; pulumi-kubernetes replaces a Job on `.spec.template`), which runs again."""
BACKOFF_LIMIT = 4
DEADLINE_SECONDS = 600
LABELS = {"app.kubernetes.io/name": "airflow-db-roles", "app.kubernetes.io/part-of": "airflow"}
RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
"""One Python process: imports boto3 and psycopg, one Secrets Manager call, one TLS session and a
few dozen statements, about a second of CPU; half a core lets it finish in seconds and keeps a
looping script from taking the control-plane node's CPU from PgBouncer."""


def namespace_name(airflow_namespace: str) -> str:
    return f"{airflow_namespace}-{NAMESPACE_SUFFIX}"


def namespace_labels() -> dict[str, str]:
    return {**POD_SECURITY_LABELS, **LABELS}


def script() -> str:
    """The Job's program: `lib/database/roles.py` itself (standard library only at import)."""
    return Path(roles.__file__).read_text()


def config_map_data(host: str) -> dict[str, str]:
    """The script, and the RDS CA bundle when the host is an RDS endpoint (verify-full)."""
    data = {SCRIPT_KEY: script()}
    if verifies_server(host):
        data[CA_KEY] = rds_ca_bundle()
    return data


def plan_env(plan: roles.RolePlan) -> str:
    return json.dumps({"master": plan.master, "db_name": plan.db_name, "generation": plan.generation})


def job_spec(
    plan: roles.RolePlan,
    host: str,
    port: int,
    master_secret_arn: str,
    image: str,
    group: NodeGroup,
    checksum: str,
) -> dict[str, Any]:
    """The Job's spec: one pod at a time, a few retries, never longer than ten minutes."""
    tls = [{"name": roles.ENV_SSLMODE, "value": "verify-full" if verifies_server(host) else "require"}]
    if verifies_server(host):
        tls.append({"name": roles.ENV_SSLROOTCERT, "value": f"{MOUNT}/{CA_KEY}"})
    env = [
        {"name": roles.ENV_PLAN, "value": plan_env(plan)},
        {"name": roles.ENV_HOST, "value": host},
        {"name": roles.ENV_PORT, "value": str(port)},
        {"name": roles.ENV_MASTER_SECRET, "value": master_secret_arn},
        *tls,
        {"name": roles.ENV_PASSWORD_FILE, "value": f"{SECRET_MOUNT}/{SECRET_KEY}"},
    ]
    container = {
        "name": "roles",
        "image": image,
        # As the control plane's: the kubelet checks the registry's credentials on each start.
        "imagePullPolicy": "Always",
        "command": ["python", f"{MOUNT}/{SCRIPT_KEY}"],
        "env": env,
        "resources": RESOURCES,
        "securityContext": container_security(read_only=True),
        "volumeMounts": [
            {"name": "script", "mountPath": MOUNT, "readOnly": True},
            {"name": "secret", "mountPath": SECRET_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "backoffLimit": BACKOFF_LIMIT,
        "activeDeadlineSeconds": DEADLINE_SECONDS,
        "template": {
            "metadata": {"labels": LABELS, "annotations": {CHECKSUM_ANNOTATION: checksum}},
            "spec": {
                "serviceAccountName": SERVICE_ACCOUNT,
                # No Kubernetes API: the IRSA webhook mounts the AWS token on its own.
                "automountServiceAccountToken": False,
                "restartPolicy": "Never",
                "nodeSelector": node_selector(group),
                "tolerations": tolerations(group),
                "securityContext": pod_security(AIRFLOW_UID),
                "containers": [container],
                "volumes": [
                    {"name": "script", "configMap": {"name": CONFIG_MAP}},
                    {
                        "name": "secret",
                        "secret": {
                            "secretName": SECRET,
                            "items": [{"key": SECRET_KEY, "path": SECRET_KEY}],
                            "defaultMode": SECRET_FILE_MODE,
                        },
                    },
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                ],
            },
        },
    }


def master_secret_policy(secret_arn: str, key_arn: str, region: str) -> dict[str, Any]:
    """The Job's role: read the master's secret, decrypt it through Secrets Manager only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheMasterSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret_arn,
            },
            {
                "Sid": "DecryptItThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }
