"""`--help` on every script prints its usage and writes nothing (issue 25, item 3: three scripts
rewrote committed files when asked for help).

Each script runs with `--help` in a copy of the repository's tracked files, so a script that writes
(into its own tree, the working directory or `build/`) changes the copy, never the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py") if 'if __name__ == "__main__":' in p.read_text())
"""The scripts one runs; the others (kubelet.py, emulated_pod.py, emulated_executor.py) are modules they import."""


def tracked_copy(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def state(tree: Path) -> dict[str, tuple[int, int]]:
    """Every file of `tree` (caches aside) with its size and modification time."""
    return {
        str(p.relative_to(tree)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in tree.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tracked_copy(tmp_path_factory.mktemp("repo"))


IMPORTED = {
    "__init__.py",
    "emulated_executor.py",
    "emulated_pod.py",
    "jwt_checks.py",
    "kubelet.py",
    "task_pod_checks.py",
}


def test_every_script_is_checked() -> None:
    """A file of scripts/ is either run (and checked below) or imported by those that are."""
    every = {p.name for p in (ROOT / "scripts").glob("*.py")}
    assert set(SCRIPTS) == every - IMPORTED and every >= IMPORTED
    assert {"project_config.py", "config_docs.py", "component_docs.py", "plan.py", "diff.py", "policy.py"} <= set(
        SCRIPTS
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_writes_nothing(repo_copy: Path, script: str) -> None:
    before = state(repo_copy)
    run = subprocess.run(
        [sys.executable, f"scripts/{script}", "--help"],
        cwd=repo_copy,
        # task_pod_checks.py runs with the repository on PYTHONPATH (in a pod of make integration)
        env={**os.environ, "PYTHONPATH": str(repo_copy)} if script == "task_pod_checks.py" else None,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert state(repo_copy) == before
    assert run.stdout.startswith("usage:")
