"""The stack outputs as a typed, versioned contract: what the program exports, what readers get,
and what a new version may change (contract/)."""

from __future__ import annotations

import ast
import itertools
import json
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
import pytest
from airflow_eks_contract import (
    CONTRACT_VERSION,
    ContractError,
    PlatformOutputs,
    compatibility,
    output_specs,
    published,
    read_platform,
)
from airflow_eks_contract.reader import checked_value

from offline.mocks import Plan, ProgramError, run_mocked
from scripts.contract import README, SNAPSHOTS, readme_with_table, snapshots

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "contract" / "airflow_eks_contract"
STACK = "acme/airflow-eks/prod"
SPECS = {s.name: s for s in output_specs()}
SECRETS = {"cluster_kubeconfig", "airflow_admin_password"}
WORKER_OUTPUTS = {"airflow_worker_role_arn", "airflow_worker_role_name", "airflow_worker_service_account"}
MONITORING_OUTPUTS = {  # contract 1.2.0
    "sns_alerts_topic_arn",
    "cloudwatch_dashboard_url",
    "cloudwatch_metrics_namespace",
    "cloudwatch_container_log_group",
    "task_logs_bucket_name",
    "task_logs_role_arn",
}
AUDIT_OUTPUTS = {"vpc_flow_log_group_name", "cluster_log_group_name"}  # contract 1.3.0
TEAMS_OUTPUTS = {  # contract 2.0.0
    "secrets_backend_role_arn",
    "secrets_kms_key_arn",
    "team_role_arns",
    "team_role_names",
    "team_service_accounts",
    "team_secrets_prefixes",
    "team_deployer_role_arns",
    "team_kubeconfigs",
    "task_image_repositories",
}
REMOVED = {"db_connection_uri"}  # contract 2.0.0: it carried the master user's credentials


# --------------------------------------------------------------------------- what the program exports


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_program_exports_exactly_the_contract_with_its_types_and_secrets(
    plans: dict[str, Plan], stack: str
) -> None:
    plan = plans[stack]
    assert list(plan.outputs) == list(SPECS)  # the same names, in the contract's order
    assert plan.secret_outputs == SECRETS == {n for n, s in SPECS.items() if s.secret}
    for name, value in plan.outputs.items():
        assert checked_value(SPECS[name], value, stack) == value, name  # raises on a wrong type
    assert plan.outputs["contract_version"] == CONTRACT_VERSION


def test_prod_exports_what_it_exported_before_the_contract_and_the_worker_role(prod: Plan) -> None:
    before = json.loads((SNAPSHOTS / "1.0.0.json").read_text())["outputs"]
    assert len(before) == 38
    assert set(before) - set(prod.outputs) == REMOVED  # contract 2.0.0
    assert set(prod.outputs) - set(before) == {
        *WORKER_OUTPUTS,
        "contract_version",
        *MONITORING_OUTPUTS,
        *AUDIT_OUTPUTS,
        *TEAMS_OUTPUTS,
    }
    assert prod.outputs["vpc_flow_log_group_name"] == "/aws/vpc/airflow-prod/flow-logs"
    assert prod.outputs["cluster_log_group_name"] == "/aws/eks/airflow-prod/cluster"
    role = prod.one("aws:iam/role:Role", "airflow-prod-airflow-worker-role")
    assert prod.outputs["airflow_worker_role_name"] == "airflow-prod-airflow-worker-role"
    assert prod.outputs["airflow_worker_role_arn"].endswith(":role/airflow-prod-airflow-worker-role")
    assert prod.outputs["airflow_worker_service_account"] == "airflow-worker"
    assert "airflow-worker" in role.inputs["assumeRolePolicy"]


# --------------------------------------------------------------------------- versions and snapshots


def test_the_latest_snapshot_is_the_contract_and_its_version() -> None:
    latest = snapshots()[-1]
    assert latest == published(CONTRACT_VERSION), "run `python scripts/contract.py`"
    assert metadata.version("airflow-eks-contract") == CONTRACT_VERSION  # the installed package is this one


def test_each_published_version_follows_the_one_before() -> None:
    history = snapshots()
    assert [s["version"] for s in history] == ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0"]
    for old, new in itertools.pairwise(history):
        assert compatibility(old, new) == [], new["version"]


def test_db_connection_uri_left_through_a_major_version() -> None:
    """Removing an output is the contract's major change: 2.0.0, which removes it (and adds the
    teams' outputs), follows 1.3.0."""
    old, new = snapshots()[-2:]
    assert (old["version"], new["version"]) == ("1.3.0", "2.0.0")
    assert set(old["outputs"]) - set(new["outputs"]) == REMOVED
    assert set(new["outputs"]) - set(old["outputs"]) == TEAMS_OUTPUTS
    assert compatibility(old, {**new, "version": "1.4.0"}) == [
        "'db_connection_uri' was removed (or renamed): a breaking change, which needs a major version above 1.3.0"
    ]


def contract(version: str, **outputs: tuple[str, bool]) -> dict[str, Any]:
    return {"version": version, "outputs": {n: {"type": t, "secret": s} for n, (t, s) in outputs.items()}}


BASE = contract("1.2.0", a=("string", False), b=("integer", False), c=("string", True))


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (contract("1.3.0", a=("string", False), b=("integer", False)), "'c' was removed"),
        (contract("1.3.0", a=("string", False), b=("string", False), c=("string", True)), "'b' changed type"),
        (contract("1.3.0", a=("string", False), b=("integer", False), c=("string", False)), "'c' is no longer"),
        (
            contract("1.2.0", a=("string", False), b=("integer", False), c=("string", True), d=("string", False)),
            "d added",
        ),
        (contract("1.1.0", a=("string", False), b=("integer", False), c=("string", True)), "is below 1.2.0"),
    ],
)
def test_a_change_that_breaks_readers_needs_a_major_version(new: dict[str, Any], problem: str) -> None:
    problems = compatibility(BASE, new)
    assert len(problems) == 1 and problem in problems[0]


@pytest.mark.parametrize(
    "new",
    [
        contract("2.0.0", a=("string", False), b=("integer", False)),  # removal, with the major version
        contract("2.0.0", a=("string", False), b=("string", False), c=("string", True)),  # retyped
        contract("1.3.0", a=("string", False), b=("integer", False), c=("string", True), d=("string", False)),
        contract("1.2.1", a=("string", True), b=("integer", False), c=("string", True)),  # a secret more
    ],
)
def test_additions_need_a_minor_version_and_breaks_a_major_one(new: dict[str, Any]) -> None:
    assert compatibility(BASE, new) == []


def test_the_contract_readme_table_of_outputs_is_generated_from_the_contract() -> None:
    text = README.read_text()
    assert readme_with_table(text) == text, "run `python scripts/contract.py`"
    for spec in output_specs():
        assert f"| `{spec.name}` | {spec.type_name} | {'yes' if spec.secret else 'no'} |" in text


def test_the_contract_package_needs_only_pulumi() -> None:
    allowed = {"pulumi", *sys.stdlib_module_names}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
    requires = metadata.requires("airflow-eks-contract") or []
    assert [r.split(">")[0].split("<")[0] for r in requires] == ["pulumi"]


# --------------------------------------------------------------------------- the reader, under mocks


def read_back(outputs: Mapping[str, Any], secret: frozenset[str], reader: Any = None) -> Plan:
    """What a consumer resolves from `read_platform(STACK)`, the stack publishing `outputs`."""

    def consumer() -> dict[str, Any]:
        platform: PlatformOutputs = (reader or read_platform)(STACK)
        return {spec.name: getattr(platform, spec.name) for spec in output_specs()}

    return run_mocked(consumer, "team", "us-east-1", project="consumer", stacks={STACK: (outputs, secret)})


def test_the_reader_gives_every_output_with_its_type_and_keeps_secrets(prod: Plan) -> None:
    got = read_back(*prod.published())
    assert got.outputs == prod.outputs
    assert isinstance(got.outputs["db_port"], int)  # the engine hands numbers over as floats
    assert got.secret_outputs == SECRETS


def test_the_reader_keeps_the_contracts_secrets_secret_when_the_stack_does_not(prod: Plan) -> None:
    assert read_back(prod.outputs, frozenset()).secret_outputs == SECRETS


def test_the_reader_takes_a_stack_reference_of_your_own(prod: Plan) -> None:
    got = read_back(*prod.published(), reader=lambda name: read_platform(pulumi.StackReference("platform", name)))
    assert got.outputs == prod.outputs


def contract_error(outputs: Mapping[str, Any]) -> str:
    with pytest.raises(ProgramError) as raised:
        read_back(outputs, frozenset())
    assert isinstance(raised.value.cause, ContractError)
    return str(raised.value.cause)


def test_a_missing_output_is_named_with_both_contract_versions(prod: Plan) -> None:
    older = {k: v for k, v in prod.outputs.items() if SPECS[k].since == "1.0.0"}
    message = contract_error(older)
    assert any(f"has no output '{name}'" in message for name in set(prod.outputs) - set(older))
    assert f"stack '{STACK}'" in message
    assert "publishes no contract_version (before 1.1.0)" in message
    assert f"this reader is contract {CONTRACT_VERSION}" in message


def test_an_output_of_another_type_is_an_error(prod: Plan) -> None:
    message = contract_error({**prod.outputs, "db_port": "5432"})
    assert "output 'db_port' is a str, the contract says integer" in message
    assert f"publishes contract {CONTRACT_VERSION}" in message
