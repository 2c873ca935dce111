"""Regressions of the config loaders' limits: node groups (labels, taints, instance types, names,
tag budget), the database (class, windows, names) and git-sync (branch, sub-path, Secret).

Every refused value runs the real program under mocks and must fail with a `ConfigError` naming
the exact key, before a single resource is registered.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import ConfigError
from config.node_groups import parse_node_groups
from lib.airflow.git_sync import branch_problem, sub_path_problem
from lib.cluster.node_groups import EKS_KEY_MAX, MAX_TAGS, MAX_TAINTS, OWN_TAGS
from offline.cli_values import CliConfigError
from offline.mocks import ProgramError, run_program
from offline.stack_config import CONFIG_DIR
from tests.support.overrides import STACK_GROUPS, groups_with
from tests.support.settings import settings_of

GIT = {"gitSyncRepo": "https://git.example.com/data/dags.git"}
LABELS = "nodeGroups.workers.labels"
TAINTS = "nodeGroups.workers.taints"
TYPES = "nodeGroups.workers.instanceTypes"
ARABIC_INDIC_WINDOW = "\u0660\u0662:\u0660\u0660-\u0660\u0663:\u0660\u0660"
"""02:00-03:00 in Arabic-Indic digits, which `\\d` would match."""


def taints(count: int) -> list[dict[str, str]]:
    return [{"key": f"example.com/t{i}", "value": "x", "effect": "NO_SCHEDULE"} for i in range(count)]


def labels(count: int) -> dict[str, str]:
    return {f"example.com/l{i}": "x" for i in range(count)}


def with_group(name: str) -> dict[str, Any]:
    """dev's node groups plus a copy of `workers` named `name`."""
    return {**groups_with(), name: groups_with()["workers"]}


# (id, stack, overrides, key the error must name, fragment of its message)
REFUSED: list[tuple[str, str, dict[str, Any], str, str]] = [
    # node groups: labels
    (
        "label with an empty value",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"team": ""})},
        LABELS,
        "'team' has an empty value, which EKS refuses",
    ),
    (
        "label name part over 63",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"a" * 64: "x"})},
        LABELS,
        f"is longer than the {EKS_KEY_MAX} characters EKS accepts for a label key",
    ),
    (
        "label key over EKS's 63 with its prefix",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"example.com/" + "a" * 52: "x"})},
        LABELS,
        f"'example.com/{'a' * 52}' is longer than the {EKS_KEY_MAX} characters EKS accepts for a label key",
    ),
    (
        "label prefix not a DNS subdomain",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"Example_Com/team": "x"})},
        LABELS,
        "'Example_Com/team' has a prefix that is not a DNS subdomain",
    ),
    (
        "label key with a space",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"my team": "x"})},
        LABELS,
        "'my team' has a name part that is not 1 to 63",
    ),
    (
        "label kubelet refuses",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"kubernetes.io/role": "x"})},
        LABELS,
        "'kubernetes.io/role' is in a namespace Kubernetes keeps (kubernetes.io, k8s.io): kubelet refuses it",
    ),
    (
        "the program's own label",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"airflow-eks/node-group": "workers"})},
        LABELS,
        "'airflow-eks/node-group' is the program's own label",
    ),
    (
        "label value over 63",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"team": "a" * 64})},
        LABELS,
        f"'{'a' * 64}' is not a label value",
    ),
    (
        "label value with a trailing newline",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"team": "data\n"})},
        LABELS,
        "'data\n' is not a label value",
    ),
    (
        "labels colliding after slugging",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"example.com/team-a": "x", "example.com/team_a": "y"})},
        LABELS,
        "'example.com/team-a' and 'example.com/team_a' differ only in case or punctuation",
    ),
    (
        "labels colliding only in case",
        "dev",
        {"nodeGroups": groups_with(workers__labels={"Team": "x", "team": "y"})},
        LABELS,
        "'Team' and 'team' differ only in case or punctuation",
    ),
    # node groups: taints
    (
        "more than 50 taints",
        "dev",
        {"nodeGroups": groups_with(workers__taints=taints(MAX_TAINTS + 1))},
        TAINTS,
        f"has {MAX_TAINTS + 1} taints; EKS accepts at most {MAX_TAINTS}",
    ),
    (
        "one taint key with two effects",
        "dev",
        {
            "nodeGroups": groups_with(
                workers__taints=[
                    {"key": "dedicated", "value": "x", "effect": "NO_SCHEDULE"},
                    {"key": "dedicated", "value": "x", "effect": "NO_EXECUTE"},
                ]
            )
        },
        TAINTS,
        "'dedicated' appears more than once",
    ),
    (
        "taint key over 63",
        "dev",
        {"nodeGroups": groups_with(workers__taints=[{"key": "a" * 64, "value": "x", "effect": "NO_SCHEDULE"}])},
        TAINTS,
        f"is longer than the {EKS_KEY_MAX} characters EKS accepts for a taint key",
    ),
    (
        "taint value not a label value",
        "dev",
        {"nodeGroups": groups_with(workers__taints=[{"key": "dedicated", "value": "not ok", "effect": "NO_SCHEDULE"}])},
        TAINTS,
        "'not ok' is not a label value",
    ),
    # node groups: tag budget
    (
        "labels past the group's template-tag budget",
        "dev",
        {"nodeGroups": groups_with(workers__labels=labels(44))},
        LABELS,
        "44 labels and 1 taints make 46 autoscaler node-template tags with the group label; at most 45 fit",
    ),
    (
        "labels past the tag budget with the stack's tags",
        "dev",
        {"nodeGroups": groups_with(airflow__labels=labels(44))},
        "nodeGroups.airflow.labels",
        f"44 labels and 0 taints give the node group {MAX_TAGS + 1} tags with the 1 of tags and policyWaivers and the "
        f"program's {OWN_TAGS}; AWS accepts {MAX_TAGS}",
    ),
    # node groups: instance types and names
    (
        "instance type of a shape only",
        "dev",
        {"nodeGroups": groups_with(workers__instanceTypes=["m6i.huge"])},
        TYPES,
        "'m6i.huge' is not an EC2 instance type",
    ),
    (
        "instance type listed twice",
        "dev",
        {"nodeGroups": groups_with(workers__instanceTypes=["m6i.large", "m6i.large"])},
        TYPES,
        "['m6i.large', 'm6i.large'] lists a type twice",
    ),
    (
        "group name ending with a hyphen",
        "dev",
        {"nodeGroups": with_group("gpu-")},
        "nodeGroups.gpu-",
        "'gpu-' is not a node group name",
    ),
    (
        "group name in capitals",
        "dev",
        {"nodeGroups": with_group("GPU")},
        "nodeGroups.GPU",
        "'GPU' is not a node group name",
    ),
    # database
    (
        "unknown RDS class family",
        "prod",
        {"dbInstanceClass": "db.m99.large"},
        "dbInstanceClass",
        "'db.m99.large' is of an unknown family",
    ),
    (
        "backup window of 20 minutes",
        "dev",
        {"dbBackupWindow": "02:00-02:20"},
        "dbBackupWindow",
        "'02:00-02:20' lasts 20 minutes; RDS wants at least 30",
    ),
    (
        "backup window with a trailing newline",
        "dev",
        {"dbBackupWindow": "02:00-03:00\n"},
        "dbBackupWindow",
        "'02:00-03:00\n' is not hh24:mi-hh24:mi",
    ),
    (
        "backup window in Arabic-Indic digits",
        "dev",
        {"dbBackupWindow": ARABIC_INDIC_WINDOW},
        "dbBackupWindow",
        f"'{ARABIC_INDIC_WINDOW}' is not hh24:mi-hh24:mi",
    ),
    (
        "maintenance window of 15 minutes",
        "dev",
        {"dbMaintenanceWindow": "sun:04:00-sun:04:15"},
        "dbMaintenanceWindow",
        "'sun:04:00-sun:04:15' lasts 15 minutes; RDS wants at least 30",
    ),
    (
        "backup window overlapping the maintenance window",
        "dev",
        {"dbBackupWindow": "04:30-05:30", "dbMaintenanceWindow": "sun:04:00-sun:05:00"},
        "dbBackupWindow",
        "'04:30-05:30' overlaps dbMaintenanceWindow 'sun:04:00-sun:05:00'",
    ),
    ("user name a reserved word", "dev", {"dbUsername": "user"}, "dbUsername", "'user' is a PostgreSQL reserved word"),
    ("user name a PostgreSQL role", "prod", {"dbUsername": "pg_monitor"}, "dbUsername", "'pg_monitor' is reserved"),
    ("user name an RDS role", "dev", {"dbUsername": "rdsadmin"}, "dbUsername", "'rdsadmin' is reserved"),
    (
        "master user name over 16",
        "dev",
        {"dbUsername": "a" * 17},
        "dbUsername",
        "is not 1 to 16 lowercase letters, digits or '_' beginning with a letter (RDS's limit on the master user name)",
    ),
    (
        "database name a reserved word",
        "dev",
        {"dbName": "select"},
        "dbName",
        "'select' is a PostgreSQL reserved word or a database RDS keeps",
    ),
    # git-sync
    (
        "branch with a space",
        "dev",
        {**GIT, "gitSyncBranch": "my branch"},
        "gitSyncBranch",
        "'my branch' holds ' ', which git refuses",
    ),
    (
        "branch with ..",
        "dev",
        {**GIT, "gitSyncBranch": "release..1"},
        "gitSyncBranch",
        "'release..1' holds '..', which git refuses",
    ),
    (
        "branch ending in .lock",
        "dev",
        {**GIT, "gitSyncBranch": "main.lock"},
        "gitSyncBranch",
        "'main.lock' has a part beginning with '.' or ending with '.lock'",
    ),
    (
        "sub-path climbing out",
        "dev",
        {**GIT, "gitSyncSubPath": "../.."},
        "gitSyncSubPath",
        "'../..' is not a folder inside the repository",
    ),
    (
        "absolute sub-path",
        "prod",
        {**GIT, "gitSyncSubPath": "/etc"},
        "gitSyncSubPath",
        "'/etc' is not a folder inside the repository",
    ),
    (
        "credentials secret in capitals",
        "dev",
        {**GIT, "gitSyncCredentialsSecret": "Git-Creds"},
        "gitSyncCredentialsSecret",
        "'Git-Creds' is not a DNS subdomain",
    ),
    (
        "credentials secret with ..",
        "dev",
        {**GIT, "gitSyncCredentialsSecret": "git..creds"},
        "gitSyncCredentialsSecret",
        "'git..creds' is not a DNS subdomain",
    ),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "says"), [pytest.param(*case[1:], id=case[0]) for case in REFUSED]
)
def test_refused_value_names_the_key_and_registers_nothing(
    stack: str, overrides: dict[str, Any], key: str, says: str
) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program(stack, config_overrides=overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError), f"{type(cause).__name__}: {cause}"
    assert cause.key == key
    assert says in str(cause)
    assert failure.value.registrations == []


def test_refused_cases_have_distinct_ids() -> None:
    ids = [case[0] for case in REFUSED]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", [1, True, None])
def test_non_string_node_group_name_is_a_config_error(name: Any) -> None:
    """A YAML key such as `1:`, `true:` or `null:` loads as a number, boolean or None; the loader
    names `nodeGroups` instead of failing on the regular expression (a TypeError)."""
    groups = {**groups_with(), name: groups_with()["workers"]}
    with pytest.raises(ConfigError) as failure:
        parse_node_groups("nodeGroups", groups)
    assert failure.value.key == "nodeGroups"
    assert f"a node group name is a {type(name).__name__}, not a string" in str(failure.value)


def test_non_string_node_group_name_from_a_stack_file(tmp_path: Path) -> None:
    """A YAML `1:` group name in a stack file: the Pulumi CLI refuses the file before the program
    runs (SimplifyMarshalledValue, pulumi v3.259.0: only string map keys)."""
    shutil.copy(CONFIG_DIR / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    path = tmp_path / "Pulumi.dev.yaml"
    stack = yaml.safe_load(path.read_text())
    stack["config"]["airflow-eks:nodeGroups"][1] = STACK_GROUPS["workers"]
    path.write_text(yaml.safe_dump(stack))
    with pytest.raises(CliConfigError) as failure:
        run_program("dev", config_dir=tmp_path)
    assert str(failure.value) == "getting stack configuration: expected only string keys, got '%!s(int=1)'"
    assert failure.value.key == "nodeGroups"


def test_a_non_string_node_group_name_the_program_receives_is_a_config_error() -> None:
    """Through the engine a group name is always text (JSON); '1' is still no group name."""
    with pytest.raises(ConfigError) as failure:
        settings_of("dev", nodeGroups={"1": STACK_GROUPS["workers"], **STACK_GROUPS})
    assert failure.value.key == "nodeGroups.1"
    assert "'1' is not a node group name" in str(failure.value)


def test_node_groups_as_a_list_is_refused_by_the_cli() -> None:
    with pytest.raises(CliConfigError) as failure:
        run_program("dev", config_overrides={"nodeGroups": [1, True, None]})
    assert str(failure.value) == (
        "validating stack config: Stack 'dev' with configuration key 'nodeGroups' must be of type 'object'"
    )
    assert failure.value.key == "nodeGroups"


def test_values_inside_the_limits_load() -> None:
    # dev has one tag and no waivers: 5 own + 1 + the group label leave 43 taints of AWS's 50 tags
    # (50 taints, EKS's own limit, never fit the tag budget).
    extra = 1
    most_taints = MAX_TAGS - OWN_TAGS - extra - 1
    assert most_taints == 43
    settings = settings_of(
        "dev",
        nodeGroups=groups_with(workers__labels={"team": "a" * 63}, airflow__taints=taints(most_taints)),
        dbBackupWindow="02:00-02:30",
        **GIT,
        gitSyncBranch="release/2024.1",
        gitSyncSubPath="airflow/dags",
    )
    groups = {g.name: g for g in settings.node_groups}
    assert groups["workers"].labels == {"team": "a" * 63}
    assert len(groups["airflow"].taints) == most_taints
    assert settings.database.backup_window == "02:00-02:30"
    source = settings.airflow.git_sync
    assert source is not None
    assert (source.branch, source.sub_path) == ("release/2024.1", "airflow/dags")


def test_one_taint_more_than_fits_is_refused() -> None:
    """The accepted maximum above is the edge: one more taint is past the tag budget."""
    with pytest.raises(ConfigError) as failure:
        settings_of("dev", nodeGroups=groups_with(airflow__taints=taints(44)))
    assert failure.value.key == "nodeGroups.airflow.taints"


def test_the_taint_maximum_without_stack_tags() -> None:
    settings = settings_of("dev", tags={}, nodeGroups=groups_with(airflow__taints=taints(44)))
    assert len({g.name: g for g in settings.node_groups}["airflow"].taints) == 44


def test_a_63_character_label_key_with_prefix_loads() -> None:
    key = "example.com/" + "a" * (EKS_KEY_MAX - len("example.com/"))
    assert len(key) == EKS_KEY_MAX
    settings = settings_of("dev", nodeGroups=groups_with(workers__labels={key: "x"}))
    assert {g.name: g for g in settings.node_groups}["workers"].labels == {key: "x"}


@pytest.mark.parametrize(
    ("branch", "refused"),
    [
        ("main", False),
        ("release/2024.1", False),
        ("feature/a-b_c", False),
        ("v1.2.3", False),
        ("", True),
        ("@", True),
        ("my branch", True),
        ("release..1", True),
        ("main.lock", True),
        ("team/x.lock/y", True),
        (".hidden", True),
        ("team/.hidden", True),
        ("-flag", True),
        ("/main", True),
        ("main/", True),
        ("main.", True),
        ("a//b", True),
        ("a@{b", True),
        ("a~1", True),
        ("a^b", True),
        ("a:b", True),
        ("a?b", True),
        ("a*b", True),
        ("a[b", True),
        ("a\\b", True),
        ("main\n", True),
        ("tab\there", True),
        ("del\x7f", True),
    ],
)
def test_git_branch_rules(branch: str, refused: bool) -> None:
    problem = branch_problem(branch)
    assert (problem is not None) == refused, problem
    if problem is not None:
        assert "which git refuses" in problem or "is not a branch name" in problem


@pytest.mark.parametrize(
    ("sub_path", "refused"),
    [
        ("", False),
        ("dags", False),
        ("airflow/dags", False),
        ("..", True),
        ("a/../b", True),
        ("/abs", True),
        ("a//b", True),
        ("./dags", True),
        ("dags/", True),
        ("a\\b", True),
        ("dags\n", True),
    ],
)
def test_git_sub_path_rules(sub_path: str, refused: bool) -> None:
    assert (sub_path_problem(sub_path) is not None) == refused
