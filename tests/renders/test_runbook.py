"""The runbook answers every alarm and names what the stack really creates."""

from __future__ import annotations

import re
from pathlib import Path

from lib.observability.alarms import THRESHOLDS
from offline.mocks import Plan
from tests.support.plans import alarms
from tests.support.renders import Rendered

RUNBOOK = (Path(__file__).resolve().parents[2] / "docs" / "runbook.md").read_text()


def anchors() -> set[str]:
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", RUNBOOK, re.M)}


def test_every_alarm_points_at_a_section_of_the_runbook(prod: Plan) -> None:
    found = alarms(prod)
    assert len(found) == 18
    for name, alarm in found.items():
        (section,) = re.findall(r"docs/runbook\.md#([a-z0-9-]+)", alarm["alarmDescription"])
        assert section in anchors(), (name, section)


def test_the_runbooks_commands_name_the_stacks_deployments_containers_and_outputs(prod: Plan) -> None:
    rendered = Rendered(prod)
    deployments = {o["metadata"]["name"] for o in rendered.objects if o["kind"] == "Deployment"}
    commands = re.findall(r"-n airflow \w+(?: [\w-]+)* deploy/([\w-]+)(?: -c ([\w-]+))?", RUNBOOK)
    assert len(commands) >= 10
    for deployment, container in commands:
        assert deployment in deployments, deployment
        if container:
            names = [c["name"] for c in rendered.deployment_pod(deployment)["containers"]]
            assert container in names, (deployment, container)
    for output in re.findall(r"pulumi stack output (\w+)", RUNBOOK):
        assert output in prod.outputs, output
    assert [name for name in THRESHOLDS if f"`{name}`" not in RUNBOOK] == []  # each alarm's knob
    releases = {r.inputs["name"] for r in prod.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"cluster-autoscaler", "aws-load-balancer-controller"} <= releases
    assert prod.one("random:index/randomPassword:RandomPassword", "airflow-prod-db-app-password")
    assert prod.one("tls:index/privateKey:PrivateKey", "airflow-prod-jwt-signing-key")
