"""`nodeAutoscaler: karpenter`: the example stack's plan (Karpenter's resources, roles, queue, rules,
NodePools and EC2NodeClasses; no managed task group, no Cluster Autoscaler), the task pods' annotation
in the rendered chart, make cost, and the config refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from config.settings import load_settings
from lib.cluster import karpenter as kp
from offline.mocks import Plan, ProgramError, Registration, run_program
from offline.stack_config import resolve_stack_config
from scripts.cost import render, report
from tests.support.overrides import groups_with
from tests.support.plans import plan_once
from tests.support.renders import Rendered

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stacks"
NAME = "airflow-karpenter"
COMPONENT = f"{NAME}-karpenter"
MNG = "eks:index:ManagedNodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
QUEUE = "aws:sqs/queue:Queue"
TAG = "aws:ec2/tag:Tag"
ACCOUNT = "123456789012"
SUBNETS = ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"]


@pytest.fixture(scope="module")
def karpenter() -> Plan:
    return plan_once("karpenter", config_dir=EXAMPLES)


def settings() -> Any:
    config, region = resolve_stack_config("karpenter", EXAMPLES)
    return load_settings(config, "karpenter", region)


def queue_arn_of(plan: Plan) -> str:
    """The interruption queue's ARN as the fake cloud made it (what the rules' targets carry)."""
    (arn,) = {t.inputs["arn"] for t in plan.of_type(TARGET)}
    assert arn.startswith(f"arn:aws:sqs:us-east-1:{ACCOUNT}:")
    return str(arn)


def releases(plan: Plan) -> dict[str, Registration]:
    return {r.inputs["chart"].rsplit("/", 1)[-1]: r for r in plan.of_type(RELEASE)}


def test_the_task_groups_are_node_pools_and_no_cluster_autoscaler_runs(karpenter: Plan, prod: Plan) -> None:
    assert sorted(r.name for r in karpenter.of_type(MNG)) == [f"{NAME}-airflow", f"{NAME}-system"]
    assert sorted(r.inputs["metadata"]["name"] for r in karpenter.of_type(NODE_POOL)) == ["large", "workers"]
    assert sorted(r.inputs["metadata"]["name"] for r in karpenter.of_type(NODE_CLASS)) == ["large", "workers"]
    assert sorted(releases(karpenter)) == ["airflow", "aws-load-balancer-controller", "karpenter"]
    assert karpenter.outputs["addon_cluster_autoscaler_role_arn"] == ""
    assert not [r for r in karpenter.resources if "cluster-autoscaler" in r.name]
    # The default is the Cluster Autoscaler: prod has it, and no Karpenter.
    assert "cluster-autoscaler" in releases(prod) and "karpenter" not in releases(prod)
    assert prod.of_type(NODE_POOL) == [] and prod.of_type("airflow:index:Karpenter") == []
    assert prod.outputs["addon_cluster_autoscaler_role_arn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")


def test_the_release_is_pinned_on_the_system_group_with_its_role_and_queue(karpenter: Plan) -> None:
    release = releases(karpenter)["karpenter"]
    role = karpenter.one(ROLE, f"{COMPONENT}-role")
    queue = karpenter.one(QUEUE, f"{COMPONENT}-interruptions")
    assert release.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert release.inputs["version"] == "1.14.1"
    assert "repositoryOpts" not in release.inputs  # an OCI chart is named by its reference
    assert release.inputs["namespace"] == "kube-system"
    values = release.inputs["values"]
    assert values["settings"] == {"clusterName": NAME, "interruptionQueue": queue.inputs["name"]}
    assert queue.inputs["name"] == f"{NAME}-karpenter"
    assert values["nodeSelector"] == {"airflow-eks/node-group": "system"}
    assert values["tolerations"] == []  # the system group is not tainted
    assert values["replicas"] == 2
    assert values["serviceAccount"] == {
        "create": True,
        "name": "karpenter",
        "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/{role.name}"},
    }
    # It waits for its policy, its queue's policy and the managed groups its pods run on.
    waits = karpenter.waits_for(release.urn)
    assert (
        karpenter.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{COMPONENT}-policy-attachment").urn
        in waits
    )
    assert karpenter.one("aws:sqs/queuePolicy:QueuePolicy", f"{COMPONENT}-interruptions-policy").urn in waits
    assert {r.urn for r in karpenter.of_type(MNG)} <= waits


def test_the_controller_role_trusts_only_its_service_account(karpenter: Plan) -> None:
    trust = json.loads(karpenter.one(ROLE, f"{COMPONENT}-role").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    assert sorted(conditions.values()) == ["sts.amazonaws.com", "system:serviceaccount:kube-system:karpenter"]
    policy = json.loads(karpenter.one("aws:iam/policy:Policy", f"{COMPONENT}-policy").inputs["policy"])
    node_role = karpenter.one(ROLE, f"{COMPONENT}-node-role")
    queue_arn = queue_arn_of(karpenter)
    assert policy == kp.karpenter_controller_policy(
        "us-east-1", ACCOUNT, NAME, f"arn:aws:iam::{ACCOUNT}:role/{node_role.name}", queue_arn
    )
    key_use = json.loads(karpenter.one("aws:iam/rolePolicy:RolePolicy", f"{COMPONENT}-volume-key").inputs["policy"])
    (use,) = key_use["Statement"]
    assert use["Resource"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}


def test_the_nodes_role_is_ec2s_and_has_an_ec2_linux_access_entry(karpenter: Plan) -> None:
    node_role = karpenter.one(ROLE, f"{COMPONENT}-node-role")
    trust = json.loads(node_role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attached = sorted(
        r.inputs["policyArn"]
        for r in karpenter.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith(f"{COMPONENT}-node-role-")
    )
    # The managed nodes' role's policies, no more.
    managed = sorted(
        r.inputs["policyArn"]
        for r in karpenter.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith(f"{NAME}-node-role-")
    )
    assert attached == managed
    assert "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" in attached
    # The example pulls through the ECR cache: Karpenter's nodes import as the managed ones do.
    node_import = karpenter.one("aws:iam/rolePolicy:RolePolicy", f"{COMPONENT}-node-import").inputs
    cache_import = karpenter.one("aws:iam/rolePolicy:RolePolicy", f"{NAME}-image-cache-node-import").inputs
    assert node_import["role"] == node_role.name and node_import["policy"] == cache_import["policy"]
    entry = karpenter.one("aws:eks/accessEntry:AccessEntry").inputs
    assert (entry["type"], entry["clusterName"]) == ("EC2_LINUX", NAME)
    assert entry["principalArn"] == f"arn:aws:iam::{ACCOUNT}:role/{node_role.name}"


def test_the_interruption_queue_is_encrypted_and_fed_by_five_rules(karpenter: Plan) -> None:
    queue = karpenter.one(QUEUE, f"{COMPONENT}-interruptions")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 300
    queue_arn = queue_arn_of(karpenter)
    policy = karpenter.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"]
    assert json.loads(policy) == kp.interruption_queue_policy(queue_arn)
    rules = {
        r.name.removeprefix(f"{COMPONENT}-"): json.loads(r.inputs["eventPattern"]) for r in karpenter.of_type(RULE)
    }
    assert rules == kp.interruption_rules()
    assert len(rules) == 5
    targets = karpenter.of_type(TARGET)
    assert sorted(t.name for t in targets) == sorted(f"{COMPONENT}-{n}-target" for n in rules)
    assert {t.inputs["arn"] for t in targets} == {queue_arn}


def test_each_task_group_has_its_node_pool_and_node_class(karpenter: Plan) -> None:
    s = settings()
    node_role = karpenter.one(ROLE, f"{COMPONENT}-node-role")
    release = releases(karpenter)["karpenter"]
    entry = karpenter.one("aws:eks/accessEntry:AccessEntry")
    for group in s.task_groups:
        pool = karpenter.one(NODE_POOL, f"{COMPONENT}-{group.name}-node-pool")
        expected = kp.node_pool(group)
        assert {k: pool.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")} == expected
        node_class = karpenter.one(NODE_CLASS, f"{COMPONENT}-{group.name}-node-class")
        spec = node_class.inputs["spec"]
        key_arn = spec["blockDeviceMappings"][0]["ebs"]["kmsKeyID"]
        assert key_arn.startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
        tags = {k: v for k, v in spec["tags"].items()}
        assert spec == kp.ec2_node_class(group, NAME, node_role.name, key_arn, "latest", tags)["spec"]
        assert spec["role"] == node_role.name
        assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": NAME}}]
        # The CRDs come with the release; nodes need their access entry before they join.
        assert {release.urn, entry.urn, node_class.urn} <= set(pool.dependencies)
        assert {release.urn, entry.urn} <= set(node_class.dependencies)
    large = karpenter.one(NODE_POOL, f"{COMPONENT}-large-node-pool").inputs["spec"]
    requirements = {r["key"]: r["values"] for r in large["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert requirements["node.kubernetes.io/instance-type"] == ["m6i.4xlarge", "m6a.4xlarge"]
    assert large["limits"] == {"nodes": "10"}
    assert large["disruption"]["consolidationPolicy"] == "WhenEmpty"


def test_the_node_subnets_and_security_groups_carry_the_discovery_tag(karpenter: Plan, prod: Plan) -> None:
    subnets = karpenter.of_type("aws:ec2/subnet:Subnet")
    tagged = sorted(r.inputs["tags"]["tier"] for r in subnets if "karpenter.sh/discovery" in r.inputs["tags"])
    assert tagged == ["nodes"] * 3
    assert {r.inputs["tags"]["karpenter.sh/discovery"] for r in subnets if r.inputs["tags"]["tier"] == "nodes"} == {
        NAME
    }
    sg = karpenter.one("aws:ec2/securityGroup:SecurityGroup", f"{NAME}-nodes-sg")
    assert sg.inputs["tags"]["karpenter.sh/discovery"] == NAME
    (cluster_sg,) = karpenter.of_type(TAG)
    assert (cluster_sg.inputs["key"], cluster_sg.inputs["value"]) == ("karpenter.sh/discovery", NAME)
    assert not any("karpenter.sh/discovery" in r.inputs.get("tags", {}) for r in prod.resources if r.custom)


def test_a_brought_vpcs_node_subnets_are_tagged_here() -> None:
    plan = plan_once(
        "karpenter",
        {
            "existingVpcId": "vpc-0123456789abcdef0",
            "existingNodeSubnetIds": SUBNETS,
            "existingDataSubnetIds": [
                s.replace("00a", "01a").replace("00b", "01b").replace("00c", "01c") for s in SUBNETS
            ],
            "nlbAllowedCidrs": ["10.0.0.0/16"],
        },
        config_dir=EXAMPLES,
    )
    tags = {r.name: r.inputs for r in plan.of_type(TAG)}
    assert sorted(tags) == [f"{COMPONENT}-cluster-sg-discovery"] + [
        f"{COMPONENT}-subnet-discovery-{i}" for i in range(3)
    ]
    assert [tags[f"{COMPONENT}-subnet-discovery-{i}"]["resourceId"] for i in range(3)] == SUBNETS


def test_asleep_no_karpenter_resource_is_planned_and_the_subnets_keep_their_discovery_tag() -> None:
    """Karpenter needs the cluster: asleep (`hibernate`) it goes with it, its NodePools, node classes,
    interruption queue, rules and roles; the subnets it discovers stay, tagged as awake. The example
    as a non-production stack (prod refuses to sleep)."""
    dev_like = {"production": False, "protectStatefulResources": False}
    karpenter = plan_once("karpenter", dev_like, config_dir=EXAMPLES)
    asleep = plan_once("karpenter", {**dev_like, "hibernate": True}, config_dir=EXAMPLES)

    def karpenters(plan: Plan) -> list[str]:
        return sorted(r.name for r in plan.resources if r.name == COMPONENT or r.name.startswith(f"{COMPONENT}-"))

    awake_parts = karpenters(karpenter)
    assert len(karpenter.of_type("airflow:index:Karpenter")) == 1
    assert len(karpenter.of_type(NODE_POOL)) == len(karpenter.of_type(NODE_CLASS)) == 2
    assert len(karpenter.of_type(QUEUE)) == 1 and karpenter.of_type(RULE)
    assert "karpenter" in releases(karpenter)
    assert COMPONENT in awake_parts and len(awake_parts) > 10
    assert karpenters(asleep) == []
    for type_ in ("airflow:index:Karpenter", NODE_POOL, NODE_CLASS, QUEUE, RULE, TARGET, RELEASE):
        assert asleep.of_type(type_) == [], type_
    subnet = "aws:ec2/subnet:Subnet"
    tagged = {r.urn: r.inputs for r in karpenter.of_type(subnet) if kp.DISCOVERY_TAG in (r.inputs.get("tags") or {})}
    assert len(tagged) == 3  # the node subnets, one per zone
    assert {r.urn: r.inputs for r in asleep.of_type(subnet) if r.urn in tagged} == tagged


def test_the_rendered_task_pod_is_never_disrupted_by_karpenter(karpenter: Plan, prod: Plan) -> None:
    pod = Rendered(karpenter).pod_template()
    assert pod["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
    assert "karpenter.sh/do-not-disrupt" not in Rendered(prod).pod_template()["metadata"]["annotations"]


def test_make_cost_counts_the_node_pools_and_names_the_stacks_autoscaler(karpenter: Plan, prod: Plan) -> None:
    doc = report("karpenter", json.loads(json.dumps(karpenter.as_json())), "us-east-1", 8, date(2026, 12, 7))
    assert doc["node_autoscaler"] == "karpenter"
    lines = {line["resource_type"]: line for line in doc["lines"]}
    workers = lines["EC2 nodes: workers (m6i.xlarge/m6a.xlarge, ON_DEMAND)"]
    # No node at idle; 20 of the dearer type 8 hours a day busy: 20 x 0.192 x 8 x 730/24.
    assert (workers["count"], workers["monthly_idle"]) == (0, 0.0)
    assert workers["monthly_busy"] == pytest.approx(20 * 0.192 * 8 * 730 / 24)
    assert lines["EBS gp3 root volumes: workers (100 GiB each)"]["count"] == 0
    assert "EC2 nodes: large (m6i.4xlarge/m6a.4xlarge, SPOT)" in lines
    limits = {limit["name"]: limit for limit in doc["limits"]}
    assert limits["nodes"]["tasks"] == 20 * 3 + 10 * 15
    text = render(doc)
    assert "this stack's node autoscaler: karpenter (nodeAutoscaler)" in text
    (marked,) = [line for line in text.splitlines() if line.endswith("<- this stack's")]
    assert marked.strip().startswith("karpenter")
    assert any(line.strip().startswith("clusterAutoscaler") for line in text.splitlines())
    plain = report("prod", json.loads(json.dumps(prod.as_json())), "us-east-1", 8, date(2026, 12, 7))
    assert plain["node_autoscaler"] == "clusterAutoscaler"
    (marked,) = [line for line in render(plain).splitlines() if line.endswith("<- this stack's")]
    assert marked.strip().startswith("clusterAutoscaler")


def test_the_autoscaler_choice_changes_the_plan() -> None:
    ca = plan_once("dev")
    karpenter = plan_once("dev", {"nodeAutoscaler": "karpenter"})  # dev's workers start at zero
    assert "workers" not in {r.name.rsplit("-", 1)[-1] for r in karpenter.of_type(MNG)}
    assert "workers" in {r.name.rsplit("-", 1)[-1] for r in ca.of_type(MNG)}
    assert len(karpenter.of_type(NODE_POOL)) == 1 and ca.of_type(NODE_POOL) == []


BAD = [
    (
        "unknown autoscaler",
        {"nodeAutoscaler": "keda"},
        "nodeAutoscaler",
        "'keda' is not one of: clusterAutoscaler, karpenter",
    ),
    (
        "a task group's minimum",
        {"nodeAutoscaler": "karpenter", "nodeGroups": groups_with(workers__minSize=1, workers__desiredSize=1)},
        "nodeGroups.workers.minSize",
        "is 1; with nodeAutoscaler karpenter a task group is a NodePool",
    ),
    (
        "a task group's desired size",
        {"nodeAutoscaler": "karpenter", "nodeGroups": groups_with(workers__desiredSize=2)},
        "nodeGroups.workers.desiredSize",
        "is 2; with nodeAutoscaler karpenter",
    ),
    (
        "the Cluster Autoscaler's values",
        {
            "nodeAutoscaler": "karpenter",
            "clusterAutoscalerValues": {"extraArgs": {"scale-down-delay-after-add": "5m"}},
        },
        "clusterAutoscalerValues",
        "is set but nodeAutoscaler is karpenter",
    ),
    (
        "a task group's sizes applied",
        {
            "nodeAutoscaler": "karpenter",
            "nodeGroupsApplySizes": ["workers"],
        },
        "nodeGroupsApplySizes",
        "lists workers, a task group",
    ),
]


@pytest.mark.parametrize(("overrides", "key", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_karpenter_config_names_the_key_and_registers_nothing(
    overrides: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError), f"{type(cause).__name__}: {cause}"
    assert cause.key == key
    assert message in str(cause)
    assert failure.value.registrations == []
