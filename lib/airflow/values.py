"""Helm values of the official Apache Airflow chart, as a pure function of plain inputs.

No Pulumi here: plain options, node groups and the NAMES of the Secrets the Airflow component
creates (never their contents): plain data, without a secret. The user's overrides come last.

What the values give (chart 1.22, Airflow 3.3):
- KubernetesExecutor; no bundled PostgreSQL or Redis; the metadata DB through an existing Secret
  (`data.metadataSecretName`) whose URI points at PgBouncer, which relays to the database with
  TLS required. PgBouncer reads its `pgbouncer.ini` and `users.txt` from a Secret the program
  writes (`pgbouncer.configSecretName`): the chart would otherwise render the database password
  into its values. Its metrics exporter logs in through a Secret too.
- Fernet, API and webserver keys from program-made Secrets: stable across upgrades. JWTs are signed
  with a program-made RSA key held only by the API server and the scheduler (`lib/airflow/signing.py`).
  Airflow reads the connection and the keys from those Secrets mounted as files, never as
  environment variables (`lib/airflow/secret_files.py`).
- Replicas from settings; the chart's PodDisruptionBudget (maxUnavailable 1) for every control-plane
  section; the control plane spread over zones (best effort) and hosts (strict).
- Control-plane pods on the `airflow` node group; task pods (`workers.kubernetes.*`) on the
  `workers` group, tolerating its taints, under their own service account, which carries the
  task pods' IAM role (IRSA) and nothing the scheduler has. A task of another group's queue runs
  on that group (`airflowLocalSettings`' cluster policy: `lib/airflow/queues.py`).
- Migrations and the admin user as plain Jobs (no Helm hooks, as the chart advises for tools
  that are not the Helm CLI). The Deployments wait for migrations in their init containers, the
  admin-user Job in its command (chart 1.22 gives it no wait); its password is a Secret's file.
- DAGs and logs on the EFS claims (DAG processor, triggerer, task pods). The chart's own
  git-sync is off (chart 1.22 renders it nowhere with persistence and a standalone DAG processor);
  the program's git-sync Deployment (`lib/airflow/git_sync.py`) writes into the DAGs claim instead.
- The API server outlives the NLB's deregistration delay (`preStop`); requests and limits from a
  profile; images from their registry's mirror if set. Metrics and remote logs
  (`lib/airflow/telemetry.py`), hardened pods and network policies (`lib/airflow/hardening.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.airflow.configuration import airflow_config
from lib.airflow.hardening import hardening_values, restricted_problem
from lib.airflow.pod_cleanup import cleanup_values
from lib.airflow.queues import local_settings, queue_pods
from lib.airflow.resources import RESOURCE_PROFILES, ResourceProfile, Resources
from lib.airflow.secret_files import admin_password_path, secret_file_values
from lib.airflow.secrets import RELEASE_NAME, SecretNames
from lib.airflow.secrets_backend import BackendTarget, secrets_backend_values
from lib.airflow.signing import jwt_signing_values
from lib.airflow.sso import OidcProvider, sso_values
from lib.airflow.task_pod import task_pod_template
from lib.airflow.telemetry import IRSA_ROLE_ANNOTATION, RemoteLogs, StatsdTarget, telemetry_values
from lib.cluster.node_groups import NodeGroup
from lib.cluster.scheduling import HOST_KEY, ZONE_KEY, node_selector, tolerations
from lib.images import mirrored
from lib.merge import ListKeys, Path, compose_owned, merge_overrides, owned

CHART_NAME = "airflow"
CHART_REPOSITORY = "https://airflow.apache.org"
API_SERVER_PORT = 8080  # the chart's `ports.apiServer`
API_SERVER_HEALTH_PATH = "/api/v2/monitor/health"
"""The NLB's health check (Airflow 3), and chart 1.22's API server probes. No login: the monitor
router is outside the authenticated one (airflow-core 3.3.2, as in 3.0.2:
api_fastapi/core_api/routes/public/__init__.py), so a readiness gate can turn true."""
ADMIN_USERNAME = "admin"
MIGRATIONS_WAIT_SECONDS = 600  # migrations run as a plain Job alongside the pods that wait for them
API_SERVER_PRE_STOP_SECONDS = 25
"""A terminating API server keeps serving this long: more than the NLB's deregistration delay
(components/load_balancer.py), less than the pod's 30 s grace period (chart 1.22 offers no
`terminationGracePeriodSeconds` for the API server), leaving uvicorn 5 s to finish."""

# Chart 1.22.0's images (values.yaml and schema defaults; 1.18.0 had statsd-exporter v0.28.0).
SIDECAR_IMAGES = {
    "pgbouncer": {"repository": "apache/airflow", "tag": "airflow-pgbouncer-2025.03.05-1.23.1"},
    "pgbouncerExporter": {"repository": "apache/airflow", "tag": "airflow-pgbouncer-exporter-2025.03.05-0.18.0"},
    "statsd": {"repository": "quay.io/prometheus/statsd-exporter", "tag": "v0.30.0"},
}
AIRFLOW_IMAGE_REPOSITORY = "apache/airflow"
WORKER_SERVICE_ACCOUNT = f"{RELEASE_NAME}-worker"
"""Service account of the task pods (the chart's default name, set explicitly: an IAM role trusts it)."""


def airflow_repository(mirrors: Mapping[str, str]) -> str:
    """The Airflow image's repository as the stack pulls it (`defaultAirflowRepository`, the task pods'
    too): from its registry's mirror or pull-through cache if there is one."""
    return mirrored(AIRFLOW_IMAGE_REPOSITORY, mirrors)


# Pod label `component` the chart sets per section (what spread constraints select).
COMPONENT_LABELS = {
    "scheduler": "scheduler",
    "apiServer": "api-server",
    "triggerer": "triggerer",
    "dagProcessor": "dag-processor",
    "pgbouncer": "pgbouncer",
}
PDB_SECTIONS = tuple(COMPONENT_LABELS)
"""Every control-plane section has the chart's `podDisruptionBudget` in 1.22 (the triggerer's and
the DAG processor's came in chart 1.19, #59068 and #60294; the program made its own before)."""


CHART_LIST_KEYS = ListKeys.of(
    named=("env", "volumes", "extraVolumes", "extraContainers", "extraInitContainers"),
    unnamed=("tolerations",),
    volumeMounts="mountPath",
    extraVolumeMounts="mountPath",
    secret="envName",
)
"""The chart's lists whose entries add up, wherever they are (chart 1.22.0): the chart appends each
to entries of its own, so a fragment's entries add to another's and the user's to the program's.
`env` (templates/_helpers.yaml `custom_airflow_environment` for the top-level one, `container_extra_envs`
for a section's, in scheduler/scheduler-deployment.yaml and the other Deployments and Jobs; the
sidecars' `waitForMigrations.env` and `logGroomerSidecar.env` after their own), `secret` (an env
var per entry, `custom_airflow_environment`), `volumes`/`volumeMounts` and a section's
`extraVolumes`/`extraVolumeMounts`/`extraContainers`/`extraInitContainers` (after the chart's own
volumes, mounts and containers in every pod template). A mount is identified by its path (one
volume may be mounted at several), a `secret` entry by its `envName`, the others by `name`.
`tolerations` is the program's choice: the chart takes a section's list whole, else the
top-level one (`or .Values.scheduler.tolerations .Values.tolerations`), but a toleration only
allows a node, never requires one, so adding the user's to the program's node group's keeps the
pod schedulable where `nodeSelector` sends it. `extraEnv` and `extraEnvFrom` are strings (a
template), and `args`, `command`, `topologySpreadConstraints`, `hostAliases`, ... are replaced."""


REPLICA_KEYS = {
    "scheduler": "airflowSchedulerReplicas",
    "apiServer": "airflowApiServerReplicas",
    "triggerer": "airflowTriggererReplicas",
    "dagProcessor": "airflowDagProcessorReplicas",
    "pgbouncer": "airflowPgbouncerReplicas",
}
"""The config key of each control-plane section's replicas (the user's `airflowValues` may not set them)."""
# Why each value marked `owned` below is the program's, and how to set it (lib.merge.refusals).
IMAGES_VIA = (
    "every image is the program's pin (Airflow's: set airflowVersion), pulled through imageRegistryMirrors "
    "or imagePullThroughCacheCredentialArn"
)
PARALLELISM_VIA = "set airflowParallelism (default_pool's slots and each scheduler's [core] parallelism)"
SECRETS_VIA = "the program generates the keys and the database connection into its own Secrets"
WORKER_ACCOUNT_VIA = (
    f"task pods run as '{WORKER_SERVICE_ACCOUNT}' with the IAM role exported as airflow_worker_role_arn; "
    "attach policies to that role (airflow_worker_role_name) instead"
)
POD_TEMPLATE_VIA = (
    "the program builds the task pods' template from `workers.kubernetes.*`, `env` and `volumes`: set those"
)
QUEUES_VIA = "the program's cluster policy routes task queues to node groups (nodeGroups.<name>.taskQueue)"
STORAGE_VIA = "DAGs and logs are on the stack's EFS claims; DAGs from git: set gitSyncRepo"
CONFIG_OWNED = {
    "dags_folder": "the DAGs volume's folder (with git-sync: set gitSyncSubPath)",
    "parallelism": PARALLELISM_VIA,
    "execution_api_server_url": "task pods reach the API server's execution API inside the cluster",
}
"""`[core]` options of `airflow_config` the user may not override."""


def api_server_service_name(release: str = RELEASE_NAME) -> str:
    """The chart's API server Service: `<fullname>-api-server`, where the fullname of a release
    whose name contains the chart's name is the release name."""
    fullname = release if CHART_NAME in release else f"{release}-{CHART_NAME}"
    return f"{fullname}-api-server"


@dataclass(frozen=True)
class Replicas:
    """Pods of each control-plane component (2 or more for HA)."""

    scheduler: int = 2
    api_server: int = 2
    triggerer: int = 2
    dag_processor: int = 2
    pgbouncer: int = 2


@dataclass(frozen=True)
class ChartInputs:
    """Everything the values depend on, as plain data."""

    airflow_version: str
    replicas: Replicas
    resource_profile: ResourceProfile
    control_plane: NodeGroup
    """Node group of the control plane: schedulers, API servers, ..., PgBouncer and jobs."""
    workers: NodeGroup
    """Node group of the task pods (tainted)."""
    secrets: SecretNames
    dags_claim: str
    logs_claim: str
    namespace: str
    dags_folder: str
    worker_role_arn: str = ""
    """IAM role the task pods' service account carries (IRSA); "" for none."""
    task_pod_size: ResourceProfile | None = None  # a task pod's profile; None: resource_profile
    parallelism: int = 32
    """The stack's task capacity: `default_pool`'s slots and each scheduler's [core] parallelism
    (`capacity_values`)."""
    image_mirrors: Mapping[str, str] = field(default_factory=dict)  # registry -> mirror prefix
    statsd: StatsdTarget | None = None  # None: the chart's statsd exporter
    remote_logs: RemoteLogs | None = None  # None: logs on the EFS volume only
    failed_pod_retention_hours: int = 24
    """Hours a failed task pod is kept before the cleanup CronJob deletes it (`lib/airflow/pod_cleanup.py`)."""
    secrets_backend: BackendTarget | None = None
    """Connections and variables from Secrets Manager (`lib/airflow/secrets_backend.py`); None: the metastore's."""
    sso: OidcProvider | None = None
    """The OIDC provider users sign in with (`lib/airflow/sso.py`); None: FAB's own users."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """The user's values, merged last."""
    queue_groups: tuple[NodeGroup, ...] = ()
    """Node groups of the other task queues (each with a `task_queue`): see `lib/airflow/queues.py`."""
    task_pod_annotations: Mapping[str, str] = field(default_factory=dict)
    """On every task pod (Karpenter's `karpenter.sh/do-not-disrupt`)."""


def spread_constraints(section: str, release: str = RELEASE_NAME) -> list[dict[str, Any]]:
    """Spread a component's pods over zones and hosts, both strictly: a lost zone takes at most
    ceil(replicas / zones) of them (reports/az_loss.py reads `ScheduleAnyway` as no spread at all).
    The zones counted are those with nodes of the component's group (`nodeAffinityPolicy` Honor, the
    default), so a stack on fewer zones is not blocked; with replicas no more than the zones, a lost
    zone's pod finds a zone left to go to."""
    selector = {"matchLabels": {"tier": "airflow", "component": COMPONENT_LABELS[section], "release": release}}
    return [
        {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector},
        {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector},
    ]


def _placement(group: NodeGroup) -> dict[str, Any]:
    return {"nodeSelector": node_selector(group), "tolerations": tolerations(group)}


def _control_plane(inputs: ChartInputs) -> dict[str, Any]:
    """The scheduler, API server, triggerer, DAG processor and PgBouncer sections."""
    profile = RESOURCE_PROFILES[inputs.resource_profile]
    r = inputs.replicas

    def control(section: str, replicas: int) -> dict[str, Any]:
        values = {
            "replicas": owned(replicas, f"set {REPLICA_KEYS[section]}"),
            **_placement(inputs.control_plane),
            "topologySpreadConstraints": spread_constraints(section),
            "resources": profile[section].values(),
        }
        if section in PDB_SECTIONS:
            values["podDisruptionBudget"] = {"enabled": True, "config": {"maxUnavailable": 1}}
        return values

    return {
        "scheduler": control("scheduler", r.scheduler),
        "apiServer": {
            **control("apiServer", r.api_server),
            # The Pulumi-owned NLB reaches the pods through a TargetGroupBinding.
            "service": {"type": "ClusterIP"},
            "containerLifecycleHooks": {"preStop": {"exec": {"command": ["sleep", str(API_SERVER_PRE_STOP_SECONDS)]}}},
        },
        "triggerer": {
            **control("triggerer", r.triggerer),
            "persistence": {"enabled": False},  # a Deployment; its logs go to the EFS logs volume
        },
        "dagProcessor": {"enabled": True, **control("dagProcessor", r.dag_processor)},
        "pgbouncer": {
            "enabled": True,
            **control("pgbouncer", r.pgbouncer),
            # pgbouncer.ini (pools, TLS to the database) comes whole from this Secret.
            "configSecretName": owned(inputs.secrets.pgbouncer_config, SECRETS_VIA),
            "metricsExporterSidecar": {
                "statsSecretName": owned(inputs.secrets.pgbouncer_stats, SECRETS_VIA),
                "resources": profile["pgbouncerExporter"].values(),
            },
        },
    }


def _job(place: dict[str, Any], resources: Resources, creates_admin: bool = False) -> dict[str, Any]:
    """A Job without Helm hooks; with `creates_admin`, the one that creates the admin user (its
    password a mounted file: lib/airflow/secret_files.py)."""
    job = {"useHelmHooks": False, "applyCustomEnv": False, **place, "resources": resources.values()}
    if not creates_admin:
        return job
    # The chart's default args put `createUserJob.defaultUser.password` on the command line, and its
    # Job has no wait for migrations (the Deployments have one): wait here, then create the user.
    job["args"] = [
        "bash",
        "-c",
        f"airflow db check-migrations --migration-wait-timeout={MIGRATIONS_WAIT_SECONDS} && "
        f'exec airflow users create "$@" --password "$(cat {admin_password_path()})"',
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


def _admin_user(admin_password_secret: str | None) -> dict[str, Any]:
    """`createUserJob.enabled` and `defaultUser` (chart 1.19 deprecated `webserver.defaultUser`)."""
    if admin_password_secret is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "defaultUser": {
            "role": "Admin",
            "username": ADMIN_USERNAME,
            "email": f"{ADMIN_USERNAME}@example.com",
            "firstName": "Airflow",
            "lastName": "Admin",
            "password": "",  # unused: the job reads the Secret
        },
    }


def _task_pods(inputs: ChartInputs) -> dict[str, Any]:
    """`workers.kubernetes` (chart 1.20/1.21 deprecated the shared `workers.*`): where task pods run,
    their size, their account. `serviceAccount.create` renders worker-kubernetes-serviceaccount.yaml,
    named as before (an IAM role trusts it; the chart's default is `<release>-worker-kubernetes`)."""
    return {
        **_placement(inputs.workers),
        "resources": RESOURCE_PROFILES[inputs.task_pod_size or inputs.resource_profile]["workers"].values(),
        **({"podAnnotations": dict(inputs.task_pod_annotations)} if inputs.task_pod_annotations else {}),
        # Its token stays the user's to mount (a KubernetesPodOperator needs it: docs/security.md).
        "serviceAccount": {
            "create": owned(True, WORKER_ACCOUNT_VIA),
            "name": owned(WORKER_SERVICE_ACCOUNT, WORKER_ACCOUNT_VIA),
            "annotations": owned(
                {IRSA_ROLE_ANNOTATION: inputs.worker_role_arn} if inputs.worker_role_arn else {}, WORKER_ACCOUNT_VIA
            ),
        },
    }


def _sidecar_images(mirrors: Mapping[str, str]) -> dict[str, Any]:
    return {
        name: {**image, "repository": mirrored(image["repository"], mirrors)} for name, image in SIDECAR_IMAGES.items()
    }


def _config(inputs: ChartInputs) -> dict[str, Any]:
    config: dict[str, Any] = airflow_config(
        inputs.dags_folder,
        inputs.parallelism,
        # Task pods report to the API server's execution API inside the cluster.
        f"http://{api_server_service_name()}.{inputs.namespace}:{API_SERVER_PORT}/execution/",
        inputs.resource_profile,
    )
    core = config["core"]
    config["core"] = {k: owned(v, CONFIG_OWNED[k]) if k in CONFIG_OWNED else v for k, v in core.items()}
    return config


def airflow_values(inputs: ChartInputs, *fragments: tuple[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The release's values: the program's fragments composed, each value with one owner
    (`lib.merge.compose`), then the user's overrides merged last (`deep_merge`: Helm's rule, but
    the user's entries of `CHART_LIST_KEYS` add to the program's), then the task pods' template.
    `fragments`: more of the program's, named (the component's: PgBouncer's and the secrets' rollout).

    Raises `lib.merge.ValuesError` (its `path` in the overrides) for an override of a value the
    fragments mark `owned`, and for one that would break the Restricted Pod Security Standard
    (`lib.airflow.hardening.restricted_problem`)."""
    problem = restricted_problem(inputs.overrides)
    if problem is not None:
        raise problem
    program, paths = _program(inputs, *fragments)
    values = merge_overrides(program, paths, inputs.overrides, CHART_LIST_KEYS)
    # From the merged values: the user's `workers.kubernetes.*` reach the task pods (lib/airflow/task_pod.py).
    values["podTemplate"] = task_pod_template(values)
    pods = queue_pods(inputs.queue_groups, values["workers"]["kubernetes"].get("resources") or {})
    if pods:
        # From the merged values too: a queue's GPU pod carries the task pods' resources.
        values["airflowLocalSettings"] = local_settings(pods)
    return values


def owned_paths(inputs: ChartInputs, *fragments: tuple[str, Mapping[str, Any]]) -> dict[Path, str]:
    """The values the user's overrides may not change, each with how to set it instead: those the
    fragments mark `owned`, and the task pods' template (built from the merged values)."""
    return _program(inputs, *fragments)[1]


def _program(inputs: ChartInputs, *fragments: tuple[str, Mapping[str, Any]]) -> tuple[dict[str, Any], dict[Path, str]]:
    """The program's values, composed (`lib.merge.compose_owned`), and the paths it owns."""
    profile = RESOURCE_PROFILES[inputs.resource_profile]
    place = _placement(inputs.control_plane)
    secrets = inputs.secrets
    computed: dict[str, Any] = {
        "defaultAirflowRepository": owned(airflow_repository(inputs.image_mirrors), IMAGES_VIA),
        "defaultAirflowTag": owned(inputs.airflow_version, "set airflowVersion"),
        "airflowVersion": owned(inputs.airflow_version, "set airflowVersion"),
        "images": owned(
            {**_sidecar_images(inputs.image_mirrors), "migrationsWaitTimeout": MIGRATIONS_WAIT_SECONDS}, IMAGES_VIA
        ),
        "executor": owned("KubernetesExecutor", "the stack runs the KubernetesExecutor"),
        "postgresql": owned({"enabled": False}, "the metadata database is the stack's (db* or existingDb* keys)"),
        "redis": owned({"enabled": False}, "the KubernetesExecutor uses no Redis"),
        "data": owned({"metadataSecretName": secrets.metadata}, SECRETS_VIA),
        "fernetKeySecretName": owned(secrets.fernet_key, SECRETS_VIA),
        "apiSecretKeySecretName": owned(secrets.api_secret_key, SECRETS_VIA),
        # Only so that the chart renders no random JWT secret of its own (its env var is off):
        # tokens are signed with the key pair of `jwt_signing_values`.
        "jwtSecretName": owned(secrets.jwt_signing_key, SECRETS_VIA),
        "webserverSecretKeySecretName": owned(secrets.webserver_secret_key, SECRETS_VIA),
        # Anything not placed below (cleanup jobs, ...) lands on the control-plane group too.
        **place,
        **_control_plane(inputs),
        # Whether the chart's exporter runs is telemetry_values' (lib/airflow/telemetry.py).
        "statsd": {**place, "resources": profile["statsd"].values()},
        # The KubernetesExecutor's pod template (chart 1.22 files/pod-template-file.kubernetes-helm-yaml)
        # reads `workers.kubernetes.*` first; the shared `workers.*` keys are deprecated (1.20, 1.21).
        "workers": {"kubernetes": _task_pods(inputs)},
        "migrateDatabaseJob": _job(place, profile["jobs"]),
        "createUserJob": {
            **_job(place, profile["jobs"], creates_admin=secrets.admin_password is not None),
            **_admin_user(secrets.admin_password),
        },
        "dags": {
            "persistence": owned({"enabled": True, "existingClaim": inputs.dags_claim}, STORAGE_VIA),
            "gitSync": owned({"enabled": False}, STORAGE_VIA),  # see the module docstring: the program runs its own
        },
        "logs": {"persistence": owned({"enabled": True, "existingClaim": inputs.logs_claim}, STORAGE_VIA)},
        "config": _config(inputs),
    }
    program, paths = compose_owned(
        [
            ("airflow_values", computed),
            ("hardening_values", hardening_values()),
            ("telemetry_values", telemetry_values(inputs.statsd, inputs.remote_logs)),
            ("capacity_values", capacity_values(inputs.parallelism)),
            ("cleanup_values", cleanup_values(inputs.namespace, inputs.failed_pod_retention_hours, profile["jobs"])),
            *(
                [("secrets_backend_values", secrets_backend_values(inputs.secrets_backend))]
                if inputs.secrets_backend
                else []
            ),
            ("jwt_signing_values", jwt_signing_values(secrets.jwt_signing_key)),
            ("secret_file_values", secret_file_values(secrets)),
            *([("sso_values", sso_values(inputs.sso))] if inputs.sso else []),
            *fragments,
        ],
        CHART_LIST_KEYS,
    )
    queues: dict[Path, str] = (
        {("airflowLocalSettings",): QUEUES_VIA} if any(g.task_queue for g in inputs.queue_groups) else {}
    )
    return program, {**paths, ("podTemplate",): POD_TEMPLATE_VIA, **queues}


DEFAULT_POOL = "default_pool"


def migrate_args(pool_slots: int) -> list[str]:
    """The migration Job's command: migrate, then size `default_pool`. Airflow 3.3.2 creates the pool
    once, from `[core] default_pool_task_slot_count` (utils/db.py `add_default_pool_if_not_exists`),
    and never resizes it; `airflow pools set` updates it (models/pool.py `create_or_update_pool`).
    The chart's default args (1.22.0 values.yaml) are `exec airflow db migrate`."""
    return [
        "bash",
        "-c",
        f'airflow db migrate && exec airflow pools set {DEFAULT_POOL} {pool_slots} "Default pool"',
    ]


def capacity_values(task_capacity: int) -> dict[str, Any]:
    """The stack's task capacity enforced by Airflow: `default_pool` holds that many slots (set by
    every migration Job: each Helm upgrade re-creates it), and each scheduler's `[core] parallelism`
    is the whole of it, so one scheduler alone still fills the pool; the pool caps the total."""
    return {
        # `[core] parallelism` is lib.airflow.configuration's, from the same number.
        "config": {"core": {"default_pool_task_slot_count": owned(str(task_capacity), PARALLELISM_VIA)}},
        "migrateDatabaseJob": {"args": owned(migrate_args(task_capacity), PARALLELISM_VIA)},
    }
