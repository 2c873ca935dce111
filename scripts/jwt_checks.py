"""The JWT signing key in the Airflow run (issue 24, item 4): the tokens the scheduler gave the task
pods are signed with the private key the program generated (RS256, its RFC 7638 thumbprint as the
key ID), and the API server's execution API accepts a token signed with that key and refuses one
signed with another key under the same key ID.

Standard library here; the token work runs in Airflow's virtualenv (PyJWT, cryptography, and
airflow-core 3.3.2's own `key_to_jwk_dict`, the key ID its JWTGenerator gives).
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lib.airflow.secrets import SECRET_KEYS, SECRET_NAMES

SIGN = r"""
import json, sys, time
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from airflow.api_fastapi.auth.tokens import generate_private_key, key_to_jwk_dict

key = load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
token = sys.argv[2]
header = jwt.get_unverified_header(token)
# Raises unless the scheduler's token was signed with this key.
claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False})
now = int(time.time())
execution = {**claims, "scope": "execution", "iat": now, "nbf": now, "exp": now + 120}
kid = key_to_jwk_dict(key)["kid"]
print(json.dumps({
    "header": header,
    "kid": kid,
    "claims": claims,
    "signed": jwt.encode(execution, key, algorithm="RS256", headers={"kid": kid}),
    "forged": jwt.encode(execution, generate_private_key(), algorithm="RS256", headers={"kid": kid}),
}))
"""


def workload_token(pod: Mapping[str, Any]) -> str:
    """The token in a task pod's workload (`execute_workload --json-string <workload>`)."""
    args = [a for c in pod["spec"]["containers"] for a in [*(c.get("command") or []), *(c.get("args") or [])]]
    workload = json.loads(args[args.index("--json-string") + 1])
    token: str = workload["token"]
    return token


def status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def check(
    python: Path, secrets: Mapping[str, Mapping[str, str]], task_pods: list[dict[str, Any]], base: str, work: Path
) -> None:
    key_file = work / "jwt-signing-key.pem"
    key_file.write_text(secrets[SECRET_NAMES.jwt_signing_key][SECRET_KEYS["jwt_signing_key"]])
    key_file.chmod(0o600)
    assert task_pods, "no task pod ran"
    token = workload_token(task_pods[0])
    out = subprocess.run([str(python), "-c", SIGN, str(key_file), token], check=True, capture_output=True, text=True)
    found = json.loads(out.stdout)
    assert found["header"]["alg"] == "RS256", found["header"]
    assert found["header"]["kid"] == found["kid"], (found["header"], found["kid"])
    assert found["claims"]["scope"] == "workload", found["claims"]
    url = f"{base}/execution/variables/keys"
    assert status(url, found["signed"]) == 200, "the API server refused a token signed with the program's key"
    assert status(url, found["forged"]) == 403, "the API server took a token signed with another key"
