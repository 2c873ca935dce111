"""PgBouncer's generated configuration reaching its pods (issue 13): a keyed checksum of the files
on the rendered pod template, the RDS CA bundle mounted and verified against (`verify-full`), the
created instance's CA pinned, prepared statements tracked for asyncpg."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest

from lib.database.pgbouncer import tls as pgbouncer_tls
from lib.database.pgbouncer.pools import DatabaseUri, PgBouncerPools, pgbouncer_ini
from offline.mocks import Plan
from tests.support.plans import plan_once
from tests.support.renders import Rendered, airflow_release

DEPLOYMENT = "airflow-pgbouncer"
BROUGHT = {"existingDbHost": "db.example.internal", "existingDbPassword": "first-password-value"}


def checksum(r: Rendered) -> str:
    annotations = r.one("Deployment", DEPLOYMENT)["spec"]["template"]["metadata"]["annotations"]
    value: str = annotations[pgbouncer_tls.CHECKSUM_ANNOTATION]
    return value


@pytest.fixture(scope="module")
def rendered(dev: Plan) -> Rendered:
    return Rendered(dev)


def values_checksum(plan: Plan) -> str:
    """The checksum the release's values give PgBouncer's pods. The render carries it as it is
    (`test_the_checksum_lands_on_the_rendered_pgbouncer_pod_template`): a change is read here,
    without a render of its own."""
    annotations = airflow_release(plan).inputs["values"]["pgbouncer"]["podAnnotations"]
    value: str = annotations[pgbouncer_tls.CHECKSUM_ANNOTATION]
    return value


def test_the_checksum_lands_on_the_rendered_pgbouncer_pod_template(rendered: Rendered) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", checksum(rendered))
    assert checksum(rendered) == values_checksum(rendered.plan)
    # Plain in the values (the release's values are not secret), and never on the Deployment itself.
    assert "[secret]" not in json.dumps(rendered.release.inputs["values"])
    assert pgbouncer_tls.CHECKSUM_ANNOTATION not in rendered.one("Deployment", DEPLOYMENT)["metadata"].get(
        "annotations", {}
    )


def test_a_changed_pool_size_or_password_rolls_the_pgbouncer_pods(rendered: Rendered) -> None:
    assert values_checksum(plan_once("dev", {"dbInstanceClass": "db.r6g.xlarge"})) != checksum(rendered)
    first = plan_once("prod", BROUGHT)  # dev's config sizes its own database
    rotated = plan_once("prod", {**BROUGHT, "dbAppPasswordGeneration": 1})
    assert values_checksum(first) != values_checksum(rotated)


def test_the_checksum_is_keyed_so_it_reveals_nothing_of_the_password() -> None:
    files = {"pgbouncer.ini": "[pgbouncer]\n", "users.txt": '"airflow" "weak"\n'}
    plain = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    keyed = pgbouncer_tls.config_checksum("k" * 64, files)
    assert keyed != plain
    assert keyed != pgbouncer_tls.config_checksum("j" * 64, files)
    assert keyed == pgbouncer_tls.config_checksum("k" * 64, dict(reversed(files.items())))


def test_the_rds_ca_bundle_is_mounted_where_pgbouncer_ini_reads_it(rendered: Rendered) -> None:
    pod = rendered.deployment_pod(DEPLOYMENT)
    (volume,) = [v for v in pod["volumes"] if v["name"] == pgbouncer_tls.CA_VOLUME]
    (config_map,) = [
        c
        for c in rendered.plan.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == volume["configMap"]["name"]
    ]
    assert config_map.inputs["data"] == {pgbouncer_tls.CA_KEY: pgbouncer_tls.rds_ca_bundle()}
    (container,) = [c for c in pod["containers"] if c["name"] == "pgbouncer"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == pgbouncer_tls.CA_VOLUME]
    assert f"{mount['mountPath']}/{pgbouncer_tls.CA_KEY}" == pgbouncer_tls.RDS_CA_FILE
    assert "subPath" not in mount


def test_the_created_instance_pins_a_ca_the_bundle_holds(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        assert plan.one("aws:rds/instance:Instance").inputs["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in pgbouncer_tls.rds_ca_bundle()


def ini(host: str) -> dict[str, str]:
    db = DatabaseUri("airflow", "pw", host, 5432, "airflow", "airflow:pw")
    text = pgbouncer_ini(db, PgBouncerPools(100, 36, 4), "airflow")
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)


@pytest.mark.parametrize(
    ("host", "mode"),
    [
        ("airflow-dev-db.abcdefghijkl.us-east-1.rds.amazonaws.com", "verify-full"),
        ("Brought.ABCDEF.eu-west-1.RDS.amazonaws.com.", "verify-full"),  # DNS names are case-insensitive
        ("db.example.internal", "require"),  # a brought non-RDS host: encrypted, not verified, warned
        ("rds.amazonaws.com.attacker.example", "require"),
    ],
)
def test_the_server_hop_is_verified_where_the_rds_bundle_applies(host: str, mode: str) -> None:
    settings = ini(host)
    assert settings["server_tls_sslmode"] == mode
    assert settings.get("server_tls_ca_file") == (pgbouncer_tls.RDS_CA_FILE if mode == "verify-full" else None)
    assert (pgbouncer_tls.unverified_warning(host) is None) == (mode == "verify-full")
    assert settings["max_prepared_statements"] == "200"
    assert settings["ignore_startup_parameters"] == "extra_float_digits"
    assert settings["auth_type"] == "scram-sha-256"


def certificates() -> list[dict[str, Any]]:
    """Each certificate of the bundle as OpenSSL reads it: subject and issuer names, end of validity."""
    bundle = pgbouncer_tls.rds_ca_bundle()
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
        pem.write(bundle)
        pem.flush()
        command = ["openssl", "storeutl", "-noout", "-text", "-certs", pem.name]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    blocks = re.split(r"^\d+: Certificate\n", out, flags=re.M)[1:]
    assert len(blocks) == bundle.count("-----BEGIN CERTIFICATE-----")  # OpenSSL read every one
    found = []
    for block in blocks:
        (subject,) = re.findall(r"^ +Subject: .*\bCN=([^,\n]+)", block, re.M)
        (issuer,) = re.findall(r"^ +Issuer: .*\bCN=([^,\n]+)", block, re.M)
        (end,) = re.findall(r"Not After : (.+)", block)
        found.append(
            {
                "subject": subject.strip(),
                "issuer": issuer.strip(),
                "end": datetime.strptime(end.strip(), "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC),
            }
        )
    return found


def test_the_bundle_holds_valid_rds_root_cas_for_every_algorithm() -> None:
    found = certificates()
    assert len(found) >= 75
    assert all(c["subject"] == c["issuer"] and c["end"] > datetime.now(UTC) for c in found)
    assert all(
        re.fullmatch(r"Amazon RDS [a-z]+-[a-z]+-\d Root CA (RSA2048|RSA4096|ECC384) G1", c["subject"]) for c in found
    )
    for algorithm in ("RSA2048", "RSA4096", "ECC384"):
        assert f"Amazon RDS us-east-1 Root CA {algorithm} G1" in {c["subject"] for c in found}
