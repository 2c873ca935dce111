"""The Helm values of the stack's releases, checked before any resource is registered.

The release values are put together inside the components, from outputs (role ARNs, the
bucket, checksums) that exist only once resources do. Their shape does not depend on those: here
they are computed from the settings alone, the outputs standing in as placeholders, and the
user's values merged over them by the same functions the components call. So the same rules
refuse a bad `airflowValues`, `loadBalancerControllerValues` or `clusterAutoscalerValues` at
load time, naming the key: an override of a value the program owns (`lib.merge.refusals`), a
value breaking the Restricted Pod Security Standard (`lib.airflow.hardening.restricted_problem`),
and, for the Airflow chart, a value its own `values.schema.json` refuses
(`lib.airflow.chart_schema`). The add-on charts ship no schema (lib/airflow/schemas/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from config.airflow import AddonSettings, AirflowSettings
from config.errors import ConfigError
from config.keys import key_of
from lib.airflow.chart_schema import SCHEMAS, schema_version, values_problem
from lib.airflow.git_sync import dags_folder
from lib.airflow.secrets import SECRET_NAMES, secrets_rollout_values
from lib.airflow.secrets_backend import BackendTarget
from lib.airflow.telemetry import RemoteLogs, StatsdTarget
from lib.airflow.values import ChartInputs, airflow_values
from lib.cluster import helm_addons as addons
from lib.cluster.node_groups import NodeGroupRole
from lib.database.pgbouncer.tls import pgbouncer_rollout_values
from lib.merge import ValuesError, dotted

if TYPE_CHECKING:
    from config.settings import Settings

ROLE = "arn:aws:iam::000000000000:role/placeholder"
"""Stands in for an IAM role ARN output (the task pods', the remote logs', an add-on's)."""
CHECKSUM = "0" * 64  # a rollout checksum (keyed sha256, hex)
PLACEHOLDER = "placeholder"  # a name known only once resources exist (the cluster, the bucket, ...)


def airflow_chart_inputs(settings: Settings) -> ChartInputs:
    """What components/airflow.py gives `airflow_values`, from the settings alone."""
    a, o, t = settings.airflow, settings.observability, settings.teams
    backend = BackendTarget(t.prefixes, settings.region, ROLE) if t.secrets_manager_backend else None
    return ChartInputs(
        airflow_version=a.airflow_version,
        replicas=a.replicas,
        resource_profile=a.resource_profile,
        control_plane=settings.node_group(NodeGroupRole.AIRFLOW),
        workers=settings.node_group(NodeGroupRole.WORKERS),
        queue_groups=settings.queue_groups,
        secrets=SECRET_NAMES if a.create_admin_user else replace(SECRET_NAMES, admin_password=None),
        dags_claim=PLACEHOLDER,
        logs_claim=PLACEHOLDER,
        namespace=PLACEHOLDER,
        dags_folder=dags_folder(a.git_sync.sub_path if a.git_sync else None),
        worker_role_arn=ROLE,
        task_pod_size=a.task_pod_size,
        parallelism=settings.task_capacity,
        image_mirrors=settings.image_mirrors,
        statsd=StatsdTarget(PLACEHOLDER, 8125, PLACEHOLDER) if o.cluster_metrics else None,
        remote_logs=RemoteLogs(PLACEHOLDER, ROLE, settings.region, chained=backend is not None)
        if o.remote_logs
        else None,
        failed_pod_retention_hours=a.failed_pod_retention_hours,
        secrets_backend=backend,
        overrides=a.values,
    )


def airflow_chart_values(settings: Settings) -> dict[str, Any]:
    """The Airflow release's values as components/airflow.py builds them, placeholders for outputs.
    Raises `lib.merge.ValuesError` where the user's values are refused."""
    return airflow_values(
        airflow_chart_inputs(settings),
        ("pgbouncer_rollout_values", pgbouncer_rollout_values(CHECKSUM)),
        ("secrets_rollout_values", secrets_rollout_values(CHECKSUM)),
    )


def _refused(key: str, build: Callable[[], Any]) -> None:
    try:
        build()
    except ValuesError as err:
        raise ConfigError(f"{key}.{dotted(err.path)}", str(err)) from None


def _meets_the_schema(values: dict[str, Any], version: str) -> None:
    problem = values_problem(values, version)
    if problem is not None:
        raise problem


def check_chart_values(settings: Settings) -> None:
    """Refuse, naming the config key and the path in it, values of the user's that the program
    owns, that break the Restricted profile, or that the Airflow chart's schema refuses."""
    airflow_key = key_of(AirflowSettings, "values")
    version = settings.airflow.chart_version
    if schema_version(version) is None:
        raise ConfigError(
            key_of(AirflowSettings, "chart_version"),
            f"'{version}' has no values schema here to check {airflow_key} against; chart versions with one: "
            f"{', '.join(SCHEMAS)} and their patch releases (lib/airflow/schemas/README.md)",
        )
    _refused(airflow_key, lambda: _meets_the_schema(airflow_chart_values(settings), version))
    system = settings.node_group(NodeGroupRole.SYSTEM)
    mirrors = settings.image_mirrors
    lb = addons.load_balancer_controller_values(PLACEHOLDER, settings.region, PLACEHOLDER, system, mirrors)
    _refused(
        key_of(AddonSettings, "load_balancer_controller_values"),
        lambda: addons.release_values(
            addons.LOAD_BALANCER_CONTROLLER, lb, ROLE, settings.addons.load_balancer_controller_values
        ),
    )
    ca = addons.cluster_autoscaler_values(
        PLACEHOLDER, settings.region, settings.cluster.kubernetes_version, system, mirrors
    )
    _refused(
        key_of(AddonSettings, "cluster_autoscaler_values"),
        lambda: addons.release_values(addons.CLUSTER_AUTOSCALER, ca, ROLE, settings.addons.cluster_autoscaler_values),
    )
