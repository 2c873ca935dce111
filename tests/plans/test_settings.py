"""Configuration: declarations in Pulumi.yaml, the typed loader, and bad input.

Every bad-config case runs the real program under mocks and asserts that it fails with a
`ConfigError` naming the offending key, before a single resource is registered.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from config.errors import ConfigError, ConfigErrors
from config.project import PROJECT_FILE, SECRET_KEYS, read_declarations
from config.settings import load_settings
from lib.airflow.resources import ResourceProfile
from lib.cluster.node_groups import CapacityType, TaintEffect
from lib.network.subnets import NatGatewayMode
from offline.mocks import ProgramError, run_program
from offline.stack_config import resolve_stack_config
from tests.support.overrides import STACK_GROUPS, groups_with

# (id, stack, overrides, key the error must name)
BAD_CONFIG: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown key (typo)", "dev", {"natGateway": "single"}, "natGateway"),
    ("nat mode not an enum value", "dev", {"natGateways": "everywhere"}, "natGateways"),
    ("one availability zone", "dev", {"availabilityZoneIds": ["use1-az1"]}, "availabilityZoneIds"),
    (
        "four availability zones",
        "dev",
        {"availabilityZoneIds": ["use1-az1", "use1-az2", "use1-az4", "use1-az5"]},
        "availabilityZoneIds",
    ),
    ("zone of another region", "dev", {"availabilityZoneIds": ["euw1-az1", "euw1-az2"]}, "availabilityZoneIds"),
    ("zone name, not a zone ID", "dev", {"availabilityZoneIds": ["us-east-1a", "us-east-1b"]}, "availabilityZoneIds"),
    ("repeated zone", "dev", {"availabilityZoneIds": ["use1-az1", "use1-az1"]}, "availabilityZoneIds"),
    ("zone EKS refuses", "dev", {"availabilityZoneIds": ["use1-az1", "use1-az3"]}, "availabilityZoneIds"),
    ("replaced key: zone names", "dev", {"availabilityZones": ["us-east-1a", "us-east-1b"]}, "availabilityZones"),
    ("VPC too large to fit the layout", "dev", {"vpcCidr": "10.0.0.0/8"}, "vpcCidr"),
    ("VPC too small for three tiers", "dev", {"vpcCidr": "10.0.0.0/24"}, "vpcCidr"),
    ("public VPC range", "dev", {"vpcCidr": "8.8.0.0/16"}, "vpcCidr"),
    ("VPC CIDR not a CIDR", "dev", {"vpcCidr": "ten-dot-zero"}, "vpcCidr"),
    # A value of the wrong declared type never reaches the program: the Pulumi CLI refuses it first
    # (tests/plans/test_cli_config_rules.py).
    ("unsupported Kubernetes version", "dev", {"kubernetesVersion": "1.20"}, "kubernetesVersion"),
    ("public endpoint without CIDRs", "dev", {"clusterPublicAccessCidrs": []}, "clusterPublicAccessCidrs"),
    (
        "private endpoint that nothing may reach",
        "dev",
        {"clusterEndpointPublicAccess": False, "clusterPublicAccessCidrs": []},
        "clusterPrivateAccessCidrs",
    ),
    (
        "public endpoint open to the world",
        "dev",
        {"clusterEndpointPublicAccess": True, "clusterPublicAccessCidrs": ["0.0.0.0/0"]},
        "clusterPublicAccessCidrs",
    ),
    (
        "CIDRs for an endpoint that is off",
        "dev",
        {"clusterEndpointPublicAccess": False, "clusterPrivateAccessCidrs": ["10.99.0.0/24"]},
        "clusterPublicAccessCidrs",
    ),
    (
        "private API access from a public range",
        "dev",
        {"clusterPrivateAccessCidrs": ["8.8.8.0/24"]},
        "clusterPrivateAccessCidrs",
    ),
    (
        "admin ARN of a user, not a role",
        "dev",
        {"clusterAdminRoleArns": ["arn:aws:iam::123456789012:user/ops"]},
        "clusterAdminRoleArns",
    ),
    (
        "admin role listed twice (another path, same role)",
        "dev",
        {"clusterAdminRoleArns": ["arn:aws:iam::123456789012:role/ops", "arn:aws:iam::123456789012:role/x/ops"]},
        "clusterAdminRoleArns",
    ),
    ("AMI release of another minor", "dev", {"nodeAmiReleaseVersion": "1.32.3-20250610"}, "nodeAmiReleaseVersion"),
    ("malformed AMI release", "dev", {"nodeAmiReleaseVersion": "v20250610"}, "nodeAmiReleaseVersion"),
    (
        "add-on version of an unknown add-on",
        "dev",
        {"eksAddonVersions": {"metrics-server": "v0.8.1-eksbuild.1"}},
        "eksAddonVersions.metrics-server",
    ),
    ("malformed add-on version", "dev", {"eksAddonVersions": {"coredns": "1.13.2"}}, "eksAddonVersions.coredns"),
    ("node group min > max", "dev", {"nodeGroups": groups_with(workers__minSize=6)}, "nodeGroups.workers.minSize"),
    (
        "node group desired outside min..max",
        "dev",
        {"nodeGroups": groups_with(system__desiredSize=9)},
        "nodeGroups.system.desiredSize",
    ),
    (
        "empty instance type list",
        "dev",
        {"nodeGroups": groups_with(system__instanceTypes=[])},
        "nodeGroups.system.instanceTypes",
    ),
    (
        "malformed instance type",
        "dev",
        {"nodeGroups": groups_with(system__instanceTypes=["large"])},
        "nodeGroups.system.instanceTypes",
    ),
    (
        "arm and x86 types in one group",
        "dev",
        {"nodeGroups": groups_with(workers__instanceTypes=["m6i.large", "m6g.large"])},
        "nodeGroups.workers.instanceTypes",
    ),
    (
        "capacity type not an enum value",
        "dev",
        {"nodeGroups": groups_with(workers__capacityType="spot")},
        "nodeGroups.workers.capacityType",
    ),
    (
        "taint with a bad effect",
        "dev",
        {"nodeGroups": groups_with(workers__taints=[{"key": "dedicated", "value": "workers", "effect": "NoSchedule"}])},
        "nodeGroups.workers.taints[0].effect",
    ),
    (
        "workers group without a taint",
        "dev",
        {"nodeGroups": groups_with(workers__taints=None)},
        "nodeGroups.workers.taints",
    ),
    ("unknown node group field", "dev", {"nodeGroups": groups_with(system__minsize=1)}, "nodeGroups.system.minsize"),
    (
        "required node group missing",
        "dev",
        {"nodeGroups": {k: v for k, v in STACK_GROUPS.items() if k != "airflow"}},
        "nodeGroups",
    ),
    ("disk too small", "dev", {"nodeGroups": groups_with(system__diskSizeGib=8)}, "nodeGroups.system.diskSizeGib"),
    ("storage ceiling below the initial size", "dev", {"dbMaxAllocatedStorageGib": 10}, "dbMaxAllocatedStorageGib"),
    ("storage ceiling equal to the initial size", "dev", {"dbMaxAllocatedStorageGib": 20}, "dbMaxAllocatedStorageGib"),
    ("database class of unknown memory", "dev", {"dbInstanceClass": "db.x2g.large"}, "dbInstanceClass"),
    ("short backups on a protected stack", "prod", {"dbBackupRetentionDays": 3}, "dbBackupRetentionDays"),
    ("unsupported PostgreSQL major", "dev", {"dbEngineVersion": "11.22"}, "dbEngineVersion"),
    ("malformed maintenance window", "dev", {"dbMaintenanceWindow": "sunday 4am"}, "dbMaintenanceWindow"),
    ("EFS transition not an allowed value", "dev", {"efsTransitionToIaDays": 45}, "efsTransitionToIaDays"),
    (
        "create-only key with an existing VPC",
        "dev",
        {
            "existingVpcId": "vpc-0123456789abcdef0",
            "existingNodeSubnetIds": [
                "subnet-0000000000000000a",
                "subnet-0000000000000000b",
                "subnet-0000000000000000c",
            ],
            "existingDataSubnetIds": [
                "subnet-0000000000000001a",
                "subnet-0000000000000001b",
                "subnet-0000000000000001c",
            ],
        },
        "vpcCidr",
    ),
    (
        "existing subnets without an existing VPC",
        "dev",
        {"existingNodeSubnetIds": ["subnet-0000000000000000a"]},
        "existingNodeSubnetIds",
    ),
    (
        "existing VPC with a subnet missing",
        "prod",
        {
            "vpcCidr": "10.0.0.0/16",
            "existingVpcId": "vpc-0123456789abcdef0",
            "existingNodeSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b"],
            "existingDataSubnetIds": [
                "subnet-0000000000000001a",
                "subnet-0000000000000001b",
                "subnet-0000000000000001c",
            ],
        },
        "existingNodeSubnetIds",
    ),
    ("existing database without its password", "dev", {"existingDbHost": "db.example.internal"}, "existingDbPassword"),
    ("resource profile not an enum value", "dev", {"airflowResourceProfile": "huge"}, "airflowResourceProfile"),
    ("no scheduler", "dev", {"airflowSchedulerReplicas": 0}, "airflowSchedulerReplicas"),
    ("Airflow 2", "dev", {"airflowVersion": "2.10.5"}, "airflowVersion"),
    ("git-sync branch without a repository", "dev", {"gitSyncBranch": "release"}, "gitSyncBranch"),
    (
        "git-sync over ssh without a key",
        "dev",
        {"gitSyncRepo": "git@github.com:org/dags.git"},
        "gitSyncCredentialsSecret",
    ),
    (
        "git-sync folder outside the repository",
        "dev",
        {"gitSyncRepo": "https://github.com/org/dags.git", "gitSyncSubPath": "../etc"},
        "gitSyncSubPath",
    ),
    (
        "create-only database key with an existing database",
        "prod",
        {"existingDbHost": "db.example.internal", "existingDbPassword": "x", "dbFinalSnapshot": False},
        "dbFinalSnapshot",
    ),
    ("certificate that is not an ACM ARN", "dev", {"nlbCertificateArn": "my-cert"}, "nlbCertificateArn"),
    ("reserved tag prefix", "dev", {"tags": {"aws:owner": "me"}}, "tags"),
    (
        "values override of the task pods' service account (its IAM role trusts the program's)",
        "prod",
        {"airflowValues": {"workers": {"serviceAccount": {"name": "mine"}}}},
        "airflowValues.workers.serviceAccount",
    ),
    (
        "a shared workers key the chart deprecates (the task pods' template reads workers.kubernetes)",
        "prod",
        {"airflowValues": {"workers": {"env": [{"name": "TEAM", "value": "data"}]}}},
        "airflowValues.workers.env",
    ),
]


@pytest.mark.parametrize(("stack", "overrides", "key"), [c[1:] for c in BAD_CONFIG], ids=[c[0] for c in BAD_CONFIG])
def test_bad_config_names_the_key_and_registers_nothing(stack: str, overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program(stack, config_overrides=overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError), f"{type(cause).__name__}: {cause}"
    assert cause.key == key
    assert f"'{key}'" in str(cause)
    assert failure.value.registrations == []


def test_enum_errors_list_the_accepted_values() -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", config_overrides={"natGateways": "everywhere"})
    assert "single, perAz" in str(failure.value.cause)


@pytest.mark.parametrize(
    ("typo", "nearest"),
    [("vpcCIDR", "'vpcCidr'"), ("dbEngineVerison", "'dbEngineVersion'"), ("kubernetesVerson", "'kubernetesVersion'")],
)
def test_an_unknown_key_names_the_nearest_declared_one(typo: str, nearest: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", config_overrides={typo: "x"})
    assert str(failure.value.cause) == (
        f"config key '{typo}': is not a config key of this project; did you mean {nearest}?"
    )
    assert failure.value.registrations == []


def test_an_unknown_key_near_none_points_to_the_reference_not_a_list_of_every_key() -> None:
    config, region = resolve_stack_config("dev")
    with pytest.raises(ConfigError) as failure:
        load_settings(config | {"completelyUnrelated": "x"}, "dev", region)
    assert str(failure.value) == (
        "config key 'completelyUnrelated': is not a config key of this project; docs/configuration.md lists the "
        "keys (Pulumi.yaml's config block declares them)"
    )


def test_every_independent_error_of_a_config_is_reported_at_once() -> None:
    config, region = resolve_stack_config("dev")
    config |= {
        "dbNmae": "x",  # a typo
        "dbBackupRetentionDays": "90",  # two wrong values of one section
        "dbSlowStatementMs": "-5",
        "efsTransitionToIaDays": "3",  # another section
        "natGateways": "everywhere",  # not of its enum
        "dbPerformanceInsights": "maybe",  # not of its type
    }
    with pytest.raises(ConfigErrors) as failure:
        load_settings(config, "dev", region)
    assert [(e.key, type(e)) for e in failure.value.errors] == [
        ("dbNmae", ConfigError),
        ("dbPerformanceInsights", ConfigError),
        ("natGateways", ConfigError),
        ("dbBackupRetentionDays", ConfigError),
        ("dbSlowStatementMs", ConfigError),
        ("efsTransitionToIaDays", ConfigError),
    ]
    assert failure.value.key == "dbNmae"
    message = str(failure.value)
    assert message.splitlines()[0] == "6 config errors:"
    assert "  - config key 'dbNmae': is not a config key of this project; did you mean 'dbName'?" in message
    assert "  - config key 'dbBackupRetentionDays': 90 is outside the accepted range 1 to 35" in message


def test_an_error_that_follows_from_another_is_not_reported() -> None:
    """dbMaxAllocatedStorageGib is checked against dbAllocatedStorageGib: once the wrong allocation is
    set aside, the ceiling is not reported against the default allocation."""
    config, region = resolve_stack_config("dev")
    config |= {"dbAllocatedStorageGib": "10", "dbMaxAllocatedStorageGib": "30"}
    with pytest.raises(ConfigError) as failure:
        load_settings(config, "dev", region)
    assert type(failure.value) is ConfigError
    assert str(failure.value) == "config key 'dbAllocatedStorageGib': 10 is outside the accepted range 20 to 65536"


DOCKER_HUB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub"


def test_the_cli_applies_the_declared_defaults(tmp_path: Any) -> None:
    """The defaults the CLI applies from Pulumi.yaml (generated from the declarations) and those the
    loader applies for a key it is not handed (the declarations') give the same settings."""
    (tmp_path / "Pulumi.new.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  airflow-eks:clusterPrivateAccessCidrs: [10.99.0.0/24]\n"
        f"  airflow-eks:imagePullThroughCacheCredentialArn: {DOCKER_HUB_SECRET}\n"
        "  airflow-eks:nlbAllowedCidrs: [10.99.0.0/24]\n"
    )
    config, region = resolve_stack_config("new", config_dir=tmp_path)
    assert len(config) == len(read_declarations()[1]) - len(SECRET_KEYS)  # every key but the optional secrets
    reached = '["10.99.0.0/24"]'
    bare = load_settings(
        {
            "clusterPrivateAccessCidrs": reached,
            "nlbAllowedCidrs": reached,
            "imagePullThroughCacheCredentialArn": DOCKER_HUB_SECRET,
        },
        "new",
        region,
    )
    applied = load_settings(config, "new", region)
    # The CLI hands an object over as Go's JSON of it, map keys sorted: the groups come by name.
    assert applied.node_groups == tuple(sorted(bare.node_groups, key=lambda g: g.name))
    assert replace(applied, node_groups=bare.node_groups) == bare


def test_replaced_key_names_its_replacement() -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", config_overrides={"availabilityZones": ["us-east-1a", "us-east-1b"]})
    assert "availabilityZoneIds" in str(failure.value.cause) and "UPGRADING.md" in str(failure.value.cause)


def test_stack_file_with_a_foreign_namespace(tmp_path: Any) -> None:
    (tmp_path / "Pulumi.odd.yaml").write_text("config:\n  aws:region: us-east-1\n  other:thing: 1\n")
    with pytest.raises(ConfigError) as failure:
        resolve_stack_config("odd", config_dir=tmp_path)
    assert failure.value.key == "other:thing"


# ----------------------------------------------------------------------------- good config


def test_dev_and_prod_settings() -> None:
    dev = load_settings(*resolve_stack_config("dev")[:1], "dev", "us-east-1")
    prod = load_settings(*resolve_stack_config("prod")[:1], "prod", "us-east-1")
    assert dev.name == "airflow-dev" and prod.name == "airflow-prod"
    assert dev.network.nat_gateways is NatGatewayMode.INSTANCE
    assert prod.network.nat_gateways is NatGatewayMode.PER_AZ
    assert prod.network.availability_zone_ids == ("use1-az1", "use1-az2", "use1-az4")
    assert (dev.protect, prod.protect) == (False, True)
    # The CLI hands an object value over as Go's JSON of it, map keys sorted (offline/pulumi_cli.py).
    assert [g.name for g in prod.node_groups] == ["airflow", "system", "workers"]
    workers = dev.node_group("workers")
    assert workers.capacity_type is CapacityType.SPOT and workers.min_size == 0
    assert workers.taints[0].effect is TaintEffect.NO_SCHEDULE
    assert workers.taints[0].effect.kubernetes == "NoSchedule"
    assert prod.node_group("airflow").capacity_type is CapacityType.ON_DEMAND
    assert (dev.database.multi_az, prod.database.multi_az) == (False, True)
    assert dev.airflow.resource_profile is ResourceProfile.SMALL
    assert prod.airflow.scheduler_replicas == 2 and dev.airflow.scheduler_replicas == 1
    assert prod.tags == {"environment": "prod"}


def test_arm_instance_types_select_the_arm_ami() -> None:
    config, region = resolve_stack_config("dev")
    config["nodeGroups"] = json.dumps(
        groups_with(system__instanceTypes=["m7g.large", "c7gn.large"], airflow__instanceTypes=["m6i.large"])
    )
    settings = load_settings(config, "dev", region)
    assert settings.node_group("system").ami_type == "AL2023_ARM_64_STANDARD"
    assert settings.node_group("airflow").ami_type == "AL2023_x86_64_STANDARD"


# ----------------------------------------------------------------------------- declarations


def test_every_declaration_is_typed_documented_and_defaulted() -> None:
    """The rules of Pulumi's project schema, plus ours: a description for every typed key."""
    doc = yaml.safe_load(PROJECT_FILE.read_text())
    assert doc["name"] == "airflow-eks" and doc["stackConfigDir"] == "config"
    assert doc["runtime"]["name"] == "python" and doc["runtime"]["options"]["virtualenv"] == ".venv"
    python_type = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}
    for key, spec in doc["config"].items():
        assert spec["type"] in python_type, key
        assert spec.get("description"), f"{key} has no description"
        if spec["type"] == "array":
            assert spec["items"] == {"type": "string"}, key
        assert type(spec["default"]) is python_type[spec["type"]], key  # every key has a default


def test_stack_files_only_set_declared_keys() -> None:
    _, decls = read_declarations()
    for stack in ("dev", "prod"):
        config, region = resolve_stack_config(stack)
        assert region == "us-east-1"
        assert set(config) <= set(decls), stack


def test_project_defaults_load_as_the_prod_profile() -> None:
    """The defaults in Pulumi.yaml, plus the network `pulumi up` runs from, are valid and HA."""
    with pytest.raises(ConfigError) as failure:  # nothing could reach a private-only API
        load_settings({}, "new", "us-east-1")
    assert failure.value.key == "clusterPrivateAccessCidrs"
    network = '["10.99.0.0/24"]'
    with pytest.raises(ConfigError) as failure:  # production: the UI's sources are named, never the whole VPC
        load_settings(
            {"clusterPrivateAccessCidrs": network, "imagePullThroughCacheCredentialArn": DOCKER_HUB_SECRET},
            "new",
            "us-east-1",
        )
    assert failure.value.key == "nlbAllowedCidrs"
    # nor a production stack whose 20 task nodes would pull Airflow's image from Docker Hub anonymously
    with pytest.raises(ConfigError) as failure:
        load_settings({"clusterPrivateAccessCidrs": network, "nlbAllowedCidrs": network}, "new", "us-east-1")
    assert failure.value.key == "imagePullThroughCacheCredentialArn"
    settings = load_settings(
        {
            "clusterPrivateAccessCidrs": network,
            "nlbAllowedCidrs": network,
            "imagePullThroughCacheCredentialArn": DOCKER_HUB_SECRET,
        },
        "new",
        "us-east-1",
    )
    assert settings.protect and settings.database.multi_az
    assert settings.database.final_snapshot and settings.database.retain_automated_backups
    assert settings.network.nat_gateways is NatGatewayMode.PER_AZ
    assert settings.network.availability_zone_ids == ()  # the program picks three zones EKS supports
    assert settings.airflow.scheduler_replicas >= 2
