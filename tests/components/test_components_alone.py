"""Each component built alone under mocks, from its own args: no stack config, no other component.

What a team reusing a component would rely on: the resources it creates for given args, their
inputs, its outputs, and an error naming the arg when the args cannot work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pytest

from components.airflow import Airflow, AirflowArgs, VolumeClaimArgs
from components.cluster import Cluster, ClusterArgs
from components.cluster_addon import ClusterAddon, ClusterAddonArgs
from components.database import Database, DatabaseArgs, ExistingDatabaseArgs
from components.eks_addon import AddonRoleArgs, EksAddon, EksAddonArgs
from components.flow_logs import FlowLogs, FlowLogsArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerSubnet
from components.nat_instance import NatInstanceArgs
from components.network import ExistingVpcArgs, Network, NetworkArgs
from components.node_groups import NodeGroups, NodeGroupsArgs
from components.parts.moves import former_parent
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.shared_storage import SharedStorage, SharedStorageArgs
from lib.airflow.git_sync import GitSyncSource
from lib.cluster.helm_addons import LOAD_BALANCER_CONTROLLER
from lib.cluster.node_groups import NodeGroup, Taint, TaintEffect
from lib.network.subnets import NatGatewayMode
from offline.fakes import fake_id
from offline.mocks import Plan, run_mocked

VERSIONS = {"vpc-cni": "v1.21.1-eksbuild.7", "kube-proxy": "v1.33.10-eksbuild.2"}
SYSTEM = NodeGroup(name="system", instance_types=("m6i.large",), min_size=1, desired_size=1, max_size=2)
WORKERS = NodeGroup(
    name="workers",
    instance_types=("m6i.large",),
    min_size=0,
    desired_size=0,
    max_size=3,
    taints=(Taint("dedicated", "tasks", TaintEffect.NO_SCHEDULE),),
)


def alone(build: Callable[[], Mapping[str, Any] | None]) -> Plan:
    return run_mocked(lambda: build() or {}, "alone", "us-east-1")


def provider() -> k8s.Provider:
    return k8s.Provider("k8s", kubeconfig="{}")


def kinds(plan: Plan, parent_type: str) -> list[str]:
    """Types of the children of the one component of `parent_type`, sorted."""
    parent = plan.one(parent_type).urn
    return sorted(r.type for r in plan.resources if r.parent == parent)


def test_urns_are_the_engines_at_every_depth() -> None:
    """pulumi/pulumi pkg/resource/deploy/deployment.go `generateURN`: the parent's whole qualified
    type, none for the root stack (the stock mock monitor keeps the stack's and the last type only)."""

    def build() -> dict[str, Any]:
        outer = pulumi.ComponentResource("test:index:Outer", "outer")
        inner = pulumi.ComponentResource("test:index:Inner", "inner", opts=pulumi.ResourceOptions(parent=outer))
        aws.s3.Bucket("leaf", opts=pulumi.ResourceOptions(parent=inner))
        return {}

    urns = {r.name: r.urn for r in alone(build).resources}
    assert urns == {
        "outer": "urn:pulumi:alone::airflow-eks::test:index:Outer::outer",
        "inner": "urn:pulumi:alone::airflow-eks::test:index:Outer$test:index:Inner::inner",
        "leaf": "urn:pulumi:alone::airflow-eks::test:index:Outer$test:index:Inner$aws:s3/bucket:Bucket::leaf",
    }


def test_network_alone_two_zones_one_nat() -> None:
    args = NetworkArgs(("use1-az1", "use1-az2"), "team", "us-east-1", "10.8.0.0/18", NatGatewayMode.SINGLE)
    plan = alone(lambda: {"nodes": Network("team", args).node_subnet_ids})
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s.name for s in subnets) == sorted(f"team-{t}-{z}" for t in ("public", "nodes", "data") for z in "ab")
    assert {s.inputs["availabilityZoneId"] for s in subnets} == {"use1-az1", "use1-az2"}
    assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(plan.of_type("aws:ec2/routeTable:RouteTable")) == 4  # public, nodes per zone, data
    nodes_sg = plan.one("aws:ec2/securityGroup:SecurityGroup", "team-nodes-sg")
    assert nodes_sg.inputs["vpcId"] == fake_id("aws:ec2/vpc:Vpc", "team-vpc")
    assert len(plan.outputs["nodes"]) == 2


def test_network_alone_leaves_through_a_nat_instance_and_asleep_through_nothing() -> None:
    args = NetworkArgs(("use1-az1", "use1-az2"), "team", "us-east-1", "10.8.0.0/18", NatGatewayMode.INSTANCE)
    plan = alone(lambda: {"instances": Network("team", args).nat_instance_ids})
    (component,) = plan.of_type("airflow:index:NatInstance")
    assert component.name == "team-nat-instance" and component.parent.endswith("airflow:index:Network::team")
    assert kinds(plan, "airflow:index:NatInstance") == [
        "aws:ec2/instance:Instance",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:kms/alias:Alias",
        "aws:kms/key:Key",
    ]
    assert not plan.of_type("aws:ec2/natGateway:NatGateway") and not plan.of_type("aws:ec2/eip:Eip")
    instance = plan.one("aws:ec2/instance:Instance", "team-nat-instance")
    assert plan.outputs["instances"] == [instance.id]
    assert instance.inputs["subnetId"] == fake_id("aws:ec2/subnet:Subnet", "team-public-a")
    eni = fake_id("aws:ec2/networkInterface:NetworkInterface", "team-nat-instance")
    for zone in "ab":
        routes = plan.one("aws:ec2/routeTable:RouteTable", f"team-nodes-rt-{zone}").inputs["routes"]
        assert routes == [{"cidrBlock": "0.0.0.0/0", "networkInterfaceId": eni}]
    group = plan.one("aws:ec2/securityGroup:SecurityGroup", "team-nat-instance-sg")
    assert group.inputs["ingress"][0]["cidrBlocks"] == ["10.8.0.0/20", "10.8.16.0/20"]

    asleep = alone(lambda: {"instances": Network("team", replace(args, nat=False)).nat_instance_ids})
    assert not asleep.of_type("airflow:index:NatInstance") and asleep.outputs["instances"] == []
    for zone in "ab":
        assert plan.one("aws:ec2/routeTable:RouteTable", f"team-nodes-rt-{zone}").inputs["routes"]
        assert asleep.one("aws:ec2/routeTable:RouteTable", f"team-nodes-rt-{zone}").inputs["routes"] == []
    with pytest.raises(ValueError, match="node subnets' CIDRs are required"):
        NatInstanceArgs("team", "vpc-0123456789abcdef0", "subnet-0000000000000000a", ())


def test_network_alone_with_an_existing_vpc_creates_only_the_nodes_groups() -> None:
    existing = ExistingVpcArgs("vpc-0123456789abcdef0", ("subnet-0000000000000000a",), ("subnet-0000000000000001a",))
    plan = alone(
        lambda: {
            "zones": Network(
                "team", NetworkArgs(("use1-az4",), "team", "us-east-1", existing=existing)
            ).availability_zones
        }
    )
    assert sorted(r.name for r in plan.resources if r.custom) == ["team-db-clients-sg", "team-nodes-sg"]
    assert {r.type for r in plan.resources if r.custom} == {"aws:ec2/securityGroup:SecurityGroup"}
    assert plan.outputs["zones"] == ["us-east-1c"]  # the fake account's name of use1-az4
    with pytest.raises(ValueError, match="one node and one data subnet per availability zone"):
        NetworkArgs(("use1-az1", "use1-az2"), "team", "us-east-1", existing=existing)


def test_flow_logs_alone_on_any_vpc() -> None:
    args = FlowLogsArgs("vpc-0123456789abcdef0", "/aws/vpc/team/flow-logs", "eu-west-1", "210987654321", 14)
    plan = alone(lambda: {"group": FlowLogs("team-flow", args).log_group_name})
    assert kinds(plan, "airflow:index:FlowLogs") == sorted(
        [
            "aws:cloudwatch/logGroup:LogGroup",
            "aws:ec2/flowLog:FlowLog",
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:kms/alias:Alias",
            "aws:kms/key:Key",
        ]
    )
    flow = plan.one("aws:ec2/flowLog:FlowLog").inputs
    assert (flow["vpcId"], flow["trafficType"]) == ("vpc-0123456789abcdef0", "ALL")
    assert plan.outputs["group"] == "/aws/vpc/team/flow-logs"
    assert plan.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 14
    assert (
        "arn:aws:ec2:eu-west-1:210987654321:vpc-flow-log/*" in plan.one("aws:iam/role:Role").inputs["assumeRolePolicy"]
    )
    with pytest.raises(ValueError, match="retention_days 10 is not one of"):
        FlowLogsArgs("vpc-1", "/g", "eu-west-1", "1", 10)


def test_cluster_alone_private_with_an_admin_role() -> None:
    admin = "arn:aws:iam::123456789012:role/ops"
    args = ClusterArgs(
        "team",
        "vpc-1",
        ["subnet-1"],
        "1.33",
        VERSIONS,
        "us-east-1",
        "123456789012",
        log_retention_days=90,
        private_access_cidrs=("10.1.0.0/24",),
        admin_role_arns=(admin,),
    )
    plan = alone(lambda: {"endpoint": Cluster("team", args).endpoint})
    logs = plan.one("aws:cloudwatch/logGroup:LogGroup", "team-cluster-logs")
    assert (logs.inputs["name"], logs.inputs["retentionInDays"]) == ("/aws/eks/team/cluster", 90)
    assert logs.urn in plan.one("eks:index:Cluster").dependencies
    cluster = plan.one("eks:index:Cluster").inputs
    assert (cluster["endpointPublicAccess"], cluster["endpointPrivateAccess"]) == (False, True)
    assert list(cluster["accessEntries"]) == ["123456789012-ops"]
    (rule,) = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule.inputs["cidrIpv4"], rule.inputs["fromPort"]) == ("10.1.0.0/24", 443)
    assert rule.urn in plan.one("pulumi:providers:kubernetes").dependencies
    (cni,) = plan.of_type("aws:eks/addon:Addon")
    assert (cni.name, cni.inputs["addonName"], cni.inputs["preserve"]) == ("team-vpc-cni", "vpc-cni", True)
    (attachment,) = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"].endswith("/AmazonEKS_CNI_Policy") and attachment.urn in cni.dependencies
    with pytest.raises(ValueError, match="nothing would reach the API"):
        ClusterArgs("team", "vpc-1", ["subnet-1"], "1.33", VERSIONS, "us-east-1", "123456789012")
    with pytest.raises(ValueError, match="log_retention_days 10 is not one of"):
        ClusterArgs(
            "team",
            "vpc-1",
            ["subnet-1"],
            "1.33",
            VERSIONS,
            "us-east-1",
            "1",
            log_retention_days=10,
            private_access_cidrs=("10.1.0.0/24",),
        )


def test_node_groups_alone() -> None:
    def build() -> Mapping[str, Any]:
        cluster = eks.Cluster("c", skip_default_node_group=True)
        args = NodeGroupsArgs(
            (SYSTEM, WORKERS), cluster, ["subnet-1"], ["sg-1"], "1.33", "123456789012", "1.33.0-20250610",
            group_security_group_ids={"system": ["sg-2"]},
        )  # fmt: skip
        return {"names": NodeGroups("team", args).node_group_names}

    plan = alone(build)
    groups = {g.name: g.inputs for g in plan.of_type("eks:index:ManagedNodeGroup")}
    assert set(groups) == {"team-system", "team-workers"}
    assert {(g["version"], g["releaseVersion"]) for g in groups.values()} == {("1.33", "1.33.0-20250610")}
    assert groups["team-workers"]["taints"] == [{"key": "dedicated", "value": "tasks", "effect": "NO_SCHEDULE"}]
    templates = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    key = plan.one("aws:kms/key:Key", "team-node-volume-key")
    assert [t.inputs["blockDeviceMappings"][0]["ebs"]["kmsKeyId"] for t in templates] == [
        f"arn:aws:kms:us-east-1:123456789012:key/{fake_id('aws:kms/key:Key', key.name)}"
    ] * 2
    assert {t.name: t.inputs["vpcSecurityGroupIds"] for t in templates} == {
        "team-system-lt": ["sg-1", "sg-2"],
        "team-workers-lt": ["sg-1"],
    }
    # The worker and ECR policies: aws-node has its own role (the Cluster component's).
    attached = [a.inputs["policyArn"] for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert sorted(p.rsplit("/", 1)[1] for p in attached) == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
    ]
    with pytest.raises(ValueError, match="unique names"):
        NodeGroupsArgs((SYSTEM, SYSTEM), None, [], [], "1.33", "1")
    with pytest.raises(ValueError, match=r"group_security_group_ids names \['airflow'\], not among"):
        NodeGroupsArgs((SYSTEM,), None, [], [], "1.33", "1", group_security_group_ids={"airflow": ["sg-2"]})


def test_eks_addon_alone_with_a_role_and_a_former_parent() -> None:
    role = AddonRoleArgs(("sa-a",), "arn:aws:iam::aws:policy/P", "arn:aws:iam::1:oidc-provider/x", "x")
    # The alias is built under the mocks: its URN names the stack and project they set.
    plan = alone(
        lambda: {
            "role": EksAddon(
                "team-csi",
                EksAddonArgs(
                    "team",
                    "aws-efs-csi-driver",
                    "v3.3.0-eksbuild.1",
                    role,
                    former_parent=former_parent("t:index:Old", "team"),
                ),
            ).role_arn
        }
    )
    addon = plan.one("aws:eks/addon:Addon")
    assert addon.inputs["serviceAccountRoleArn"] == plan.outputs["role"]
    assert plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").urn in addon.dependencies
    trust = json.loads(plan.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"]["x:sub"] == "system:serviceaccount:kube-system:sa-a"
    assert all(
        r.aliases == (f"urn:pulumi:alone::airflow-eks::t:index:Old${r.type}::{r.name}",)
        for r in plan.resources
        if r.custom
    )
    bare = alone(lambda: {"version": EksAddon("dns", EksAddonArgs("team", "coredns", "v1.13.2-eksbuild.4")).version})
    assert kinds(bare, "airflow:index:EksAddon") == ["aws:eks/addon:Addon"]
    with pytest.raises(ValueError, match="not an EKS add-on version"):
        EksAddonArgs("team", "coredns", "latest")


def test_database_alone_created_and_brought() -> None:
    region, account_id = "us-east-1", "123456789012"
    args = DatabaseArgs(
        "vpc-1",
        ["subnet-1", "subnet-2"],
        "sg-1",
        instance_class="db.t4g.medium",
        final_snapshot=False,
        region=region,
        account_id=account_id,
    )
    plan = alone(lambda: {"secret": Database("team", args).master_secret_arn})
    instance = plan.one("aws:rds/instance:Instance").inputs
    assert (instance["instanceClass"], instance["skipFinalSnapshot"], instance["manageMasterUserPassword"]) == (
        "db.t4g.medium",
        True,
        True,
    )
    assert "password" not in instance and ":secret:rds!db-" in plan.outputs["secret"]
    brought = ExistingDatabaseArgs("db.internal", "p@ss", security_group_id="sg-0123456789abcdef0")
    plan = alone(
        lambda: {
            "secret": Database(
                "team", DatabaseArgs("vpc-1", [], "sg-1", existing=brought, region=region, account_id=account_id)
            ).master_secret_arn
        }
    )
    assert sorted(r.type for r in plan.resources if r.custom) == [
        "aws:kms/alias:Alias",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ]
    assert plan.outputs["secret"].endswith(":secret:team-db-master-secret-AbCdEf")
    with pytest.raises(ValueError, match="region and account_id are required"):
        DatabaseArgs("vpc-1", [], "sg-1", existing=brought)


def test_shared_storage_alone_with_one_volume() -> None:
    args = SharedStorageArgs("vpc-1", ["subnet-1", "subnet-2"], 2, "sg-1", provider(), "team", {"data": "team-data"})
    plan = alone(lambda: {"volumes": SharedStorage("fs", args).volume_names})
    (pv,) = plan.of_type("kubernetes:core/v1:PersistentVolume")
    assert pv.inputs["spec"]["claimRef"] == {"namespace": "team", "name": "team-data"}
    assert plan.one("aws:efs/accessPoint:AccessPoint").inputs["rootDirectory"]["path"] == "/data"
    assert len(plan.of_type("aws:efs/mountTarget:MountTarget")) == 2
    assert plan.outputs["volumes"] == {"data": "fs-data"}


def test_cluster_addon_alone_merges_values_role_then_overrides() -> None:
    def build() -> Mapping[str, Any]:
        args = ClusterAddonArgs(
            LOAD_BALANCER_CONTROLLER,
            {"replicaCount": 2, "a": {"b": 1}},
            {"replicaCount": 3},
            {"Statement": [{}]},
            "arn",
            "x",
            provider(),
        )
        return {"role": ClusterAddon("ctl", args).role_arn}

    plan = alone(build)
    values = plan.one("kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["replicaCount"] == 3 and values["a"] == {"b": 1}
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == plan.outputs["role"]
    assert kinds(plan, "airflow:index:ClusterAddon") == sorted(
        [
            "aws:iam/role:Role",
            "aws:iam/policy:Policy",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "kubernetes:helm.sh/v3:Release",
        ]
    )


def test_load_balancer_alone_with_tls_and_two_sources() -> None:
    def build() -> Mapping[str, Any]:
        controller = pulumi.ComponentResource("test:index:Controller", "controller")
        args = LoadBalancerArgs(
            "team",
            "vpc-1",
            (LoadBalancerSubnet("subnet-1", "10.0.0.0/20"), LoadBalancerSubnet("subnet-2", "10.0.16.0/20")),
            ("10.0.0.0/16", "192.168.0.0/24"),
            "sg-nodes",
            "apps",
            "web",
            8080,
            "/health",
            controller,
            provider(),
            certificate_arn="arn:aws:acm:us-east-1:1:certificate/x",
        )
        lb = LoadBalancer("lb", args)
        return {"url": lb.url, "addresses": lb.private_addresses}

    plan = alone(build)
    # A fixed address in each subnet: the first of its second-to-last /28, reserved for explicit use.
    assert plan.outputs["addresses"] == ["10.0.15.224", "10.0.31.224"]
    mappings = plan.one("aws:lb/loadBalancer:LoadBalancer").inputs["subnetMappings"]
    assert mappings == [
        {"subnetId": "subnet-1", "privateIpv4Address": "10.0.15.224"},
        {"subnetId": "subnet-2", "privateIpv4Address": "10.0.31.224"},
    ]
    reservations = plan.of_type("aws:ec2/subnetCidrReservation:SubnetCidrReservation")
    assert [(r.name, r.inputs["cidrBlock"], r.inputs["reservationType"]) for r in reservations] == [
        ("lb-nlb-address-a", "10.0.15.224/28", "explicit"),
        ("lb-nlb-address-b", "10.0.31.224/28", "explicit"),
    ]
    rules = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted((r.inputs.get("cidrIpv4", ""), r.inputs["fromPort"]) for r in rules) == [
        ("", 8080),  # the NLB's group into the targets' group
        ("10.0.0.0/16", 443),
        ("192.168.0.0/24", 443),
    ]
    assert plan.one("aws:lb/listener:Listener").inputs["protocol"] == "TLS"
    binding = plan.one("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
    assert binding.inputs["metadata"] == {"name": "web", "namespace": "apps"}
    assert plan.outputs["url"].startswith("https://")


def test_airflow_alone_without_an_admin_and_with_git_sync() -> None:
    def build() -> Mapping[str, Any]:
        volumes = {v: VolumeClaimArgs(f"c-{v}", f"pv-{v}", "1Gi") for v in ("dags", "logs")}
        args = AirflowArgs(
            "postgresql://u:p@db:5432/airflow",
            100,
            volumes,
            SYSTEM,
            WORKERS,
            provider(),
            namespace="data",
            create_admin_user=False,
            git_sync=GitSyncSource("https://example.com/dags.git"),
        )
        return {"namespace": Airflow("af", args).namespace}

    plan = alone(build)
    assert plan.outputs["namespace"] == "data"
    assert sorted(c.inputs["metadata"]["name"] for c in plan.of_type("kubernetes:core/v1:PersistentVolumeClaim")) == [
        "c-dags",
        "c-logs",
    ]
    assert len(plan.of_type("kubernetes:core/v1:Secret")) == 7  # no admin password
    assert plan.one("kubernetes:apps/v1:Deployment").inputs["metadata"]["namespace"] == "data"
    values = plan.one("kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["config"]["core"]["dags_folder"] == "/opt/airflow/dags/repo/dags"
    assert set(values["workers"]) == {"kubernetes"}  # chart 1.22's keys for the task pods only
    assert values["workers"]["kubernetes"]["nodeSelector"] == {"airflow-eks/node-group": "workers"}
    # Without a role, the task pods' account carries no annotation.
    account = {"create": True, "name": "airflow-worker", "annotations": {}, "automountServiceAccountToken": False}
    assert values["workers"]["kubernetes"]["serviceAccount"] == account
    # Every PodDisruptionBudget is the chart's: the component registers none of its own.
    assert not plan.of_type("kubernetes:policy/v1:PodDisruptionBudget")
    assert values["triggerer"]["podDisruptionBudget"] == values["dagProcessor"]["podDisruptionBudget"]
    volumes = {v: VolumeClaimArgs(f"c-{v}", f"pv-{v}", "1Gi") for v in ("dags", "logs")}
    with pytest.raises(ValueError, match="'system' of the task pods has no taint"):
        AirflowArgs("uri", 100, volumes, SYSTEM, SYSTEM, None)
    with pytest.raises(ValueError, match="lacks"):
        AirflowArgs("uri", 100, {"dags": volumes["dags"]}, SYSTEM, WORKERS, None)


def test_service_account_role_alone_trusts_one_account_and_attaches_only_what_is_given() -> None:
    oidc = ("arn:aws:iam::1:oidc-provider/oidc.example/id/X", "oidc.example/id/X")

    def build() -> Mapping[str, Any]:
        role = ServiceAccountRole("tasks", ServiceAccountRoleArgs("data", "runner", *oidc, tags={"team": "a"}))
        return {"arn": role.role_arn, "name": role.role_name, "sa": role.service_account}

    plan = alone(build)
    assert kinds(plan, "airflow:index:ServiceAccountRole") == ["aws:iam/role:Role"]  # no policy by default
    created = plan.one("aws:iam/role:Role", "tasks-role")
    condition = json.loads(created.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {
        "oidc.example/id/X:sub": "system:serviceaccount:data:runner",
        "oidc.example/id/X:aud": "sts.amazonaws.com",
    }
    assert created.inputs["tags"] == {"team": "a", "Name": "tasks-role"}
    assert plan.outputs == {"arn": "arn:aws:iam::123456789012:role/tasks-role", "name": "tasks-role", "sa": "runner"}
    attached = alone(
        lambda: {
            "arn": ServiceAccountRole(
                "t", ServiceAccountRoleArgs("data", "runner", *oidc, managed_policies={"s3": "arn:aws:iam::1:policy/P"})
            ).role_arn
        }
    )
    (attachment,) = attached.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.name == "t-role-s3" and attachment.inputs["policyArn"] == "arn:aws:iam::1:policy/P"
    with pytest.raises(ValueError, match="service_account are required"):
        ServiceAccountRoleArgs("data", "", *oidc)
