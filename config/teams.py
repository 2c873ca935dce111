"""Secrets and teams: connections and variables from Secrets Manager, teams' own roles, prefixes and
Kubernetes rights, and the task images teams may run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from config.checks import Section, matches, role_arn
from config.errors import ConfigError, shown
from config.keys import as_tuple, key
from lib.airflow.secrets_backend import TEAM_NAME, Prefixes, TeamSpec, nested, prefix_problem
from lib.airflow.task_images import repository_problem

KMS_KEY_ARN = re.compile(r"arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}")
MAX_TEAMS = 20
MAX_DEPLOYERS = 10
MAX_IMAGE_REPOSITORIES = 50
TEAM_FIELDS = ("deployers",)


def parse_teams(key_name: str, value: Any) -> tuple[TeamSpec, ...]:
    """`teams`: name -> {deployers: [role ARNs]}."""
    if not isinstance(value, dict):
        raise ConfigError(key_name, f"{shown(value)} is not a map of team name -> {{deployers: [role ARNs]}}")
    teams = []
    for name, spec in value.items():
        where = f"{key_name}.{name}"
        if not isinstance(name, str) or not TEAM_NAME.fullmatch(name):
            raise ConfigError(where, "is not a team name: 1 to 12 lowercase letters, digits or inner -, from a letter")
        if not isinstance(spec, dict) or set(spec) - set(TEAM_FIELDS):
            unknown = sorted(set(spec) - set(TEAM_FIELDS)) if isinstance(spec, dict) else []
            raise ConfigError(where, f"{shown(spec)} is not {{deployers: [role ARNs]}}; unknown fields {unknown}")
        deployers = spec.get("deployers")
        if not isinstance(deployers, list) or not deployers or not all(isinstance(d, str) for d in deployers):
            raise ConfigError(
                f"{where}.deployers",
                f"{shown(deployers)} is not a list of 1 to {MAX_DEPLOYERS} IAM role ARNs (who may assume the team's "
                "deployer role)",
            )
        if len(deployers) > MAX_DEPLOYERS or len(set(deployers)) != len(deployers):
            raise ConfigError(f"{where}.deployers", f"lists {len(deployers)} roles; 1 to {MAX_DEPLOYERS}, each once")
        for arn in deployers:
            try:
                role_arn(arn)
            except ValueError as err:
                raise ConfigError(f"{where}.deployers", str(err)) from None
        teams.append(TeamSpec(name, tuple(deployers)))
    if len(teams) > MAX_TEAMS:
        raise ConfigError(key_name, f"declares {len(teams)} teams; at most {MAX_TEAMS}")
    return tuple(teams)


@dataclass(frozen=True)
class TeamsSettings(Section):
    SECTION: ClassVar[str] = "teams"
    TITLE: ClassVar[str] = "Secrets and teams"

    secrets_manager_backend: bool = key(
        "secretsManagerBackend",
        False,
        "Airflow reads connections and variables from AWS Secrets Manager first (the amazon provider's "
        "SecretsManagerBackend, as MWAA offers), then its environment and metastore. The API server, scheduler, "
        "DAG processor and triggerer read the prefixes below with a role of their own; task pods ask the API "
        "server (docs/teams.md).",
    )
    connections_prefix: str = key(
        "secretsManagerConnectionsPrefix",
        "airflow/connections",
        "Secrets Manager name prefix of the connections (`<prefix>/<conn_id>`): parts of letters, digits and "
        "_+=.@- separated by /, none nested in another prefix.",
        only_with="secretsManagerBackend",
    )
    variables_prefix: str = key(
        "secretsManagerVariablesPrefix",
        "airflow/variables",
        "Secrets Manager name prefix of the variables (`<prefix>/<key>`).",
        only_with="secretsManagerBackend",
    )
    config_prefix: str = key(
        "secretsManagerConfigPrefix",
        "",
        "Secrets Manager name prefix of Airflow config options (`<prefix>/<name>` for an option's `_secret` "
        "form); empty: no config option is looked up there.",
        only_with="secretsManagerBackend",
    )
    kms_key_arn: str = key(
        "secretsManagerKmsKeyArn",
        "",
        "KMS key (ARN) the secrets under the prefixes are encrypted with; the readers may decrypt with it only "
        "through Secrets Manager. Empty: the stack creates one (output secrets_kms_key_arn): create the secrets "
        "with it.",
        only_with="secretsManagerBackend",
    )
    teams_prefix: str = key(
        "secretsManagerTeamsPrefix",
        "airflow/teams",
        "Secrets Manager name prefix under which each team of `teams` has its own: `<prefix>/<team>/connections` "
        "and `/variables`, readable only by that team's task role.",
        only_with="secretsManagerBackend",
    )
    teams: tuple[TeamSpec, ...] = key(
        "teams",
        {},
        "Teams sharing the platform without cluster-admin, name (1 to 12 lowercase letters, digits or inner -) -> "
        "`deployers` (IAM role ARNs that may assume the team's deployer role). Each gets a task IAM role and "
        "service account `airflow-team-<team>` (a DAG picks it with the KubernetesExecutor's pod_override), its "
        "own Secrets Manager prefix, and a deployer role mapped to a Kubernetes Role in the Airflow namespace "
        "for its `<team>-connections` Secret (docs/teams.md). Requires secretsManagerBackend.",
        convert=parse_teams,
        type="object",
    )
    task_image_repositories: tuple[str, ...] = key(
        "taskImageRepositories",
        [],
        "Image repositories (registry/path, no tag) a DAG may run its tasks in, besides the platform's Airflow "
        "image: a team's image built on the pinned Airflow image (docs/teams.md, Your own task image). Listed in "
        "the ConfigMap `airflow-task-images`; the nodes may pull the private ECR ones (a scoped policy on the "
        "node role); a production stack's policy pack refuses any outside a private ECR registry.",
        convert=as_tuple,
    )

    @property
    def prefixes(self) -> Prefixes:
        return Prefixes(self.connections_prefix, self.variables_prefix, self.config_prefix)

    def __post_init__(self) -> None:
        fields = ["connections_prefix", "variables_prefix", "teams_prefix"]
        fields += ["config_prefix"] if self.config_prefix else []
        for field in fields:
            problem = prefix_problem(getattr(self, field))
            if problem:
                raise self.invalid(field, problem)
        clash = nested(tuple(getattr(self, f) for f in fields))
        if clash:
            raise self.invalid(
                "teams_prefix" if self.teams_prefix in clash else "variables_prefix",
                f"'{clash[0]}' and '{clash[1]}': one prefix holds the other's secrets (or they are equal); each role "
                "reads its own prefixes only, so they must be apart",
            )
        if self.kms_key_arn:
            self.check(
                "kms_key_arn", matches, KMS_KEY_ARN, self.kms_key_arn, "a KMS key ARN (arn:aws:kms:...:key/<id>)"
            )
        if self.teams and not self.secrets_manager_backend:
            raise self.invalid(
                "teams",
                "declares teams while secretsManagerBackend is false: each team's prefix is in Secrets "
                "Manager; set secretsManagerBackend: true",
            )
        self._check_images()

    def _check_images(self) -> None:
        repositories = self.task_image_repositories
        if len(repositories) > MAX_IMAGE_REPOSITORIES or len(set(repositories)) != len(repositories):
            raise self.invalid(
                "task_image_repositories",
                f"lists {len(repositories)} repositories; at most {MAX_IMAGE_REPOSITORIES}, each once",
            )
        for repository in repositories:
            problem = repository_problem(repository)
            if problem:
                raise self.invalid("task_image_repositories", problem)
