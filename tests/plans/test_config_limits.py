"""Regression tests of the classes the config fuzz found (issue 13; tests/plans/test_config_fuzz.py):
each refused with a `ConfigError` naming its key, before any resource is registered."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from config.errors import ConfigError
from config.settings import load_settings
from lib.naming import NAMES_FROM_STACK, longest_stack_name
from offline.mocks import ProgramError, run_program
from offline.stack_config import CONFIG_DIR, resolve_stack_config
from tests.support.strategies import helm_values_deep

DEV, REGION = resolve_stack_config("dev")


def refused(overrides: dict[str, Any], stack: str = "dev") -> ConfigError:
    config = {**DEV, **{k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}}
    with pytest.raises(ConfigError) as failure:
        load_settings(config, stack, REGION)
    return failure.value


def refused_before_registering(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", config_overrides=overrides)
    assert isinstance(failure.value.cause, ConfigError), failure.value.cause
    assert failure.value.cause.key == key
    assert failure.value.registrations == []


# --- crashes
def test_deeply_nested_json_is_a_config_error_not_a_recursion_error() -> None:
    assert refused({"airflowValues": "[" * 3000 + "]" * 3000}).key == "airflowValues"


def test_integers_past_4300_digits_are_a_config_error_also_in_the_message() -> None:
    err = refused({"dbAllocatedStorageGib": "9" * 5000})
    assert err.key == "dbAllocatedStorageGib" and len(str(err)) < 400
    assert refused({"airflowValues": '{"a": ' + "9" * 5000 + "}"}).key == "airflowValues"
    assert refused({"airflowValues": {"a": 2**60}}).key == "airflowValues"  # not exact as a double


def test_helm_values_nested_hundreds_deep_are_refused_before_registration() -> None:
    refused_before_registering({"airflowValues": helm_values_deep(200)}, "airflowValues")
    refused_before_registering({"loadBalancerControllerValues": helm_values_deep(33)}, "loadBalancerControllerValues")


# --- names from the stack name
@pytest.mark.parametrize("stack", ["dev-", "a--b", "dev\n", "Dev", "abcdefghij", "production-eu-west"])
def test_stack_names_aws_would_refuse_are_refused(stack: str, tmp_path: Any) -> None:
    shutil.copy(CONFIG_DIR / "Pulumi.dev.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    with pytest.raises(ProgramError) as failure:
        run_program(stack, config_dir=tmp_path)
    assert isinstance(failure.value.cause, ConfigError) and failure.value.cause.key == "stack"
    assert failure.value.registrations == []


def test_the_longest_stack_name_fits_every_aws_name_limit(tmp_path: Any) -> None:
    stack = "s" * longest_stack_name()
    assert stack == "sssssssss"  # the target group: airflow-<stack>-api-tg plus 8 auto-named characters <= 32
    for _, template, limit, added in NAMES_FROM_STACK:
        assert len(template.format(f"airflow-{stack}")) + added <= limit
    shutil.copy(CONFIG_DIR / "Pulumi.dev.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    plan = run_program(stack, config_dir=tmp_path)
    tg = plan.one("aws:lb/targetGroup:TargetGroup")
    assert len(tg.name) + 8 == 32


# --- `$` and `\d`
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("availabilityZoneIds", ["use1-az1\n", "use1-az1"]),  # slipped past the repeated-zone check
        ("availabilityZoneIds", ["use1-az1", "use1-az\u0664"]),  # an Arabic-Indic digit
        ("clusterAdminRoleArns", ["arn:aws:iam::123456789012:role/admin\n"]),
        ("clusterAdminRoleArns", ["arn:aws:iam::\u0661\u0662\u0663456789012:role/admin"]),
        ("airflowChartVersion", "1.22.0\n"),
        ("eksAddonVersions", {"coredns": "v1.11.4-eksbuild.2\n"}),
        ("imageRegistryMirrors", {"docker.io": "registry.example.com/hub\n"}),
    ],
)
def test_a_trailing_newline_or_a_non_ascii_digit_is_refused(key: str, value: Any) -> None:
    assert refused({key: value}).key.split(".")[0] == key


# --- CIDRs
@pytest.mark.parametrize(
    ("key", "cidrs", "says"),
    [
        ("clusterPublicAccessCidrs", ["198.51.100.0/255.255.255.0"], "write 198.51.100.0/24"),
        ("clusterPublicAccessCidrs", ["198.51.100.7"], "write 198.51.100.7/32"),
        ("nlbAllowedCidrs", ["10.0.0.0/08"], "write 10.0.0.0/8"),
        ("nlbAllowedCidrs", ["10.1.0.0/16", "10.1.0.0/16"], "twice"),
        ("clusterPublicAccessCidrs", ["0.0.0.0/1", "128.0.0.0/1"], "whole internet"),
        ("clusterPublicAccessCidrs", ["2001:db8::/32"], "IPv4 only"),
        ("clusterPrivateAccessCidrs", ["fd00::/8"], "IPv4 only"),
        ("clusterPublicAccessCidrs", [f"198.51.100.{i}/32" for i in range(41)], "at most 40"),
        ("nlbAllowedCidrs", [f"10.0.{i}.0/24" for i in range(51)], "at most 50"),
        ("clusterPrivateAccessCidrs", ["169.254.0.0/16"], "not a private range"),
    ],
)
def test_cidrs_are_canonical_ipv4_unique_bounded_and_never_everything(key: str, cidrs: list[str], says: str) -> None:
    err = refused({key: cidrs})
    assert err.key == key and says in str(err)


@pytest.mark.parametrize("vpc", ["127.0.0.0/16", "169.254.0.0/16", "10.0.0.0/255.255.0.0", "10.0.0.1", "10.0.0.0/016"])
def test_vpc_cidr_is_a_canonical_private_range(vpc: str) -> None:
    refused_before_registering({"vpcCidr": vpc}, "vpcCidr")


def test_vpc_cidr_in_shared_address_space_is_accepted() -> None:
    assert load_settings({**DEV, "vpcCidr": "100.64.0.0/16"}, "dev", REGION).network.vpc_cidr == "100.64.0.0/16"


# --- tags
@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ({f"k{i}": "v" for i in range(43)}, "at most 42"),
        ({"name": "x"}, "program's tag 'Name'"),
        ({"Name": "x"}, "program's tag 'Name'"),
        ({"Project": "x"}, "program's tag 'project'"),
        ({"team": "a", "Team": "b"}, "differ only in case"),
        ({"cost<center>": "x"}, "letters, digits, spaces"),
        ({"team": "caf\u00e9"}, "letters, digits, spaces"),
        ({"team": "v" * 257}, "up to 256"),
        ({"k" * 129: "v"}, "1 to 128"),
        ({"kubernetes.io/role/elb": "1"}, "'kubernetes.io/'"),
        ({"AWS:x": "1"}, "'aws:'"),
    ],
)
def test_tags_fit_every_aws_service_and_the_50_per_resource(tags: dict[str, str], says: str) -> None:
    err = refused({"tags": tags})
    assert err.key == "tags" and says in str(err), str(err)


def test_overriding_a_program_tag_exactly_is_still_accepted() -> None:
    assert load_settings({**DEV, "tags": json.dumps({"project": "data"})}, "dev", REGION).tags == {"project": "data"}


# --- a brought VPC and database
BROUGHT_VPC = {
    "vpcCidr": None,
    "natGateways": None,
    "existingVpcId": "vpc-0a1b2c3d4e5f60718",
    "existingNodeSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000a", "subnet-0000000000000000c"],
    "existingDataSubnetIds": ["subnet-000000000000000da", "subnet-000000000000000db", "subnet-000000000000000dc"],
    "nlbAllowedCidrs": ["10.0.0.0/16"],
}


def _brought(**changes: Any) -> dict[str, str]:
    config = {**DEV, **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in changes.items() if v}}
    return {k: v for k, v in config.items() if k not in [k for k, v in changes.items() if v is None]}


def test_repeated_or_malformed_subnet_ids_are_refused() -> None:
    with pytest.raises(ConfigError, match="twice") as failure:
        load_settings(_brought(**BROUGHT_VPC), "dev", REGION)
    assert failure.value.key == "existingNodeSubnetIds"
    malformed = {**BROUGHT_VPC, "existingNodeSubnetIds": ["subnet-0000000000000000a\n", "subnet-12", "subnet-x"]}
    with pytest.raises(ConfigError) as failure:
        load_settings(_brought(**malformed), "dev", REGION)
    assert failure.value.key == "existingNodeSubnetIds"


@pytest.mark.parametrize("host", [".", "db..example", "-db.example", "db.example\n", "db_1.example", "1.2.3", "a" * 64])
def test_an_invalid_database_host_is_refused(host: str) -> None:
    db = {k: v for k, v in DEV.items() if not k.startswith("db") or k in ("dbName", "dbUsername")}
    with pytest.raises(ConfigError) as failure:
        load_settings({**db, "existingDbHost": host, "existingDbPassword": "pw"}, "dev", REGION)
    assert failure.value.key == "existingDbHost"
