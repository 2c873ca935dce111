"""The single sign-on pieces as pure functions: the generated webserver_config.py, the Helm values
and the checks the config loader applies (lib/airflow/sso.py)."""

from __future__ import annotations

import ast

import pytest

from lib.airflow.sso import (
    CLIENT_SECRET_ENV,
    CLIENT_SECRET_KEY,
    CLIENT_SECRET_NAME,
    OidcProvider,
    claim_problem,
    client_id_problem,
    issuer_port,
    issuer_problem,
    role_mapping_problem,
    sso_values,
    webserver_config,
)
from lib.merge import Owned

COGNITO = OidcProvider(
    issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E",
    client_id="4example5client6id7abcdefgh",
    role_mapping={"airflow-admins": "Admin", "analysts": "Viewer"},
    groups_claim="cognito:groups",
)


def assignments(text: str) -> dict[str, object]:
    """The module's top-level constant assignments, as Python reads them."""
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                found[node.targets[0].id] = ast.unparse(node.value)
    return found


def test_the_config_file_is_python_with_the_provider_settings() -> None:
    text = webserver_config(COGNITO)
    compile(text, "webserver_config.py", "exec")
    found = assignments(text)
    assert found["AUTH_TYPE"] == "AUTH_OAUTH"
    assert found["AUTH_USER_REGISTRATION"] is True
    assert found["AUTH_USER_REGISTRATION_ROLE"] == "Public"
    assert found["AUTH_ROLES_SYNC_AT_LOGIN"] is True
    assert found["AUTH_ROLES_MAPPING"] == {"airflow-admins": ["Admin"], "analysts": ["Viewer"]}
    assert found["GROUPS_CLAIM"] == "cognito:groups"
    assert found["USERNAME_CLAIM"] == "email"
    assert found["_REMOTE_APP"] == {
        "client_id": "4example5client6id7abcdefgh",
        "server_metadata_url": (
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E/.well-known/openid-configuration"
        ),
        "client_kwargs": {"scope": "openid email profile"},
    }
    assert found["SECURITY_MANAGER_CLASS"] == "OidcSecurityManager"
    # The secret comes from the environment, by name; the file never holds it.
    assert f"os.environ[{CLIENT_SECRET_ENV!r}]" in text
    assert "{{" not in text  # the chart passes the file through `tpl`


def test_values_with_quotes_stay_literals() -> None:
    provider = OidcProvider(
        issuer="https://idp.example.com/realms/data", client_id="airflow", role_mapping={"ops team (EU)": "Op"}
    )
    found = assignments(webserver_config(provider))
    assert found["AUTH_ROLES_MAPPING"] == {"ops team (EU)": ["Op"]}
    assert found["_REMOTE_APP"]["server_metadata_url"] == (  # type: ignore[index]
        "https://idp.example.com/realms/data/.well-known/openid-configuration"
    )


def test_values_put_the_file_and_the_secret_on_the_api_server_only() -> None:
    values = sso_values(COGNITO)
    assert set(values) == {"apiServer"}
    api = values["apiServer"]
    assert isinstance(api["apiServerConfig"], Owned) and api["apiServerConfig"].value == webserver_config(COGNITO)
    assert isinstance(api["apiServerConfigConfigMapName"], Owned) and api["apiServerConfigConfigMapName"].value is None
    assert api["env"] == [
        {
            "name": CLIENT_SECRET_ENV,
            "valueFrom": {"secretKeyRef": {"name": CLIENT_SECRET_NAME, "key": CLIENT_SECRET_KEY}},
        }
    ]


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E", None),
        ("https://example.okta.com/oauth2/default", None),
        ("https://keycloak.example.com:8443/realms/data", None),
        ("http://idp.example.com", "is not an https:// issuer URL"),
        ("https://idp.example.com/x y", "is not an https:// issuer URL"),
        ("https://idp.example.com/.well-known/openid-configuration", "is the issuer itself"),
    ],
)
def test_issuer_problems(issuer: str, problem: str | None) -> None:
    found = issuer_problem(issuer)
    assert found is None if problem is None else (found is not None and problem in found)


def test_client_id_and_claim_problems() -> None:
    assert client_id_problem("4example5client6id7abcdefgh") is None
    assert client_id_problem("0oa1b2c3d4E5F6g7h8i9") is None
    assert client_id_problem("") == "'' is not a client ID (1 to 255 letters, digits and . _ : @ / -)"
    assert client_id_problem("a b") is not None
    assert claim_problem("cognito:groups") is None and claim_problem("preferred_username") is None
    assert claim_problem("groups claim") == "'groups claim' is not a claim name (letters, digits and _ : . -)"


def test_role_mapping_problems() -> None:
    assert role_mapping_problem({"airflow-admins": "Admin", "analysts": "Viewer"}) is None
    assert role_mapping_problem({}) == (
        "maps no group to a role: nobody could do anything (map at least one group to Admin)"
    )
    assert role_mapping_problem({"admins": "Administrator"}) == (
        "maps 'admins' to 'Administrator', not one of Admin, Op, User, Viewer, Public"
    )
    assert role_mapping_problem({"a{{b": "Admin"}) is not None
    assert role_mapping_problem({'say "hi"': "Admin"}) is not None


def test_the_api_server_reaches_the_provider_on_the_issuers_port() -> None:
    assert issuer_port(COGNITO) == 443
    keycloak = OidcProvider(issuer="https://keycloak.example.com:8443/realms/data", client_id="airflow")
    assert issuer_port(keycloak) == 8443
