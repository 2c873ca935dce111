"""Single sign-on with real Airflow: the generated webserver_config.py (lib/airflow/sso.py) in Airflow
3.3.2's API server app, against a local OIDC provider. Runs in Airflow's virtualenv (.venv-airflow):

    .venv-airflow/bin/python scripts/sso_run.py

In a temporary AIRFLOW_HOME (SQLite, the FAB auth manager, `airflow db migrate`), it builds the API
server's FastAPI app (`airflow.api_fastapi.app.create_app`, the FAB app mounted at /auth) and a
provider on 127.0.0.1 that serves the discovery document, its keys and a token endpoint issuing an
RS256 ID token, then checks, each a step:
1. /auth/login/sso sends the browser to the provider's authorization endpoint, with the callback
   https://<host>/auth/oauth-authorized/sso (https although the app is reached over http, as
   behind the NLB's TLS listener), the client ID, the scopes and a nonce;
2. the callback exchanges the code with the client secret from the environment (HTTP Basic, as
   the provider checks), authlib validates the ID token, and FAB creates the user named by the
   username claim with the roles its groups map to (`airflow-admins` -> Admin, beside Public,
   which FAB gives every user it registers and which holds no permission), and Airflow sets its
   JWT cookie;
3. a user in no mapped group gets Public only;
4. a database user with a password (a former admin) gets no token at /auth/token.
The provider is plain http on 127.0.0.1 here (config/airflow.py refuses a non-https issuer); this
is the one change from what the stack writes. Exits 1 if a step failed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.airflow.sso import CALLBACK_PATH, CLIENT_SECRET_ENV, PROVIDER, OidcProvider, webserver_config  # noqa: E402

CLIENT_ID = "airflow-client"
CLIENT_SECRET = "s3cret-from-the-kubernetes-secret"
HOST = "airflow.example.com"
GROUPS_CLAIM = "cognito:groups"
USERS = {
    "code-admin": {"email": "ada@example.com", GROUPS_CLAIM: ["airflow-admins", "other"], "given_name": "Ada"},
    "code-nobody": {"email": "bob@example.com", GROUPS_CLAIM: ["unmapped"]},
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """An OIDC provider: discovery, JWKS, and a token endpoint that checks the client's secret."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.nonces: dict[str, str] = {}  # code -> nonce of the authorization request
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": b64url(n), "e": b64url(e)}]}

    def id_token(self, code: str) -> str:
        import jwt

        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": code, "iat": now, "exp": now + 300}
        claims |= {"nonce": self.nonces[code], **USERS[code]}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    i = provider.issuer
                    self.reply(
                        200,
                        {
                            "issuer": i,
                            "authorization_endpoint": f"{i}/authorize",
                            "token_endpoint": f"{i}/token",
                            "jwks_uri": f"{i}/jwks",
                            "response_types_supported": ["code"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                        },
                    )
                elif self.path == "/jwks":
                    self.reply(200, provider.jwks())
                else:
                    self.reply(404, {})

            def do_POST(self) -> None:
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {basic}":
                    self.reply(401, {"error": "invalid_client"})
                    return
                code = form["code"][0]
                token = {"access_token": f"at-{code}", "token_type": "Bearer", "expires_in": 300}
                self.reply(200, {**token, "id_token": provider.id_token(code)})

        return Handler


def main() -> int:
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None).parse_args()
    provider = Provider()
    home = Path(tempfile.mkdtemp(prefix="sso-run-"))
    config = OidcProvider(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        role_mapping={"airflow-admins": "Admin", "analysts": "Viewer"},
        groups_claim=GROUPS_CLAIM,
    )
    (home / "webserver_config.py").write_text(webserver_config(config))
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__SECRET_KEY": "sso-run-api-secret",
        "AIRFLOW__API_AUTH__JWT_SECRET": "sso-run-jwt-secret-of-64-characters-0123456789abcdefghijklmnopqr",
        CLIENT_SECRET_ENV: CLIENT_SECRET,
    }
    os.environ.update(env)
    airflow = [str(Path(sys.executable).parent / "airflow")]
    subprocess.run([*airflow, "db", "migrate"], check=True, capture_output=True)
    # A database user with a password, as a stack that had the admin user keeps it.
    created = subprocess.run(
        [
            *airflow,
            *("users", "create", "--role", "Admin", "--username", "admin", "--email", "admin@example.com"),
            *("--firstname", "A", "--lastname", "B", "--password", "former-admin-password"),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if created.returncode:
        raise SystemExit(f"airflow users create failed: {created.stderr[-3000:]}")
    return run_steps(provider)


def run_steps(provider: Provider) -> int:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    results: list[tuple[str, bool, str]] = []

    def step(name: str, check: Any) -> None:
        try:
            check()
            results.append((name, True, ""))
        except Exception as err:  # each step reports its own failure
            results.append((name, False, f"{type(err).__name__}: {err}"))

    def sign_in(code: str) -> Any:
        client = TestClient(create_app(), base_url=f"http://{HOST}")
        login = client.get(f"/auth/login/{PROVIDER}", follow_redirects=False)
        assert login.status_code == 302, (login.status_code, login.text[:500])
        url = urllib.parse.urlparse(login.headers["location"])
        query = dict(urllib.parse.parse_qsl(url.query))
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{provider.issuer}/authorize", url
        assert query["redirect_uri"] == f"https://{HOST}{CALLBACK_PATH}", query
        assert (query["client_id"], query["response_type"], query["scope"]) == (
            CLIENT_ID,
            "code",
            "openid email profile",
        )
        provider.nonces[code] = query["nonce"]
        back = client.get(f"{CALLBACK_PATH}?code={code}&state={query['state']}", follow_redirects=False)
        assert back.status_code == 302, (back.status_code, back.text[:500])
        return client, back

    def admin() -> None:
        client, back = sign_in("code-admin")
        assert "login" not in back.headers["location"], back.headers["location"]
        assert client.cookies.get("_token"), "no Airflow token set at sign-in"
        # FAB adds the registration role to every OAuth user (override.py `_oauth_calculate_user_roles`):
        # Public, which holds no permission.
        user = user_roles("ada@example.com")
        assert user == ["Admin", "Public"], user

    def nobody() -> None:
        sign_in("code-nobody")
        assert user_roles("bob@example.com") == ["Public"]

    def password() -> None:
        client = TestClient(create_app(), base_url=f"http://{HOST}")
        answer = client.post("/auth/token", json={"username": "admin", "password": "former-admin-password"})
        assert answer.status_code == 401, (answer.status_code, answer.text[:300])

    step(
        "the login sends the browser to the provider with the https callback and the client",
        lambda: sign_in("code-admin"),
    )
    step("the callback signs the user in, named by the claim, with the role its group maps to", admin)
    step("a user in no mapped group gets Public only", nobody)
    step("no password sign-in: a database user gets no token at /auth/token", password)
    for name, ok, why in results:
        print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ': ' + why}")
    provider.server.shutdown()
    return 0 if all(ok for _, ok, _ in results) else 1


def user_roles(username: str) -> list[str]:
    from airflow.providers.fab.auth_manager.models import User
    from airflow.utils.session import create_session

    with create_session() as session:
        user = session.query(User).filter(User.username == username).one()
        return sorted(r.name for r in user.roles)


if __name__ == "__main__":
    sys.exit(main())
