"""Issue 26, items 1, 4 and 5 on the plan: the Secrets Manager backend, two teams without
cluster-admin, and the teams' task images (examples/stacks/Pulumi.teams.yaml), with the rendered
chart, the policy pack, and the config errors. Off by default: the committed stacks have none of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import ConfigError
from config.settings import load_settings
from lib.airflow.secrets_backend import ENVIRONMENT_BACKEND, SECRETS_MANAGER_BACKEND
from offline.mocks import Plan, Registration
from offline.stack_config import resolve_stack_config
from policy.airflow_eks_guardrails.declaration import PRIVATE_TASK_IMAGES
from policy.airflow_eks_guardrails.model import plan_stack
from policy.airflow_eks_guardrails.rules import POLICIES
from tests.support.plans import plan_once
from tests.support.renders import Rendered

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_STACKS = ROOT / "examples" / "stacks"
ACCOUNT = "123456789012"
ISSUER_SUB = ":sub"
READERS = ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
IRSA = "eks.amazonaws.com/role-arn"


@pytest.fixture(scope="module")
def teams() -> Plan:
    return plan_once("teams", config_dir=EXAMPLE_STACKS)


@pytest.fixture(scope="module")
def teams_logs() -> Plan:
    """The example with remote logs too: the logs role is assumed from the backend's."""
    return plan_once("teams", {"remoteLogs": True}, config_dir=EXAMPLE_STACKS)


def trust_subjects(role: Registration) -> list[str]:
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    sub = conditions[next(k for k in conditions if k.endswith(ISSUER_SUB))]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return [sub] if isinstance(sub, str) else sub


def policy_of(plan: Plan, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(plan.one("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"])
    return document


# ----------------------------------------------------------------------------- off by default


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_committed_stacks_have_no_backend_team_or_task_image(stack: str, dev: Plan, prod: Plan) -> None:
    plan = {"dev": dev, "prod": prod}[stack]
    types = {r.type for r in plan.resources}
    assert not types & {"airflow:index:SecretsBackend", "airflow:index:Team", "airflow:index:TaskImages"}
    assert plan.outputs["secrets_backend_role_arn"] == plan.outputs["secrets_kms_key_arn"] == ""
    for name in ("team_role_arns", "team_service_accounts", "team_secrets_prefixes", "team_kubeconfigs"):
        assert plan.outputs[name] == {}
    assert plan.outputs["task_image_repositories"] == []
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow"]
    assert "secrets" not in release.inputs["values"]["config"]


# ----------------------------------------------------------------------------- item 1: the backend


def test_the_backend_role_is_assumed_by_the_four_readers_and_reads_the_platform_prefixes(teams: Plan) -> None:
    role = teams.one("aws:iam/role:Role", "airflow-teams-secrets-backend-role")
    assert trust_subjects(role) == [f"system:serviceaccount:airflow:{sa}" for sa in READERS]
    read, decrypt = policy_of(teams, "airflow-teams-secrets-backend-role-policy")["Statement"]
    assert read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:airflow/connections/*",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:airflow/variables/*",
    ]
    key = teams.one("aws:kms/key:Key", "airflow-teams-secrets-backend-key")
    assert key.protect and key.inputs["enableKeyRotation"] is True
    assert decrypt["Resource"] == teams.outputs["secrets_kms_key_arn"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert teams.outputs["secrets_backend_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.name}"


def test_a_given_key_is_used_and_none_created() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    plan = plan_once("teams", {"secretsManagerKmsKeyArn": key}, config_dir=EXAMPLE_STACKS)
    assert [k.name for k in plan.of_type("aws:kms/key:Key") if k.name == "airflow-teams-secrets-backend-key"] == []
    assert plan.outputs["secrets_kms_key_arn"] == key
    _, decrypt = policy_of(plan, "airflow-teams-team-ml-tasks-secrets")["Statement"]
    assert decrypt["Resource"] == key


def test_the_render_points_servers_at_the_backend_and_tasks_at_the_api_server(teams: Plan) -> None:
    rendered = Rendered(teams)
    cfg = rendered.airflow_cfg()
    assert cfg["secrets.backend"] == SECRETS_MANAGER_BACKEND
    assert json.loads(cfg["secrets.backend_kwargs"]) == {
        "config_prefix": None,
        "connections_prefix": "airflow/connections",
        "region_name": "us-east-1",
        "variables_prefix": "airflow/variables",
    }
    assert cfg["workers.secrets_backend"] == ENVIRONMENT_BACKEND
    role = teams.outputs["secrets_backend_role_arn"]
    for account in READERS:
        assert rendered.one("ServiceAccount", account)["metadata"]["annotations"] == {IRSA: role}
    worker = rendered.one("ServiceAccount", "airflow-worker")["metadata"]["annotations"]
    assert worker == {IRSA: teams.outputs["airflow_worker_role_arn"]}  # the tasks' own role, not the backend's


def test_with_remote_logs_the_readers_assume_the_logs_role_from_the_backends(teams_logs: Plan) -> None:
    rendered = Rendered(teams_logs)
    backend, logs = teams_logs.outputs["secrets_backend_role_arn"], teams_logs.outputs["task_logs_role_arn"]
    for account in ("airflow-api-server", "airflow-triggerer"):
        assert rendered.one("ServiceAccount", account)["metadata"]["annotations"] == {IRSA: backend}
    env = {e["name"]: e.get("value") for e in rendered.deployment_pod("airflow-api-server")["containers"][0]["env"]}
    assert json.loads(env["AIRFLOW_CONN_AWS_LOGS"])["extra"] == {"region_name": "us-east-1", "role_arn": logs}
    role = teams_logs.one("aws:iam/role:Role", "airflow-teams-task-logs-role")
    assume = json.loads(role.inputs["assumeRolePolicy"])["Statement"][1]
    assert assume["Principal"] == {"AWS": [teams_logs.outputs["airflow_worker_role_arn"], backend]}


# ----------------------------------------------------------------------------- item 5: two teams


@pytest.mark.parametrize("team", ["analytics", "ml"])
def test_each_team_role_trusts_only_its_own_service_account(teams: Plan, team: str) -> None:
    role = teams.one("aws:iam/role:Role", f"airflow-teams-team-{team}-tasks")
    assert trust_subjects(role) == [f"system:serviceaccount:airflow:airflow-team-{team}"]
    assert teams.outputs["team_role_arns"][team] == f"arn:aws:iam::{ACCOUNT}:role/{role.name}"
    assert teams.outputs["team_service_accounts"][team] == f"airflow-team-{team}"


def test_no_role_trusts_two_teams_or_a_team_and_the_platform(teams: Plan) -> None:
    """Over every IRSA role of the plan: a team's service account is a subject of its own role only."""
    owners: dict[str, list[str]] = {}
    for role in teams.of_type("aws:iam/role:Role"):
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
            conditions = statement.get("Condition", {}).get("StringEquals", {})
            for k, sub in conditions.items():
                if k.endswith(ISSUER_SUB):
                    for subject in [sub] if isinstance(sub, str) else sub:
                        owners.setdefault(subject, []).append(role.name)
    assert owners["system:serviceaccount:airflow:airflow-team-analytics"] == ["airflow-teams-team-analytics-tasks"]
    assert owners["system:serviceaccount:airflow:airflow-team-ml"] == ["airflow-teams-team-ml-tasks"]


@pytest.mark.parametrize("team", ["analytics", "ml"])
def test_each_team_reads_only_its_own_prefix(teams: Plan, team: str) -> None:
    read, _ = policy_of(teams, f"airflow-teams-team-{team}-tasks-secrets")["Statement"]
    assert read["Resource"] == [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:airflow/teams/{team}/*"]
    assert teams.outputs["team_secrets_prefixes"][team] == f"airflow/teams/{team}"
    # The platform's backend role reads none of the teams' prefixes.
    platform, _ = policy_of(teams, "airflow-teams-secrets-backend-role-policy")["Statement"]
    assert not any("airflow/teams" in arn for arn in platform["Resource"])
    backend = teams.one("kubernetes:core/v1:ConfigMap", f"airflow-teams-team-{team}-backend").inputs
    kwargs = json.loads(backend["data"]["AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS"])
    assert kwargs["connections_prefix"] == f"airflow/teams/{team}/connections"
    assert backend["metadata"]["name"] == f"airflow-team-{team}"


def test_each_teams_deployer_is_mapped_to_a_namespaced_role_for_its_secret(teams: Plan) -> None:
    config = yaml.safe_load((EXAMPLE_STACKS / "Pulumi.teams.yaml").read_text())["config"]["airflow-eks:teams"]
    entries = {e.name: e.inputs for e in teams.of_type("aws:eks/accessEntry:AccessEntry")}
    assert set(entries) == {"airflow-teams-team-analytics-access-entry", "airflow-teams-team-ml-access-entry"}
    for team, spec in config.items():
        deployer = teams.one("aws:iam/role:Role", f"airflow-teams-team-{team}-deployer")
        (statement,) = json.loads(deployer.inputs["assumeRolePolicy"])["Statement"]
        assert statement == {"Effect": "Allow", "Principal": {"AWS": spec["deployers"]}, "Action": "sts:AssumeRole"}
        entry = entries[f"airflow-teams-team-{team}-access-entry"]
        assert entry["principalArn"] == teams.outputs["team_deployer_role_arns"][team]
        assert entry["kubernetesGroups"] == [f"airflow-eks:team:{team}"] and entry["type"] == "STANDARD"
        assert "accessPolicies" not in entry  # no EKS access policy: the Role alone
        role = teams.one("kubernetes:rbac.authorization.k8s.io/v1:Role", f"airflow-teams-team-{team}-role").inputs
        assert role["metadata"]["namespace"] == "airflow"
        assert role["rules"][1]["resourceNames"] == [f"{team}-connections"]
        binding = teams.one(
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", f"airflow-teams-team-{team}-role-binding"
        ).inputs
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": f"airflow-team-{team}",
        }
        assert binding["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": f"airflow-eks:team:{team}"}
        ]
        kubeconfig = json.loads(teams.outputs["team_kubeconfigs"][team])
        args = kubeconfig["users"][0]["user"]["exec"]["args"]
        assert args[args.index("--role-arn") + 1] == teams.outputs["team_deployer_role_arns"][team]
    assert teams.counts()["kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"] == 0


def test_each_teams_service_account_carries_its_role_without_an_api_token(teams: Plan) -> None:
    for team in ("analytics", "ml"):
        account = teams.one("kubernetes:core/v1:ServiceAccount", f"airflow-teams-team-{team}-service-account").inputs
        assert account["metadata"]["name"] == f"airflow-team-{team}"
        assert account["metadata"]["annotations"] == {IRSA: teams.outputs["team_role_arns"][team]}
        assert account["automountServiceAccountToken"] is False


# ----------------------------------------------------------------------------- item 4: task images


def test_the_task_images_are_listed_and_pulled_by_the_nodes(teams: Plan) -> None:
    config = yaml.safe_load((EXAMPLE_STACKS / "Pulumi.teams.yaml").read_text())["config"]
    repositories = config["airflow-eks:taskImageRepositories"]
    assert teams.outputs["task_image_repositories"] == repositories
    listed = teams.one("kubernetes:core/v1:ConfigMap", "airflow-teams-task-images-config-map").inputs
    assert listed["metadata"]["name"] == "airflow-task-images" and listed["data"] == {
        "repositories": "\n".join(repositories)
    }
    pull = teams.one("aws:iam/rolePolicy:RolePolicy", "airflow-teams-task-images-node-pull")
    assert pull.inputs["role"] == teams.outputs["node_group_role_arn"].rsplit("/", 1)[1]
    (statement,) = json.loads(pull.inputs["policy"])["Statement"]
    assert statement["Resource"] == [
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/analytics/airflow",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/ml/airflow-gpu",
    ]


def pack_violations(plan: Plan, policy: str) -> list[str]:
    stack = plan_stack(json.loads(json.dumps(plan.as_json())))
    (found,) = [p for p in POLICIES if p.name == policy]
    return [v.message for v in found.check(stack)]


def test_the_policy_pack_refuses_a_public_task_image_in_production(teams: Plan) -> None:
    assert pack_violations(teams, PRIVATE_TASK_IMAGES) == []
    public = [*teams.outputs["task_image_repositories"], "ghcr.io/acme/airflow"]
    plan = plan_once("teams", {"taskImageRepositories": public}, config_dir=EXAMPLE_STACKS)
    (message,) = pack_violations(plan, PRIVATE_TASK_IMAGES)
    assert message.startswith("task image repository ghcr.io/acme/airflow is outside a private ECR registry")
    relaxed = plan_once("teams", {"taskImageRepositories": public, "production": False}, config_dir=EXAMPLE_STACKS)
    assert pack_violations(relaxed, PRIVATE_TASK_IMAGES) == []


def test_the_new_resources_pass_the_whole_pack(teams: Plan) -> None:
    """Every policy, over the example's plan: none of the backend's, teams' or task images' resources is flagged."""
    stack = plan_stack(json.loads(json.dumps(teams.as_json())))
    ours = ("-secrets-backend", "-team-", "-task-images")
    ours_urns = {r.urn for r in teams.resources if any(part in r.name for part in ours)}
    ours_urns |= {r.urn for r in teams.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow"}
    assert len(ours_urns) > 20
    flagged = [v for p in POLICIES for v in p.check(stack) if v.urn in ours_urns]
    assert flagged == []


# ----------------------------------------------------------------------------- bad config


def refusal(overrides: dict[str, Any]) -> ConfigError:
    config, region = resolve_stack_config("prod")
    with pytest.raises(ConfigError) as failure:
        load_settings(
            config | {k: json.dumps(v) if not isinstance(v, str) else v for k, v in overrides.items()}, "prod", region
        )
    return failure.value


ON = {"secretsManagerBackend": True}
CI = "arn:aws:iam::123456789012:role/analytics-ci"


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        ({"teams": {"analytics": {"deployers": [CI]}}}, "teams", "while secretsManagerBackend is false"),
        ({**ON, "teams": {"Analytics": {"deployers": [CI]}}}, "teams.Analytics", "is not a team name"),
        ({**ON, "teams": {"a" * 13: {"deployers": [CI]}}}, f"teams.{'a' * 13}", "1 to 12 lowercase"),
        ({**ON, "teams": {"analytics": {"deployers": []}}}, "teams.analytics.deployers", "is not a list of 1 to 10"),
        ({**ON, "teams": {"analytics": {"deployers": ["ci"]}}}, "teams.analytics.deployers", "is not an IAM role ARN"),
        (
            {**ON, "teams": {"analytics": {"deployers": [CI], "image": "x"}}},
            "teams.analytics",
            "unknown fields ['image']",
        ),
        ({**ON, "teams": {"analytics": {"deployers": [CI, CI]}}}, "teams.analytics.deployers", "each once"),
        ({**ON, "teams": ["analytics"]}, "teams", "is not a object"),
        (
            {**ON, "secretsManagerConnectionsPrefix": "/airflow"},
            "secretsManagerConnectionsPrefix",
            "not a Secrets Manager name prefix",
        ),
        (
            {**ON, "secretsManagerVariablesPrefix": "airflow/connections"},
            "secretsManagerVariablesPrefix",
            "one prefix holds the other's",
        ),
        ({**ON, "secretsManagerTeamsPrefix": "airflow"}, "secretsManagerTeamsPrefix", "one prefix holds the other's"),
        ({**ON, "secretsManagerKmsKeyArn": "alias/secrets"}, "secretsManagerKmsKeyArn", "is not a KMS key ARN"),
        (
            {"secretsManagerConnectionsPrefix": "data/connections"},
            "secretsManagerConnectionsPrefix",
            "applies only when secretsManagerBackend",
        ),
        (
            {"taskImageRepositories": ["apache/airflow"]},
            "taskImageRepositories",
            "without tag or digest, with its registry",
        ),
        ({"taskImageRepositories": ["ghcr.io/acme/airflow:3.3.2"]}, "taskImageRepositories", "without tag or digest"),
        ({"taskImageRepositories": ["ghcr.io/a/b", "ghcr.io/a/b"]}, "taskImageRepositories", "each once"),
    ],
)
def test_bad_config_is_refused_naming_the_key(overrides: dict[str, Any], key: str, says: str) -> None:
    error = refusal(overrides)
    assert error.key == key, str(error)
    assert says in str(error), str(error)
