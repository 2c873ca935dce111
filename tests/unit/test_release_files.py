"""What a company needs to adopt the project: the licence, releases and the CI workflow's pins.

The workflow's schema is checked by the real tool in tests/renders/test_workflow.py; here, the
facts the files must agree on: versions, tags and pinned actions.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from airflow_eks_contract import CONTRACT_VERSION

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""https://www.apache.org/licenses/LICENSE-2.0.txt, as Debian ships it (/usr/share/common-licenses)."""
RELEASE = re.compile(r"^## (\d+\.\d+\.\d+) \((\d{4}-\d{2}-\d{2})\)$", re.M)
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})$")


def releases(path: Path) -> list[str]:
    return [m.group(1) for m in RELEASE.finditer(path.read_text())]


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps_using(action: str) -> list[dict[str, Any]]:
    return [
        step
        for job in workflow()["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith(f"{action}@")
    ]


def test_the_licence_is_apache_2_unmodified() -> None:
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256


def test_every_release_has_its_upgrade_notes_and_the_readme_names_the_newest_tags() -> None:
    changelog = ROOT / "CHANGELOG.md"
    versions = releases(changelog)
    assert versions, "CHANGELOG.md names no release (## X.Y.Z (YYYY-MM-DD))"
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    assert releases(ROOT / "UPGRADING.md") == versions
    text = changelog.read_text()
    newest = text.split(f"## {versions[0]} ", 1)[1].split("\n## ", 1)[0]
    unreleased = text.split("## Unreleased\n", 1)[1].split("\n## ", 1)[0] if "## Unreleased\n" in text else ""
    # The package's version is the newest release's contract, or the next one, which the
    # Unreleased section announces; the README names the newest tag until it is released.
    tagged = re.findall(r"`contract-v(\d+\.\d+\.\d+)`", newest)
    assert tagged, f"release {versions[0]} names no contract tag"
    if f"`contract-v{CONTRACT_VERSION}`" not in unreleased:
        assert tagged[0] == CONTRACT_VERSION
    readme = (ROOT / "README.md").read_text()
    assert f"`v{versions[0]}`" in readme and f"`contract-v{tagged[0]}`" in readme
    assert f"@contract-v{tagged[0]}#subdirectory=contract" in (ROOT / "contract" / "README.md").read_text()


def test_every_action_is_pinned_to_a_commit_named_by_its_release() -> None:
    lines = [line.strip() for line in WORKFLOW.read_text().splitlines() if line.strip().startswith("- uses:")]
    assert lines
    shas: dict[str, set[str]] = {}
    for line in lines:
        ref, _, comment = line.removeprefix("- uses:").partition("#")
        match = PINNED.match(ref.strip())
        assert match, f"not pinned to a commit: {line}"
        assert re.fullmatch(r"v\d+\.\d+\.\d+", comment.strip()), f"no release named: {line}"
        shas.setdefault(match["action"], set()).add(f"{match['sha']} {comment.strip()}")
    assert all(len(pins) == 1 for pins in shas.values()), shas
    assert set(shas) == {
        "actions/checkout",
        "actions/setup-python",
        "aws-actions/configure-aws-credentials",
        "pulumi/actions",
    }


def test_the_workflow_runs_what_ci_runs_then_previews_and_deploys_with_the_policy_pack() -> None:
    jobs = workflow()["jobs"]
    ci = (ROOT / ".ci" / "run").read_text()
    commands = "\n".join(step.get("run", "") for step in jobs["test"]["steps"])
    for command in ("make test", "make integration"):
        assert command in ci and command in commands
    runs = {step["with"]["command"]: step for step in steps_using("pulumi/actions")}
    assert set(runs) == {"preview", "up"}
    assert all(step["with"]["policyPacks"] == "policy" for step in runs.values())
    assert jobs["preview"]["if"].startswith("github.event_name == 'pull_request'")
    reports = "\n".join(step.get("run", "") for step in jobs["preview"]["steps"])
    assert (
        'make --no-print-directory diff STACK="${STACK}" BASE="${BASE}"' in reports
        and 'exit "${diff_status}"' in reports
    )
    assert 'make --no-print-directory cost STACK="${STACK}"' in reports
    assert jobs["deploy"]["if"].startswith("github.event_name == 'push' && github.ref == 'refs/heads/main'")
    assert jobs["deploy"]["strategy"] == {"max-parallel": 1, "matrix": {"stack": ["dev", "prod"]}}
    assert workflow()["permissions"] == {"contents": "read"}


def test_the_cli_the_workflow_installs_is_the_release_of_the_pinned_sdk() -> None:
    sdk = re.search(r"^pulumi>=(\d+\.\d+),<", (ROOT / "requirements.txt").read_text(), re.M)
    assert sdk
    cli = workflow()["env"]["PULUMI_VERSION"]
    assert cli.rsplit(".", 1)[0] == sdk.group(1)
