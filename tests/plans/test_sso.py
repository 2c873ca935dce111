"""Single sign-on (issue 26): off by default, on in examples/stacks/Pulumi.sso.yaml; the plan, and the
config the loader refuses before anything is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import ConfigError
from lib.airflow.sso import CLIENT_SECRET_ENV, CLIENT_SECRET_KEY, CLIENT_SECRET_NAME, OidcProvider, webserver_config
from offline.mocks import Plan, ProgramError, run_program
from tests.support.plans import SECRET_TYPE, plan_once, recorded_once
from tests.support.renders import airflow_release

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "stacks"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
SSO = {
    "nlbCertificateArn": CERTIFICATE,
    "airflowCreateAdminUser": False,
    "ssoIssuer": "https://example.okta.com/oauth2/default",
    "ssoClientId": "0oa1b2c3d4E5F6g7h8i9",
    "ssoClientSecret": "okta-client-secret-value",
    "ssoRoleMapping": {"airflow-admins": "Admin", "airflow-users": "User"},
}


def airflow_values(plan: Plan) -> dict[str, Any]:
    values: dict[str, Any] = airflow_release(plan).inputs["values"]
    return values


@pytest.fixture(scope="module")
def example() -> Plan:
    # The secret is set with `pulumi config set --secret`, as the file says.
    return plan_once("sso", {"ssoClientSecret": "cognito-client-secret"}, config_dir=EXAMPLES)


def test_the_example_stack_signs_users_in_with_cognito(example: Plan) -> None:
    config = yaml.safe_load((EXAMPLES / "Pulumi.sso.yaml").read_text())["config"]
    provider = OidcProvider(
        issuer=config["airflow-eks:ssoIssuer"],
        client_id=config["airflow-eks:ssoClientId"],
        role_mapping=config["airflow-eks:ssoRoleMapping"],
        groups_claim="cognito:groups",
    )
    v = airflow_values(example)
    assert v["apiServer"]["apiServerConfig"] == webserver_config(provider)
    assert "cognito-client-secret" not in v["apiServer"]["apiServerConfig"]
    assert [e for e in v["apiServer"]["env"] if e["name"] == CLIENT_SECRET_ENV] == [
        {
            "name": CLIENT_SECRET_ENV,
            "valueFrom": {"secretKeyRef": {"name": CLIENT_SECRET_NAME, "key": CLIENT_SECRET_KEY}},
        }
    ]
    # No local admin user: no Job, no password, the output empty (and still a secret).
    assert v["createUserJob"]["enabled"] is False
    assert not [r for r in example.resources if r.name.endswith("admin-password")]
    assert example.outputs["airflow_admin_password"] == ""
    (secret,) = [s for s in example.of_type(SECRET_TYPE) if s.inputs["metadata"]["name"] == CLIENT_SECRET_NAME]
    assert secret.inputs["metadata"]["namespace"] == "airflow"
    assert secret.inputs["stringData"] == "[secret]"


def test_the_client_secret_reaches_only_its_kubernetes_secret() -> None:
    plan, seen = recorded_once("dev", overrides=SSO)
    assert seen[CLIENT_SECRET_NAME] == {CLIENT_SECRET_KEY: "okta-client-secret-value"}
    holders = [name for name, data in seen.items() if "okta-client-secret-value" in str(data)]
    assert holders == [CLIENT_SECRET_NAME]
    assert "okta-client-secret-value" not in str(plan.as_json())
    assert "okta-client-secret-value" not in str(airflow_values(plan))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_sso_is_off_by_default(stack: str) -> None:
    plan = plan_once(stack)
    v = airflow_values(plan)
    assert "apiServerConfig" not in v["apiServer"]
    assert CLIENT_SECRET_ENV not in [e["name"] for e in v["apiServer"]["env"]]
    assert not [s for s in plan.of_type(SECRET_TYPE) if s.inputs["metadata"]["name"] == CLIENT_SECRET_NAME]
    assert v["createUserJob"]["enabled"] is True


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("the admin user left on", {**SSO, "airflowCreateAdminUser": True}, "airflowCreateAdminUser", "must be false"),
    (
        "no TLS listener",
        {k: v for k, v in SSO.items() if k != "nlbCertificateArn"},
        "ssoIssuer",
        "set nlbCertificateArn",
    ),
    ("a plain-http issuer", {**SSO, "ssoIssuer": "http://idp.example.com"}, "ssoIssuer", "https://"),
    ("a role FAB lacks", {**SSO, "ssoRoleMapping": {"admins": "Superuser"}}, "ssoRoleMapping", "Admin, Op"),
    ("no group mapped", {**SSO, "ssoRoleMapping": {}}, "ssoRoleMapping", "is required when ssoIssuer is set"),
    ("no client ID", {k: v for k, v in SSO.items() if k != "ssoClientId"}, "ssoClientId", "is required"),
    ("no client secret", {k: v for k, v in SSO.items() if k != "ssoClientSecret"}, "ssoClientSecret", "is required"),
    ("a bad claim", {**SSO, "ssoGroupsClaim": "my groups"}, "ssoGroupsClaim", "not a claim name"),
    (
        "a claim without SSO",
        {"ssoGroupsClaim": "cognito:groups"},
        "ssoGroupsClaim",
        "applies only when ssoIssuer is set",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "key", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_sso_config_names_the_key_and_registers_nothing(
    case: str, overrides: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", overrides)
    cause = failure.value.cause
    errors = getattr(cause, "errors", [cause])
    assert any(isinstance(e, ConfigError) and e.key == key and words in str(e) for e in errors), cause
    assert failure.value.registrations == []
