"""The policy pack is published alone (`pulumi policy publish policy`): it imports only the
standard library, pulumi-policy's public names and its own modules, and the facts it holds of
the program's chart values agree with the program's (tests/renders/test_policy_pack_alone.py runs
the folder alone)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pulumi_policy

from lib.airflow import task_images
from lib.airflow.values import COMPONENT_LABELS
from lib.cluster.scheduling import ZONE_KEY
from policy.airflow_eks_guardrails import chart, images

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policy"
OWN = "airflow_eks_guardrails"


def outside_imports(source: str) -> set[str]:
    """What a module imports from outside the standard library and the pack itself."""
    found = set()
    modules: list[tuple[str, tuple[str, ...]]]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [(node.module, tuple(a.name for a in node.names))]
        else:
            continue
        for module, names in modules:
            root = module.split(".")[0]
            if root in sys.stdlib_module_names or root in (OWN, "__future__"):
                continue
            if module == "pulumi_policy" and set(names) <= set(pulumi_policy.__all__):
                continue
            found.add(module if not names else f"{module}:{','.join(names)}")
    return found


def test_the_pack_imports_nothing_outside_its_folder() -> None:
    for path in PACK.rglob("*.py"):
        allowed = {"pytest"} if path.parent.name == "tests" else set()
        outside = {m for m in outside_imports(path.read_text()) if m.split(".")[0].split(":")[0] not in allowed}
        assert outside == set(), f"{path.relative_to(ROOT)} imports {outside}"


def test_the_check_catches_what_publishing_would_break() -> None:
    assert outside_imports("from lib.naming import child_name\n") == {"lib.naming:child_name"}
    assert outside_imports("from pulumi_policy import proxy\n") == {"pulumi_policy:proxy"}
    assert outside_imports("from pulumi_policy import PolicyPack\nimport json\nfrom .model import Stack\n") == set()


def test_the_chart_facts_of_the_pack_are_the_programs() -> None:
    assert chart.CONTROL_PLANE_LABELS == COMPONENT_LABELS
    assert chart.ZONE_KEY == ZONE_KEY
    assert images.TASK_IMAGES_CONFIG_MAP == task_images.TASK_IMAGES_CONFIG_MAP
    assert images.REPOSITORIES_KEY == task_images.REPOSITORIES_KEY
    for repository in ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/airflow", "public.ecr.aws/a/b", "ghcr.io/a/b"):
        private = images.ECR_PRIVATE.fullmatch(repository) is not None
        assert private == (task_images.ecr_repository_arn(repository) is not None), repository


def test_the_pack_requires_what_the_tests_run_it_with() -> None:
    pins = (PACK / "requirements.txt").read_text()
    dev = (ROOT / "requirements-dev.txt").read_text()
    runtime = (ROOT / "requirements.txt").read_text()
    policy_pin = re.search(r"^pulumi-policy==\S+$", pins, re.M)
    sdk_pin = re.search(r"^pulumi>=\S+$", pins, re.M)
    assert policy_pin and policy_pin.group(0) in dev.splitlines()
    assert sdk_pin and sdk_pin.group(0) in runtime.splitlines()
