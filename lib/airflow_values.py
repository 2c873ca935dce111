"""Helm values of the official Apache Airflow chart, as a pure function of plain settings.

No Pulumi here: `airflow_values` takes settings, node groups and the NAMES of the Kubernetes
Secrets the Airflow component creates (never their contents), so that the whole values tree is
plain data that tests validate against the chart's `values.schema.json`, and that holds no
secret. The user's `airflowValues` are merged last.

What the values give (chart 1.18, Airflow 3):
- KubernetesExecutor; no bundled PostgreSQL or Redis; the metadata DB through an existing Secret
  (`data.metadataSecretName`) whose URI points at PgBouncer, which relays to the database with
  TLS required. PgBouncer reads its `pgbouncer.ini` and `users.txt` from a Secret the program
  writes (`pgbouncer.configSecretName`): the chart would otherwise render the database password
  into its values. Its metrics exporter logs in through a Secret too.
- Fernet key, API secret key, JWT secret and webserver secret key from program-made Secrets:
  stable across upgrades (a chart-generated key changes on every render).
- Replicas from settings; a PodDisruptionBudget (maxUnavailable 1) on every component whose
  chart section has one (scheduler, API server, PgBouncer); spread over zones (best effort, an
  AZ outage must never block rescheduling) and over hosts (strict) for the control plane.
- Control-plane pods on the `airflow` node group; task pods (the KubernetesExecutor pod
  template reads `workers.*`) on the `workers` group, tolerating its taints.
- Migrations and the admin user as plain Jobs (no Helm hooks, as the chart advises for tools
  that are not the Helm CLI). The Deployments wait for migrations in their init containers and
  the admin-user Job waits in its own command (chart 1.18 gives it no wait). The admin password
  reaches that Job from a Secret through an environment variable, never through the values.
- DAGs and logs on the EFS claims, mounted by the DAG processor, the triggerer and every task
  pod. The chart's own git-sync is off: with persistence on, chart 1.18 renders it nowhere once
  the DAG processor is standalone. The program's git-sync Deployment (`lib/git_sync.py`)
  writes the repository into the DAGs claim instead, and `dags_folder` points at its link.
- The API server holds a terminating pod for longer than the NLB's deregistration delay
  (`preStop`), so a rollout drops no request.
- Requests and limits of every component from a resource profile (small, medium, large).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from config.settings import AirflowSettings, NodeGroupSettings, ResourceProfile
from lib.git_sync import dags_folder
from lib.merge import deep_merge
from lib.scheduling import HOST_KEY, ZONE_KEY, node_selector, tolerations

RELEASE_NAME = "airflow"
CHART_NAME = "airflow"
CHART_REPOSITORY = "https://airflow.apache.org"
API_SERVER_PORT = 8080  # the chart's `ports.apiServer`
API_SERVER_HEALTH_PATH = "/api/v2/monitor/health"
"""The NLB's health check (Airflow 3; /health in Airflow 2). It needs no login: Airflow mounts
the monitor router outside its authenticated router (api_fastapi/core_api/routes/public/
__init__.py), so a new API server pod's readiness gate can turn true."""
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_ENV = "AIRFLOW_ADMIN_PASSWORD"
ADMIN_PASSWORD_KEY = "password"
MIGRATIONS_WAIT_SECONDS = 600  # migrations run as a plain Job alongside the pods that wait for them
API_SERVER_PRE_STOP_SECONDS = 25
"""A terminating API server keeps serving this long: more than the NLB's deregistration delay
(components/load_balancer.py), less than the pod's 30 s grace period (chart 1.18 offers no
`terminationGracePeriodSeconds` for the API server), leaving uvicorn 5 s to finish."""

# The keys the chart reads in each Secret it is given.
SECRET_KEYS = {
    "metadata": "connection",
    "fernet_key": "fernet-key",
    "api_secret_key": "api-secret-key",
    "jwt_secret": "jwt-secret",
    "webserver_secret_key": "webserver-secret-key",
    "pgbouncer_stats": "connection",
}

# Images of chart 1.18.0 (its values.schema.json defaults), pinned so that the release never
# depends on whatever a values file of the chart says; update them with the chart.
SIDECAR_IMAGES = {
    "pgbouncer": {"repository": "apache/airflow", "tag": "airflow-pgbouncer-2025.03.05-1.23.1"},
    "pgbouncerExporter": {"repository": "apache/airflow", "tag": "airflow-pgbouncer-exporter-2025.03.05-0.18.0"},
    "statsd": {"repository": "quay.io/prometheus/statsd-exporter", "tag": "v0.28.0"},
}
AIRFLOW_IMAGE_REPOSITORY = "apache/airflow"

# Pod label `component` the chart sets per section (what spread constraints select).
COMPONENT_LABELS = {
    "scheduler": "scheduler",
    "apiServer": "api-server",
    "triggerer": "triggerer",
    "dagProcessor": "dag-processor",
    "pgbouncer": "pgbouncer",
}
PDB_SECTIONS = ("scheduler", "apiServer", "pgbouncer")
"""Sections of chart 1.18 that offer `podDisruptionBudget`."""


def api_server_service_name(release: str = RELEASE_NAME) -> str:
    """The chart's API server Service: `<fullname>-api-server`, where the fullname of a release
    whose name contains the chart's name is the release name."""
    fullname = release if CHART_NAME in release else f"{release}-{CHART_NAME}"
    return f"{fullname}-api-server"


# --------------------------------------------------------------------------- resources


class Resources(NamedTuple):
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def values(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


R = Resources
RESOURCE_PROFILES: dict[ResourceProfile, dict[str, Resources]] = {
    ResourceProfile.SMALL: {
        "scheduler": R("250m", "1Gi", "1", "2Gi"),
        "apiServer": R("250m", "1Gi", "1", "2Gi"),
        "triggerer": R("100m", "512Mi", "500m", "1Gi"),
        "dagProcessor": R("250m", "1Gi", "1", "2Gi"),
        "workers": R("250m", "512Mi", "1", "1Gi"),
        "pgbouncer": R("50m", "64Mi", "250m", "128Mi"),
        "pgbouncerExporter": R("10m", "32Mi", "100m", "64Mi"),
        "statsd": R("25m", "64Mi", "100m", "128Mi"),
        "jobs": R("100m", "512Mi", "500m", "1Gi"),
        "gitSync": R("25m", "64Mi", "100m", "128Mi"),
    },
    ResourceProfile.MEDIUM: {
        "scheduler": R("500m", "2Gi", "2", "4Gi"),
        "apiServer": R("500m", "1536Mi", "2", "3Gi"),
        "triggerer": R("250m", "1Gi", "1", "2Gi"),
        "dagProcessor": R("500m", "2Gi", "2", "4Gi"),
        "workers": R("500m", "1Gi", "2", "2Gi"),
        "pgbouncer": R("100m", "128Mi", "500m", "256Mi"),
        "pgbouncerExporter": R("25m", "64Mi", "200m", "128Mi"),
        "statsd": R("50m", "128Mi", "200m", "256Mi"),
        "jobs": R("250m", "1Gi", "1", "2Gi"),
        "gitSync": R("50m", "128Mi", "200m", "256Mi"),
    },
    ResourceProfile.LARGE: {
        "scheduler": R("1", "3Gi", "2", "6Gi"),
        "apiServer": R("1", "2Gi", "2", "4Gi"),
        "triggerer": R("500m", "1536Mi", "1", "3Gi"),
        "dagProcessor": R("1", "3Gi", "2", "6Gi"),
        "workers": R("1", "2Gi", "2", "4Gi"),
        "pgbouncer": R("200m", "256Mi", "1", "512Mi"),
        "pgbouncerExporter": R("50m", "128Mi", "200m", "256Mi"),
        "statsd": R("100m", "256Mi", "500m", "512Mi"),
        "jobs": R("500m", "2Gi", "1", "4Gi"),
        "gitSync": R("100m", "256Mi", "500m", "512Mi"),
    },
}


# --------------------------------------------------------------------------- values


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
    """None when no admin user is created."""


def spread_constraints(section: str, release: str = RELEASE_NAME) -> list[dict[str, Any]]:
    """Spread a component's pods over zones (best effort) and hosts (strict)."""
    selector = {"matchLabels": {"tier": "airflow", "component": COMPONENT_LABELS[section], "release": release}}
    return [
        {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
        {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector},
    ]


def _pdb() -> dict[str, Any]:
    return {"enabled": True, "config": {"maxUnavailable": 1}}


def _create_user_job(place: dict[str, Any], resources: Resources, admin_password_secret: str | None) -> dict[str, Any]:
    job = {"useHelmHooks": False, "applyCustomEnv": False, **place, "resources": resources.values()}
    if admin_password_secret is None:
        return job
    job["env"] = [
        {
            "name": ADMIN_PASSWORD_ENV,
            "valueFrom": {"secretKeyRef": {"name": admin_password_secret, "key": ADMIN_PASSWORD_KEY}},
        }
    ]
    # The chart's default args put `webserver.defaultUser.password` on the command line, and its
    # Job has no wait for migrations (the Deployments have one): wait here, then create the user.
    job["args"] = [
        "bash",
        "-c",
        f"airflow db check-migrations --migration-wait-timeout={MIGRATIONS_WAIT_SECONDS} && "
        f'exec airflow users create "$@" --password "${ADMIN_PASSWORD_ENV}"',
        "--",
        "--role",
        "Admin",
        "--username",
        ADMIN_USERNAME,
        "--email",
        f"{ADMIN_USERNAME}@example.com",
        "--firstname",
        "Airflow",
        "--lastname",
        "Admin",
    ]
    return job


def airflow_values(
    settings: AirflowSettings,
    *,
    control_plane: NodeGroupSettings,
    workers: NodeGroupSettings,
    secrets: SecretNames,
    dags_claim: str,
    logs_claim: str,
    namespace: str,
) -> dict[str, Any]:
    """The release's values: the program's, then the user's `airflowValues` merged last."""
    profile = RESOURCE_PROFILES[settings.resource_profile]
    place = {"nodeSelector": node_selector(control_plane), "tolerations": tolerations(control_plane)}

    def control(section: str, replicas: int) -> dict[str, Any]:
        values = {
            "replicas": replicas,
            **place,
            "topologySpreadConstraints": spread_constraints(section),
            "resources": profile[section].values(),
        }
        if section in PDB_SECTIONS:
            values["podDisruptionBudget"] = _pdb()
        return values

    admin = secrets.admin_password if settings.create_admin_user else None
    computed: dict[str, Any] = {
        "defaultAirflowRepository": AIRFLOW_IMAGE_REPOSITORY,
        "defaultAirflowTag": settings.airflow_version,
        "airflowVersion": settings.airflow_version,
        "images": {**SIDECAR_IMAGES, "migrationsWaitTimeout": MIGRATIONS_WAIT_SECONDS},
        "executor": "KubernetesExecutor",
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "data": {"metadataSecretName": secrets.metadata},
        "fernetKeySecretName": secrets.fernet_key,
        "apiSecretKeySecretName": secrets.api_secret_key,
        "jwtSecretName": secrets.jwt_secret,
        "webserverSecretKeySecretName": secrets.webserver_secret_key,
        # Anything not placed below (cleanup jobs, ...) lands on the control-plane group too.
        **place,
        "scheduler": control("scheduler", settings.scheduler_replicas),
        "apiServer": {
            **control("apiServer", settings.api_server_replicas),
            # The Pulumi-owned NLB reaches the pods through a TargetGroupBinding.
            "service": {"type": "ClusterIP"},
            "containerLifecycleHooks": {"preStop": {"exec": {"command": ["sleep", str(API_SERVER_PRE_STOP_SECONDS)]}}},
        },
        "triggerer": {
            **control("triggerer", settings.triggerer_replicas),
            "persistence": {"enabled": False},  # a Deployment; its logs go to the EFS logs volume
        },
        "dagProcessor": {"enabled": True, **control("dagProcessor", settings.dag_processor_replicas)},
        "pgbouncer": {
            "enabled": True,
            **control("pgbouncer", settings.pgbouncer_replicas),
            # pgbouncer.ini (pools, TLS to the database) comes whole from this Secret.
            "configSecretName": secrets.pgbouncer_config,
            "metricsExporterSidecar": {
                "statsSecretName": secrets.pgbouncer_stats,
                "resources": profile["pgbouncerExporter"].values(),
            },
        },
        "statsd": {"enabled": True, **place, "resources": profile["statsd"].values()},
        "workers": {
            "nodeSelector": node_selector(workers),
            "tolerations": tolerations(workers),
            "resources": profile["workers"].values(),
        },
        "migrateDatabaseJob": {
            "useHelmHooks": False,
            "applyCustomEnv": False,
            **place,
            "resources": profile["jobs"].values(),
        },
        "createUserJob": _create_user_job(place, profile["jobs"], admin),
        "webserver": {
            "defaultUser": (
                {
                    "enabled": True,
                    "role": "Admin",
                    "username": ADMIN_USERNAME,
                    "email": f"{ADMIN_USERNAME}@example.com",
                    "firstName": "Airflow",
                    "lastName": "Admin",
                    "password": "",  # unused: the job reads the Secret
                }
                if admin
                else {"enabled": False}
            )
        },
        "dags": {
            "persistence": {"enabled": True, "existingClaim": dags_claim},
            "gitSync": {"enabled": False},  # see the module docstring: the program runs its own
        },
        "logs": {"persistence": {"enabled": True, "existingClaim": logs_claim}},
        "config": {
            "core": {
                "dags_folder": dags_folder(settings.git_sync.sub_path if settings.git_sync else None),
                "auth_manager": FAB_AUTH_MANAGER,  # users and passwords (`airflow users create`)
                "load_examples": "False",
                # Task pods report to the API server's execution API inside the cluster.
                "execution_api_server_url": (
                    f"http://{api_server_service_name()}.{namespace}:{API_SERVER_PORT}/execution/"
                ),
            },
            "scheduler": {"standalone_dag_processor": "True"},
            "kubernetes_executor": {
                "delete_worker_pods": "True",
                "delete_worker_pods_on_failure": "False",  # keep a failed pod for its events
                "worker_pods_creation_batch_size": "8",
            },
            "logging": {"remote_logging": "False"},  # logs are on the shared EFS volume
        },
    }
    return deep_merge(computed, settings.values)
