"""`make diff` on the real program: config changes classified as `pulumi up` would apply them."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import scripts.diff as diff_script
from offline.mocks import Plan
from reports.diff import Action, PlanDiff, diff_plans, render
from reports.replacement import covered
from scripts.diff_plan import document
from scripts.snapshot_plans import SNAPSHOT_DIR
from tests.support.plans import plan_once

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = bytes(range(32))
DB = "airflow-dev-db"


def dev_diff(dev: Plan, overrides: dict[str, Any]) -> PlanDiff:
    return diff_plans(document(dev, KEY), document(plan_once("dev", overrides), KEY))


def node_groups() -> dict[str, Any]:
    stack = yaml.safe_load((ROOT / "config" / "Pulumi.dev.yaml").read_text())
    groups: dict[str, Any] = copy.deepcopy(stack["config"]["airflow-eks:nodeGroups"])
    return groups


def touched(diff: PlanDiff) -> dict[str, tuple[Action, list[str]]]:
    return {c.name: (c.action, c.changed) for c in diff.changes if c.action is not Action.SAME}


def test_every_type_the_plans_create_has_a_rule(plans: dict[str, Plan]) -> None:
    types = {r.type for plan in plans.values() for r in plan.resources}
    for snapshot in SNAPSHOT_DIR.glob("*.json"):  # the optional branches too: an existing VPC, database...
        types |= {r["type"] for r in json.loads(snapshot.read_text())["resources"]}
    assert len(types) > 60
    assert sorted(t for t in types if not covered(t)) == []


def test_an_unchanged_stack_is_all_unchanged(dev: Plan) -> None:
    diff = diff_plans(document(dev, KEY), document(dev, KEY))
    assert diff.count(Action.SAME) == len(dev.resources) and diff.notes == []


def test_a_new_database_name_replaces_the_database_and_what_takes_its_address(dev: Plan) -> None:
    diff = dev_diff(dev, {"dbName": "airflowdb"})
    db = diff.by_name(DB)
    assert (db.action, db.changed, db.replaced_by) == (Action.REPLACE, ["dbName"], ["dbName"])
    assert [c.name for c in diff.loud] == [DB]
    assert touched(diff) == {
        DB: (Action.REPLACE, ["dbName"]),
        f"{DB}-state": (Action.REPLACE, [f"identifier (from replaced {DB})"]),
        # Airflow's roles are named after the database (airflowdb_app_g0): the roles Job runs again
        # (its plan and checksum change), and every Secret naming the role changes.
        f"{DB}-roles": (
            Action.REPLACE,
            [
                'spec.template.metadata.annotations["checksum/airflow-db-roles"]',
                "spec.template.spec.containers[0].env[0].value",
                f"spec (from replaced {DB})",
            ],
        ),
        f"{DB}-roles-master-secret": (Action.UPDATE, [f"policy (from replaced {DB})"]),
        f"{DB}-roles-script": (Action.REPLACE, [f"data (from replaced {DB})"]),
        "airflow-dev-metadata-secret": (
            Action.REPLACE,
            ["stringData.connection (secret)", f"stringData (from replaced {DB})"],
        ),
        "airflow-dev-pgbouncer-stats-secret": (
            Action.REPLACE,
            ["stringData.connection (secret)", f"stringData (from replaced {DB})"],
        ),
        # PgBouncer's generated file names the database: a changed secret, its value never shown.
        "airflow-dev-pgbouncer-config-secret": (
            Action.REPLACE,
            [
                'stringData["pgbouncer.ini"] (secret)',
                'stringData["users.txt"] (secret)',
                f"stringData (from replaced {DB})",
            ],
        ),
        "airflow-dev-release": (
            Action.UPDATE,
            [
                *(f'values.{s}.podAnnotations["checksum/airflow-keys"]' for s in ("apiServer", "dagProcessor")),
                'values.pgbouncer.podAnnotations["checksum/pgbouncer-generated-config"]',
                *(f'values.{s}.podAnnotations["checksum/airflow-keys"]' for s in ("scheduler", "triggerer")),
                f"values (from replaced {DB})",
            ],
        ),
    }


def test_the_operations_page_shows_what_make_diff_prints(dev: Plan) -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    example = page.split("For the dev stack with `dbName` changed:\n\n```\n", 1)[1].split("```", 1)[0]
    printed = render(dev_diff(dev, {"dbName": "airflowdb"}), "HEAD").splitlines()
    shown = [line for line in example.splitlines() if line.strip() != "..."]
    assert len(shown) > 20
    assert [line for line in shown if line not in printed] == []


def test_a_larger_instance_class_updates_the_database_in_place(dev: Plan) -> None:
    diff = dev_diff(dev, {"dbInstanceClass": "db.t4g.small"})
    assert touched(diff) == {
        DB: (Action.UPDATE, ["instanceClass"]),
        # The alarms' thresholds and PgBouncer's pool follow the class's memory and connections.
        "airflow-dev-alarms-db-connections": (Action.UPDATE, ["threshold"]),
        "airflow-dev-alarms-db-free-memory": (Action.UPDATE, ["threshold"]),
        "airflow-dev-pgbouncer-config-secret": (Action.REPLACE, ['stringData["pgbouncer.ini"] (secret)']),
        "airflow-dev-release": (
            Action.UPDATE,
            ['values.pgbouncer.podAnnotations["checksum/pgbouncer-generated-config"]'],
        ),
    }
    assert diff.loud == []


def test_new_instance_types_replace_the_node_group(dev: Plan) -> None:
    groups = node_groups()
    groups["workers"]["instanceTypes"] = ["m7g.xlarge"]  # the same architecture: the AMI type stays
    diff = dev_diff(dev, {"nodeGroups": groups})
    group = diff.by_name("airflow-dev-workers")
    assert (group.action, group.changed, group.replaced_by) == (Action.REPLACE, ["instanceTypes"], ["instanceTypes"])
    assert [c.name for c in diff.loud] == ["airflow-dev-workers"]
    # The autoscaler's node-template tags sit on the group's ASG, which a new group replaces.
    tags = [c for c in diff.changes if c.type == "aws:autoscaling/tag:Tag" and c.action is Action.REPLACE]
    assert len(tags) == 2
    assert all(c.replaced_by == ["autoscalingGroupName (from replaced airflow-dev-workers)"] for c in tags)


def test_a_larger_node_group_and_disk_update_it_in_place(dev: Plan) -> None:
    groups = node_groups()
    groups["workers"]["maxSize"] = 8
    groups["workers"]["desiredSize"] = 2  # ignoreScalingChanges: the autoscaler owns the desired size
    groups["workers"]["minSize"] = 0
    diff = dev_diff(dev, {"nodeGroups": groups})
    assert touched(diff)["airflow-dev-workers"] == (Action.UPDATE, ["scalingConfig.maxSize"])
    assert diff.loud == [] and diff.count(Action.REPLACE) == 0
    groups = node_groups()
    groups["workers"]["diskSizeGib"] = 80
    diff = dev_diff(dev, {"nodeGroups": groups})
    assert touched(diff) == {
        "airflow-dev-workers-lt": (Action.UPDATE, ["blockDeviceMappings[0].ebs.volumeSize"]),
        # A new template version: the group rolls its nodes onto it, in place.
        "airflow-dev-workers": (Action.UPDATE, ["launchTemplate (from updated airflow-dev-workers-lt)"]),
    }


def test_chart_values_upgrade_the_helm_release_in_place(dev: Plan) -> None:
    diff = dev_diff(dev, {"airflowValues": {"scheduler": {"logGroomerSidecar": {"retentionDays": 7}}}})
    assert touched(diff) == {
        "airflow-dev-release": (Action.UPDATE, ["values.scheduler.logGroomerSidecar.retentionDays"])
    }
    assert [diff.count(a) for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)] == [0, 1, 0, 0]


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "plan-digest.key"
    monkeypatch.setattr(diff_script, "KEY_FILE", path)
    return path


@pytest.fixture(autouse=True)
def shared_working_tree_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make diff` plans the working tree with `run_program`; here it gets the session's plan of the
    same stack, which is the same plan (the program is deterministic: tests/plans/test_plan.py). A
    base revision is still planned by the script itself, in its worktree."""

    def planned(stack: str, config_dir: Path, project_file: Path) -> Plan:
        assert project_file == ROOT / "Pulumi.yaml"
        return plan_once(stack, config_dir=config_dir)

    monkeypatch.setattr(diff_script, "run_program", planned)


def test_make_diff_exits_3_for_a_stateful_replacement_unless_allowed(
    key_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "deployed.json"
    deployed = plan_once("dev", {"dbName": "olddb"})  # as if deployed with another name
    saved.write_text(json.dumps(document(deployed, diff_script.local_key())))
    argv = ["--stack", "dev", "--base", str(saved), "--out", str(tmp_path)]
    assert diff_script.main(argv) == diff_script.STATEFUL_EXIT
    printed = capsys.readouterr().out
    assert printed.index("STATEFUL RESOURCES REPLACED") < printed.index(
        "+- replace  aws:rds/instance:Instance  airflow-dev-db"
    )
    assert "replaced because: dbName" in printed and "+-7 to replace" in printed
    report = json.loads((tmp_path / "diff-dev.json").read_text())
    assert report["stateful"] == [deployed.one("aws:rds/instance:Instance").urn]
    assert diff_script.main([*argv, "--allow-stateful"]) == 0
    assert "(accepted: --allow-stateful)" in capsys.readouterr().out
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_saved_plan_of_the_same_tree_shows_no_change(
    key_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "deployed" / "plan-dev.json"
    assert diff_script.main(["--stack", "dev", "--save", str(saved)]) == 0
    doc = json.loads(saved.read_text())
    digested = {r["name"] for r in doc["resources"] if "secretDigests" in r}
    assert {"airflow-dev-db-roles-secret", "airflow-dev-metadata-secret", "airflow-dev-k8s"} <= digested
    assert "[secret]" in saved.read_text() and "postgresql://" not in saved.read_text()
    assert diff_script.main(["--stack", "dev", "--base", str(saved), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "    + 0 to create\n    ~ 0 to update\n    +-0 to replace\n    - 0 to delete\n" in printed
    assert "note:" not in printed  # secrets compared: the same key


def test_a_copy_of_make_plans_file_is_a_base_too(
    key_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plan-dev.json"
    plain.write_text(json.dumps(plan_once("dev", {"dbInstanceClass": "db.t4g.small"}).as_json()))
    assert diff_script.main(["--stack", "dev", "--base", str(plain), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "~  update   aws:rds/instance:Instance  airflow-dev-db\n        instanceClass\n" in printed
    assert "could not be compared (no digests of this key in the base plan)" in printed


def worktrees() -> set[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list", "--porcelain"], capture_output=True, text=True, check=True
    )
    return {line.split(" ", 1)[1] for line in listed.stdout.splitlines() if line.startswith("worktree ")}


def test_a_base_revision_is_planned_in_a_temporary_worktree() -> None:
    before = worktrees()
    doc = diff_script.revision_plan("HEAD", "dev", "config", KEY)
    # HEAD's program plans what HEAD's snapshot holds (tests/plans/test_plan_snapshot.py keeps them equal).
    committed = subprocess.run(
        ["git", "-C", str(ROOT), "show", "HEAD:tests/snapshots/dev.json"], capture_output=True, text=True, check=True
    )
    snapshot = json.loads(committed.stdout)
    assert {r["urn"]: r["inputs"] for r in doc["resources"]} == {r["urn"]: r["inputs"] for r in snapshot["resources"]}
    # Removed again (other worktrees of the repository may come and go meanwhile).
    assert [w for w in worktrees() - before if "airflow-eks-diff-" in w] == []


def test_a_base_that_is_neither_a_file_nor_a_revision_is_refused(
    key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert diff_script.main(["--stack", "dev", "--base", "no-such-revision-or-file"]) == 2
    assert "is neither a plan file nor a git revision" in capsys.readouterr().err


def test_help_writes_nothing(key_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        diff_script.main(["--help", "--out", str(tmp_path / "out")])
    assert exit_.value.code == 0 and "--allow-stateful" in capsys.readouterr().out
    assert not key_file.exists() and not (tmp_path / "out").exists()
