"""NodeGroups component: managed node groups built from the config map."""

from __future__ import annotations

import json

import pytest

from components.node_groups import NODE_POLICIES
from config.errors import ConfigError
from lib.cluster.scheduling import NODE_GROUP_LABEL
from lib.cluster.versions import DEFAULT_VERSION
from offline.fakes import fake_id
from offline.mocks import Plan, ProgramError, run_program
from tests.support.overrides import groups_with
from tests.support.plans import plan_once
from tests.support.settings import settings_of

MNG = "eks:index:ManagedNodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_managed_node_group_per_configured_group(plans: dict[str, Plan], stack: str) -> None:
    plan, settings = plans[stack], settings_of(stack)
    assert sorted(r.name for r in plan.of_type(MNG)) == sorted(
        f"airflow-{stack}-{g}" for g in ("system", "airflow", "workers")
    )
    lts = {r.urn: r for r in plan.of_type(LT)}
    volume_key = plan.one("aws:kms/key:Key", f"airflow-{stack}-node-volume-key")
    db_clients = plan.one("aws:ec2/securityGroup:SecurityGroup", f"airflow-{stack}-db-clients-sg")
    for group in settings.node_groups:
        mng = plan.one(MNG, f"airflow-{stack}-{group.name}")
        i = mng.inputs
        assert i["instanceTypes"] == list(group.instance_types)
        assert i["capacityType"] == group.capacity_type.value
        assert i["scalingConfig"] == {
            "minSize": group.min_size,
            "desiredSize": group.desired_size,
            "maxSize": group.max_size,
        }
        assert i["ignoreScalingChanges"] is True
        # pulumi-eks leaves the version unset when a launch template is given: set it, so that
        # raising kubernetesVersion rolls the nodes after the control plane.
        assert i["version"] == settings.cluster.kubernetes_version == DEFAULT_VERSION
        assert "releaseVersion" not in i  # the newest AMI release at creation
        # Graviton in both stack files: the AMI follows the instance types (test_extra_and_arm_...
        # holds x86_64's).
        assert i["amiType"] == "AL2023_ARM_64_STANDARD"
        assert i["subnetIds"] == plan.outputs["vpc_node_subnet_ids"]  # private subnets in every AZ
        assert i["labels"] == {**group.labels, NODE_GROUP_LABEL: group.name}
        assert i["cluster"] == plan.one("eks:index:Cluster").urn
        assert "diskSize" not in i  # the launch template sets the root volume
        (lt_urn,) = [u for u in mng.dependencies if u in lts]
        lt = lts[lt_urn]
        assert i["launchTemplate"] == {"id": fake_id(LT, lt.name), "version": "1"}
        assert lt.name == f"airflow-{stack}-{group.name}-lt"
        assert lt.inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
        }
        (bdm,) = lt.inputs["blockDeviceMappings"]
        assert bdm["deviceName"] == "/dev/xvda"
        assert bdm["ebs"] == {
            "volumeSize": group.disk_size_gib,
            "volumeType": "gp3",
            "encrypted": "true",
            "deleteOnTermination": "true",
            # The customer-managed rotating key, not the account's aws/ebs key.
            "kmsKeyId": f"arn:aws:kms:us-east-1:123456789012:key/{fake_id('aws:kms/key:Key', volume_key.name)}",
        }
        # Every node: the EKS cluster group and the `nodes` group (the file system, consumers'
        # services). Only the control-plane group, PgBouncer's, also carries the group the
        # database admits: the task nodes (`workers`) never do.
        own = [db_clients.id] if group.name == "airflow" else []
        assert lt.inputs["vpcSecurityGroupIds"] == [
            plan.outputs["cluster_security_group_id"],
            plan.outputs["cluster_node_security_group_id"],
            *own,
        ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_the_workers_group_is_tainted(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    taints = {r.name.rsplit("-", 1)[1]: r.inputs.get("taints", []) for r in plan.of_type(MNG)}
    assert taints["system"] == [] and taints["airflow"] == []
    assert taints["workers"] == [{"key": "airflow.apache.org/workers", "value": "true", "effect": "NO_SCHEDULE"}]


def test_dev_workers_are_spot_and_scale_to_zero(dev: Plan, prod: Plan) -> None:
    workers = dev.one(MNG, "airflow-dev-workers").inputs
    assert workers["capacityType"] == "SPOT" and workers["scalingConfig"]["minSize"] == 0
    assert len(workers["instanceTypes"]) >= 2  # spot capacity from several pools
    assert prod.one(MNG, "airflow-prod-workers").inputs["capacityType"] == "ON_DEMAND"
    assert prod.one(MNG, "airflow-prod-airflow").inputs["capacityType"] == "ON_DEMAND"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_autoscaler_can_scale_each_group_from_zero(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    tags = plan.of_type("aws:autoscaling/tag:Tag")
    by_group: dict[str, dict[str, str]] = {}
    for t in tags:
        group = t.name.removeprefix(f"airflow-{stack}-").split("-asg-tag-")[0]
        assert t.inputs["autoscalingGroupName"].startswith(f"eks-airflow-{stack}-{group}-")
        assert t.inputs["tag"]["propagateAtLaunch"] is False
        by_group.setdefault(group, {})[t.inputs["tag"]["key"]] = t.inputs["tag"]["value"]
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert by_group["workers"] == {
        f"{prefix}/label/{NODE_GROUP_LABEL}": "workers",
        f"{prefix}/taint/airflow.apache.org/workers": "true:NoSchedule",
    }
    assert by_group["system"] == {f"{prefix}/label/{NODE_GROUP_LABEL}": "system"}
    assert len(tags) == 4


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_role_has_only_node_policies(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    role = plan.one("aws:iam/role:Role", f"airflow-{stack}-node-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attached = sorted(
        a.inputs["policyArn"]
        for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(f"airflow-{stack}-node-role")
    )
    assert attached == sorted(NODE_POLICIES.values())
    assert sorted(NODE_POLICIES.values()) == sorted(
        f"arn:aws:iam::aws:policy/{p}" for p in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
    )


def test_extra_and_arm_node_groups_from_config() -> None:
    groups = groups_with()
    groups["batch"] = {
        "instanceTypes": ["m7g.2xlarge"],
        "capacityType": "SPOT",
        "minSize": 0,
        "desiredSize": 0,
        "maxSize": 3,
        "diskSizeGib": 200,
        "labels": {"team": "ml"},
        "taints": [{"key": "team", "value": "ml", "effect": "NO_EXECUTE"}],
    }
    groups["intel"] = {"instanceTypes": ["m6i.large", "m6a.large"], "minSize": 0, "desiredSize": 0, "maxSize": 2}
    plan = plan_once("dev", {"nodeGroups": groups})
    assert len(plan.of_type(MNG)) == 5
    batch = plan.one(MNG, "airflow-dev-batch").inputs
    assert batch["amiType"] == "AL2023_ARM_64_STANDARD"
    assert plan.one(MNG, "airflow-dev-intel").inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert batch["labels"] == {"team": "ml", NODE_GROUP_LABEL: "batch"}
    assert batch["taints"] == [{"key": "team", "value": "ml", "effect": "NO_EXECUTE"}]
    lt = plan.one(LT, "airflow-dev-batch-lt")
    assert lt.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 200
    assert plan.outputs["node_group_names"]["batch"] == "airflow-dev-batch"


def test_node_groups_follow_the_cluster_version_and_the_pinned_ami_release() -> None:
    plan = plan_once("dev", {"kubernetesVersion": "1.34", "nodeAmiReleaseVersion": "1.34.1-20251016"})
    groups = plan.of_type(MNG)
    assert len(groups) == 3
    assert {(g.inputs["version"], g.inputs["releaseVersion"]) for g in groups} == {("1.34", "1.34.1-20251016")}
    assert plan.one("eks:index:Cluster").inputs["version"] == "1.34"


def test_a_raised_minimum_is_applied_with_its_desired_size_for_the_listed_group_only() -> None:
    """Raising `minSize` above the live size: EKS wants min <= desired <= max, and with
    ignoreScalingChanges the engine would send the state's desired size (pulumi-eks 4.x
    `ignoreChanges: ["scalingConfig.desiredSize"]`). Listed in `nodeGroupsApplySizes`, the group
    sends its configured sizes for that update; the others stay the autoscaler's."""
    raised = groups_with(workers__minSize=3, workers__desiredSize=3)
    plan = plan_once("dev", {"nodeGroups": raised, "nodeGroupsApplySizes": ["workers"]})
    workers = plan.one(MNG, "airflow-dev-workers").inputs
    assert workers["ignoreScalingChanges"] is False
    assert workers["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": raised["workers"]["maxSize"]}
    for other in ("system", "airflow"):
        assert plan.one(MNG, f"airflow-dev-{other}").inputs["ignoreScalingChanges"] is True
    (warning,) = [w for w in plan.warnings if w.startswith("nodeGroupsApplySizes")]
    assert f"'workers' to 3 min, 3 desired, {raised['workers']['maxSize']} max" in warning
    assert "remove it from the list once applied" in warning
    # Without the key, the same config leaves the desired size to the autoscaler (and the state).
    alone = plan_once("dev", {"nodeGroups": raised}).one(MNG, "airflow-dev-workers").inputs
    assert alone["ignoreScalingChanges"] is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"nodeGroupsApplySizes": ["worker"]},
            "'worker' is not a group of nodeGroups; accepted: airflow, system, workers",
        ),
        ({"nodeGroupsApplySizes": ["workers", "workers"]}, "lists a group twice"),
        ({"nodeGroupsApplySizes": ["workers"], "hibernate": True}, "is set while hibernate is true"),
    ],
)
def test_applied_sizes_name_awake_groups_once(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "nodeGroupsApplySizes", cause
    assert message in str(cause) and failure.value.registrations == []
