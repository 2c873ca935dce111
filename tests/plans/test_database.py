"""The metadata database (components/database.py) in both stacks' plans, and bring-your-own."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from components.database import DatabaseArgs
from config.errors import ConfigError
from config.project import read_declarations
from config.settings import Settings
from offline.fakes import fake_secret
from offline.mocks import Plan, ProgramError, Registration, run_program
from offline.stack_config import resolve_stack_config
from tests.support.plans import plan_once
from tests.support.settings import settings_of

INSTANCE = "aws:rds/instance:Instance"
KMS_KEY = "aws:kms/key:Key"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
EKS_CLUSTER = "eks:index:Cluster"


def component(plan: Plan, type_: str) -> Registration:
    return plan.one(type_)


def children(plan: Plan, parent: Registration, type_: str | None = None) -> list[Registration]:
    return [r for r in plan.resources if r.parent == parent.urn and (type_ is None or r.type == type_)]


def db_children(plan: Plan, type_: str | None = None) -> list[Registration]:
    return children(plan, component(plan, "airflow:index:Database"), type_)


def only(regs: list[Registration]) -> Registration:
    assert len(regs) == 1, [r.name for r in regs]
    return regs[0]


def instance_key(plan: Plan) -> Registration:
    """The KMS key the instance's storage is encrypted with (its kmsKeyId)."""
    instance = plan.one(INSTANCE)
    return only(
        [k for k in db_children(plan, KMS_KEY) if k.urn in instance.dependencies and k.name.endswith("-db-key")]
    )


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> tuple[Plan, Settings]:
    plan = {"dev": dev, "prod": prod}[request.param]
    return plan, settings_of(request.param)


# ------------------------------------------------------------------ both stacks


def test_instance_follows_settings(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    s = settings.database
    inputs = plan.one(INSTANCE).inputs
    assert inputs["engine"] == "postgres"
    assert inputs["engineVersion"] == s.engine_version
    assert inputs["instanceClass"] == s.instance_class
    assert inputs["multiAz"] is s.multi_az
    assert inputs["allocatedStorage"] == s.allocated_storage_gib
    assert inputs["maxAllocatedStorage"] == s.max_allocated_storage_gib
    assert inputs["maxAllocatedStorage"] > inputs["allocatedStorage"]  # storage autoscaling is on
    assert inputs["storageType"] == "gp3"
    assert inputs["storageEncrypted"] is True
    assert inputs["publiclyAccessible"] is False
    assert inputs["backupRetentionPeriod"] == s.backup_retention_days
    assert inputs["backupWindow"] == s.backup_window
    assert inputs["maintenanceWindow"] == s.maintenance_window
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["allowMajorVersionUpgrade"] is False
    assert inputs["applyImmediately"] is False
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["dbName"] == s.db_name
    assert inputs["username"] == s.username
    # RDS holds the master password in Secrets Manager, under a key of its own (prod) or the
    # database's one key (dev, dbOneKey): no program has it.
    assert "password" not in inputs
    assert inputs["manageMasterUserPassword"] is True
    secret_key = instance_key(plan) if s.one_key else plan.one(KMS_KEY, f"{settings.name}-db-secret-key")
    assert inputs["masterUserSecretKmsKeyId"].endswith(f":key/{secret_key.id}")
    assert secret_key.inputs["enableKeyRotation"] is True
    assert (secret_key.id == instance_key(plan).id) is s.one_key  # the storage's key only with dbOneKey
    assert inputs["port"] == 5432
    assert plan.outputs["db_port"] == 5432
    assert plan.outputs["db_name"] == s.db_name
    # An explicit identifier, so the physical name never depends on autonaming.
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,62}", inputs["identifier"])
    assert inputs["identifier"].startswith(settings.name)
    assert plan.outputs["db_address"].startswith(inputs["identifier"] + ".")


def test_storage_and_insights_use_the_database_key(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    inputs = plan.one(INSTANCE).inputs
    key = instance_key(plan)
    assert key.inputs["enableKeyRotation"] is True
    assert inputs["kmsKeyId"] == plan.outputs["db_kms_key_arn"]
    assert inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert inputs["performanceInsightsEnabled"] is settings.database.performance_insights
    if settings.database.performance_insights:
        assert inputs["performanceInsightsKmsKeyId"] == inputs["kmsKeyId"]
        assert inputs["performanceInsightsRetentionPeriod"] == 7
    else:  # dev turns it off
        assert "performanceInsightsKmsKeyId" not in inputs
        assert "performanceInsightsRetentionPeriod" not in inputs
    # The database key is its own: not the cluster's secrets key.
    assert plan.outputs["db_kms_key_arn"] != plan.outputs["cluster_secrets_kms_key_arn"]


def test_parameter_group_forces_tls_and_logs_slow_statements(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    instance = plan.one(INSTANCE)
    group = only(db_children(plan, "aws:rds/parameterGroup:ParameterGroup"))
    assert instance.inputs["parameterGroupName"] == group.inputs["name"]
    assert group.urn in instance.dependencies
    assert group.inputs["family"] == f"postgres{settings.database.engine_major}"
    params = {p["name"]: p for p in group.inputs["parameters"]}
    assert params["rds.force_ssl"]["value"] == "1"
    assert params["log_min_duration_statement"]["value"] == str(settings.database.slow_statement_ms)
    # Dynamic parameters: applied without waiting for a reboot.
    assert params["rds.force_ssl"]["applyMethod"] == "immediate"
    assert params["log_min_duration_statement"]["applyMethod"] == "immediate"


def test_subnet_group_is_exactly_the_data_subnets(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    instance = plan.one(INSTANCE)
    group = only(db_children(plan, "aws:rds/subnetGroup:SubnetGroup"))
    data_ids = plan.outputs["vpc_data_subnet_ids"]
    data_subnets = [r for r in plan.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"].get("tier") == "data"]
    assert len(data_ids) == len(data_subnets) == len(settings.network.availability_zone_ids) == 3
    assert sorted(s.inputs["availabilityZoneId"] for s in data_subnets) == sorted(
        settings.network.availability_zone_ids
    )
    assert group.inputs["subnetIds"] == data_ids
    assert not set(data_ids) & set(plan.outputs["vpc_node_subnet_ids"])
    assert not set(data_ids) & set(plan.outputs["vpc_public_subnet_ids"])
    assert instance.inputs["dbSubnetGroupName"] == group.inputs["name"]


def sources_admitted_to(plan: Plan, security_group_id: str) -> list[str]:
    """Every source any ingress rule of the plan admits into `security_group_id`, inline rules too."""
    found = [
        str(r.inputs.get("referencedSecurityGroupId") or r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6"))
        for r in plan.of_type(INGRESS)
        if r.inputs["securityGroupId"] == security_group_id
    ]
    for group in plan.of_type(SECURITY_GROUP):
        if group.id == security_group_id:
            found += [str(rule) for rule in group.inputs.get("ingress") or []]
    return found


def db_clients_group(plan: Plan) -> Registration:
    return plan.one(SECURITY_GROUP, f"airflow-{plan.stack}-db-clients-sg")


def test_only_pgbouncers_nodes_reach_postgres(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    instance = plan.one(INSTANCE)
    group = only(db_children(plan, SECURITY_GROUP))
    rule = only(db_children(plan, INGRESS))
    clients = db_clients_group(plan)
    assert instance.inputs["vpcSecurityGroupIds"] == [plan.outputs["db_security_group_id"]]
    assert group.urn in rule.dependencies
    assert rule.name == f"airflow-{plan.stack}-db-from-clients"
    assert rule.inputs["securityGroupId"] == plan.outputs["db_security_group_id"]
    # Exactly one source in the whole plan: the clients' group; never the nodes' group every task
    # node carries, nor the EKS cluster group (all traffic among its members).
    assert sources_admitted_to(plan, plan.outputs["db_security_group_id"]) == [clients.id]
    assert clients.id not in (plan.outputs["cluster_node_security_group_id"], plan.outputs["cluster_security_group_id"])
    assert clients.inputs["vpcId"] == plan.outputs["vpc_id"]
    assert clients.inputs.get("ingress", []) == [] and clients.inputs.get("egress", []) == []
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
    assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    # No inline rules and no egress rule: RDS opens no connection.
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    assert db_children(plan, EGRESS) == []


def test_no_group_a_task_node_carries_is_admitted_to_postgres(stack: tuple[Plan, Settings]) -> None:
    """The property itself, from the plan alone: the launch templates of the tainted (task) node
    groups carry no security group the database's group admits; the untainted control-plane
    group, where PgBouncer runs, carries one."""
    plan, settings = stack
    admitted = set(sources_admitted_to(plan, plan.outputs["db_security_group_id"]))
    templates = {t.urn: t for t in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    carried: dict[str, tuple[bool, set[str]]] = {}
    for group in plan.of_type("eks:index:ManagedNodeGroup"):
        (template,) = [templates[u] for u in group.dependencies if u in templates]
        carried[group.name.removeprefix(f"airflow-{plan.stack}-")] = (
            bool(group.inputs.get("taints")),
            set(template.inputs["vpcSecurityGroupIds"]),
        )
    assert {name: tainted for name, (tainted, _) in carried.items()} == {
        g.name: bool(g.taints) for g in settings.node_groups
    }
    assert {name for name, (_, groups) in carried.items() if groups & admitted} == {"airflow"}
    assert not any(groups & admitted for tainted, groups in carried.values() if tainted)
    # ... and that group is where PgBouncer, the only client of the database, is placed.
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow"]
    assert release.inputs["values"]["pgbouncer"]["nodeSelector"] == {"airflow-eks/node-group": "airflow"}


def test_no_data_tier_rule_opens_to_the_internet(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    tier = [component(plan, "airflow:index:Database"), component(plan, "airflow:index:SharedStorage")]
    regs = [r for c in tier for r in children(plan, c) if r.type in (SECURITY_GROUP, INGRESS, EGRESS)]
    assert len(regs) == 4  # a group and a rule each
    text = json.dumps([r.inputs for r in regs])
    assert "0.0.0.0/0" not in text and "::/0" not in text


def test_database_never_waits_for_the_eks_cluster(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    eks = plan.one(EKS_CLUSTER).urn
    for reg in [plan.one(INSTANCE), *db_children(plan, INGRESS), *db_children(plan, SECURITY_GROUP)]:
        assert eks not in plan.waits_for(reg.urn), reg.name
    # The check can fail: the CSI add-on does wait for the cluster (through its node groups).
    assert eks in plan.waits_for(plan.one("aws:eks/addon:Addon", f"airflow-{plan.stack}-efs-csi").urn)


def test_no_secret_in_plain_text(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    randoms = [r for r in plan.resources if r.type.startswith("random:")]
    assert randoms, "Airflow's database password is generated"
    text = json.dumps(plan.as_json())
    for reg in randoms:
        assert fake_secret(reg.name) not in text, reg.name
        for key, value in plan.outputs.items():
            if key not in plan.secret_outputs:
                assert fake_secret(reg.name) not in json.dumps(value), key
    assert "db_connection_uri" not in plan.outputs  # contract 2.0.0


def test_the_database_generates_no_password(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    assert db_children(plan, "random:index/randomPassword:RandomPassword") == []
    assert [r.type for r in db_children(plan) if r.type.startswith("aws:secretsmanager")] == []


def test_no_invokes(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    assert plan.invokes == []


# ------------------------------------------------------------------ protection per stack


def final_snapshot_suffix(plan: Plan) -> Registration:
    return only(db_children(plan, "random:index/randomId:RandomId"))


def test_prod_is_protected(prod: Plan) -> None:
    instance = prod.one(INSTANCE)
    inputs = instance.inputs
    assert inputs["multiAz"] is True
    assert inputs["deletionProtection"] is True
    assert inputs["backupRetentionPeriod"] >= 7
    assert instance.protect is True
    assert instance_key(prod).protect is True


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_every_stack_keeps_a_final_snapshot_and_its_key(stack_name: str, request: pytest.FixtureRequest) -> None:
    """A destroy leaves a snapshot and the backups, whatever protectStatefulResources says, and the
    key that decrypts them (a snapshot whose key is deleted 30 days later cannot be restored)."""
    plan: Plan = request.getfixturevalue(stack_name)
    inputs = plan.one(INSTANCE).inputs
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["deleteAutomatedBackups"] is False
    suffix = final_snapshot_suffix(plan)
    assert suffix.inputs == {"byteLength": 4}  # no keepers: generated once, kept by every update
    hex_suffix = hashlib.sha256(suffix.name.encode()).hexdigest()[:8]  # what the fake cloud returns
    assert inputs["finalSnapshotIdentifier"] == f"{inputs['identifier']}-final-{hex_suffix}"
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,254}", inputs["finalSnapshotIdentifier"])
    assert "--" not in inputs["finalSnapshotIdentifier"]
    assert instance_key(plan).retain_on_delete is True


def test_dev_is_cheap_and_disposable(dev: Plan) -> None:
    instance = dev.one(INSTANCE)
    inputs = instance.inputs
    assert inputs["multiAz"] is False
    assert inputs["deletionProtection"] is False
    assert inputs["backupRetentionPeriod"] == 1
    assert instance.protect is False
    assert instance_key(dev).protect is False


def test_snapshot_and_backups_are_their_own_decision() -> None:
    plan = plan_once("prod", {"dbFinalSnapshot": False, "dbRetainAutomatedBackups": False})
    inputs = plan.one(INSTANCE).inputs
    assert inputs["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in inputs
    assert inputs["deleteAutomatedBackups"] is True
    assert db_children(plan, "random:index/randomId:RandomId") == []
    assert instance_key(plan).retain_on_delete is False
    # ... and protection stays as configured: they are separate decisions.
    assert inputs["deletionProtection"] is True and plan.one(INSTANCE).protect is True
    only_backups = plan_once("dev", {"dbFinalSnapshot": False})
    assert only_backups.one(INSTANCE).inputs["deleteAutomatedBackups"] is False
    assert instance_key(only_backups).retain_on_delete is True


# ------------------------------------------------------------------ bring your own database

EXISTING = {"existingDbHost": "db.example.internal", "existingDbPassword": "s3cret-value"}


def dev_with_existing_db(extra: dict[str, Any]) -> Plan:
    """dev with an existing database: dev's create-only db keys go back to their defaults."""
    _, decls = read_declarations()
    config, _ = resolve_stack_config("dev")
    resets = {k: decls[k].default for k in config if k.startswith("db") and k not in ("dbName", "dbUsername")}
    assert "dbInstanceClass" in resets and "dbMultiAz" in resets
    return plan_once("dev", {**resets, **EXISTING, **extra})


@pytest.fixture(scope="module")
def byo_prod() -> Plan:
    return plan_once("prod", EXISTING)


@pytest.fixture(scope="module")
def byo_dev_with_sg() -> Plan:
    return dev_with_existing_db({"existingDbSecurityGroupId": "sg-0123456789abcdef0", "existingDbPort": "6432"})


def test_existing_database_creates_no_rds_resource(byo_prod: Plan, byo_dev_with_sg: Plan) -> None:
    for plan in (byo_prod, byo_dev_with_sg):
        assert plan.of_type(INSTANCE) == []
        assert [r for r in plan.resources if r.type.startswith("aws:rds/")] == []
        assert [r for r in db_children(plan) if r.type.startswith("random:")] == []
        # One key: the brought administrator's secret's (the roles Job reads it).
        assert [k.name for k in db_children(plan, KMS_KEY)] == [f"airflow-{plan.stack}-db-secret-key"]
        assert plan.outputs["db_kms_key_arn"] == ""  # still exported: the output names never vary
        assert plan.outputs["db_address"] == "db.example.internal"
        # The file system is still created.
        assert len(plan.of_type("aws:efs/fileSystem:FileSystem")) == 1


def brought_secret(plan: Plan) -> dict[str, str]:
    """The brought administrator's credentials, as the Secrets Manager secret receives them."""
    (version,) = db_children(plan, "aws:secretsmanager/secretVersion:SecretVersion")
    value: dict[str, str] = json.loads(dict(version.secrets)[("secretString",)])
    return value


def job_env(plan: Plan) -> dict[str, str]:
    (container,) = plan.one("kubernetes:batch/v1:Job").inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_existing_database_password_stays_secret(byo_prod: Plan, byo_dev_with_sg: Plan) -> None:
    for plan in (byo_prod, byo_dev_with_sg):
        assert "s3cret-value" not in json.dumps(plan.as_json())
        assert "s3cret-value" not in json.dumps(plan.outputs)
        assert brought_secret(plan) == {"username": "airflow", "password": "s3cret-value"}
        assert job_env(plan)["DB_HOST"] == "db.example.internal"
        assert job_env(plan)["DB_SSLMODE"] == "require"  # not an RDS endpoint: the bundle cannot verify it
    assert job_env(byo_prod)["DB_PORT"] == "5432"
    assert job_env(byo_dev_with_sg)["DB_PORT"] == "6432"


def test_existing_database_without_group_gets_no_rule(byo_prod: Plan) -> None:
    assert db_children(byo_prod, INGRESS) == []
    assert byo_prod.outputs["db_security_group_id"] == ""


def test_existing_database_group_admits_pgbouncers_nodes_only(byo_dev_with_sg: Plan) -> None:
    rule = only(db_children(byo_dev_with_sg, INGRESS))
    assert rule.inputs["securityGroupId"] == "sg-0123456789abcdef0"
    assert sources_admitted_to(byo_dev_with_sg, "sg-0123456789abcdef0") == [db_clients_group(byo_dev_with_sg).id]
    assert rule.inputs["referencedSecurityGroupId"] != byo_dev_with_sg.outputs["cluster_node_security_group_id"]
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 6432, 6432)
    assert byo_dev_with_sg.outputs["db_security_group_id"] == "sg-0123456789abcdef0"


def test_an_existing_password_of_any_characters_reaches_the_secret_whole() -> None:
    password = "p@ss/w:rd?#%\"'{}"
    plan = plan_once("prod", {**EXISTING, "existingDbPassword": password})
    assert brought_secret(plan)["password"] == password  # JSON, as RDS writes its own secrets
    assert password not in json.dumps(plan.as_json())


def config_error(overrides: dict[str, Any]) -> ConfigError:
    """The ConfigError running the program with `overrides` raises (or wraps)."""
    with pytest.raises(Exception) as info:
        run_program("prod", overrides)
    err = info.value
    cause = err if isinstance(err, ConfigError) else getattr(err, "cause", None)
    assert isinstance(cause, ConfigError), repr(err)
    assert getattr(err, "registrations", []) == []  # nothing was registered
    return cause


def test_create_only_key_with_existing_database_is_an_error() -> None:
    assert config_error({**EXISTING, "dbMultiAz": "false"}).key == "dbMultiAz"
    assert config_error({**EXISTING, "dbSlowStatementMs": "250"}).key == "dbSlowStatementMs"


def test_existing_database_needs_its_password() -> None:
    assert config_error({"existingDbHost": "db.example.internal"}).key == "existingDbPassword"


# ------------------------------------------------------------------ the component's own checks


def test_unknown_instance_class_fails_before_any_resource() -> None:
    with pytest.raises(ValueError, match=r"DatabaseArgs.instance_class 'db.r6g.medium'"):
        DatabaseArgs(
            vpc_id="vpc-0123456789abcdef0",
            subnet_ids=["subnet-0123456789abcdef0"],
            client_security_group_id="sg-0123456789abcdef0",
            instance_class="db.r6g.medium",
        )


# ------------------------------------------------------------------ restore from a snapshot

RESTORED_FROM = "airflow-prod-db-final-1a2b3c4d"


def test_a_restore_from_snapshot_is_a_config_the_rules_allow() -> None:
    """`dbRestoreSnapshotIdentifier` with the prod file as it is (its database settings included,
    which `existingDbHost` would refuse): the instance is created from the snapshot, under the
    snapshot's key, protected as before; replacing it deletes the old one first (same identifier),
    and the final snapshot's name is new for the new instance."""
    before = plan_once("prod")
    plan = plan_once("prod", {"dbRestoreSnapshotIdentifier": RESTORED_FROM})
    instance, old = plan.one(INSTANCE), before.one(INSTANCE)
    changed = {k for k in instance.inputs.keys() | old.inputs.keys() if instance.inputs.get(k) != old.inputs.get(k)}
    # (The final snapshot's suffix is regenerated through its keepers, below: the fake cloud answers
    # a random resource by its name, so its value shows no change here.)
    assert changed == {"snapshotIdentifier", "kmsKeyId"}
    assert instance.inputs["snapshotIdentifier"] == RESTORED_FROM
    assert "kmsKeyId" not in instance.inputs and instance.inputs["storageEncrypted"] is True
    # Performance Insights stays on the stack's key; the instance is protected as any prod database.
    key = only([k for k in db_children(plan, KMS_KEY) if k.name == "airflow-prod-db-key"])
    assert instance.inputs["performanceInsightsKmsKeyId"] == old.inputs["performanceInsightsKmsKeyId"]
    assert instance.protect is True and instance.inputs["deletionProtection"] is True and key.protect is True
    assert (instance.urn, instance.inputs["identifier"]) == (old.urn, old.inputs["identifier"])
    assert instance.delete_before_replace is True and old.delete_before_replace is False
    suffix = final_snapshot_suffix(plan)
    assert suffix.urn == final_snapshot_suffix(before).urn
    assert suffix.inputs == {"byteLength": 4, "keepers": {"restoredFrom": RESTORED_FROM}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dbRestoreSnapshotIdentifier": "1-starts-with-a-digit"}, "is not an RDS snapshot identifier"),
        ({"dbRestoreSnapshotIdentifier": "two--hyphens"}, "is not an RDS snapshot identifier"),
    ],
)
def test_a_restore_names_a_snapshot_of_a_created_database(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "dbRestoreSnapshotIdentifier", cause
    assert message in str(cause) and failure.value.registrations == []


@pytest.mark.parametrize(
    "snapshot",
    [
        "rds:airflow-prod-db-2026-12-01-02-05",
        "arn:aws:rds:us-east-1:123456789012:snapshot:airflow-prod-db-final-1a2b3c4d",
        "arn:aws-us-gov:rds:us-gov-west-1:123456789012:snapshot:manual",
    ],
)
def test_automated_snapshots_and_arns_are_accepted(snapshot: str) -> None:
    inputs = plan_once("dev", {"dbRestoreSnapshotIdentifier": snapshot}).one(INSTANCE).inputs
    assert inputs["snapshotIdentifier"] == snapshot


# ------------------------------------------------------------------ one key (dbOneKey)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def db_keys(plan: Plan) -> dict[str, Registration]:
    return {k.name: k for k in db_children(plan, KMS_KEY)}


def test_dev_encrypts_everything_the_database_holds_under_one_key(dev: Plan) -> None:
    """dev (`dbOneKey: true`): the storage key also encrypts the exported logs and the master's
    secret, and its policy lets CloudWatch Logs use it for those groups only."""
    assert sorted(db_keys(dev)) == ["airflow-dev-db-key"]
    key_arn = dev.outputs["db_kms_key_arn"]
    inputs = dev.one(INSTANCE).inputs
    assert inputs["kmsKeyId"] == inputs["masterUserSecretKmsKeyId"] == key_arn
    groups = db_children(dev, LOG_GROUP)
    assert sorted(g.inputs["name"] for g in groups) == [
        "/aws/rds/instance/airflow-dev-db/postgresql",
        "/aws/rds/instance/airflow-dev-db/upgrade",
    ]
    assert {g.inputs["kmsKeyId"] for g in groups} == {key_arn}
    policy = json.loads(instance_key(dev).inputs["policy"])
    logs = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "logs.us-east-1.amazonaws.com"}]
    (statement,) = logs
    arns = statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert sorted(arns) == sorted(f"arn:aws:logs:us-east-1:123456789012:log-group:{g.inputs['name']}" for g in groups)
    assert any(s.get("Principal") == {"AWS": "arn:aws:iam::123456789012:root"} for s in policy["Statement"])
    # The roles Job decrypts the master's secret with it through Secrets Manager only.
    (job_policy,) = [p for p in dev.of_type(ROLE_POLICY) if p.name.endswith("db-roles-master-secret")]
    job = json.loads(job_policy.inputs["policy"])
    decrypt = next(s for s in job["Statement"] if s["Action"] == "kms:Decrypt")
    assert decrypt["Resource"] == key_arn
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert dev.one(INSTANCE).dependencies.count(instance_key(dev).urn) == 1


def test_prod_keeps_a_key_per_store(prod: Plan) -> None:
    keys = db_keys(prod)
    assert sorted(keys) == ["airflow-prod-db-key", "airflow-prod-db-log-key", "airflow-prod-db-secret-key"]
    assert "policy" not in keys["airflow-prod-db-key"].inputs  # the default policy: no service named
    inputs = prod.one(INSTANCE).inputs
    assert len({inputs["kmsKeyId"], inputs["masterUserSecretKmsKeyId"]}) == 2
    assert inputs["kmsKeyId"] not in {g.inputs["kmsKeyId"] for g in db_children(prod, LOG_GROUP)}


def test_one_key_is_for_a_created_database_only() -> None:
    err = config_error({**EXISTING, "dbOneKey": "true"})
    assert err.key == "dbOneKey"
