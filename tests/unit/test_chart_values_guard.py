"""The user's chart values checked at load time (config/chart_values.py): the Airflow chart's own
schema, the values the program owns (declared once, with `lib.merge.owned`, where it sets them),
and the Restricted Pod Security Standard. Each refusal names `airflowValues.<path>` (or the
add-on's key) and what to do instead."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from config.chart_values import airflow_chart_inputs, airflow_chart_values
from config.errors import ConfigError
from lib.airflow.chart_schema import SCHEMA_DIR, SCHEMAS, schema_version, values_problem
from lib.airflow.secret_files import CONFIG_FILES, DROPPED_VARIABLES, VOLUME
from lib.airflow.signing import KEY_VOLUME
from lib.airflow.values import REPLICA_KEYS, owned_paths
from lib.cluster import helm_addons as addons
from lib.merge import OverrideError, Path, compose_owned, dotted, owned, refusals
from offline.chart import values_schema
from tests.support.settings import settings_of

RESTRICTED = "Restricted Pod Security Standard"
SAFE_CONTEXT: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
SAFE_CONTAINER: dict[str, Any] = {"name": "sidecar", "image": "busybox:1.36", "securityContext": SAFE_CONTEXT}


def refusal(**overrides: Any) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        settings_of("dev", **overrides)
    return error.value


def at(values: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """`values` with `value` set at `path` (maps created on the way)."""
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return values


def prod_owned() -> dict[Path, str]:
    """Every path the Airflow values own, with the remote logs and metrics on (prod's settings)."""
    inputs = airflow_chart_inputs(settings_of("prod"))
    assert inputs.remote_logs is not None and inputs.statsd is not None
    return owned_paths(inputs)


OWNED = prod_owned()


def outermost(path: Path) -> Path:
    """The owned path that decides for `path`: its shortest owned prefix (a value inside an owned map)."""
    return next(path[:n] for n in range(1, len(path) + 1) if path[:n] in OWNED)


# --------------------------------------------------------------------------- the chart's schema


@pytest.mark.parametrize(
    ("values", "key", "says"),
    [
        ({"scheduler": {"replica": 3}}, "airflowValues.scheduler.replica", "did you mean `replicas`?"),
        (
            {"schedulr": {"replicas": 3}},
            "airflowValues.schedulr",
            "is not a value of chart 1.22.0: did you mean `scheduler`?",
        ),
        (
            {"apiServer": {"resources": {"limits": {"cpu": [1]}}}},
            "airflowValues.apiServer.resources.limits.cpu",
            "accepted: string or number",
        ),
        (
            {"config": {"core": {"load_examples": {"x": 1}}}},
            "airflowValues.config.core.load_examples",
            "accepted: boolean or integer or number or string",
        ),
        ({"env": [{"name": "A"}]}, "airflowValues.env[0]", "'value' is a required property"),
        (
            {"triggerer": {"terminationGracePeriodSeconds": "60s"}},
            "airflowValues.triggerer.terminationGracePeriodSeconds",
            "is refused by chart 1.22.0: accepted: integer",
        ),
    ],
)
def test_a_value_the_charts_schema_refuses_is_refused_at_load_naming_its_path(
    values: dict[str, Any], key: str, says: str
) -> None:
    error = refusal(airflowValues=values)
    assert error.key == key
    assert says in str(error)


def test_a_value_the_schema_accepts_is_merged() -> None:
    settings = settings_of("dev", airflowValues={"triggerer": {"terminationGracePeriodSeconds": 120}})
    assert airflow_chart_values(settings)["triggerer"]["terminationGracePeriodSeconds"] == 120


def test_the_schema_is_the_charts_own_with_its_digest() -> None:
    for version, digest in SCHEMAS.items():
        text = (SCHEMA_DIR / f"values-{version}.schema.json").read_bytes()
        assert hashlib.sha256(text).hexdigest() == digest
        assert json.loads(text) == values_schema(version)


def test_a_chart_version_is_checked_with_its_minors_schema_or_refused() -> None:
    assert schema_version("1.22.0") == schema_version("1.22.1") == "1.22.0"
    assert schema_version("1.23.0") is None
    assert settings_of("dev", airflowChartVersion="1.22.1").airflow.chart_version == "1.22.1"
    error = refusal(airflowChartVersion="1.23.0")
    assert error.key == "airflowChartVersion"
    assert "has no values schema here to check airflowValues against" in str(error)


# --------------------------------------------------------------------------- the program's values


def test_the_owned_paths_are_the_programs_named_values() -> None:
    expected: dict[Path, str] = {
        **{(section, "replicas"): f"set {key}" for section, key in REPLICA_KEYS.items()},
        ("config", "core", "parallelism"): "set airflowParallelism",
        ("images",): "set airflowVersion",
        ("workers", "kubernetes", "serviceAccount", "name"): "airflow_worker_role_arn",
        ("workers", "kubernetes", "serviceAccount", "annotations"): "airflow_worker_role_arn",
        ("securityContexts",): RESTRICTED,
        ("workers", "kubernetes", "securityContexts"): RESTRICTED,
        ("pgbouncer", "securityContexts"): RESTRICTED,
        ("networkPolicies",): "NetworkPolicies",
        ("podTemplate",): "workers.kubernetes",
        ("executor",): "KubernetesExecutor",
        ("enableBuiltInSecretEnvVars", "AIRFLOW__API_AUTH__JWT_SECRET"): "signs JWTs with its own key pair",
        **{
            ("enableBuiltInSecretEnvVars", var): "reads its secrets from mounted files"
            for var in (*CONFIG_FILES, *DROPPED_VARIABLES)
        },
    }
    for path, via in expected.items():
        assert via in OWNED[path], path
    assert len(OWNED) == 42


@pytest.mark.parametrize("path", sorted(OWNED), ids=dotted)
def test_every_owned_value_is_refused_even_at_the_programs_own_value(path: Path) -> None:
    program = airflow_chart_values(settings_of("dev"))
    node: Any = program
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    error = refusal(airflowValues=at({}, path, node if node is not None else "x"))
    assert error.key == f"airflowValues.{dotted(outermost(path))}"
    assert str(error).endswith(f"is the program's: {OWNED[outermost(path)]}")


@pytest.mark.parametrize("path", sorted({p for p in OWNED if len(p) > 1 and outermost(p) == p}), ids=dotted)
def test_a_parent_of_an_owned_value_set_to_null_or_replaced_is_refused(path: Path) -> None:
    for value in (None, "x"):
        error = refusal(airflowValues=at({}, path[:-1], value))
        assert error.key == f"airflowValues.{dotted(path[:-1])}"
        assert "would remove or replace" in str(error)


def test_the_refusal_is_derived_from_the_marks() -> None:
    marks: dict[Path, str] = {("a", "b"): "set aB"}
    assert refusals(marks, {"a": {"c": 1}}) == []
    assert refusals(marks, {"a": {"b": 1}}) == [(("a", "b"), ("a", "b"), "set aB")]
    assert refusals(marks, {"a": None}) == [(("a",), ("a", "b"), "set aB")]
    assert refusals(marks, {"a": [1]}) == [(("a",), ("a", "b"), "set aB")]
    values, marked = compose_owned([("f", {"a": {"b": owned(1, "set aB"), "c": 2}})])
    assert (values, marked) == ({"a": {"b": 1, "c": 2}}, marks)


def test_a_value_the_program_sets_but_does_not_own_stays_the_users() -> None:
    values = {
        "scheduler": {"resources": {"limits": {"memory": "6Gi"}}},
        "config": {"core": {"load_examples": "True"}},
        # A KubernetesPodOperator's task pod calls the Kubernetes API (docs/security.md, Hardened pods).
        "workers": {"kubernetes": {"serviceAccount": {"automountServiceAccountToken": True}}},
    }
    merged = airflow_chart_values(settings_of("dev", airflowValues=values))
    assert merged["scheduler"]["resources"]["limits"]["memory"] == "6Gi"
    assert merged["config"]["core"]["load_examples"] == "True"
    assert merged["workers"]["kubernetes"]["serviceAccount"] == {
        "create": True,
        "name": "airflow-worker",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::000000000000:role/placeholder"},
        "automountServiceAccountToken": True,
    }


# --------------------------------------------------------------------------- Restricted pod security


@pytest.mark.parametrize(
    ("values", "path", "says"),
    [
        ({"securityContexts": {"pod": {"runAsUser": 0}}}, "securityContexts", "is the program's"),
        (
            {"scheduler": {"securityContexts": {"pod": {"runAsUser": 0}}}},
            "scheduler.securityContexts",
            "is the program's",
        ),
        ({"apiServer": {"securityContext": {"runAsNonRoot": False}}}, "apiServer.securityContext", "is the program's"),
        (
            {"workers": {"kubernetes": {"securityContexts": {"container": {"privileged": True}}}}},
            "workers.kubernetes.securityContexts",
            "is the program's",
        ),
        ({"triggerer": {"hostNetwork": True}}, "triggerer.hostNetwork", "is refused"),
        (
            {
                "scheduler": {
                    "extraContainers": [{**SAFE_CONTAINER, "securityContext": {**SAFE_CONTEXT, "privileged": True}}]
                }
            },
            "scheduler.extraContainers[0]",
            "may not be privileged",
        ),
        (
            {"scheduler": {"extraContainers": [{"name": "root", "image": "busybox"}]}},
            "scheduler.extraContainers[0]",
            "needs securityContext.allowPrivilegeEscalation: false",
        ),
        (
            {
                "dagProcessor": {
                    "extraInitContainers": [
                        {
                            **SAFE_CONTAINER,
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                            },
                        }
                    ]
                }
            },
            "dagProcessor.extraInitContainers[0]",
            "may add no capability but NET_BIND_SERVICE",
        ),
        (
            {
                "apiServer": {
                    "extraContainers": [{**SAFE_CONTAINER, "securityContext": {**SAFE_CONTEXT, "runAsUser": 0}}]
                }
            },
            "apiServer.extraContainers[0]",
            "may not run as root",
        ),
        (
            {"apiServer": {"extraContainers": [{**SAFE_CONTAINER, "ports": [{"containerPort": 80, "hostPort": 80}]}]}},
            "apiServer.extraContainers[0]",
            "may not use a hostPort",
        ),
        ({"volumes": [{"name": "host", "hostPath": {"path": "/"}}]}, "volumes[0]", "a hostPath volume is refused"),
        (
            {"scheduler": {"extraVolumes": [{"name": "sock", "hostPath": {"path": "/var/run"}}]}},
            "scheduler.extraVolumes[0]",
            "a hostPath volume is refused",
        ),
        ({"podTemplate": "apiVersion: v1\nkind: Pod\n"}, "podTemplate", "is the program's"),
    ],
)
def test_the_restricted_profile_cannot_be_broken_from_values(values: dict[str, Any], path: str, says: str) -> None:
    error = refusal(airflowValues=values)
    assert error.key == f"airflowValues.{path}"
    assert says in str(error)
    assert RESTRICTED in str(error) or path == "podTemplate"


def test_a_container_and_volume_that_keep_the_restricted_profile_are_accepted() -> None:
    volume = {"name": "scratch", "emptyDir": {}}
    values = {"scheduler": {"extraContainers": [SAFE_CONTAINER], "extraVolumes": [volume]}}
    merged = airflow_chart_values(settings_of("dev", airflowValues=values))
    assert merged["scheduler"]["extraContainers"] == [SAFE_CONTAINER]
    # After the program's own: the JWT signing key (lib/airflow/signing.py), Airflow's secrets (secret_files.py).
    assert [v["name"] for v in merged["scheduler"]["extraVolumes"]] == [KEY_VOLUME, VOLUME, "scratch"]
    assert merged["scheduler"]["extraVolumes"][2] == volume


# --------------------------------------------------------------------------- the add-ons


@pytest.mark.parametrize(
    ("key", "values", "path", "says"),
    [
        ("loadBalancerControllerValues", {"replicaCount": 3}, "replicaCount", "the replicas the program runs"),
        ("loadBalancerControllerValues", {"image": {"tag": "v9"}}, "image", "imageRegistryMirrors"),
        ("loadBalancerControllerValues", {"clusterName": "other"}, "clusterName", "the stack's cluster"),
        ("loadBalancerControllerValues", {"enableWaf": True}, "enableWaf", "target group"),
        ("loadBalancerControllerValues", {"serviceAccount": {"name": "x"}}, "serviceAccount.name", "IRSA"),
        ("loadBalancerControllerValues", {"serviceAccount": None}, "serviceAccount", "would remove or replace"),
        (
            "clusterAutoscalerValues",
            {"rbac": {"serviceAccount": {"annotations": {addons.IRSA_ANNOTATION: "arn:aws:iam::1:role/x"}}}},
            f"rbac.serviceAccount.annotations.{addons.IRSA_ANNOTATION}",
            "IRSA",
        ),
        ("clusterAutoscalerValues", {"autoDiscovery": {"tags": []}}, "autoDiscovery", "the stack's cluster"),
        ("clusterAutoscalerValues", {"image": {"tag": "v1.30.0"}}, "image", "Kubernetes minor"),
        (
            "loadBalancerControllerValues",
            {"securityContext": {"readOnlyRootFilesystem": False}},
            "securityContext",
            "Restricted",
        ),
        ("clusterAutoscalerValues", {"containerSecurityContext": {}}, "containerSecurityContext", "Restricted"),
        ("clusterAutoscalerValues", {"securityContext": {"runAsUser": 0}}, "securityContext", "Restricted"),
    ],
)
def test_an_addons_owned_values_are_refused(key: str, values: dict[str, Any], path: str, says: str) -> None:
    overrides: dict[str, Any] = {key: values}
    error = refusal(**overrides)
    assert error.key == f"{key}.{path}"
    assert says in str(error)


def test_an_addons_other_values_stay_the_users() -> None:
    settings = settings_of(
        "dev",
        loadBalancerControllerValues={"serviceAccount": {"annotations": {"example.com/team": "platform"}}},
        clusterAutoscalerValues={"extraArgs": {"expander": "priority"}},
    )
    assert settings.addons.cluster_autoscaler_values == {"extraArgs": {"expander": "priority"}}


def test_an_override_error_says_which_owned_value_a_parent_would_remove() -> None:
    error = OverrideError(("scheduler",), ("scheduler", "replicas"), "set airflowSchedulerReplicas")
    assert str(error) == (
        "would remove or replace `scheduler.replicas`, which is the program's: set airflowSchedulerReplicas"
    )


def test_a_problem_found_again_is_the_same_in_a_new_error() -> None:
    values = {"scheduler": {"replicas": "two"}}
    first, again = values_problem(values, "1.22.0"), values_problem(values, "1.22.0")
    assert first is not None and again is not None and first is not again
    assert (again.path, str(again)) == (first.path, str(first)) == (("scheduler", "replicas"), str(first))
    assert str(first).startswith('"two" is refused by chart 1.22.0: accepted: integer')


def test_values_that_are_not_json_as_they_are_are_checked_as_they_are() -> None:
    """jsonschema's arrays are lists: a tuple is refused, as it was before answers were kept by JSON text."""
    assert values_problem({"scheduler": {"args": ["a"]}}, "1.22.0") is None
    problem = values_problem({"scheduler": {"args": ("a",)}}, "1.22.0")
    assert problem is not None and problem.path == ("scheduler", "args")
