"""Network component, for both stacks' real config and for a VPC brought by the user."""

from __future__ import annotations

import base64

import pytest

from config.settings import load_settings
from lib.network import nat_instance
from lib.network.subnets import plan_subnets
from offline.fakes import fake_id, fake_zones
from offline.mocks import Plan, ProgramError, run_program
from offline.stack_config import resolve_stack_config
from tests.support.overrides import BYO
from tests.support.plans import alarms, plan_once

GET_ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
RT = "aws:ec2/routeTable:RouteTable"


def subnets(plan: Plan, tier: str) -> list:
    return sorted((r for r in plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == tier), key=lambda r: r.name)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_subnets_per_az_and_tier(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    settings = load_settings(*resolve_stack_config(stack)[:1], stack, "us-east-1")
    expected = plan_subnets(settings.network.vpc_cidr, settings.network.availability_zone_ids)
    assert len(plan.of_type("aws:ec2/vpc:Vpc")) == 1
    vpc = plan.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == settings.network.vpc_cidr
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    assert len(plan.of_type(SUBNET)) == 9
    for tier, attr in (("public", "public"), ("nodes", "node"), ("data", "data")):
        found = subnets(plan, tier)
        # Placed by zone ID (the same physical zone in every account), named by position.
        assert [s.inputs["availabilityZoneId"] for s in found] == ["use1-az1", "use1-az2", "use1-az4"]
        assert [s.name for s in found] == [f"airflow-{stack}-{tier}-{z}" for z in "abc"]
        assert all("availabilityZone" not in s.inputs for s in found)
        assert [s.inputs["cidrBlock"] for s in found] == [getattr(p, attr) for p in expected]
        assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in found)
    assert all(s.inputs["tags"]["kubernetes.io/role/elb"] == "1" for s in subnets(plan, "public"))
    for s in subnets(plan, "nodes"):
        assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert s.inputs["tags"][f"kubernetes.io/cluster/airflow-{stack}"] == "shared"
    assert not any("kubernetes.io/role/elb" in s.inputs["tags"] for s in subnets(plan, "data"))
    assert plan.outputs["vpc_availability_zone_ids"] == ["use1-az1", "use1-az2", "use1-az4"]
    # The names are this (fake) account's names of those zones, read back from the subnets.
    names = fake_zones("us-east-1")
    assert plan.outputs["vpc_availability_zones"] == [names[z] for z in ("use1-az1", "use1-az2", "use1-az4")]
    assert plan.invokes == []  # zones given: no read of the account


def test_prod_has_a_nat_gateway_per_az_routed_in_its_own_az(prod: Plan) -> None:
    nats = prod.of_type(NAT)
    assert len(nats) == 3 and len(prod.of_type("aws:ec2/eip:Eip")) == 3
    public_by_id = {prod.outputs["vpc_public_subnet_ids"][i]: z for i, z in enumerate("abc")}
    nat_zone = {n.name: public_by_id[n.inputs["subnetId"]] for n in nats}
    assert sorted(nat_zone.values()) == ["a", "b", "c"]
    nat_ids = {
        n.name: i for n, i in zip(sorted(nats, key=lambda n: n.name), prod.outputs["vpc_nat_gateway_ids"], strict=True)
    }
    for zone in "abc":
        rt = prod.one(RT, f"airflow-prod-nodes-rt-{zone}")
        (route,) = rt.inputs["routes"]
        assert route["cidrBlock"] == "0.0.0.0/0"
        assert route["natGatewayId"] == nat_ids[f"airflow-prod-nat-{zone}"]


def test_a_single_nat_gateway_serves_every_zone() -> None:
    plan = plan_once("dev", {"natGateways": "single"})
    (nat,) = plan.of_type(NAT)
    assert len(plan.of_type("aws:ec2/eip:Eip")) == 1
    assert nat.inputs["subnetId"] == plan.outputs["vpc_public_subnet_ids"][0]
    (nat_id,) = plan.outputs["vpc_nat_gateway_ids"]
    routes = [plan.one(RT, f"airflow-dev-nodes-rt-{z}").inputs["routes"] for z in "abc"]
    assert routes == [[{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat_id}]] * 3
    assert not plan.of_type(INSTANCE)


def test_dev_leaves_through_one_nat_instance_that_forwards_only_the_node_subnets(dev: Plan) -> None:
    assert not dev.of_type(NAT) and not dev.of_type("aws:ec2/eip:Eip")
    assert dev.outputs["vpc_nat_gateway_ids"] == []
    (instance,) = dev.of_type(INSTANCE)
    assert instance.name == "airflow-dev-nat-instance"
    assert instance.parent.endswith("airflow:index:NatInstance::airflow-dev-nat-instance")
    assert instance.inputs["subnetId"] == dev.outputs["vpc_public_subnet_ids"][0]
    assert instance.inputs["instanceType"] == nat_instance.INSTANCE_TYPE == "t4g.nano"
    assert instance.inputs["sourceDestCheck"] is False and instance.inputs["associatePublicIpAddress"] is True
    eni = fake_id("aws:ec2/networkInterface:NetworkInterface", instance.name)
    routes = [dev.one(RT, f"airflow-dev-nodes-rt-{z}").inputs["routes"] for z in "abc"]
    assert routes == [[{"cidrBlock": "0.0.0.0/0", "networkInterfaceId": eni}]] * 3

    node_cidrs = [p.node for p in plan_subnets("10.20.0.0/16", ("use1-az1", "use1-az2", "use1-az4"))]
    (group,) = [dev.by_urn(dev.one(SG, "airflow-dev-nat-instance-sg").urn)]
    assert instance.inputs["vpcSecurityGroupIds"] == [group.id]
    (ingress,) = group.inputs["ingress"]
    assert (ingress["protocol"], ingress["cidrBlocks"]) == ("-1", node_cidrs)
    assert [e["cidrBlocks"] for e in group.inputs["egress"]] == [["0.0.0.0/0"]]

    template = dev.one("aws:ec2/launchTemplate:LaunchTemplate", "airflow-dev-nat-instance-lt")
    assert instance.inputs["launchTemplate"] == {"id": template.id, "version": "1"}
    assert template.inputs["imageId"] == nat_instance.AMI
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["creditSpecification"] == {"cpuCredits": "standard"}
    (disk,) = template.inputs["blockDeviceMappings"]
    key = dev.one("aws:kms/key:Key", "airflow-dev-nat-instance-key")
    assert disk["ebs"]["kmsKeyId"].endswith(f"key/{key.id}") and disk["ebs"]["encrypted"] == "true"
    assert key.inputs["enableKeyRotation"] is True
    assert base64.b64decode(template.inputs["userData"]).decode() == nat_instance.user_data(node_cidrs)

    # Watched by its status checks; the NAT gateway's alarms have nothing to watch.
    watched = alarms(dev)
    assert not [name for name in watched if name.startswith("nat-0-")]
    status = watched["nat-instance-0-status"]
    assert (status["namespace"], status["metricName"], status["statistic"]) == ("AWS/EC2", "StatusCheckFailed", "Sum")
    assert status["dimensions"] == {"InstanceId": instance.id} and status["threshold"] == 2
    assert status["treatMissingData"] == "breaching"


def test_the_nat_instance_script_forwards_only_the_given_subnets() -> None:
    rules = nat_instance.rules_script(["10.20.0.0/18", "10.20.64.0/18"])
    assert rules.count("-j MASQUERADE") == 2 and "-s 10.20.64.0/18 -j MASQUERADE" in rules
    assert "iptables -P FORWARD DROP" in rules
    user_data = nat_instance.user_data(["10.20.0.0/18"])
    assert user_data.startswith("#!/bin/bash\n") and user_data.rstrip().endswith("service iptables save")
    assert "net.ipv4.ip_forward = 1" in user_data and "systemctl enable --now iptables" in user_data
    with pytest.raises(ValueError, match="node subnets"):
        nat_instance.rules_script([])
    with pytest.raises(ValueError):
        nat_instance.rules_script(["10.20.0.0/18; reboot"])


def test_production_refuses_a_nat_instance_naming_the_key() -> None:
    with pytest.raises(ProgramError, match="'natGateways': is instance while production is true") as err:
        run_program("prod", {"natGateways": "instance"})
    assert err.value.registrations == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_route_tables_and_endpoint(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    assert len(plan.of_type(RT)) == 5  # public, one per AZ for nodes, data
    assert len(plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")) == 9
    public_rt = plan.one(RT, f"airflow-{stack}-public-rt")
    assert [r["cidrBlock"] for r in public_rt.inputs["routes"]] == ["0.0.0.0/0"]
    assert "gatewayId" in public_rt.inputs["routes"][0]
    assert "routes" not in plan.one(RT, f"airflow-{stack}-data-rt").inputs  # no way out of the VPC
    endpoint = plan.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert len(endpoint.inputs["routeTableIds"]) == 3
    default_sg = plan.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default_sg.inputs and "egress" not in default_sg.inputs


def test_without_zone_ids_three_available_zones_eks_supports_are_picked() -> None:
    plan = plan_once("dev", {"availabilityZoneIds": []})
    assert plan.invokes == [GET_ZONES]  # one read, before any resource
    # The fake account lists use1-az1 .. az6 (in name order); use1-az3 cannot hold EKS subnets.
    listed = list(fake_zones("us-east-1"))
    expected = [z for z in listed if z != "use1-az3"][:3]
    assert "use1-az3" in listed[:3]  # the check can fail: az3 is among the first three listed
    assert plan.outputs["vpc_availability_zone_ids"] == expected
    nodes = sorted((r for r in plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == "nodes"), key=lambda r: r.name)
    assert [s.inputs["availabilityZoneId"] for s in nodes] == expected


def test_bring_your_own_vpc_creates_no_network_but_the_nodes_group() -> None:
    plan = plan_once("prod", BYO)
    created = [r for r in plan.resources if r.parent.endswith("Network::airflow-prod")]
    assert sorted((r.type, r.name) for r in created) == [
        ("aws:ec2/securityGroup:SecurityGroup", "airflow-prod-db-clients-sg"),
        ("aws:ec2/securityGroup:SecurityGroup", "airflow-prod-nodes-sg"),
    ]
    assert {r.inputs["vpcId"] for r in created} == {BYO["existingVpcId"]}
    for type_ in ("aws:ec2/vpc:Vpc", SUBNET, NAT, RT, "aws:ec2/internetGateway:InternetGateway"):
        assert plan.of_type(type_) == [], type_
    assert plan.outputs["vpc_id"] == BYO["existingVpcId"]
    assert plan.outputs["vpc_node_subnet_ids"] == BYO["existingNodeSubnetIds"]
    assert plan.outputs["vpc_data_subnet_ids"] == BYO["existingDataSubnetIds"]
    assert plan.outputs["vpc_nat_gateway_ids"] == []
    # Zone names of the given zone IDs are read from the account (one read), the node subnets'
    # CIDRs (the NLB's fixed addresses, which the API server's network policy admits; the API's
    # interfaces) and the data subnets' (PgBouncer's egress to the database), each once.
    subnets = len(BYO["existingNodeSubnetIds"]) + len(BYO["existingDataSubnetIds"])
    assert sorted(plan.invokes) == sorted([GET_ZONES, *["aws:ec2/getSubnet:getSubnet"] * subnets])
    names = fake_zones("us-east-1")
    assert plan.outputs["vpc_availability_zones"] == [names[z] for z in plan.outputs["vpc_availability_zone_ids"]]
    cluster = plan.one("eks:index:Cluster")
    assert cluster.inputs["vpcId"] == BYO["existingVpcId"]
    assert cluster.inputs["privateSubnetIds"] == BYO["existingNodeSubnetIds"]
