"""Airflow's own database role in the plans (components/database_roles.py): the master password is
RDS's (Secrets Manager, a CMK) or, brought, in a Secrets Manager secret; no stack output and no
Kubernetes Secret holds it; Airflow connects as its login role; the roles Job reads the master's
secret through its own IAM role, in a namespace of its own, before the Airflow release."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.errors import ConfigError
from lib.airflow.secrets import SECRET_NAMES
from lib.database import roles_job
from lib.database.pgbouncer.pools import parse_database_uri
from offline import fakes
from offline.mocks import Plan, ProgramError, Registration, run_program
from tests.plans.test_cli_config_rules import EXAMPLE_STACKS
from tests.support.plans import recorded_once

JOB = "kubernetes:batch/v1:Job"
BROUGHT = {"existingDbHost": "db.example.internal", "existingDbPassword": "Br0ught-master-p@ss"}
MASTER, LOGIN, OWNER = "airflow", "airflow_app_g0", "airflow_app"


@pytest.fixture(scope="module")
def recorded() -> dict[str, tuple[Plan, dict[str, dict[str, str]]]]:
    return {
        "dev": recorded_once("dev"),
        "prod": recorded_once("prod"),
        "byo-prod": recorded_once("prod", overrides=BROUGHT),
    }


def secret_values(reg: Registration) -> dict[tuple[str | int, ...], Any]:
    return dict(reg.secrets)


def master_secret_version(plan: Plan) -> dict[str, str]:
    (version,) = plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    value: dict[str, str] = json.loads(secret_values(version)[("secretString",)])
    return value


@pytest.mark.parametrize("stack", ["dev", "prod", "byo-prod"])
def test_airflow_connects_as_its_login_role_never_as_the_master(
    recorded: dict[str, tuple[Plan, dict[str, dict[str, str]]]], stack: str
) -> None:
    plan, seen = recorded[stack]
    client = parse_database_uri(seen[SECRET_NAMES.metadata]["connection"])
    assert client.username == LOGIN
    users = seen[SECRET_NAMES.pgbouncer_config]["users.txt"]
    assert users == f'"{LOGIN}" "{client.password}"\n'  # PgBouncer's only user, towards the database too
    job_secret = seen[roles_job.SECRET]
    assert job_secret == {roles_job.SECRET_KEY: client.password}  # the Job's Secret: Airflow's password only
    assert "db_connection_uri" not in plan.outputs


def test_no_output_and_no_kubernetes_secret_holds_the_brought_master_password(
    recorded: dict[str, tuple[Plan, dict[str, dict[str, str]]]],
) -> None:
    plan, seen = recorded["byo-prod"]
    password = BROUGHT["existingDbPassword"]
    assert password not in json.dumps(plan.outputs)
    assert password not in json.dumps(plan.as_json())
    assert [name for name, data in seen.items() if password in json.dumps(data)] == []
    # It is in one place: the Secrets Manager secret, under the stack's key, as RDS shapes its own.
    assert master_secret_version(plan) == {"username": MASTER, "password": password}
    (secret,) = plan.of_type("aws:secretsmanager/secret:Secret")
    key = plan.one("aws:kms/key:Key", "airflow-prod-db-secret-key")
    assert secret.inputs["kmsKeyId"].endswith(f":key/{key.id}")
    holders = [r.name for r in plan.resources if password in json.dumps([v for _, v in r.secrets])]
    assert holders == ["airflow-prod-db-master-secret"]  # the SecretVersion


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_created_database_has_no_master_password_anywhere(
    recorded: dict[str, tuple[Plan, dict[str, dict[str, str]]]], stack: str
) -> None:
    plan, seen = recorded[stack]
    instance = plan.one("aws:rds/instance:Instance")
    assert "password" not in instance.inputs and instance.inputs["manageMasterUserPassword"] is True
    # Nothing generated feeds the instance: RDS generates the password and keeps it.
    passwords = {r.urn for r in plan.of_type("random:index/randomPassword:RandomPassword")}
    assert passwords & set(instance.dependencies) == set()
    assert plan.of_type("aws:secretsmanager/secretVersion:SecretVersion") == []
    for name, data in seen.items():  # any user in a Secret is Airflow's login role
        for value in data.values():
            assert f"//{MASTER}:" not in value and f'"{MASTER}"' not in value, name


def job(plan: Plan) -> Registration:
    return plan.one(JOB)


def env(plan: Plan) -> dict[str, Any]:
    (container,) = job(plan).inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_job_reads_the_rds_managed_secret_through_its_own_role(
    recorded: dict[str, tuple[Plan, dict[str, dict[str, str]]]], stack: str
) -> None:
    plan, _ = recorded[stack]
    values = env(plan)
    secret_arn = values["DB_MASTER_SECRET_ARN"]
    assert secret_arn.startswith("arn:aws:secretsmanager:us-east-1:") and ":secret:rds!db-" in secret_arn
    assert json.loads(values["DB_ROLES_PLAN"]) == {"master": MASTER, "db_name": "airflow", "generation": 0}
    assert (values["DB_HOST"], values["DB_PORT"]) == (plan.outputs["db_address"], "5432")
    assert (values["DB_SSLMODE"], values["DB_SSLROOTCERT"]) == (
        "verify-full",
        "/opt/airflow-db-roles/rds-ca-bundle.pem",
    )
    # The password as a file of the Job's Secret, mounted read-only: no secret in the environment.
    assert values["DB_APP_PASSWORD_FILE"] == "/opt/airflow-db-roles-secret/app-password"
    assert not any(isinstance(v, dict) for v in values.values())
    pod = job(plan).inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mount = {"name": "secret", "mountPath": "/opt/airflow-db-roles-secret", "readOnly": True}
    assert mount in container["volumeMounts"]
    items = [{"key": "app-password", "path": "app-password"}]
    volume = {"name": "secret", "secret": {"secretName": "airflow-db-roles", "items": items, "defaultMode": 0o440}}
    assert volume in pod["volumes"]
    # A CPU limit, and the image pulled as the control plane's are.
    assert container["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert container["imagePullPolicy"] == "Always"
    policy = json.loads(
        plan.one("aws:iam/rolePolicy:RolePolicy", f"airflow-{stack}-db-roles-master-secret").inputs["policy"]
    )
    # dev (dbOneKey): the database's one key; prod: the secret's own.
    key = plan.one("aws:kms/key:Key", f"airflow-{stack}-db-{'key' if stack == 'dev' else 'secret-key'}")
    assert policy["Statement"] == [
        {
            "Sid": "ReadTheMasterSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "DecryptItThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": f"arn:aws:kms:us-east-1:123456789012:key/{key.id}",
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
        },
    ]
    role = plan.one("aws:iam/role:Role", f"airflow-{stack}-db-roles-role")
    assert "system:serviceaccount:airflow-db-admin:airflow-db-roles" in role.inputs["assumeRolePolicy"]
    account = plan.one("kubernetes:core/v1:ServiceAccount", f"airflow-{stack}-db-roles-sa")
    arn = f"arn:aws:iam::123456789012:role/airflow-{stack}-db-roles-role"
    assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": arn}
    assert account.inputs["metadata"]["namespace"] == "airflow-db-admin"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_job_runs_apart_on_pgbouncers_nodes_before_the_release(
    recorded: dict[str, tuple[Plan, dict[str, dict[str, str]]]], stack: str
) -> None:
    plan, _ = recorded[stack]
    spec = job(plan).inputs["spec"]
    pod = spec["template"]["spec"]
    assert job(plan).inputs["metadata"]["namespace"] == "airflow-db-admin"
    assert "name" not in job(plan).inputs["metadata"]  # a replacement is a new Job: it runs again
    assert pod["nodeSelector"] == {"airflow-eks/node-group": "airflow"}  # the nodes the database admits
    assert pod["serviceAccountName"] == "airflow-db-roles" and pod["automountServiceAccountToken"] is False
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], pod["restartPolicy"]) == (4, 600, "Never")
    assert len(spec["template"]["metadata"]["annotations"][roles_job.CHECKSUM_ANNOTATION]) == 64
    release = next(r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow")
    assert job(plan).urn in plan.waits_for(release.urn)
    namespace = plan.one("kubernetes:core/v1:Namespace", f"airflow-{stack}-db-roles-namespace")
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def checksum(plan: Plan) -> str:
    value: str = job(plan).inputs["spec"]["template"]["metadata"]["annotations"][roles_job.CHECKSUM_ANNOTATION]
    return value


def test_the_checksum_follows_the_database_behind_the_address(dev: Plan) -> None:
    """A restore replaces the instance under the same identifier and address, with another resource
    ID: the Job's template changes, so the Job is replaced and runs on the new database."""
    assert checksum(dev) == checksum(run_program("dev"))  # stable across updates
    fake = fakes.FAKE_OUTPUTS["aws:rds/instance:Instance"]

    def restored(cloud: fakes.FakeCloud, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
        return {**fake(cloud, name, inputs, rid), "resourceId": "db-ANOTHERINSTANCE0000000000"}

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(fakes.FAKE_OUTPUTS, "aws:rds/instance:Instance", restored)
        other = run_program("dev")
    assert other.outputs["db_address"] == dev.outputs["db_address"]
    assert checksum(other) != checksum(dev)


def test_the_brought_database_gets_the_same_job_and_its_own_secret() -> None:
    plan = run_program("byo-db", {"existingDbPassword": "brought-p@ss"}, config_dir=EXAMPLE_STACKS)
    values = env(plan)
    (secret,) = plan.of_type("aws:secretsmanager/secret:Secret")
    assert values["DB_MASTER_SECRET_ARN"].endswith(f":secret:{secret.name}-AbCdEf")
    assert values["DB_SSLMODE"] == "verify-full"  # the example's host is an RDS endpoint
    assert master_secret_version(plan) == {"username": "airflow", "password": "brought-p@ss"}
    assert plan.of_type("aws:rds/instance:Instance") == []


def test_a_database_name_too_long_for_its_roles_is_refused_before_any_resource() -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"dbName": "a" * 56})
    assert isinstance(failure.value.cause, ConfigError) and failure.value.cause.key == "dbName"
    assert "is not 1 to 55 lowercase letters" in str(failure.value.cause)
    assert failure.value.registrations == []
    assert run_program("dev", {"dbName": "a" * 55}).one(JOB).inputs["metadata"]["namespace"] == "airflow-db-admin"


def test_a_new_generation_is_a_new_login_role_and_password_and_reruns_the_job(dev: Plan) -> None:
    """Rotation (docs/runbook.md): generation 1 is a new random password and login role; PgBouncer's
    files change (its pods roll), the Job's plan names the generation (the Job is replaced and
    runs before the release: the new role exists before PgBouncer uses it)."""
    plan, seen = recorded_once("dev", overrides={"dbAppPasswordGeneration": 1})
    client = parse_database_uri(seen[SECRET_NAMES.metadata]["connection"])
    assert client.username == "airflow_app_g1"
    assert client.password == fakes.fake_secret("airflow-dev-db-app-password-gen1")
    assert json.loads(env(plan)["DB_ROLES_PLAN"])["generation"] == 1
    assert checksum(plan) != checksum(dev)
    assert [r.name for r in plan.of_type("random:index/randomPassword:RandomPassword") if "db-app" in r.name] == [
        "airflow-dev-db-app-password-gen1"
    ]
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"dbAppPasswordGeneration": 100})
    assert isinstance(failure.value.cause, ConfigError) and failure.value.cause.key == "dbAppPasswordGeneration"
