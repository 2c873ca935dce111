"""The internal NLB and its TargetGroupBinding (components/load_balancer.py) in the plans."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in requirements-dev.txt
import pytest

from config.errors import ConfigError
from config.settings import load_settings
from lib.airflow.values import API_SERVER_HEALTH_PATH, API_SERVER_PORT, api_server_service_name
from lib.cluster.helm_addons import TARGET_GROUP_BINDING_TAG
from lib.network.subnets import load_balancer_address
from offline.fakes import FakeCloud, _subnet
from offline.mocks import Plan, Registration
from offline.stack_config import resolve_stack_config
from tests.support.plans import plan_once

NLB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
RELEASE = "kubernetes:helm.sh/v3:Release"
RESERVATION = "aws:ec2/subnetCidrReservation:SubnetCidrReservation"
SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "targetgroupbinding-v1beta1.json").read_text())
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
BYO = {
    "existingVpcId": "vpc-0123456789abcdef0",
    "existingNodeSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"],
    "existingDataSubnetIds": ["subnet-0000000000000001a", "subnet-0000000000000001b", "subnet-0000000000000001c"],
}


def children(plan: Plan, type_: str) -> list[Registration]:
    parent = plan.one("airflow:index:LoadBalancer").urn
    return [r for r in plan.resources if r.parent == parent and r.type == type_]


def nlb_security_group(plan: Plan) -> Registration:
    (sg,) = children(plan, SG)
    return sg


def sg_id(plan: Plan) -> str:
    value: str = plan.outputs["nlb_security_group_id"]
    return value


def listener_sources(plan: Plan) -> list[dict[str, Any]]:
    """Ingress rules on the NLB's own group."""
    return [r.inputs for r in children(plan, INGRESS) if r.inputs["securityGroupId"] == sg_id(plan)]


@pytest.fixture(scope="module")
def with_certificate() -> Plan:
    return plan_once("dev", {"nlbCertificateArn": CERTIFICATE})


@pytest.fixture(scope="module")
def narrowed() -> Plan:
    return plan_once("prod", {"nlbAllowedCidrs": ["10.30.4.0/24", "192.168.10.0/24"]})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_internal_network_load_balancer_across_every_node_subnet(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    nlb = plan.one(NLB)
    i = nlb.inputs
    assert i["internal"] is True
    assert i["loadBalancerType"] == "network"
    assert i["enableCrossZoneLoadBalancing"] is True
    # A fixed address in each node subnet, inside a block reserved for explicit assignment.
    assert "subnets" not in i
    assert [m["subnetId"] for m in i["subnetMappings"]] == plan.outputs["vpc_node_subnet_ids"]
    assert len(i["subnetMappings"]) == len(plan.outputs["vpc_availability_zones"]) == 3
    cidrs = {s.id: s.inputs["cidrBlock"] for s in plan.of_type("aws:ec2/subnet:Subnet")}
    expected = [load_balancer_address(cidrs[m["subnetId"]]) for m in i["subnetMappings"]]
    assert [m["privateIpv4Address"] for m in i["subnetMappings"]] == [e.address for e in expected]
    reservations = children(plan, RESERVATION)
    assert [(r.inputs["subnetId"], r.inputs["cidrBlock"], r.inputs["reservationType"]) for r in reservations] == [
        (m["subnetId"], e.reservation, "explicit") for m, e in zip(i["subnetMappings"], expected, strict=True)
    ]
    assert {r.urn for r in reservations} <= set(nlb.dependencies)
    assert i["securityGroups"] == [sg_id(plan)]
    assert nlb.parent == plan.one("airflow:index:LoadBalancer").urn
    assert (
        plan.outputs["nlb_arn"].startswith("arn:aws:elasticloadbalancing:")
        and "loadbalancer/net/" in plan.outputs["nlb_arn"]
    )
    scheme = "https" if stack == "prod" else "http"  # prod: TLS (the placeholder certificate)
    assert plan.outputs["airflow_url"] == f"{scheme}://{plan.outputs['nlb_dns_name']}"


@pytest.mark.parametrize(("stack", "sources", "port"), [("dev", "10.20.0.0/16", 80), ("prod", "10.8.0.0/16", 443)])
def test_listener_open_to_the_vpc_outside_production_only(
    plans: dict[str, Plan], stack: str, sources: str, port: int
) -> None:
    plan = plans[stack]
    # dev: the VPC's CIDR by default; prod: nlbAllowedCidrs, which production requires.
    assert (plan.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == sources) == (stack == "dev")
    found = listener_sources(plan)
    assert [(s["cidrIpv4"], s["ipProtocol"], s["fromPort"], s["toPort"]) for s in found] == [
        (sources, "tcp", port, port)
    ]
    sg = nlb_security_group(plan)
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs  # every rule is its own resource


def test_listener_open_to_the_configured_cidrs_only(narrowed: Plan) -> None:
    sources = sorted(s["cidrIpv4"] for s in listener_sources(narrowed))
    assert sources == ["10.30.4.0/24", "192.168.10.0/24"]
    assert all(s["fromPort"] == s["toPort"] == 443 for s in listener_sources(narrowed))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nlb_reaches_the_nodes_on_the_api_server_port_only(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    nodes_sg = plan.outputs["cluster_node_security_group_id"]
    (egress,) = children(plan, EGRESS)
    assert egress.inputs["securityGroupId"] == sg_id(plan)
    assert egress.inputs["referencedSecurityGroupId"] == nodes_sg
    assert (egress.inputs["ipProtocol"], egress.inputs["fromPort"], egress.inputs["toPort"]) == ("tcp", 8080, 8080)
    (admit,) = [r.inputs for r in children(plan, INGRESS) if r.inputs["securityGroupId"] == nodes_sg]
    assert admit["referencedSecurityGroupId"] == sg_id(plan)
    assert (admit["ipProtocol"], admit["fromPort"], admit["toPort"]) == ("tcp", API_SERVER_PORT, API_SERVER_PORT)
    assert len(children(plan, INGRESS)) == 2  # the VPC CIDR to the listener, the NLB to the nodes


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_ip_target_group_health_checked_on_the_api_server(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    i = plan.one(TG).inputs
    assert (i["targetType"], i["protocol"], i["port"]) == ("ip", "TCP", 8080)
    assert i["vpcId"] == plan.outputs["vpc_id"]
    assert API_SERVER_HEALTH_PATH == "/api/v2/monitor/health"  # Airflow 3's endpoint
    hc = i["healthCheck"]
    assert (hc["protocol"], hc["path"], hc["port"], hc["matcher"]) == (
        "HTTP",
        API_SERVER_HEALTH_PATH,
        "traffic-port",
        "200",
    )
    assert 0 < i["deregistrationDelay"] <= 60
    assert i["preserveClientIp"] == "false"  # the nodes' rule admits the NLB's group, so its address
    assert i["tags"][TARGET_GROUP_BINDING_TAG] == plan.outputs["cluster_name"]


def test_tcp_80_without_a_certificate(dev: Plan) -> None:
    i = dev.one(LISTENER).inputs
    assert (i["protocol"], i["port"]) == ("TCP", 80)
    assert "certificateArn" not in i and "sslPolicy" not in i
    (action,) = i["defaultActions"]
    assert action["type"] == "forward"
    assert dev.one(LISTENER).dependencies and dev.one(TG).urn in dev.one(LISTENER).dependencies


def test_tls_443_with_a_certificate(with_certificate: Plan) -> None:
    plan = with_certificate
    i = plan.one(LISTENER).inputs
    assert (i["protocol"], i["port"], i["certificateArn"]) == ("TLS", 443, CERTIFICATE)
    assert i["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert [(s["fromPort"], s["toPort"]) for s in listener_sources(plan)] == [(443, 443)]
    assert plan.outputs["airflow_url"] == f"https://{plan.outputs['nlb_dns_name']}"


# --------------------------------------------------------------------------- TargetGroupBinding


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_target_group_binding_is_valid_and_points_at_the_api_server(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    binding = plan.one(TGB)
    jsonschema.Draft7Validator(SCHEMA).validate(binding.inputs)
    spec = binding.inputs["spec"]
    (airflow,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "airflow"]
    assert spec["serviceRef"] == {"name": api_server_service_name(airflow.inputs["name"]), "port": 8080}
    assert spec["serviceRef"]["name"] == "airflow-api-server"
    assert spec["targetType"] == "ip"
    assert "networking" not in spec  # the program adds the NLB -> nodes rule itself
    tg = plan.one(TG)
    assert f":targetgroup/{tg.name}/" in spec["targetGroupARN"] and tg.urn in binding.dependencies
    assert binding.inputs["metadata"]["namespace"] == plan.outputs["airflow_namespace"]
    (lb_controller,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller"]
    assert lb_controller.urn in binding.dependencies
    (namespace,) = [
        n for n in plan.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == "airflow"
    ]
    assert namespace.urn in binding.dependencies
    # A readiness gate turns true only on a healthy target, and targets of a group no listener
    # uses stay `unused` (controller v3.4.3 and v3.5.0, resource_manager.go l.515-528): listener first.
    assert plan.one(LISTENER).urn in binding.dependencies


def test_the_binding_schema_refuses_what_the_crd_refuses(dev: Plan) -> None:
    binding = dev.one(TGB).inputs
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert list(validator.iter_errors(binding)) == []
    broken: list[dict[str, Any]] = []
    for path, value in (
        (("spec", "targetType"), "pod"),
        (("spec", "targetGroupArn"), binding["spec"]["targetGroupARN"]),  # misspelt field
        (("spec", "serviceRef", "port"), 0),
        (("spec", "targetGroupARN"), "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/x/1"),
        (("kind",), "TargetGroupBindings"),
    ):
        obj = copy.deepcopy(binding)
        node = obj
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        broken.append(obj)
    without_service = copy.deepcopy(binding)
    del without_service["spec"]["serviceRef"]
    broken.append(without_service)
    for obj in broken:
        assert list(validator.iter_errors(obj)), obj


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_production_requires_the_allowed_cidrs(stack: str) -> None:
    config, region = resolve_stack_config(stack)
    config.pop("nlbAllowedCidrs", None)
    config["production"] = "true"
    with pytest.raises(ConfigError) as failure:
        load_settings(config, stack, region)
    assert failure.value.key == "nlbAllowedCidrs"
    assert "is required in production (production: true)" in str(failure.value)
    config["production"] = "false"  # not production: the VPC's CIDR by default
    assert load_settings(config, stack, region).load_balancer.allowed_cidrs == ()


def test_an_existing_vpc_requires_the_allowed_cidrs() -> None:
    config, region = resolve_stack_config("prod")
    config.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in BYO.items()})
    config.pop("vpcCidr")
    config.pop("nlbAllowedCidrs")
    config["production"] = "false"  # production refuses it first, for its own reason
    with pytest.raises(ConfigError) as failure:
        load_settings(config, "prod", region)
    assert failure.value.key == "nlbAllowedCidrs"
    assert "is required with existingVpcId" in str(failure.value)
    config["nlbAllowedCidrs"] = json.dumps(["10.50.0.0/16"])
    assert load_settings(config, "prod", region).load_balancer.allowed_cidrs == ("10.50.0.0/16",)


def test_an_existing_vpc_opens_the_listener_to_its_allowed_cidrs() -> None:
    # vpcCidr back to its default: it applies only to a VPC the program creates.
    plan = plan_once("prod", {**BYO, "nlbAllowedCidrs": ["10.50.0.0/16"], "vpcCidr": "10.0.0.0/16"})
    assert [s["cidrIpv4"] for s in listener_sources(plan)] == ["10.50.0.0/16"]
    mappings = plan.one(NLB).inputs["subnetMappings"]
    assert [m["subnetId"] for m in mappings] == BYO["existingNodeSubnetIds"]
    # The brought subnets' CIDRs as `pulumi up` reads them (aws:ec2/getSubnet, the fake cloud's), each with its address.
    read = [_subnet(FakeCloud("us-east-1"), {"id": i})["cidrBlock"] for i in BYO["existingNodeSubnetIds"]]
    assert [m["privateIpv4Address"] for m in mappings] == [load_balancer_address(c).address for c in read]
