"""The GitHub Actions workflow against the workflow schema (SchemaStore's, as check-jsonschema
0.39.0 vendors it): it cannot run here, so its shape is what can be proven."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CHECK = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CHECK, str(path)], capture_output=True, text=True, check=False)


def test_the_workflow_is_valid() -> None:
    result = check(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = yaml.safe_load(WORKFLOW.read_text())
    broken["jobs"]["test"]["steps"][0]["uses"] = 7  # a step's `uses` must be a string
    del broken["jobs"]["preview"]["runs-on"]
    path = tmp_path / "ci.yml"
    path.write_text(yaml.safe_dump(broken))
    result = check(path)
    assert result.returncode == 1 and "jobs" in result.stdout, result.stdout + result.stderr
