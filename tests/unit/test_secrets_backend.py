"""The Secrets Manager backend's values, the teams' objects and policies, the task images: pure functions."""

from __future__ import annotations

import json

import pytest

from lib.airflow.secrets_backend import (
    ENVIRONMENT_BACKEND,
    SECRETS_MANAGER_BACKEND,
    BackendTarget,
    Prefixes,
    TeamSpec,
    backend_kwargs,
    nested,
    prefix_problem,
    reader_service_accounts,
    secret_arn_pattern,
    secrets_backend_values,
    team_backend_env,
    team_kubeconfig,
    team_role_rules,
)
from lib.airflow.task_images import ecr_repository_arn, repository_problem, task_images_pull_policy
from lib.merge import Owned
from lib.security.iam_documents import assume_role_trust, secrets_read_policy

ROLE = "arn:aws:iam::123456789012:role/airflow-prod-secrets-role"
PREFIXES = Prefixes("airflow/connections", "airflow/variables")
TEAM = TeamSpec("analytics", ("arn:aws:iam::123456789012:role/analytics-ci",))


def plain(value: object) -> object:
    """The values without the program's ownership marks."""
    if isinstance(value, Owned):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_the_backend_kwargs_name_the_prefixes_region_and_no_config_lookup_by_default() -> None:
    assert backend_kwargs(PREFIXES, "eu-west-1") == {
        "connections_prefix": "airflow/connections",
        "variables_prefix": "airflow/variables",
        "config_prefix": None,  # the provider's default would be airflow/config
        "region_name": "eu-west-1",
    }
    with_config = Prefixes("a/c", "a/v", "a/config")
    assert backend_kwargs(with_config, "us-east-1")["config_prefix"] == "a/config"


def test_the_values_set_the_backend_for_servers_the_environment_for_tasks_and_the_role_on_four_accounts() -> None:
    values = plain(secrets_backend_values(BackendTarget(PREFIXES, "us-east-1", ROLE)))
    assert isinstance(values, dict)
    secrets = values["config"]["secrets"]
    assert secrets["backend"] == SECRETS_MANAGER_BACKEND
    assert json.loads(secrets["backend_kwargs"]) == backend_kwargs(PREFIXES, "us-east-1")
    assert values["config"]["workers"] == {"secrets_backend": ENVIRONMENT_BACKEND}
    sections = {k for k in values if k != "config"}
    assert sections == {"apiServer", "scheduler", "dagProcessor", "triggerer"}
    for section in sections:
        assert values[section] == {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": ROLE}}}
    assert reader_service_accounts() == (
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    )


def test_the_backend_values_are_the_programs() -> None:
    values = secrets_backend_values(BackendTarget(PREFIXES, "us-east-1", ROLE))
    assert isinstance(values["config"]["secrets"]["backend"], Owned)
    assert isinstance(values["config"]["workers"]["secrets_backend"], Owned)
    assert isinstance(values["apiServer"]["serviceAccount"]["annotations"], Owned)


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("airflow/connections", True),
        ("a", True),
        ("team_1/conn.s@x+=y-z", True),
        ("/airflow", False),
        ("airflow/", False),
        ("airflow//x", False),
        ("air flow", False),
        ("a" * 201, False),
    ],
)
def test_prefixes_are_secrets_manager_names(prefix: str, ok: bool) -> None:
    assert (prefix_problem(prefix) is None) is ok


def test_nested_prefixes_are_found() -> None:
    assert nested(("airflow/connections", "airflow/variables", "airflow/teams")) is None
    assert nested(("airflow", "airflow/teams")) == ("airflow", "airflow/teams")
    assert nested(("a/b", "a/b")) == ("a/b", "a/b")
    assert nested(("airflow/conn", "airflow/connections")) is None  # a string prefix, not a path one


def test_a_teams_pods_read_its_own_prefix_first() -> None:
    env = team_backend_env(TEAM, "airflow/teams", "us-east-1")
    assert env["AIRFLOW__WORKERS__SECRETS_BACKEND"] == SECRETS_MANAGER_BACKEND
    assert json.loads(env["AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS"]) == {
        "connections_prefix": "airflow/teams/analytics/connections",
        "variables_prefix": "airflow/teams/analytics/variables",
        "config_prefix": None,
        "region_name": "us-east-1",
    }
    assert set(env) == {"AIRFLOW__WORKERS__SECRETS_BACKEND", "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS"}


def test_a_teams_kubernetes_role_changes_its_own_secret_only() -> None:
    rules = team_role_rules(TEAM)
    assert rules[0] == {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}
    assert rules[1]["resourceNames"] == ["analytics-connections"]
    assert rules[1]["verbs"] == ["get", "update", "patch", "delete"]
    assert rules[2] == {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["airflow-team-analytics"],
        "verbs": ["get"],
    }
    assert all("*" not in json.dumps(rule) for rule in rules)
    assert len(rules) == 3


def test_the_team_kubeconfig_assumes_the_deployer_role_and_holds_no_credential() -> None:
    deployer = "arn:aws:iam::123456789012:role/airflow-prod-team-analytics-deployer"
    config = json.loads(team_kubeconfig("airflow-prod", "https://x.eks.amazonaws.com", "Q0E=", "us-east-1", deployer))
    (cluster,) = config["clusters"]
    assert cluster["cluster"] == {"server": "https://x.eks.amazonaws.com", "certificate-authority-data": "Q0E="}
    (user,) = config["users"]
    exec_ = user["user"]["exec"]
    assert exec_["command"] == "aws"
    args = exec_["args"]
    assert args[args.index("--role-arn") + 1] == deployer
    assert args[args.index("--cluster-name") + 1] == "airflow-prod"
    assert set(user["user"]) == {"exec"}  # no token, no key
    assert config["current-context"] == config["contexts"][0]["name"]


def test_the_read_policy_names_the_prefixes_and_the_key_through_secrets_manager() -> None:
    patterns = [secret_arn_pattern("us-east-1", "123456789012", p) for p in PREFIXES.all()]
    assert patterns == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/connections/*",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/variables/*",
    ]
    key = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    read, decrypt = secrets_read_policy(patterns, key, "us-east-1")["Statement"]
    assert read["Action"] == "secretsmanager:GetSecretValue" and read["Resource"] == patterns
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == key
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    with pytest.raises(ValueError):
        secrets_read_policy([], key, "us-east-1")


def test_the_deployer_trust_names_only_the_given_principals() -> None:
    (statement,) = assume_role_trust(TEAM.deployers)["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::123456789012:role/analytics-ci"]},
        "Action": "sts:AssumeRole",
    }
    with pytest.raises(ValueError):
        assume_role_trust([])


@pytest.mark.parametrize(
    ("repository", "arn"),
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow",
            "arn:aws:ecr:us-east-1:123456789012:repository/analytics/airflow",
        ),
        ("ghcr.io/acme/airflow", None),
        ("public.ecr.aws/acme/airflow", None),
    ],
)
def test_ecr_repositories_have_an_arn(repository: str, arn: str | None) -> None:
    assert repository_problem(repository) is None
    assert ecr_repository_arn(repository) == arn


@pytest.mark.parametrize(
    "repository",
    ["apache/airflow", "ghcr.io/acme/airflow:2.0", "ghcr.io/Acme/airflow", "ghcr.io/acme/airflow@sha256:00"],
)
def test_a_repository_needs_its_registry_and_no_tag(repository: str) -> None:
    assert repository_problem(repository) is not None


def test_the_node_pull_policy_names_only_the_ecr_repositories() -> None:
    policy = task_images_pull_policy(
        ["123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow", "ghcr.io/acme/airflow"]
    )
    assert policy is not None
    (statement,) = policy["Statement"]
    assert statement["Resource"] == ["arn:aws:ecr:us-east-1:123456789012:repository/analytics/airflow"]
    assert statement["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    assert task_images_pull_policy(["ghcr.io/acme/airflow"]) is None
