"""Connections and variables from AWS Secrets Manager, and the teams that keep theirs apart.

Plain data, for Airflow 3.3.2 (apache-airflow-core 3.3.2, task-sdk 1.3.2) and the amazon provider
9.39.0's `SecretsManagerBackend`. Who consults the backend, read in that source:

- `[secrets] backend`: every server process. The API server serves tasks' connections and
  variables through the execution API (core api_fastapi/execution_api/routes/connections.py
  `get_connection` -> `Connection.get_connection_from_secrets`, the configured backend before the
  environment and the metastore); the DAG processor and the triggerer answer their child
  processes the same way; the scheduler reads `*_secret` options through it (`config_prefix`).
  Their service accounts carry the backend's role (IRSA), scoped to the configured prefixes.
- Task processes consult a backend of their own too: task-sdk 1.3.2
  `supervisor.ensure_secrets_backend_loaded` puts `[workers] secrets_backend` before the
  environment and the execution API, and when that is empty FALLS BACK to `[secrets] backend`
  with its kwargs (shared configuration/parser.py `_get_custom_secret_backend(worker_mode=True)`).
  With the task pods' role lacking the read right, every lookup would first fail at Secrets
  Manager (an AccessDenied the SDK logs and passes over, context.py `_get_connection`), so
  `[workers] secrets_backend` names the environment backend instead: a task asks the API server,
  whose role alone reads the platform's prefixes.
- A team's task pods read the team's own prefix with the team's role: their pod override loads the
  team's ConfigMap (`team_backend_env`), whose `AIRFLOW__WORKERS__SECRETS_BACKEND` puts the
  backend with the team's prefixes first; what is not there comes from the API server as for any
  task. No other role may read a team's prefix, the API server's included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.airflow.telemetry import IRSA_ROLE_ANNOTATION, service_account_name
from lib.merge import owned

SECRETS_MANAGER_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
ENVIRONMENT_BACKEND = "airflow.secrets.environment_variables.EnvironmentVariablesBackend"
SECRET_READERS = ("apiServer", "scheduler", "dagProcessor", "triggerer")
"""Chart sections whose processes consult `[secrets] backend` (see the module docstring)."""
PREFIX = re.compile(r"[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*")
"""A secret name prefix: Secrets Manager's name characters (CreateSecret: `/_+=.@-`, letters, digits),
`/`-separated parts, none empty (the backend joins prefix and id with `/`)."""
PREFIX_MAX = 200
"""Secrets Manager names are at most 512 characters; the prefix leaves room for the ids."""
TEAM_NAME = re.compile(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?")
"""A team: 1 to 12 lowercase letters, digits or inner `-` (its IAM role names stay within 64)."""
TEAM_LABEL = "airflow-eks/team"


@dataclass(frozen=True)
class Prefixes:
    """Where Secrets Manager holds the connections, variables and (optionally) config options."""

    connections: str
    variables: str
    config: str = ""
    """"": no config option is looked up in Secrets Manager (the backend's `config_prefix: null`)."""

    def all(self) -> tuple[str, ...]:
        return tuple(p for p in (self.connections, self.variables, self.config) if p)


def prefix_problem(prefix: str) -> str | None:
    if not PREFIX.fullmatch(prefix) or len(prefix) > PREFIX_MAX:
        return (
            f"'{prefix}' is not a Secrets Manager name prefix: parts of letters, digits and _+=.@- separated "
            f"by single /, no leading or trailing /, at most {PREFIX_MAX} characters"
        )
    return None


def nested(prefixes: tuple[str, ...]) -> tuple[str, str] | None:
    """Two prefixes of which one holds the other's secrets (`a` and `a/b`, or equal), or None."""
    for i, a in enumerate(prefixes):
        for b in prefixes[i + 1 :]:
            if a == b or b.startswith(f"{a}/") or a.startswith(f"{b}/"):
                return a, b
    return None


def backend_kwargs(prefixes: Prefixes, region: str) -> dict[str, Any]:
    """`SecretsManagerBackend`'s keyword arguments (provider 9.39.0 secrets/secrets_manager.py): its
    prefixes (a `None` config prefix sends no config lookup there; its default would be
    `airflow/config`) and the region (`region_name`, read by its AwsConnectionWrapper)."""
    return {
        "connections_prefix": prefixes.connections,
        "variables_prefix": prefixes.variables,
        "config_prefix": prefixes.config or None,
        "region_name": region,
    }


BACKEND_VIA = "set secretsManagerBackend and the secretsManager*Prefix keys"


@dataclass(frozen=True)
class BackendTarget:
    """The platform's backend as the chart values need it."""

    prefixes: Prefixes
    region: str
    role_arn: str
    """The readers' role (IRSA), scoped to `prefixes`."""


def secrets_backend_values(target: BackendTarget) -> dict[str, Any]:
    """The chart values fragment: the backend for the server processes, the environment backend for
    task processes (they ask the API server), and the backend's role on the readers' accounts."""
    kwargs = json.dumps(backend_kwargs(target.prefixes, target.region), sort_keys=True)
    values: dict[str, Any] = {
        "config": {
            "secrets": {
                "backend": owned(SECRETS_MANAGER_BACKEND, BACKEND_VIA),
                "backend_kwargs": owned(kwargs, BACKEND_VIA),
            },
            "workers": {"secrets_backend": owned(ENVIRONMENT_BACKEND, BACKEND_VIA)},
        }
    }
    for section in SECRET_READERS:
        annotations = {IRSA_ROLE_ANNOTATION: target.role_arn}
        values[section] = {"serviceAccount": {"annotations": owned(annotations, BACKEND_VIA)}}
    return values


def reader_service_accounts() -> tuple[str, ...]:
    """The service accounts of `SECRET_READERS` (the chart's names)."""
    return tuple(service_account_name(section) for section in SECRET_READERS)


def secret_arn_pattern(region: str, account_id: str, prefix: str) -> str:
    """Every secret under `prefix/` (Secrets Manager appends `-` and 6 characters to a secret's ARN)."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{prefix}/*"


@dataclass(frozen=True)
class TeamSpec:
    """A team of the shared platform: its task role's service account, its Secrets Manager prefix,
    and the IAM roles that may manage its objects in the Airflow namespace."""

    name: str
    deployers: tuple[str, ...]
    """IAM role ARNs allowed to assume the team's deployer role (its CI, its engineers' SSO role)."""

    @property
    def service_account(self) -> str:
        return f"airflow-team-{self.name}"

    @property
    def config_map(self) -> str:
        """The ConfigMap the team's pods load (`envFrom`): its secrets backend."""
        return f"airflow-team-{self.name}"

    @property
    def connections_secret(self) -> str:
        """The one Secret of the namespace the team's deployer may change (its connections as env)."""
        return f"{self.name}-connections"

    @property
    def kubernetes_group(self) -> str:
        """The Kubernetes group its deployer role is mapped to (EKS access entry)."""
        return f"airflow-eks:team:{self.name}"

    def prefix(self, teams_prefix: str) -> str:
        return f"{teams_prefix}/{self.name}"

    def prefixes(self, teams_prefix: str) -> Prefixes:
        return Prefixes(f"{self.prefix(teams_prefix)}/connections", f"{self.prefix(teams_prefix)}/variables")


def team_backend_env(team: TeamSpec, teams_prefix: str, region: str) -> dict[str, str]:
    """The team's ConfigMap: its task processes' `[workers] secrets_backend`, its own prefixes."""
    kwargs = backend_kwargs(team.prefixes(teams_prefix), region)
    return {
        "AIRFLOW__WORKERS__SECRETS_BACKEND": SECRETS_MANAGER_BACKEND,
        "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS": json.dumps(kwargs, sort_keys=True),
    }


def team_role_rules(team: TeamSpec) -> list[dict[str, Any]]:
    """What a team's deployer may do in the Airflow namespace: its connections Secret, by name. RBAC
    cannot limit `create` by name (the name is not known at authorization), so `create` is granted
    alone; every other verb only on the team's own Secret. Pulumi's server-side apply of a new
    object is a PATCH that the API server also authorizes as `create`."""
    return [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [team.connections_secret],
            "verbs": ["get", "update", "patch", "delete"],
        },
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [team.config_map],
            "verbs": ["get"],
        },
    ]


def team_kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str, role_arn: str) -> str:
    """A kubeconfig (JSON) that authenticates as `role_arn`: `aws eks get-token --role-arn`, which
    assumes the role with the caller's credentials (AWS CLI v2 `eks get-token`). No credential in it."""
    user = f"{cluster_name}-{role_arn.rsplit('/', 1)[-1]}"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": user, "context": {"cluster": cluster_name, "user": user}}],
            "current-context": user,
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "--region",
                                region,
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--role-arn",
                                role_arn,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def teams_by_name(teams: tuple[TeamSpec, ...]) -> Mapping[str, TeamSpec]:
    return {t.name: t for t in teams}
