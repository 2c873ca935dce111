"""Hibernation (node groups at zero, the database stopped, nothing stateful touched) and image mirrors."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from config.errors import ConfigError
from lib.images import mirrored, split_image
from offline.mocks import Plan, ProgramError, run_program
from scripts.cost import report
from tests.support.settings import settings_of

MNG = "eks:index:ManagedNodeGroup"
STATEFUL = (
    "aws:rds/instance:Instance",
    "aws:efs/fileSystem:FileSystem",
    "aws:kms/key:Key",
    "random:index/randomPassword:RandomPassword",
    "random:index/randomBytes:RandomBytes",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:PersistentVolume",
)
RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
GIT = {"gitSyncRepo": "https://git.example.com/data/dags.git"}
PTC_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"


@pytest.fixture(scope="module")
def hibernated() -> Plan:
    return run_program("dev", config_overrides={"hibernate": True})


def test_hibernation_puts_every_node_group_at_zero_under_a_new_name(dev: Plan, hibernated: Plan) -> None:
    awake = {r.name: r.inputs for r in dev.of_type(MNG)}
    asleep = {r.name: r.inputs for r in hibernated.of_type(MNG)}
    assert set(asleep) == {f"{name}-hibernated" for name in awake}
    for name, inputs in awake.items():
        scaling = asleep[f"{name}-hibernated"]["scalingConfig"]
        assert scaling == {"minSize": 0, "desiredSize": 0, "maxSize": inputs["scalingConfig"]["maxSize"]}
        assert asleep[f"{name}-hibernated"]["labels"] == inputs["labels"]  # pods select the same group


def test_hibernation_stops_the_database_and_touches_nothing_stateful(dev: Plan, hibernated: Plan) -> None:
    state = "aws:rds/instanceDesiredState:InstanceDesiredState"
    assert [r.inputs["state"] for r in dev.of_type(state)] == ["available"]
    assert [r.inputs["state"] for r in hibernated.of_type(state)] == ["stopped"]
    for type_ in STATEFUL:
        before = {r.urn: r.inputs for r in dev.of_type(type_)}
        assert before, type_
        assert {r.urn: r.inputs for r in hibernated.of_type(type_)} == before, type_


def test_the_hibernated_plan_costs_what_the_estimate_says(dev: Plan, hibernated: Plan) -> None:
    awake = report("dev", json.loads(json.dumps(dev.as_json())), "us-east-1", 8)
    asleep = report("dev", json.loads(json.dumps(hibernated.as_json())), "us-east-1", 8)
    assert asleep["idle_monthly"] == pytest.approx(awake["hibernated_monthly"], abs=0.01)
    # Asleep, nothing scales up and no task runs: the three figures are one.
    assert asleep["idle_monthly"] == asleep["busy_monthly"] == asleep["hibernated_monthly"]
    assert asleep["idle_monthly"] < awake["idle_monthly"]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("apache/airflow", ("docker.io", "apache/airflow")),
        ("redis", ("docker.io", "library/redis")),
        ("quay.io/prometheus/statsd-exporter", ("quay.io", "prometheus/statsd-exporter")),
        ("localhost:5000/x/y", ("localhost:5000", "x/y")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str]) -> None:
    assert split_image(image) == expected


def test_mirrored() -> None:
    mirrors = {"docker.io": "1.dkr.ecr.us-east-1.amazonaws.com/docker-hub/"}
    assert mirrored("apache/airflow", mirrors) == "1.dkr.ecr.us-east-1.amazonaws.com/docker-hub/apache/airflow"
    assert mirrored("quay.io/a/b", mirrors) == "quay.io/a/b"


def _images(values: Any) -> list[str]:
    if isinstance(values, dict):
        found = [values["repository"]] if isinstance(values.get("repository"), str) else []
        return found + [i for v in values.values() for i in _images(v)]
    return [i for v in values for i in _images(v)] if isinstance(values, list) else []


def test_the_pull_through_cache_serves_every_image_the_stack_runs() -> None:
    plan = run_program("prod", config_overrides={"imagePullThroughCacheCredentialArn": PTC_ARN, **GIT})
    rules = {r.inputs["ecrRepositoryPrefix"]: r.inputs for r in plan.of_type(RULE)}
    assert {p: r["upstreamRegistryUrl"] for p, r in rules.items()} == {
        "docker-hub": "registry-1.docker.io",
        "quay": "quay.io",
        "k8s": "registry.k8s.io",
        "ecr-public": "public.ecr.aws",
    }
    assert rules["docker-hub"]["credentialArn"] == PTC_ARN
    assert all("credentialArn" not in r for p, r in rules.items() if p != "docker-hub")
    host = "123456789012.dkr.ecr.us-east-1.amazonaws.com/"
    releases = {r.inputs["chart"]: r.inputs["values"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    airflow = releases["airflow"]
    assert airflow["defaultAirflowRepository"] == host + "docker-hub/apache/airflow"
    assert {k: v["repository"] for k, v in airflow["images"].items() if isinstance(v, dict) and "repository" in v} == {
        "pgbouncer": host + "docker-hub/apache/airflow",
        "pgbouncerExporter": host + "docker-hub/apache/airflow",
        "statsd": host + "quay/prometheus/statsd-exporter",
    }
    assert (
        releases["aws-load-balancer-controller"]["image"]["repository"]
        == host + "ecr-public/eks/aws-load-balancer-controller"
    )
    assert releases["cluster-autoscaler"]["image"]["repository"] == host + "k8s/autoscaling/cluster-autoscaler"
    git_sync = plan.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    assert git_sync["image"].startswith(host + "k8s/git-sync/git-sync:")
    policy = json.loads(
        plan.one("aws:iam/rolePolicy:RolePolicy", "airflow-prod-image-cache-node-import").inputs["policy"]
    )
    assert policy["Statement"][0]["Action"] == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert sorted(policy["Statement"][0]["Resource"]) == sorted(
        f"arn:aws:ecr:us-east-1:123456789012:repository/{p}/*" for p in rules
    )


def test_without_a_cache_images_come_from_their_registries(dev: Plan) -> None:
    assert not dev.of_type(RULE)
    airflow = next(
        r.inputs["values"] for r in dev.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow"
    )
    assert airflow["defaultAirflowRepository"] == "apache/airflow"


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        (
            {"imagePullThroughCacheCredentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub"},
            "imagePullThroughCacheCredentialArn",
            "ecr-pullthroughcache/",
        ),
        (
            {"imageRegistryMirrors": {"ghcr.io": "mirror.example.com/ghcr"}},
            "imageRegistryMirrors.ghcr.io",
            "registries accepted: docker.io",
        ),
        (
            {"imageRegistryMirrors": {"docker.io": "https://mirror.example.com"}},
            "imageRegistryMirrors.docker.io",
            "without a scheme",
        ),
        (
            {"imagePullThroughCacheCredentialArn": PTC_ARN, "imageRegistryMirrors": {"docker.io": "m.example.com"}},
            "imageRegistryMirrors",
            "applies only when imagePullThroughCacheCredentialArn is empty",
        ),
    ],
)
def test_bad_image_settings_name_the_key(overrides: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises((ConfigError, ProgramError)) as info:
        run_program("dev", config_overrides=overrides)
    err = info.value.cause if isinstance(info.value, ProgramError) else info.value
    assert isinstance(err, ConfigError)
    assert err.key == key and message in str(err)


def test_prod_pulls_through_the_cache_by_default() -> None:
    """Issue 23 item 3: prod's 43 task nodes come from zero; their images come through the ECR
    pull-through cache, with the stack file's Docker Hub credential."""
    settings = settings_of("prod")
    assert settings.pull_through_cache_credential_arn.startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/"
    )
    assert not settings.anonymous_task_pulls


def test_a_production_stack_pulling_airflow_anonymously_for_many_nodes_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of("prod", imagePullThroughCacheCredentialArn="")
    assert raised.value.key == "imagePullThroughCacheCredentialArn"
    assert "nodeGroups.workers.maxSize is 43" in str(raised.value)
    assert "10 pulls an hour per NAT address" in str(raised.value)
    # A docker.io mirror serves the burst instead.
    assert not settings_of(
        "prod", imagePullThroughCacheCredentialArn="", imageRegistryMirrors={"docker.io": "mirror.example.com/hub"}
    ).anonymous_task_pulls


def test_a_stack_that_is_not_production_is_warned_instead() -> None:
    groups = {
        "system": {"instanceTypes": ["t3.medium"], "minSize": 1, "desiredSize": 1, "maxSize": 2},
        "airflow": {"instanceTypes": ["t3.large"], "minSize": 1, "desiredSize": 1, "maxSize": 2},
        "workers": {
            "instanceTypes": ["t3.large"],
            "minSize": 0,
            "desiredSize": 0,
            "maxSize": 6,
            "taints": [{"key": "airflow.apache.org/workers", "value": "true", "effect": "NO_SCHEDULE"}],
        },
    }
    settings = settings_of("dev", nodeGroups=groups)
    warned = [w for w in settings.warnings(date(2026, 12, 6)) if w.startswith("imagePullThroughCacheCredentialArn")]
    assert len(warned) == 1 and "nodeGroups.workers.maxSize is 6" in warned[0]
    assert not [
        w
        for w in settings_of("dev").warnings(date(2026, 12, 6))  # dev's 5 task nodes: a handful
        if w.startswith("imagePullThroughCacheCredentialArn")
    ]
