"""Single sign-on for the Airflow UI and API: the FAB auth manager signing users in with an OIDC provider.

Read at the pinned versions (apache-airflow-providers-fab 3.10.2, which pins flask-appbuilder 5.2.2,
with apache-airflow-core 3.3.2): the FAB auth manager reads `webserver_config.py` from AIRFLOW_HOME
(chart 1.22.0 `apiServer.apiServerConfig`: a ConfigMap mounted on the API server only); with
`AUTH_TYPE = AUTH_OAUTH` its login page sends the browser to the provider (authlib, which reads the
issuer's discovery document from `server_metadata_url` and validates the ID token's signature,
issuer, audience and nonce on the way back: `token["userinfo"]`), then `get_oauth_user_info` turns
the provider's answer into a user and `role_keys`, which `AUTH_ROLES_MAPPING` maps to FAB roles at
every login (`AUTH_ROLES_SYNC_AT_LOGIN`). FAB's generic branch reads the userinfo endpoint's
`groups` (security_manager/override.py), which Cognito's does not return (its groups are the ID
token's `cognito:groups`), so the generated security manager reads the validated ID token's claims
instead, each claim named by config. The Keycloak auth manager provider serves Keycloak only.

The callback is `https://<host>/auth/oauth-authorized/sso`: FAB builds it from the request
(flask-appbuilder 5.2.2 security/views.py `AuthOAuthView.login`, `url_for(..., _external=True)`),
and the NLB passes TCP, so the API server sees plain HTTP behind a TLS listener; the security
manager marks requests https (SSO requires the TLS listener: config/settings.py).

Plain data in, text out: the client secret never enters this file's text, only the name of the
environment variable the API server reads it from (a Secret's key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.airflow.secrets import RELEASE_NAME
from lib.merge import owned

PROVIDER = "sso"
"""The provider's name in `OAUTH_PROVIDERS`: the callback's last path part."""
CALLBACK_PATH = f"/auth/oauth-authorized/{PROVIDER}"
CLIENT_SECRET_ENV = "AIRFLOW_SSO_CLIENT_SECRET"
CLIENT_SECRET_KEY = "client-secret"
"""The key of the Kubernetes Secret holding the client secret."""
CLIENT_SECRET_NAME = f"{RELEASE_NAME}-secret-sso-client"
SSO_VIA = "set ssoIssuer, ssoClientId, ssoRoleMapping and the claims: the program writes webserver_config.py"
ROLES = ("Admin", "Op", "User", "Viewer", "Public")
"""FAB's roles in Airflow 3 (providers-fab 3.10.2 `ROLE_CONFIGS`): what a group maps to."""
REGISTRATION_ROLE = "Public"
"""What a user in no mapped group gets: `Public` has no permission."""
SCOPES = "openid email profile"
_CLAIM = re.compile(r"[A-Za-z0-9_:.\-]{1,100}")
_GROUP = re.compile(r"[^\x00-\x1f\"'\\{}]{1,256}")


@dataclass(frozen=True)
class OidcProvider:
    """An OIDC identity provider the Airflow UI and API sign users in with."""

    issuer: str
    """The issuer URL (https): its `/.well-known/openid-configuration` is the discovery document."""
    client_id: str
    role_mapping: Mapping[str, str] = field(default_factory=dict)
    """Group (a value of `groups_claim`) -> the Airflow role its members get."""
    groups_claim: str = "groups"
    """The ID token's claim listing the user's groups (Cognito: `cognito:groups`)."""
    username_claim: str = "email"
    """The ID token's claim that names the user in Airflow (unique and stable at the provider)."""

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


def issuer_problem(issuer: str) -> str | None:
    if not re.fullmatch(r"https://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/\-]*)?", issuer):
        return (
            f"'{issuer}' is not an https:// issuer URL (such as https://cognito-idp.<region>.amazonaws.com/<pool id>)"
        )
    if issuer.endswith("/.well-known/openid-configuration"):
        return "is the issuer itself, without /.well-known/openid-configuration"
    return None


def client_id_problem(client_id: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9._:@/\-]{1,255}", client_id):
        return f"'{client_id}' is not a client ID (1 to 255 letters, digits and . _ : @ / -)"
    return None


def claim_problem(claim: str) -> str | None:
    return None if _CLAIM.fullmatch(claim) else f"'{claim}' is not a claim name (letters, digits and _ : . -)"


def role_mapping_problem(mapping: Mapping[str, str]) -> str | None:
    if not mapping:
        return "maps no group to a role: nobody could do anything (map at least one group to Admin)"
    for group, role in mapping.items():
        if not _GROUP.fullmatch(group):
            return f"group '{group}' is empty, longer than 256, or holds a quote, backslash, brace or control character"
        if role not in ROLES:
            return f"maps '{group}' to '{role}', not one of {', '.join(ROLES)}"
    return None


def webserver_config(provider: OidcProvider) -> str:
    """`webserver_config.py` of the API server: FAB's OAuth login against `provider`.

    Every value is written with `repr` (a Python literal of plain strings), and the text holds no
    `{{`, which the chart's `tpl` would read as a template."""
    roles: dict[str, list[str]] = {}
    for group, role in sorted(provider.role_mapping.items()):
        roles.setdefault(group, []).append(role)
    remote_app: dict[str, Any] = {
        "client_id": provider.client_id,
        "server_metadata_url": provider.metadata_url,
        "client_kwargs": {"scope": SCOPES},
    }
    text = f'''"""Generated by the platform (lib/airflow/sso.py): the FAB auth manager signs users in with OIDC."""

import os

from flask import current_app
from flask_appbuilder.security.manager import AUTH_OAUTH

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride

AUTH_TYPE = AUTH_OAUTH
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = {REGISTRATION_ROLE!r}
AUTH_ROLES_SYNC_AT_LOGIN = True
AUTH_ROLES_MAPPING = {roles!r}
GROUPS_CLAIM = {provider.groups_claim!r}
USERNAME_CLAIM = {provider.username_claim!r}

_REMOTE_APP = {remote_app!r}
OAUTH_PROVIDERS = [
    {{
        "name": {PROVIDER!r},
        "icon": "fa-key",
        "token_key": "access_token",
        "remote_app": dict(_REMOTE_APP, client_secret=os.environ[{CLIENT_SECRET_ENV!r}]),
    }}
]


class _Https:
    """The NLB's TLS listener passes TCP: the callback URL FAB builds must say https."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ["wsgi.url_scheme"] = "https"
        return self.app(environ, start_response)


class OidcSecurityManager(FabAirflowSecurityManagerOverride):
    """A user from the validated ID token's claims (authlib checked its signature, issuer,
    audience and nonce): the username and the groups each from the claim the platform names."""

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        app = current_app._get_current_object()
        if not isinstance(app.wsgi_app, _Https):
            app.wsgi_app = _Https(app.wsgi_app)

    def auth_user_db(self, username, password, rotate_session_id=True):
        """No password sign-in, for the UI or `/auth/token`: a user the database still holds (the
        former admin) cannot sign in; FAB's token endpoint falls back to it whatever AUTH_TYPE says."""
        return None

    def get_oauth_user_info(self, provider, resp):
        claims = resp.get("userinfo") or {{}}
        groups = claims.get(GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        return {{
            "username": claims.get(USERNAME_CLAIM, ""),
            "email": claims.get("email", ""),
            "first_name": claims.get("given_name", ""),
            "last_name": claims.get("family_name", ""),
            "role_keys": list(groups),
        }}


SECURITY_MANAGER_CLASS = OidcSecurityManager
'''
    if "{{" in text:
        raise ValueError("webserver_config: the text would be read as a Helm template")
    return text


def sso_values(provider: OidcProvider) -> dict[str, Any]:
    """Helm values: the API server's `webserver_config.py` (the chart's ConfigMap, mounted there only,
    its checksum on the pods) and the client secret from its Secret, on the API server alone."""
    secret = {"secretKeyRef": {"name": CLIENT_SECRET_NAME, "key": CLIENT_SECRET_KEY}}
    return {
        "apiServer": {
            "apiServerConfig": owned(webserver_config(provider), SSO_VIA),
            "apiServerConfigConfigMapName": owned(None, SSO_VIA),
            "env": [{"name": CLIENT_SECRET_ENV, "valueFrom": secret}],
        }
    }


def issuer_port(provider: OidcProvider) -> int:
    """The port the API server reaches the identity provider on: the issuer's (443 unless it names
    one), for the discovery document, the keys and the token endpoint (Cognito's is on the pool's
    domain, another host: the same port). The network table's `api-server-to-identity-provider`
    flow opens it (lib/airflow/network_flows.py)."""
    authority = provider.issuer.split("://", 1)[1].split("/", 1)[0]
    return int(authority.rsplit(":", 1)[1]) if ":" in authority else 443
