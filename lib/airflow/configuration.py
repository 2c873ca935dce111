"""The Airflow settings (airflow.cfg, the chart's `config`) the program sets, for Airflow 3.3.2.

Plain data. Each setting says where it was read: apache-airflow-core 3.3.2's
config_templates/config.yml and source, task-sdk 1.3.2, providers-fab 3.10.2. What changed from
3.0.2 that the platform follows: UPGRADING.md, "Chart 1.22.0 and Airflow 3.3.2".
"""

from __future__ import annotations

from lib.airflow.resources import RESOURCE_PROFILES, ResourceProfile
from lib.quantities import cpu_millicores

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"

# Settings of Airflow 3.3.2, each read in its apache-airflow-core 3.3.2 (or task-sdk 1.3.2) source.
EXECUTION_API_TIMEOUT_SECONDS = 20
"""`[workers] execution_api_timeout` (added in 3.1.1, apache/airflow#56571; default 5 s): how long a
task waits for one execution-API response. 5 s failed heartbeats and state updates of an API
server busy with hundreds of task pods; see `EXECUTION_API_RETRIES` for the upper bound."""
EXECUTION_API_RETRIES = 5
"""`[workers] execution_api_retries` (default 5): attempts per request. task-sdk 1.3.2 api/client.py
retries with `stop_after_attempt(retries)` and `wait_random_exponential(min, max)` (1 s and 90 s
by default), which its own comment puts at 31 s of waiting at most. A request given up on takes at
most 5 x 20 + 31 = 131 s, well inside `[scheduler] task_instance_heartbeat_timeout` (300 s),
after which the scheduler fails the task anyway (`worst_execution_api_seconds`)."""
RETRY_WAITS_SECONDS = 31  # task-sdk 1.3.2 api/client.py: "fails after 31seconds" with the default waits
EXECUTION_API_RETRY_WAIT_SECONDS = (1.0, 90.0)  # `[workers] execution_api_retry_wait_min`/`_max` (defaults)
TASK_INSTANCE_HEARTBEAT_TIMEOUT_SECONDS = 300  # `[scheduler] task_instance_heartbeat_timeout` (default)
TASK_QUEUED_TIMEOUT_SECONDS = 1800
"""`[scheduler] task_queued_timeout` (default 600 s). In 3.3 it is also the lifetime of the
"workload" token a queued task carries into its pod (executors/workloads/base.py
`generate_token`): a pod that starts later cannot authenticate and the task fails. The slowest
start here is a task pod on a workers group scaled from zero: the Cluster Autoscaler gives a node
that never becomes ready `--max-node-provision-time` (15 min, its default) before it tries
again, then the new node boots and pulls the Airflow image. 30 min covers one failed and one
good provisioning; it is also the release's own timeout for image pulls and node scale-up
(components/airflow.py RELEASE_TIMEOUT_SECONDS). A task stuck in the queue fails after 30 min
instead of 10."""
EXECUTION_JWT_SECONDS = 600
"""`[execution_api] jwt_expiration_time` (default 600 s): the execution token a running task swaps
its workload token for (execution_api/routes/task_instances.py). The API server re-issues it
when a fifth of its life is left (execution_api/app.py JWTReissueMiddleware) and tasks call it
every 5 s (`[workers] min_heartbeat_interval`): it only expires for a task cut off from the API
server for 10 min, which `[scheduler] task_instance_heartbeat_timeout` (300 s) has failed first."""


def worst_execution_api_seconds() -> float:
    """The longest one execution-API call keeps a task waiting before it gives up."""
    return EXECUTION_API_RETRIES * EXECUTION_API_TIMEOUT_SECONDS + RETRY_WAITS_SECONDS


def api_workers(profile: ResourceProfile) -> int:
    """`[api] workers`: uvicorn processes per API server pod. 3.2 changed the default from 4 to 1,
    and config.yml (3.3.2) says roughly one per CPU core, scaling out with more API servers
    (apache/airflow#52270): one per core of the pod's CPU limit. Each process holds its own
    SQLAlchemy pool (lib/cluster/capacity.py counts them)."""
    return max(1, cpu_millicores(RESOURCE_PROFILES[profile]["apiServer"].cpu_limit) // 1000)


def airflow_config(
    dags_folder: str, parallelism: int, execution_api_server_url: str, profile: ResourceProfile
) -> dict[str, dict[str, str]]:
    """The chart's `config` (airflow.cfg) the program sets."""
    retry_wait_min, retry_wait_max = EXECUTION_API_RETRY_WAIT_SECONDS
    return {
        "core": {
            "dags_folder": dags_folder,
            # providers-fab 3.10.2 keeps the class here (auth_manager/fab_auth_manager.py).
            "auth_manager": FAB_AUTH_MANAGER,  # users and passwords (`airflow users create`)
            "load_examples": "False",
            # Per scheduler, the stack's whole task capacity: default_pool caps the total
            # (lib.airflow.values.capacity_values), one scheduler alone still fills it.
            "parallelism": str(parallelism),
            # Task pods report to the API server's execution API inside the cluster (3.3.2
            # config.yml: still `[core] execution_api_server_url`, default `{BASE_URL}/execution/`).
            "execution_api_server_url": execution_api_server_url,
        },
        # No `[scheduler] standalone_dag_processor`: neither 3.0.2's nor 3.3.2's config.yml has such
        # an option (the DAG processor is always separate in Airflow 3; the chart still writes it, unread).
        "scheduler": {
            "task_queued_timeout": str(float(TASK_QUEUED_TIMEOUT_SECONDS)),
            "task_instance_heartbeat_timeout": str(TASK_INSTANCE_HEARTBEAT_TIMEOUT_SECONDS),
        },
        "execution_api": {"jwt_expiration_time": str(EXECUTION_JWT_SECONDS)},
        "workers": {
            "execution_api_timeout": str(float(EXECUTION_API_TIMEOUT_SECONDS)),
            "execution_api_retries": str(EXECUTION_API_RETRIES),
            "execution_api_retry_wait_min": str(retry_wait_min),
            "execution_api_retry_wait_max": str(retry_wait_max),
        },
        "api": {"workers": str(api_workers(profile))},
        "kubernetes_executor": {
            "delete_worker_pods": "True",
            # Keep a failed pod for its events; lib/airflow/pod_cleanup.py deletes it after the retention.
            "delete_worker_pods_on_failure": "False",
            "worker_pods_creation_batch_size": "8",
        },
    }
