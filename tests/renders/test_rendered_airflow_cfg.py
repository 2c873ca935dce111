"""scripts/rendered_airflow_cfg.py: what `make integration` hands Airflow 3.3.2 to lint and run.

The files come from the real chart's render of a stack's values: the airflow.cfg as the pods
mount it, the program's own `config` (each option of which the integration run checks against
Airflow), and the admin-user Job's command as rendered.
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

import scripts.rendered_airflow_cfg as script
from lib.airflow.secret_files import admin_password_path
from lib.airflow.values import ADMIN_USERNAME
from tests.support.plans import plan_once
from tests.support.renders import render_once


@pytest.fixture(autouse=True)
def shared_plan_and_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """The script plans the stack and renders the chart as the session does (`run_program`, `render`):
    here it gets the session's plan and render of the same stack, which are the same."""
    monkeypatch.setattr(script, "run_program", plan_once)
    monkeypatch.setattr(script, "render", render_once)


def test_writes_the_charts_airflow_cfg_the_programs_config_and_the_admin_job(tmp_path: Path) -> None:
    assert script.main(["--out", str(tmp_path), "--stack", "dev"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "airflow-dev.cfg",
        "create-user-dev.json",
        "values-config-dev.json",
    ]
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(tmp_path / "airflow-dev.cfg")
    ours = json.loads((tmp_path / "values-config-dev.json").read_text())
    # Every option the program sets is in the file the pods mount, as set.
    for section, options in ours.items():
        for option, value in options.items():
            assert cfg.get(section, option) == str(value), (section, option)
    assert ours["workers"]["execution_api_timeout"] == "20.0"
    # The chart's own lines the integration run explains (lint notices, options 3.3 does not read).
    assert cfg.get("core", "executor") == "KubernetesExecutor"
    assert cfg.get("webserver", "enable_proxy_fix") == cfg.get("fab", "enable_proxy_fix") == "True"
    job = json.loads((tmp_path / "create-user-dev.json").read_text())
    assert job["password_file"] == admin_password_path() and job["command"] is None
    assert f'--password "$(cat {admin_password_path()})"' in job["args"][2]
    assert job["args"][:2] == ["bash", "-c"] and "airflow users create" in job["args"][2]
    assert job["args"][job["args"].index("--username") + 1] == ADMIN_USERNAME
