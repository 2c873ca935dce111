"""The shape of the code that keeps it easy to carry on: small files and functions, one-way layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "config", "lib", "offline", "policy")
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60
FORBIDDEN_IMPORTS = {
    "lib": ("config", "components", "offline", "program", "pulumi"),  # pure: plain data and functions
    "components": ("config", "program"),  # reusable: their args are their own
    "config": ("components", "offline", "program", "pulumi"),
    "policy": ("config", "components", "offline", "program", "pulumi"),  # reads plans and resources only
}


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).glob("*.py"))


def imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", [*sources(*PACKAGES), ROOT / "program.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_files_and_functions_are_short(path: Path) -> None:
    text = path.read_text()
    if path.parent.name in PACKAGES:  # program.py, the composition root, only maps settings to args
        assert len(text.splitlines()) <= MAX_FILE_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{node.name} has {length} lines"


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IMPORTS))
def test_layers_import_one_way(package: str) -> None:
    for path in sources(package):
        for module in imported(ast.parse(path.read_text())):
            root = module.split(".")[0]
            assert root not in FORBIDDEN_IMPORTS[package], f"{path.relative_to(ROOT)} imports {module}"


def test_the_checks_can_fail() -> None:
    tree = ast.parse("import pulumi\nfrom config.settings import Settings\n")
    assert {"pulumi", "config.settings"} <= imported(tree)
