"""Identifiers refused when they do not exist, through the loader (issue 25, item 4, second and third
classes): the stack's region and its partition, a certificate of another region, RDS engine and EKS
AMI releases never released, IAM role ARNs IAM could not hold. Each error names the key."""

from __future__ import annotations

from typing import Any

import pytest

from config.errors import ConfigError
from config.settings import load_settings
from offline.mocks import ProgramError, run_mocked
from offline.stack_config import resolve_stack_config
from program import main

CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"


def refusal(overrides: dict[str, str], region: str = "") -> ConfigError:
    config, stack_region = resolve_stack_config("prod")
    with pytest.raises(ConfigError) as failure:
        load_settings(config | overrides, "prod", region or stack_region)
    return failure.value


@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1", "cn-northwest-1", "us-gov-east-1"])
def test_govcloud_and_china_are_refused_naming_aws_region_and_registering_nothing(region: str) -> None:
    config, _ = resolve_stack_config("dev")
    with pytest.raises(ProgramError) as failure:  # the zones of us-east-1 left out: they are not the region's
        run_mocked(main, "dev", region, {k: v for k, v in config.items() if k != "availabilityZoneIds"})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "aws:region"
    assert str(cause).startswith(f"config key 'aws:region': '{region}' is in the aws-")
    assert failure.value.registrations == []


def test_a_region_that_does_not_exist_is_refused() -> None:
    error = refusal({}, "us-east-7")
    assert error.key == "aws:region"
    assert str(error).startswith("config key 'aws:region': 'us-east-7' is not an AWS region")


def test_a_certificate_of_another_region_is_refused_naming_the_key() -> None:
    error = refusal({"nlbCertificateArn": CERTIFICATE.format(region="eu-west-1")})
    assert str(error) == (
        "config key 'nlbCertificateArn': is a certificate of eu-west-1; the load balancer is in us-east-1 and takes "
        "a certificate of its own region (import or request it there)"
    )
    config, region = resolve_stack_config("prod")
    load_settings(config | {"nlbCertificateArn": CERTIFICATE.format(region=region)}, "prod", region)


@pytest.mark.parametrize(
    ("overrides", "key", "start"),
    [
        ({"dbEngineVersion": "16.99"}, "dbEngineVersion", "'16.99' is not a release of RDS for PostgreSQL 16"),
        ({"dbEngineVersion": "15.1"}, "dbEngineVersion", "'15.1' is not a release of RDS for PostgreSQL 15"),
        (
            {"kubernetesVersion": "1.35", "nodeAmiReleaseVersion": "1.35.9-20260301"},
            "nodeAmiReleaseVersion",
            "'1.35.9-20260301' was not released",
        ),
        (
            {"clusterAdminRoleArns": '["arn:aws-us-gov:iam::123456789012:role/platform"]'},
            "clusterAdminRoleArns",
            "'arn:aws-us-gov:iam::123456789012:role/platform' is not an IAM role ARN of the aws partition",
        ),
        (
            {"clusterAdminRoleArns": f'["arn:aws:iam::123456789012:role/{"r" * 65}"]'},
            "clusterAdminRoleArns",
            f"'arn:aws:iam::123456789012:role/{'r' * 65}' names a role of 65 characters; IAM allows 64",
        ),
        (
            {"alarmTopicArn": "arn:aws-cn:sns:cn-north-1:123456789012:alerts"},
            "alarmTopicArn",
            "'arn:aws-cn:sns:cn-north-1:123456789012:alerts' is not an SNS topic ARN",
        ),
    ],
)
def test_identifiers_that_do_not_exist_are_refused_naming_the_key(
    overrides: dict[str, Any], key: str, start: str
) -> None:
    error = refusal(overrides)
    assert error.key == key
    assert str(error).startswith(f"config key '{key}': {start}")


@pytest.mark.parametrize("version", ["16", "16.13", "17.9", "13.23"])
def test_released_rds_versions_load(version: str) -> None:
    config, region = resolve_stack_config("prod")
    assert load_settings(config | {"dbEngineVersion": version}, "prod", region).database.engine_version == version
