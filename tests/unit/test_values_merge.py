"""How Helm values are put together (lib/merge.py): each of the program's values has one owning
fragment, the list keys add up, the user's overrides come last. Plain data, no Pulumi."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
import yaml

from lib.airflow.secret_files import command_variables
from lib.airflow.secrets import SECRET_NAMES
from lib.airflow.signing import PRIVATE_KEY_PATH_ENV
from lib.airflow.task_pod import TASK_POD_KEYS
from lib.airflow.telemetry import LOGS_CONNECTION_ID, RemoteLogs
from lib.airflow.values import CHART_LIST_KEYS, ChartInputs, airflow_values
from lib.cluster.helm_addons import (
    ADDON_LIST_KEYS,
    CLUSTER_AUTOSCALER,
    IRSA_ANNOTATION,
    LOAD_BALANCER_CONTROLLER,
    cluster_autoscaler_values,
    load_balancer_controller_values,
    release_values,
)
from lib.database.pgbouncer.tls import CA_VOLUME, pgbouncer_rollout_values
from lib.merge import ListKeys, OwnershipError, compose, deep_merge
from offline.chart import chart_dir
from tests.support.chart_values import CHART_VERSION, chart_schema
from tests.support.settings import settings_of

LISTS = ListKeys.of(named=("env",), unnamed=("tolerations",), volumeMounts="mountPath")
LOGS_ENV = f"AIRFLOW_CONN_{LOGS_CONNECTION_ID.upper()}"
REMOTE = RemoteLogs(bucket="logs", role_arn="arn:aws:iam::123456789012:role/logs", region="us-east-1")

CMD_NAMES = [e["name"] for e in command_variables()]  # Airflow's secrets as files (secret_files.py)


def env(*names: str, value: str = "v") -> list[dict[str, str]]:
    return [{"name": n, "value": value} for n in names]


# --------------------------------------------------------------------------- the program's fragments


def test_fragments_setting_other_values_compose_and_stay_unmodified() -> None:
    a: dict[str, Any] = {"scheduler": {"replicas": 2, "env": env("A")}, "tolerations": [{"key": "k"}]}
    b: dict[str, Any] = {
        "scheduler": {"resources": {"cpu": 1}, "env": env("B")},
        "tolerations": [{"key": "k"}, {"key": "j"}],
    }
    composed = compose([("a", a), ("b", b)], LISTS)
    assert composed == {
        "scheduler": {"replicas": 2, "resources": {"cpu": 1}, "env": env("A", "B")},
        "tolerations": [{"key": "k"}, {"key": "j"}],  # an equal entry once
    }
    assert a == {"scheduler": {"replicas": 2, "env": env("A")}, "tolerations": [{"key": "k"}]}
    composed["scheduler"]["env"].append({"name": "C"})
    assert b["scheduler"]["env"] == env("B")


@pytest.mark.parametrize(
    ("first", "second", "path"),
    [
        ({"scheduler": {"replicas": 2}}, {"scheduler": {"replicas": 3}}, "scheduler.replicas"),
        ({"statsd": {"enabled": True}}, {"statsd": {"enabled": True}}, "statsd.enabled"),  # even the same value
        ({"args": ["a"]}, {"args": ["b"]}, "args"),  # a list outside the list keys is one value
        ({"x": {"y": 1}}, {"x": "text"}, "x"),
        ({"env": env("A", value="1")}, {"env": env("A", value="2")}, "env[A].value"),
        (
            {"volumeMounts": [{"name": "t", "mountPath": "/t"}]},
            {"volumeMounts": [{"name": "u", "mountPath": "/t"}]},
            "volumeMounts[/t].name",
        ),
    ],
)
def test_two_fragments_setting_one_value_is_an_error_naming_both(
    first: dict[str, Any], second: dict[str, Any], path: str
) -> None:
    with pytest.raises(OwnershipError) as error:
        compose([("first", first), ("other", {"z": 1}), ("second", second)], LISTS)
    assert str(error.value) == f"`{path}` is set by both first and second: each value has one owner"


def test_the_owner_named_is_the_fragment_that_set_the_value() -> None:
    fragments: list[tuple[str, dict[str, Any]]] = [
        ("base", {"s": {"a": 1}}),
        ("mid", {"s": {"b": {"c": 1}}}),
        ("late", {"s": {"b": {"c": 2}}}),
    ]
    with pytest.raises(OwnershipError, match=re.escape("`s.b.c` is set by both mid and late")):
        compose(fragments, LISTS)


def test_named_entries_of_two_fragments_merge_field_by_field() -> None:
    composed = compose(
        [("a", {"env": [{"name": "A", "value": "1"}]}), ("b", {"env": [{"name": "A", "valueFrom": {"x": 1}}]})], LISTS
    )
    assert composed == {"env": [{"name": "A", "value": "1", "valueFrom": {"x": 1}}]}


def test_airflow_values_refuses_a_fragment_that_sets_a_computed_value() -> None:
    inputs = chart_inputs()
    with pytest.raises(OwnershipError, match=re.escape("`scheduler.replicas` is set by both airflow_values and extra")):
        airflow_values(inputs, ("extra", {"scheduler": {"replicas": 5}}))
    with pytest.raises(
        OwnershipError, match=re.escape("`securityContexts.pod.runAsUser` is set by both hardening_values and extra")
    ):
        airflow_values(inputs, ("extra", {"securityContexts": {"pod": {"runAsUser": 0}}}))


def test_fragments_add_to_the_chart_list_keys() -> None:
    """PgBouncer's CA volume, hardening's /tmp and the logs connection sit beside another fragment's entries."""
    extra = {
        "volumes": [{"name": "cache", "emptyDir": {}}],
        "workers": {"kubernetes": {"env": env("FROM_EXTRA")}},
        "pgbouncer": {"extraVolumes": [{"name": "more", "emptyDir": {}}]},
    }
    inputs = replace(chart_inputs(), remote_logs=REMOTE)
    v = airflow_values(inputs, ("pgbouncer_rollout_values", pgbouncer_rollout_values("c")), ("extra", extra))
    assert [x["name"] for x in v["volumes"]] == ["tmp", "cache"]
    assert [e["name"] for e in v["workers"]["kubernetes"]["env"]] == [LOGS_ENV, "FROM_EXTRA"]
    assert [x["name"] for x in v["pgbouncer"]["extraVolumes"]] == [CA_VOLUME, "more"]


# --------------------------------------------------------------------------- the user's overrides


def test_without_list_keys_the_merge_is_helms() -> None:
    base = {"a": {"b": 1, "env": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"env": [3]}, "e": {"f": None}}) == {"a": {"b": 1, "env": [3]}, "d": 1, "e": {}}
    assert deep_merge(base, {"a": None}) == {"d": 1}
    assert base == {"a": {"b": 1, "env": [1, 2]}, "d": 1}


def test_the_users_entries_add_to_the_programs_and_replace_a_named_one_in_place() -> None:
    program = {
        "env": env("A", "B"),
        "tolerations": [{"key": "k", "effect": "NoSchedule"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "args": ["x"],
    }
    user = {
        "env": [{"name": "B", "value": "mine"}, {"name": "C", "value": "v"}, {"name": "A", "value": "v"}],
        "tolerations": [{"key": "k", "effect": "NoSchedule"}, {"key": "gpu", "effect": "NoSchedule"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/scratch"}],  # another path of the same volume
        "args": ["y"],
    }
    assert deep_merge(program, user, LISTS) == {
        "env": [{"name": "A", "value": "v"}, {"name": "B", "value": "mine"}, {"name": "C", "value": "v"}],
        "tolerations": [{"key": "k", "effect": "NoSchedule"}, {"key": "gpu", "effect": "NoSchedule"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "tmp", "mountPath": "/scratch"}],
        "args": ["y"],  # not a list key: replaced, as Helm does
    }
    removed = deep_merge(program, {"env": None}, LISTS)
    assert "env" not in removed and removed["args"] == ["x"]  # null still removes the whole list
    assert deep_merge(program, {"tolerations": []}, LISTS)["tolerations"] == program["tolerations"]
    assert deep_merge({}, {"env": env("A")}, LISTS) == {"env": env("A")}


def test_the_users_airflow_values_keep_the_programs_entries() -> None:
    user = {
        "env": env("TEAM"),
        "volumes": [{"name": "scratch", "emptyDir": {}}],
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
        "apiServer": {"env": env("API_TEAM")},
        "workers": {"kubernetes": {"env": env("TASK_TEAM"), "tolerations": [{"key": "gpu", "operator": "Exists"}]}},
    }
    v = airflow_values(replace(chart_inputs(), remote_logs=REMOTE, overrides=user))
    assert [e["name"] for e in v["env"]] == ["TEAM"]
    assert [x["name"] for x in v["volumes"]] == ["tmp", "scratch"]
    assert [m["mountPath"] for m in v["volumeMounts"]] == ["/tmp", "/scratch"]
    assert [e["name"] for e in v["apiServer"]["env"]] == [LOGS_ENV, PRIVATE_KEY_PATH_ENV, *CMD_NAMES, "API_TEAM"]
    task = v["workers"]["kubernetes"]
    assert [e["name"] for e in task["env"]] == [LOGS_ENV, "TASK_TEAM"]
    assert [t["key"] for t in task["tolerations"]] == ["airflow.apache.org/workers", "gpu"]
    pod = yaml.safe_load(v["podTemplate"])
    (container,) = pod["spec"]["containers"]
    assert [e["name"] for e in container["env"]] == [
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW_HOME",
        "TEAM",
        LOGS_ENV,
        "TASK_TEAM",
    ]
    assert {"name": "scratch", "mountPath": "/scratch"} in container["volumeMounts"]
    assert [t["key"] for t in pod["spec"]["tolerations"]] == ["airflow.apache.org/workers", "gpu"]
    # The user's entry of the same name replaces the program's: the user chose it.
    mine = {"name": LOGS_ENV, "value": "{}"}
    replaced = airflow_values(replace(chart_inputs(), remote_logs=REMOTE, overrides={"triggerer": {"env": [mine]}}))
    assert replaced["triggerer"]["env"] == [mine, *command_variables()]


def test_an_addons_user_values_add_tolerations_and_volumes_to_the_programs() -> None:
    tainted = settings_of("dev").node_group("workers")  # a group with a taint: its toleration is the program's
    computed = load_balancer_controller_values("c", "us-east-1", "vpc-1", tainted)
    gpu = {"key": "nvidia.com/gpu", "operator": "Exists"}
    volume, mount = {"name": "certs", "secret": {"secretName": "ca"}}, {"name": "certs", "mountPath": "/certs"}
    user = {"tolerations": [gpu], "extraVolumes": [volume], "extraVolumeMounts": [mount], "logLevel": "debug"}
    v = release_values(LOAD_BALANCER_CONTROLLER, computed, "arn:aws:iam::123456789012:role/lb", user)
    assert v["tolerations"] == [*computed["tolerations"], gpu] and len(computed["tolerations"]) == 1
    assert (v["extraVolumes"], v["extraVolumeMounts"], v["logLevel"]) == ([volume], [mount], "debug")
    assert v["serviceAccount"]["annotations"] == {IRSA_ANNOTATION: "arn:aws:iam::123456789012:role/lb"}
    autoscaler = cluster_autoscaler_values("c", "us-east-1", "1.33", tainted)
    assert release_values(CLUSTER_AUTOSCALER, autoscaler, "arn", {"tolerations": [gpu]})["tolerations"] == [
        *autoscaler["tolerations"],
        gpu,
    ]


def test_an_addons_computed_values_may_not_set_the_roles_annotation() -> None:
    computed = {"serviceAccount": {"create": True, "annotations": {IRSA_ANNOTATION: "arn:other"}}}
    with pytest.raises(OwnershipError) as error:
        release_values(LOAD_BALANCER_CONTROLLER, computed, "arn:role", {})
    assert str(error.value) == (
        f"`serviceAccount.annotations.{IRSA_ANNOTATION}` is set by both computed values and irsa_values: "
        "each value has one owner"
    )


# --------------------------------------------------------------------------- the list keys


def list_keys_of_the_chart() -> set[str]:
    """Every key whose default in the chart's values.yaml is a list."""
    values = yaml.safe_load((chart_dir(CHART_VERSION) / "values.yaml").read_text())
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, list):
                    found.add(key)
                walk(value)

    walk(values)
    return found


def test_every_chart_list_key_is_a_list_of_the_chart() -> None:
    assert set(CHART_LIST_KEYS.identity) <= list_keys_of_the_chart()
    assert set(CHART_LIST_KEYS.identity) == {
        "env",
        "secret",
        "volumes",
        "volumeMounts",
        "extraVolumes",
        "extraVolumeMounts",
        "extraContainers",
        "extraInitContainers",
        "tolerations",
    }
    assert "extraEnv" not in CHART_LIST_KEYS and "args" not in CHART_LIST_KEYS  # a string; positional
    assert ADDON_LIST_KEYS.identity == {"extraVolumes": "name", "extraVolumeMounts": "mountPath", "tolerations": None}


def test_the_task_pod_keys_are_the_shared_workers_keys_the_chart_deprecates() -> None:
    workers = chart_schema()["properties"]["workers"]["properties"]
    for key in TASK_POD_KEYS:
        assert key in workers["kubernetes"]["properties"], key
        description = workers[key]["description"]
        assert "(deprecated" in description and f"``workers.kubernetes.{key}``" in description, key


def chart_inputs() -> ChartInputs:
    settings = settings_of("dev")
    a = settings.airflow
    return ChartInputs(
        airflow_version=a.airflow_version,
        replicas=a.replicas,
        resource_profile=a.resource_profile,
        control_plane=settings.node_group("airflow"),
        workers=settings.node_group("workers"),
        secrets=SECRET_NAMES,
        dags_claim="claim-dags",
        logs_claim="claim-logs",
        namespace="airflow",
        dags_folder="/opt/airflow/dags",
    )
