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
  that are not the Helm CLI); the admin password reaches the job from a Secret through an
  environment variable, never through the values.
- DAGs and logs on the EFS claims; optional git-sync into the DAGs volume.
- Requests and limits of every component from a resource profile (small, medium, large).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from config.settings import AirflowSettings, NodeGroupSettings, ResourceProfile
from lib.merge import deep_merge
from lib.scheduling import HOST_KEY, ZONE_KEY, node_selector, tolerations

RELEASE_NAME = "airflow"
CHART_NAME = "airflow"
CHART_REPOSITORY = "https://airflow.apache.org"
API_SERVER_PORT = 8080  # the chart's `ports.apiServer`
PGBOUNCER_PORT = 6543  # the chart's `ports.pgbouncer`
API_SERVER_HEALTH_PATH = "/api/v2/monitor/health"  # Airflow 3 (was /health in Airflow 2)
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_ENV = "AIRFLOW_ADMIN_PASSWORD"
ADMIN_PASSWORD_KEY = "password"
MIGRATIONS_WAIT_SECONDS = 600  # migrations run as a plain Job alongside the pods that wait for them

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
    "gitSync": {"repository": "registry.k8s.io/git-sync/git-sync", "tag": "v4.3.0"},
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

DB_HEADROOM_PERCENT = 20
"""Share of the server's max_connections PgBouncer never uses: superuser slots, migrations,
an operator's psql, and a PgBouncer pod surging during a rolling update."""


def api_server_service_name(release: str = RELEASE_NAME) -> str:
    """The chart's API server Service: `<fullname>-api-server`, where the fullname of a release
    whose name contains the chart's name is the release name."""
    fullname = release if CHART_NAME in release else f"{release}-{CHART_NAME}"
    return f"{fullname}-api-server"


def pgbouncer_service_host(namespace: str, release: str = RELEASE_NAME) -> str:
    return f"{release}-pgbouncer.{namespace}"


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


# --------------------------------------------------------------------------- PgBouncer


@dataclass(frozen=True)
class PgBouncerPools:
    """Per PgBouncer replica."""

    max_client_conn: int
    metadata_pool_size: int
    result_backend_pool_size: int


def pgbouncer_pools(max_connections: int, replicas: int) -> PgBouncerPools:
    """Pool sizes that keep every PgBouncer replica together within the database's budget.

    budget      = max_connections * (100 - DB_HEADROOM_PERCENT) / 100      (rounded down)
    per replica = budget // replicas
    result backend pool = max(1, per replica // 10)   (Celery only: barely used here)
    metadata pool       = per replica - result backend pool
    max_client_conn     = max(100, 2 * per replica)   (clients queue in PgBouncer; the
                          transaction pool multiplexes them onto the server connections)
    So replicas * (metadata + result backend) <= budget < max_connections.
    """
    if replicas < 1:
        raise ValueError(f"pgbouncer replicas {replicas} is not positive")
    budget = max_connections * (100 - DB_HEADROOM_PERCENT) // 100
    per_replica = budget // replicas
    result_backend = max(1, per_replica // 10)
    metadata = per_replica - result_backend
    if metadata < 1:
        raise ValueError(f"max_connections {max_connections} leaves no metadata pool for {replicas} PgBouncer replicas")
    return PgBouncerPools(
        max_client_conn=max(100, 2 * per_replica),
        metadata_pool_size=metadata,
        result_backend_pool_size=result_backend,
    )


@dataclass(frozen=True)
class DatabaseUri:
    """The parts of `postgresql://user:password@host:port/db?...` (user and password decoded)."""

    username: str
    password: str
    host: str
    port: int
    dbname: str
    userinfo: str
    """`user:password` exactly as written in the URI (percent-encoded)."""


def parse_database_uri(uri: str) -> DatabaseUri:
    parts = urlsplit(uri)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or parts.username is None:
        raise ValueError("the metadata connection is not a postgresql://user:password@host/db URI")
    return DatabaseUri(
        username=unquote(parts.username),
        password=unquote(parts.password or ""),
        host=parts.hostname,
        port=parts.port or 5432,
        dbname=unquote(parts.path.lstrip("/")),
        userinfo=parts.netloc.rsplit("@", 1)[0],
    )


def pgbouncer_client_uri(db: DatabaseUri, namespace: str, release: str = RELEASE_NAME) -> str:
    """What Airflow connects to: PgBouncer's metadata pool, inside the cluster."""
    return (
        f"postgresql://{db.userinfo}@{pgbouncer_service_host(namespace, release)}:{PGBOUNCER_PORT}/{release}-metadata"
    )


def pgbouncer_stats_uri(db: DatabaseUri) -> str:
    """What the metrics exporter sidecar connects to: PgBouncer's admin console, same pod."""
    return f"postgresql://{db.userinfo}@127.0.0.1:{PGBOUNCER_PORT}/pgbouncer?sslmode=disable"


def pgbouncer_ini(db: DatabaseUri, pools: PgBouncerPools, release: str = RELEASE_NAME) -> str:
    """`pgbouncer.ini`, as the chart would render it, with TLS required towards the database."""
    target = f"host={db.host} port={db.port} dbname={db.dbname}"
    return "\n".join(
        [
            "[databases]",
            f"{release}-metadata = {target} pool_size={pools.metadata_pool_size}",
            f"{release}-result-backend = {target} pool_size={pools.result_backend_pool_size}",
            "",
            "[pgbouncer]",
            "pool_mode = transaction",
            f"listen_port = {PGBOUNCER_PORT}",
            "listen_addr = *",
            "auth_type = scram-sha-256",
            "auth_file = /etc/pgbouncer/users.txt",
            f"stats_users = {db.username}",
            "ignore_startup_parameters = extra_float_digits",
            f"max_client_conn = {pools.max_client_conn}",
            "verbose = 0",
            "log_disconnections = 0",
            "log_connections = 0",
            "server_tls_sslmode = require",
            "",
        ]
    )


def pgbouncer_users(db: DatabaseUri) -> str:
    """`users.txt`: the database user and password, quoted as PgBouncer's auth file wants."""

    def quote(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    return f"{quote(db.username)} {quote(db.password)}\n"


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


def _git_sync(settings: AirflowSettings, resources: Resources) -> dict[str, Any]:
    gs = settings.git_sync
    if gs is None:
        return {"enabled": False}
    values: dict[str, Any] = {
        "enabled": True,
        "repo": gs.repo,
        "branch": gs.branch,
        "ref": gs.branch,
        "rev": "HEAD",
        "depth": 1,
        "subPath": gs.sub_path,
        "resources": resources.values(),
    }
    if gs.credentials_secret:
        # An ssh URL authenticates with a key (`gitSshKey`), an https URL with user and password.
        ssh = not gs.repo.startswith("https://")
        values["sshKeySecret" if ssh else "credentialsSecret"] = gs.credentials_secret
    return values


def airflow_values(
    settings: AirflowSettings,
    *,
    control_plane: NodeGroupSettings,
    workers: NodeGroupSettings,
    secrets: SecretNames,
    dags_claim: str,
    logs_claim: str,
    max_connections: int,
    namespace: str,
) -> dict[str, Any]:
    """The release's values: the program's, then the user's `airflowValues` merged last."""
    profile = RESOURCE_PROFILES[settings.resource_profile]
    pools = pgbouncer_pools(max_connections, settings.pgbouncer_replicas)
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

    def job() -> dict[str, Any]:
        return {"useHelmHooks": False, "applyCustomEnv": False, **place, "resources": profile["jobs"].values()}

    create_user = job()
    admin = secrets.admin_password is not None and settings.create_admin_user
    if admin:
        create_user["env"] = [
            {
                "name": ADMIN_PASSWORD_ENV,
                "valueFrom": {"secretKeyRef": {"name": secrets.admin_password, "key": ADMIN_PASSWORD_KEY}},
            }
        ]
        # The chart's default args put `webserver.defaultUser.password` on the command line.
        create_user["args"] = [
            "bash",
            "-c",
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
        },
        "triggerer": {
            **control("triggerer", settings.triggerer_replicas),
            "persistence": {"enabled": False},  # a Deployment; its logs go to the EFS logs volume
        },
        "dagProcessor": {"enabled": True, **control("dagProcessor", settings.dag_processor_replicas)},
        "pgbouncer": {
            "enabled": True,
            **control("pgbouncer", settings.pgbouncer_replicas),
            "maxClientConn": pools.max_client_conn,
            "metadataPoolSize": pools.metadata_pool_size,
            "resultBackendPoolSize": pools.result_backend_pool_size,
            "sslmode": "require",
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
        "migrateDatabaseJob": job(),
        "createUserJob": create_user,
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
            "gitSync": _git_sync(settings, profile["gitSync"]),
        },
        "logs": {"persistence": {"enabled": True, "existingClaim": logs_claim}},
        "config": {
            "core": {
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
