"""Sleep (`hibernate: true`: only what holds data stays, nothing billed by the hour) and image mirrors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from lib.images import mirrored, split_image
from offline.mocks import Plan, ProgramError, run_program
from scripts.cost import render, report
from tests.support.plans import plan_once
from tests.support.settings import settings_of

MNG = "eks:index:ManagedNodeGroup"
# What holds data, or the state that brings it back: asleep, each is the same resource as awake.
STATEFUL = (
    "aws:rds/instance:Instance",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:efs/fileSystem:FileSystem",
    "aws:efs/accessPoint:AccessPoint",
    "aws:efs/mountTarget:MountTarget",
    "aws:kms/key:Key",
    "aws:kms/alias:Alias",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:s3/bucket:Bucket",
    "aws:sns/topic:Topic",
    "random:index/randomPassword:RandomPassword",
    "random:index/randomBytes:RandomBytes",
    "random:index/randomId:RandomId",
    "tls:index/privateKey:PrivateKey",
)
# Of those, what is never dropped by a sleep (the nodes' volume key is: it encrypts only their root volumes).
DATA = (
    "aws:rds/instance:Instance",
    "aws:efs/fileSystem:FileSystem",
    "aws:efs/accessPoint:AccessPoint",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:s3/bucket:Bucket",
    "random:index/randomPassword:RandomPassword",
    "random:index/randomBytes:RandomBytes",
    "random:index/randomId:RandomId",
    "tls:index/privateKey:PrivateKey",
)
# Billed by the hour (or by the month, prorated hourly) and holding no data: none stays asleep.
HOURLY = (
    "eks:index:Cluster",
    MNG,
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/instance:Instance",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:eks/addon:Addon",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
    "kubernetes:helm.sh/v3:Release",
)
RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
GIT = {"gitSyncRepo": "https://git.example.com/data/dags.git"}
PTC_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
# Every part on: the container log groups, the task logs bucket, the image cache, an alarm e-mail.
EVERYTHING = {
    "clusterMetrics": True,
    "remoteLogs": True,
    "imagePullThroughCacheCredentialArn": PTC_ARN,
    "alarmEmails": ["oncall@example.com"],
}


@pytest.fixture(scope="module")
def hibernated() -> Plan:
    return plan_once("dev", {"hibernate": True})


@pytest.fixture(scope="module")
def everything() -> tuple[Plan, Plan]:
    return plan_once("dev", EVERYTHING), plan_once("dev", {**EVERYTHING, "hibernate": True})


def _stateful(plan: Plan, types: tuple[str, ...]) -> dict[str, tuple[str, Any]]:
    return {r.urn: (r.type, r.inputs) for r in plan.resources if r.type in types}


def _asleep_keeps_data_as_is(awake: Plan, asleep: Plan) -> None:
    kept, before = _stateful(asleep, STATEFUL), _stateful(awake, STATEFUL)
    assert kept, "nothing stateful asleep"
    for urn, (type_, inputs) in kept.items():
        assert urn in before, urn  # the same resource: a sleep and a wake touch none of them
        assert before[urn] == (type_, inputs), urn
    # Nothing that holds data is dropped; of the keys, only the nodes' and the NAT instance's volume keys.
    assert _stateful(asleep, DATA) == _stateful(awake, DATA)
    assert {u.rsplit("::", 1)[1] for u in set(before) - set(kept)} == {
        "airflow-dev-node-volume-key",
        "airflow-dev-node-volume-key-alias",
        "airflow-dev-nat-instance-key",
        "airflow-dev-nat-instance-key-alias",
    }


def test_asleep_every_stateful_resource_is_the_awake_one(dev: Plan, hibernated: Plan) -> None:
    _asleep_keeps_data_as_is(dev, hibernated)
    state = "aws:rds/instanceDesiredState:InstanceDesiredState"
    assert [r.inputs["state"] for r in dev.of_type(state)] == ["available"]
    assert [r.inputs["state"] for r in hibernated.of_type(state)] == ["stopped"]


def test_asleep_with_every_part_on_keeps_logs_bucket_and_topic(everything: tuple[Plan, Plan]) -> None:
    awake, asleep = everything
    _asleep_keeps_data_as_is(awake, asleep)
    groups = {r.inputs["name"] for r in asleep.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {"/aws/containerinsights/airflow-dev/application", "/aws/eks/airflow-dev/cluster"} <= groups
    assert len(asleep.of_type("aws:s3/bucket:Bucket")) == len(asleep.of_type("aws:sns/topic:Topic")) == 1
    assert asleep.of_type("aws:sns/topicSubscription:TopicSubscription")  # nobody re-confirms an e-mail
    assert asleep.outputs["task_logs_bucket_name"] == awake.outputs["task_logs_bucket_name"] != ""
    assert asleep.outputs["task_logs_role_arn"] == "" != awake.outputs["task_logs_role_arn"]
    assert not asleep.of_type(RULE)


@pytest.mark.parametrize("which", ["dev", "everything"])
def test_asleep_nothing_billed_by_the_hour_and_nothing_in_kubernetes(
    which: str, hibernated: Plan, everything: tuple[Plan, Plan]
) -> None:
    asleep = hibernated if which == "dev" else everything[1]
    types = {r.type for r in asleep.resources}
    assert not types & set(HOURLY), types & set(HOURLY)
    assert not {t for t in types if t.startswith(("kubernetes:", "eks:", "pulumi:providers:kubernetes"))}
    awake = plan_once("dev") if which == "dev" else everything[0]
    assert types < {r.type for r in awake.resources}  # sleep adds nothing


def test_the_task_pods_role_stays_with_a_trust_no_one_can_use(dev: Plan, hibernated: Plan) -> None:
    """Teams attach policies to it (IAM refuses to delete a role with policies attached): it stays,
    the same role, and waking gives it back its IRSA trust."""
    name = "airflow-dev-airflow-worker-role"
    awake, asleep = dev.one("aws:iam/role:Role", name), hibernated.one("aws:iam/role:Role", name)
    assert awake.urn == asleep.urn
    assert {k: v for k, v in awake.inputs.items() if k != "assumeRolePolicy"} == {
        k: v for k, v in asleep.inputs.items() if k != "assumeRolePolicy"
    }
    assert json.loads(asleep.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}
    ]
    assert hibernated.outputs["airflow_worker_role_arn"] == dev.outputs["airflow_worker_role_arn"]


def test_asleep_the_node_subnets_lose_their_route_out(dev: Plan, hibernated: Plan) -> None:
    def routes(plan: Plan) -> dict[str, Any]:
        return {r.name: r.inputs.get("routes") for r in plan.of_type("aws:ec2/routeTable:RouteTable")}

    awake, asleep = routes(dev), routes(hibernated)
    assert set(awake) == set(asleep)
    assert [n for n in awake if n.startswith("airflow-dev-nodes-rt")] == [
        "airflow-dev-nodes-rt-a",
        "airflow-dev-nodes-rt-b",
        "airflow-dev-nodes-rt-c",
    ]
    for name in awake:
        if name.startswith("airflow-dev-nodes-rt"):
            assert [r["cidrBlock"] for r in awake[name]] == ["0.0.0.0/0"] and asleep[name] == [], name
        else:
            assert asleep[name] == awake[name], name


def test_asleep_the_contract_outputs_are_all_there_empty_where_the_part_is_gone(dev: Plan, hibernated: Plan) -> None:
    assert list(hibernated.outputs) == list(dev.outputs)
    assert hibernated.secret_outputs == dev.secret_outputs
    gone = {
        "cluster_name",
        "cluster_endpoint",
        "cluster_kubernetes_version",
        "cluster_oidc_provider_arn",
        "cluster_security_group_id",
        "cluster_kubeconfig",
        "node_group_role_arn",
        "efs_dags_claim_name",
        "efs_logs_claim_name",
        "airflow_namespace",
        "airflow_url",
        "airflow_release_name",
        "airflow_chart_version",
        "airflow_worker_service_account",
        "nlb_dns_name",
        "nlb_arn",
        "nlb_security_group_id",
        "addon_load_balancer_controller_role_arn",
        "addon_cluster_autoscaler_role_arn",
        "cloudwatch_dashboard_url",
    }
    for name, value in hibernated.outputs.items():
        if name in gone:
            assert value == "" and dev.outputs[name] != "", name
        elif name == "node_group_names":
            assert value == {} and dev.outputs[name]
        elif name == "vpc_nat_gateway_ids":  # dev leaves through a NAT instance: none awake either
            assert value == [] == dev.outputs[name]
        else:
            assert value == dev.outputs[name], name  # what is kept keeps its value
    # The same admin password comes back on waking (and Airflow's database password: its RandomPassword,
    # `_asleep_keeps_data_as_is`).
    assert hibernated.outputs["airflow_admin_password"] == dev.outputs["airflow_admin_password"] != ""


def test_the_hibernated_plan_costs_what_the_estimate_says(dev: Plan, hibernated: Plan) -> None:
    awake = report("dev", json.loads(json.dumps(dev.as_json())), "us-east-1", 8)
    asleep = report("dev", json.loads(json.dumps(hibernated.as_json())), "us-east-1", 8)
    assert asleep["idle_monthly"] == pytest.approx(awake["hibernated_monthly"], abs=0.01)
    # Asleep, nothing scales up and no task runs: the three figures are one.
    assert asleep["idle_monthly"] == asleep["busy_monthly"] == asleep["hibernated_monthly"]
    # Issue 23 item 4: <= $25 asleep. Dev's database keeps one key (dbOneKey) for its storage, logs
    # and master secret: 6 keys and their rotations $18, 22.64 in all.
    assert asleep["idle_monthly"] == pytest.approx(22.64, abs=0.01)
    assert asleep["idle_monthly"] <= 25.0
    # ... and `make cost` prints it, for the hibernated plan and in the awake plan's asleep column.
    for doc in (awake, asleep):
        total = next(row for row in render(doc).splitlines() if row.startswith("total"))
        assert total.split()[-1] == f"{asleep['idle_monthly']:.2f}"
    hourly = ("EKS control plane", "NAT gateway", "Network Load Balancer", "EC2 nodes")
    assert not [line for line in asleep["lines"] if line["resource_type"].startswith(hourly)]


def test_the_asleep_column_is_the_hibernated_plan_with_every_part_on(everything: tuple[Plan, Plan]) -> None:
    awake, asleep = (report("dev", json.loads(json.dumps(p.as_json())), "us-east-1", 8) for p in everything)
    assert asleep["idle_monthly"] == pytest.approx(awake["hibernated_monthly"], abs=0.01)
    assert asleep["idle_monthly"] == asleep["busy_monthly"] == asleep["hibernated_monthly"]


def test_make_policy_passes_a_sleeping_plan(
    hibernated: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reports.guardrails import main

    path = tmp_path / "plan-dev.json"
    path.write_text(json.dumps(hibernated.as_json()))

    def no_render(plan: Any) -> list[dict[str, Any]]:
        raise AssertionError("an asleep plan has no release to render")

    assert main(no_render, [str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 mandatory violation(s)" in out and "AZ-loss analysis of dev: asleep" in out


@pytest.mark.parametrize(
    ("stack", "overrides", "message"),
    [
        ("prod", {}, "is true while production is true"),
        # Not production, but protected: the nodes' volume key, deleted asleep, is protected.
        ("prod", {"production": False}, "is true while protectStatefulResources is true"),
        ("dev", {"protectStatefulResources": True}, "is true while protectStatefulResources is true"),
    ],
)
def test_production_and_protected_stacks_refuse_to_sleep(stack: str, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program(stack, {**overrides, "hibernate": True})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "hibernate", cause
    assert message in str(cause) and failure.value.registrations == []


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
    plan = plan_once("prod", {"imagePullThroughCacheCredentialArn": PTC_ARN, **GIT})
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
        run_program("dev", overrides)
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


def test_asleep_with_teams_the_backend_key_stays_and_the_teams_go() -> None:
    """The secrets backend's key encrypts the teams' secrets: it stays, and its role with a trust no
    one can use; the teams (roles, kubeconfigs, Kubernetes objects) and the task images' node pull
    policy go with the cluster and its node role, and come back on waking."""
    from tests.plans.test_teams import EXAMPLE_STACKS

    dev = {"production": False, "protectStatefulResources": False}  # as the example is, it refuses to sleep
    awake = plan_once("teams", dev, config_dir=EXAMPLE_STACKS)
    asleep = plan_once("teams", {**dev, "hibernate": True}, config_dir=EXAMPLE_STACKS)
    key = "airflow-teams-secrets-backend-key"
    assert asleep.one("aws:kms/key:Key", key).urn == awake.one("aws:kms/key:Key", key).urn
    assert asleep.outputs["secrets_kms_key_arn"] == awake.outputs["secrets_kms_key_arn"] != ""
    role = asleep.one("aws:iam/role:Role", "airflow-teams-secrets-backend-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}
    ]
    assert asleep.outputs["secrets_backend_role_arn"] == awake.outputs["secrets_backend_role_arn"] != ""
    team_roles = [r.name for r in awake.of_type("aws:iam/role:Role") if "-team-" in r.name]
    assert len(team_roles) == 4, team_roles  # two teams: each its task role and deployer role
    assert [r.name for r in asleep.of_type("aws:iam/role:Role") if "-team-" in r.name] == []
    policies = {r.name for r in asleep.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert "airflow-teams-task-images-node-pull" in {r.name for r in awake.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert not {p for p in policies if "task-images" in p or "db-roles" in p or "-team-" in p}, policies
    for name in ("team_role_arns", "team_role_names", "team_deployer_role_arns", "team_kubeconfigs"):
        assert asleep.outputs[name] == {} and awake.outputs[name], name
    # The generated values stay: auth's JWT signing key and Airflow's database password among them.
    for type_ in ("tls:index/privateKey:PrivateKey", "random:index/randomPassword:RandomPassword"):
        kept = {r.urn for r in asleep.of_type(type_)}
        assert kept and kept == {r.urn for r in awake.of_type(type_)}, type_
