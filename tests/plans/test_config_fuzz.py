"""Property-based fuzz of the config loader (issue 13): every generated config either loads into
settings AWS and Kubernetes would accept, or raises the loader's own `ConfigError` naming the key.

Configs are realistic mutations of the committed stack files (`config/Pulumi.<stack>.yaml`, as the
CLI hands them to the program: every value a string, objects and lists JSON-encoded), so most
examples reach the deep checks. `AWS_ACCEPTS` is the oracle: what AWS, EKS and Kubernetes document
they accept, written here independently of the loader. A sample of accepted configs also runs the
program under mocks: it must register, with unique URNs and every name and tag count in bounds.

Profiles (HYPOTHESIS_PROFILE): `default` (derandomized, a few seconds, in `make test`) and `fuzz`
(thousands of examples, `make fuzz`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from config.errors import ConfigError
from config.project import read_declarations
from config.settings import Settings, load_settings
from offline.mocks import run_program
from offline.stack_config import CONFIG_DIR, resolve_stack_config
from policy.airflow_eks_guardrails.declaration import POLICY_NAMES
from tests.support.strategies import configs, helm_values_deep, mutated_configs

settings.register_profile(
    "default",
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
REGISTRATION_EXAMPLES = {"default": 4, "fuzz": 60}[os.environ.get("HYPOTHESIS_PROFILE", "default")]
BASE = {stack: resolve_stack_config(stack) for stack in ("dev", "prod")}

# ---------------------------------------------------------------- the oracle: what AWS accepts
AUTONAME = 8  # Pulumi appends "-" and 7 hex digits to an auto-named resource's logical name
# (name built from `airflow-<stack>`, AWS's limit, characters added), per resource kind:
STACK_NAMES = {
    "load balancer": ("{}-nlb", 32, AUTONAME),  # ELB API CreateLoadBalancer: Name, at most 32 characters
    "target group": ("{}-api-tg", 32, AUTONAME),  # ELB API CreateTargetGroup: Name, at most 32 characters
    "RDS instance": ("{}-db", 63, 0),  # RDS CreateDBInstance: DBInstanceIdentifier, 1 to 63
    "IAM role": ("{}-telemetry-cloudwatch-role", 64, AUTONAME),  # IAM CreateRole: RoleName, at most 64
    "EKS cluster": ("{}", 100, 0),  # EKS CreateCluster: name, 1 to 100
    "S3 bucket prefix": ("{}-task-logs-", 37, 0),  # S3 bucket names 3 to 63; Pulumi appends 26 to a prefix
    "KMS alias": ("alias/{}-telemetry-logs", 256, 0),  # KMS CreateAlias: AliasName, at most 256
    "log group": ("/aws/containerinsights/{}/performance", 512, 0),  # CloudWatch Logs: at most 512
    "SNS topic": ("{}-alerts-topic", 256, AUTONAME),  # SNS CreateTopic: Name, at most 256
}
RDS_IDENTIFIER = re.compile(r"[a-z](-?[a-z0-9])*")  # RDS: letter first, no "--", no trailing "-"
EKS_CLUSTER = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]*")  # EKS CreateCluster: name pattern
# Physical name limits of auto-named resources, checked on the registered plan.
PLAN_NAME_LIMITS = {
    "aws:lb/loadBalancer:LoadBalancer": 32,  # ELB: load balancer name
    "aws:lb/targetGroup:TargetGroup": 32,  # ELB: target group name
    "aws:iam/role:Role": 64,  # IAM: role name
    "aws:iam/policy:Policy": 128,  # IAM: policy name
    "aws:ec2/securityGroup:SecurityGroup": 255,  # EC2: security group name
    "aws:ec2/launchTemplate:LaunchTemplate": 128,  # EC2: launch template name
    "aws:sns/topic:Topic": 256,  # SNS: topic name
    "aws:rds/instance:Instance": 63,  # RDS: DB instance identifier
    "aws:rds/eventSubscription:EventSubscription": 255,  # RDS: subscription name
}
MAX_TAGS = 50  # tags per resource: EC2, IAM, RDS, ELB, EFS, KMS, S3, SNS, CloudWatch Logs all allow 50
PROGRAM_TAGS = 8  # the most the program sets on one resource (a node subnet), besides one per waiver
TAG_TEXT = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")  # IAM, RDS, ELB and EFS accept these (and no others)
EKS_PUBLIC_CIDRS = 40  # EKS quota: public endpoint access CIDR ranges per cluster
RULE_CIDRS = 60  # VPC quota: inbound rules per security group (one rule per listed CIDR)
VPC_RANGES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]
HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")  # RFC 1123
EC2_ID = re.compile(r"(vpc|subnet|sg)-([0-9a-f]{8}|[0-9a-f]{17})")
ZONE_ID = re.compile(r"use1-az[0-9]+")


def _cidrs_ok(values: tuple[str, ...], most: int) -> bool:
    nets = [ipaddress.ip_network(v) for v in values]
    return (
        all(n.version == 4 and str(n) == v for n, v in zip(nets, values, strict=True))
        and len(set(nets)) == len(nets) <= most
        and all(n.prefixlen > 0 for n in ipaddress.collapse_addresses(nets))  # type: ignore[type-var]
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def aws_accepts(s: Settings) -> list[str]:
    """What AWS, EKS or Kubernetes would refuse in accepted settings (empty: nothing)."""
    bad = []
    for kind, (template, limit, added) in STACK_NAMES.items():
        if len(template.format(s.name)) + added > limit:
            bad.append(f"{kind} name from stack '{s.stack}' over {limit}")
    if not RDS_IDENTIFIER.fullmatch(f"{s.name}-db") or not EKS_CLUSTER.fullmatch(s.name):
        bad.append(f"stack '{s.stack}' gives an RDS identifier or EKS cluster name AWS refuses")
    if len(s.tags) + PROGRAM_TAGS + len(s.policy_waivers) > MAX_TAGS:
        bad.append(f"{len(s.tags)} tags and {len(s.policy_waivers)} waivers over {MAX_TAGS} per resource")
    lowered = [k.lower() for k in [*s.tags, "Name", "tier"]]
    if len(set(lowered)) != len(lowered):
        bad.append(f"tag keys that differ only in case: {sorted(s.tags)}")
    for key, value in s.tags.items():
        if not (1 <= len(key) <= 128 and len(value) <= 256 and TAG_TEXT.fullmatch(key + value)):
            bad.append(f"tag {key!r}: {value!r}")
    n, c, lb = s.network, s.cluster, s.load_balancer
    vpc = ipaddress.ip_network(n.vpc_cidr)
    if str(vpc) != n.vpc_cidr or vpc.version != 4 or not any(vpc.subnet_of(r) for r in VPC_RANGES):  # type: ignore[arg-type]
        bad.append(f"VPC CIDR {n.vpc_cidr!r}")
    for values, most in ((c.public_access_cidrs, EKS_PUBLIC_CIDRS), (c.private_access_cidrs, RULE_CIDRS)):
        if not _cidrs_ok(values, most):
            bad.append(f"CIDRs {values}")
    if not _cidrs_ok(lb.allowed_cidrs, RULE_CIDRS):
        bad.append(f"NLB CIDRs {lb.allowed_cidrs}")
    if not all(ZONE_ID.fullmatch(z) for z in n.availability_zone_ids) or len(set(n.availability_zone_ids)) != len(
        n.availability_zone_ids
    ):
        bad.append(f"zones {n.availability_zone_ids}")
    if n.existing:
        ids = [n.existing_vpc_id, *n.existing_public_subnet_ids, *n.existing_node_subnet_ids]
        if not all(EC2_ID.fullmatch(i) for i in ids) or len(set(n.existing_node_subnet_ids)) != len(
            n.existing_node_subnet_ids
        ):
            bad.append(f"IDs {ids}")
    host = s.database.existing_host
    if host and not (len(host) <= 253 and all(HOST_LABEL.fullmatch(p) for p in host.split("."))):
        bad.append(f"database host {host!r}")
    plain = [s.stack, *_strings(s.tags), *_strings(n), *_strings(c), *_strings(s.database), *_strings(lb)]
    if any("\n" in text or "\r" in text for text in plain):
        bad.append("a name or identifier with a line break")
    return bad


# ---------------------------------------------------------------- the properties
def as_set(config: Mapping[str, str]) -> dict[str, Any]:
    """Engine text back to what `pulumi config set` stores: structured values for every key not
    declared a string (the CLI checks the declared type of the stored value, not of its text)."""
    decls = read_declarations()[1]
    return {k: v if decls[k].type == "string" else json.loads(v) for k, v in config.items()}


def load(config: Mapping[str, str], stack: str) -> Settings:
    return load_settings(config, stack, "us-east-1")


@given(mutated_configs(BASE))
def test_any_config_loads_valid_settings_or_names_its_key(example: tuple[str, dict[str, str]]) -> None:
    stack, config = example
    try:
        loaded = load(config, stack)
    except ConfigError as err:
        assert err.key and f"'{err.key}'" in str(err)
        assert err.key.split(".")[0].split("[")[0] in {*read_declarations()[1], "stack", "aws:region"}
        return
    assert aws_accepts(loaded) == []


@settings(max_examples=REGISTRATION_EXAMPLES)
@given(configs(BASE))
def test_accepted_configs_register_with_unique_urns(tmp_path_factory: Any, example: tuple[str, dict[str, str]]) -> None:
    stack, config = example
    try:
        load(config, stack)
    except ConfigError:
        return
    base = "dev" if config.get("production") == "false" else "prod"
    folder = tmp_path_factory.mktemp("stacks")
    shutil.copy(CONFIG_DIR / f"Pulumi.{base}.yaml", folder / f"Pulumi.{stack}.yaml")
    plan = run_program(stack, config_overrides=as_set(config), config_dir=folder)
    urns = [r.urn for r in plan.resources]
    assert len(set(urns)) == len(urns)
    for r in plan.resources:
        if r.type in PLAN_NAME_LIMITS:
            name = r.inputs.get("name") or r.inputs.get("identifier") or f"{r.name}-1234567"
            assert len(name) <= PLAN_NAME_LIMITS[r.type], (r.type, name)
        if isinstance(r.inputs.get("tags"), dict):
            assert len(r.inputs["tags"]) <= MAX_TAGS, r.urn


def test_the_program_tags_no_resource_more_than_the_oracle_allows(plans: dict[str, Any]) -> None:
    for stack, plan in plans.items():
        user = json.loads(BASE[stack][0].get("tags", "{}"))
        most = max(len(r.inputs["tags"]) for r in plan.resources if isinstance(r.inputs.get("tags"), dict))
        assert most - len(user) == PROGRAM_TAGS, stack


def test_helm_values_at_the_depth_limit_register() -> None:
    # Under a key the chart's schema leaves free (an object of any shape), 31 levels in all.
    config = {"airflowValues": {"workers": {"celery": {"updateStrategy": helm_values_deep(28)}}}}
    plan = run_program("dev", config_overrides=config)
    assert plan.resources


@pytest.mark.parametrize("policy", POLICY_NAMES[:1])
def test_waivers_count_against_the_tag_room(policy: str) -> None:
    config = dict(BASE["dev"][0])
    config["tags"] = json.dumps({f"t{i}": "x" for i in range(MAX_TAGS - PROGRAM_TAGS)})
    load(config, "dev")
    config["policyWaivers"] = json.dumps({policy: "a reason of ten or more characters"})
    with pytest.raises(ConfigError, match="'tags'"):
        load(config, "dev")
