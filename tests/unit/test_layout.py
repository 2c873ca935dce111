"""The shape of the code that keeps it easy to carry on: one-way layers, and ruff's size signals.

How long a file or a function may be is not counted here: ruff's complexity (C901), branches
(PLR0912) and statements (PLR0915) rules flag what grows hard to read (`make lint`).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("components", "config", "lib", "offline", "policy", "reports")
SIZE_RULES = {
    "C901": ("mccabe", "max-complexity"),
    "PLR0912": ("pylint", "max-branches"),
    "PLR0915": ("pylint", "max-statements"),
}
FORBIDDEN_IMPORTS = {
    "lib": ("config", "components", "offline", "program", "pulumi", "reports"),  # pure: plain data and functions
    "components": ("config", "program", "reports"),  # reusable: their args are their own
    "config": ("components", "offline", "program", "pulumi", "reports"),
    "reports": ("config", "components", "offline", "program", "pulumi"),  # reads plans, with lib's facts
    "policy": ("config", "components", "offline", "program", "pulumi"),  # reads plans and resources only
}


def sources(*packages: str) -> list[Path]:
    """Every module of the packages, their sub-packages included."""
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_ruff_flags_complex_functions() -> None:
    """The size signals are on, each at an explicit threshold (pyproject.toml says how they were measured)."""
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    for rule, (plugin, setting) in SIZE_RULES.items():
        assert rule in lint["select"] and rule not in lint.get("ignore", []), rule
        assert isinstance(lint[plugin][setting], int), setting
    for path, ignored in lint.get("per-file-ignores", {}).items():
        assert not set(ignored) & set(SIZE_RULES), f"{path} is exempt from a size rule"


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IMPORTS))
def test_layers_import_one_way(package: str) -> None:
    for path in sources(package):
        for module in imported(ast.parse(path.read_text())):
            root = module.split(".")[0]
            assert root not in FORBIDDEN_IMPORTS[package], f"{path.relative_to(ROOT)} imports {module}"


def test_the_rule_reaches_sub_packages() -> None:
    found = {p.relative_to(ROOT).as_posix() for p in sources("lib", "components")}
    assert {"lib/airflow/values.py", "components/parts/helm.py"} <= found


def test_lib_keeps_only_cross_cutting_modules_at_its_top() -> None:
    """A feature's module goes in its package; the few every feature uses are named in lib/__init__.py."""
    top = {p.name for p in (ROOT / "lib").glob("*.py")}
    cross_cutting = {"naming.py", "merge.py", "images.py", "kubernetes_names.py", "aws_catalog.py", "quantities.py"}
    assert top == {"__init__.py"} | cross_cutting
    doc = (ROOT / "lib" / "__init__.py").read_text()
    assert all(f"`{name.removesuffix('.py')}`" in doc for name in cross_cutting)


def test_the_checks_can_fail() -> None:
    tree = ast.parse("import pulumi\nfrom config.settings import Settings\n")
    assert {"pulumi", "config.settings"} <= imported(tree)
