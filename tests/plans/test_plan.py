"""The offline plan: the main job's format, determinism and printout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline.mocks import SECRET, Plan, run_program
from scripts.plan import main as plan_main
from scripts.plan import render_tree

REMOTE = ("eks:index:Cluster$", "eks:index:ManagedNodeGroup$")
FIELDS = ["urn", "type", "name", "id", "custom", "parent", "dependencies", "inputs", "protect"]


def test_plan_command_writes_the_documented_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    doc = json.loads((tmp_path / "plan-dev.json").read_text())
    assert list(doc) == ["project", "stack", "resources", "outputs"]
    assert (doc["project"], doc["stack"]) == ("airflow-eks", "dev")
    urns = {r["urn"] for r in doc["resources"]}
    assert len(urns) == len(doc["resources"]) > 40
    for r in doc["resources"]:
        assert list(r) == FIELDS
        assert r["urn"].startswith("urn:pulumi:dev::airflow-eks::") and r["urn"].endswith("::" + r["name"])
        assert isinstance(r["custom"], bool) and isinstance(r["inputs"], dict)
        assert bool(r["id"]) == r["custom"]  # a custom resource's fake ID, which others' inputs carry
        assert r["parent"] in urns or r["parent"] == "urn:pulumi:dev::airflow-eks::pulumi:pulumi:Stack::airflow-eks-dev"
        # A dependency is in the plan, or a child of a remote component (pulumi-eks), whose
        # children the engine never shows a program.
        assert all(d in urns or d.split("::")[2].startswith(REMOTE) for d in r["dependencies"]), r["name"]
    assert doc["outputs"]["cluster_kubeconfig"] == SECRET
    # Dev leaves through a NAT instance: no NAT gateway to list.
    assert doc["outputs"]["vpc_nat_gateway_ids"] == [] and doc["outputs"]["cluster_name"] == "airflow-dev"
    # The printout: a tree under the components, counts per type, outputs without secrets.
    assert f"Stack airflow-eks/dev: {len(doc['resources'])} resources would be created" in printed
    assert "  + airflow:index:Network  airflow-dev" in printed
    assert "    + aws:ec2/vpc:Vpc  airflow-dev-vpc" in printed
    assert "     1  aws:ec2/instance:Instance" in printed
    assert f'cluster_kubeconfig: "{SECRET}"' in printed


def _everything(plan: Plan) -> list[Any]:
    """All a plan records, the fields a registration leaves out of its equality included."""
    resources = [(r, r.secrets, dict(r.property_dependencies)) for r in plan.resources]
    return [resources, plan.outputs, plan.secret_outputs, plan.component_outputs, plan.invokes, plan.warnings]


def test_plan_is_deterministic_and_the_sdk_as_it_is_plans_the_same(dev: Plan) -> None:
    """A second run, without the offline harness's shortcuts (offline/sdk_shortcuts.py),
    records the same plan: the shortcuts change nothing, and nothing depends on the order of a run."""
    again = run_program("dev", shortcuts=False)
    assert json.dumps(again.as_json(), sort_keys=True) == json.dumps(dev.as_json(), sort_keys=True)
    assert _everything(again) == _everything(dev)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_program_makes_no_live_calls(plans: dict[str, Plan], stack: str) -> None:
    assert plans[stack].invokes == []  # the committed stacks name their zones


def test_prod_plan_headline(prod: Plan) -> None:
    counts = prod.counts()
    assert counts["aws:ec2/vpc:Vpc"] == 1
    assert counts["aws:ec2/natGateway:NatGateway"] == 3
    assert counts["eks:index:Cluster"] == 1
    assert counts["eks:index:ManagedNodeGroup"] >= 3
    assert {r.inputs["availabilityZoneId"] for r in prod.of_type("aws:ec2/subnet:Subnet")} == {
        "use1-az1",
        "use1-az2",
        "use1-az4",
    }
    tree = render_tree(prod)
    assert "[protected]" in tree
    assert "+ aws:kms/key:Key  airflow-prod-db-key [protected] [kept on destroy]" in tree


# What each component registers as its outputs (`register_outputs`, kept in the state): its
# values, never the resources it hands out (a release, node groups, mount targets).
COMPONENT_OUTPUTS = {
    "airflow:index:Network": {
        "vpcId",
        "publicSubnetIds",
        "nodeSubnetIds",
        "dataSubnetIds",
        "natGatewayIds",
        "natGatewayCount",
        "natInstanceIds",
        "natInstanceCount",
        "availabilityZoneIds",
        "availabilityZones",
        "nodeSecurityGroupId",
        "databaseClientSecurityGroupId",
        "accountId",
    },
    "airflow:index:Cluster": {
        "clusterName",
        "endpoint",
        "oidcProviderArn",
        "oidcIssuer",
        "clusterSecurityGroupId",
        "secretsKeyArn",
        "logGroupName",
        "logsKmsKeyArn",
        "kubeconfig",
        "kubernetesServiceIp",
    },
    "airflow:index:NatInstance": {"instanceId", "networkInterfaceId"},
    "airflow:index:FlowLogs": {"logGroupName", "kmsKeyArn", "roleArn", "flowLogId"},
    "airflow:index:NodeGroups": {"nodeRoleArn", "nodeRoleName", "nodeGroupNames", "volumeKmsKeyArn"},
    "airflow:index:Database": {
        "address",
        "port",
        "dbName",
        "username",
        "securityGroupId",
        "resourceId",
        "instanceIdentifier",
        "kmsKeyArn",
        "masterSecretArn",
        "masterSecretKeyArn",
        "maxConnections",
    },
    "airflow:index:DatabaseRoles": {"connectionUri", "loginRole", "ownerRole", "namespace", "roleArn"},
    "airflow:index:SharedStorage": {
        "fileSystemId",
        "accessPointIds",
        "securityGroupId",
        "volumeNames",
        "claimNames",
        "claimNamespace",
        "volumeCapacity",
    },
    "airflow:index:EksAddon": {"addonName", "version", "roleArn"},
    "airflow:index:ClusterAddon": {"roleArn", "releaseName", "namespace", "chartVersion"},
    "airflow:index:ServiceAccountRole": {"roleArn", "roleName", "namespace", "serviceAccount"},
    "airflow:index:Airflow": {"releaseName", "chartVersion", "namespace", "adminPassword", "workerServiceAccount"},
    "airflow:index:LoadBalancer": {
        "dnsName",
        "arn",
        "url",
        "securityGroupId",
        "targetGroupArn",
        "port",
        "arnSuffix",
        "targetGroupArnSuffix",
        "privateAddresses",
    },
    "airflow:index:Alerts": {"topicArn", "kmsKeyArn"},
    "airflow:index:Alarms": {"alarmArns", "alarmNames"},
    "airflow:index:Dashboard": {"dashboardName", "url"},
    "airflow:index:ClusterTelemetry": {
        "metricsNamespace",
        "statsdHost",
        "statsdPort",
        "logGroupNames",
        "logsKmsKeyArn",
        "roleArn",
    },
    "airflow:index:LogArchive": {"bucketName", "bucketArn", "roleArn", "kmsKeyArn"},
}


def test_components_register_their_values_as_outputs_and_keep_secrets_secret(dev: Plan, prod: Plan) -> None:
    registered: dict[str, set[str]] = {}
    for plan, component in ((p, r) for p in (dev, prod) for r in p.resources if r.type in COMPONENT_OUTPUTS):
        outputs = plan.component_outputs[component.urn]
        registered.setdefault(component.type, set()).update(outputs)
        for secret in {"kubeconfig", "connectionUri", "adminPassword"} & set(outputs):
            assert outputs[secret] == SECRET, (component.urn, secret)
    assert registered == COMPONENT_OUTPUTS  # CoreDNS has no role: `roleArn` comes from the EFS CSI driver


def test_bad_stack_name_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main(["--stack", "staging", "--out", "/nonexistent"]) == 2
    assert "Pulumi.staging.yaml" in capsys.readouterr().err
