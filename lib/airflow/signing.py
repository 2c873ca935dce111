"""Where Airflow's JWTs are signed: an asymmetric key, held only by the components that mint tokens.

Read in apache-airflow-core 3.3.2 (api_fastapi/auth/tokens.py and its callers):
- Tokens are minted by the API server (the auth manager's UI/API tokens,
  base_auth_manager.py `_get_token_signer`; the execution API's swap of a task's workload token for
  an execution token and its refresh, execution_api/app.py `_jwt_generator`,
  routes/task_instances.py `ti_run`) and by the scheduler (its executor signs each task's workload
  token, executors/base_executor.py `jwt_generator`, executors/workloads/base.py `generate_token`).
- Tokens are validated only by the API server (`_get_token_validator`, execution_api/app.py
  `_jwt_validator`). The triggerer and the DAG processor run the execution API in process with the
  validator stubbed out and no token (`InProcessExecutionAPI`: `JWTValidator` registered as None,
  `_jwt_bearer` overridden), so they hold no key; task pods only carry the token they are given.
- `get_signing_args` signs with `[api_auth] jwt_private_key_path` when set, else with the shared
  `[api_auth] jwt_secret` (HS512); `get_sig_validation_args` validates with `trusted_jwks_url`
  when set, else with the public half of that private key (`JWKS.from_private_key`), else the
  secret. The algorithm is guessed from the key (RSA: RS256) and the key ID is the key's RFC 7638
  thumbprint when `[api_auth] jwt_kid` is unset (`_generate_kid`): the same on every pod holding it.

So the API server and the scheduler mount the private key and nothing else holds it. No component
of 3.3.2 only validates, so none is given the public key alone: the API server validates with the
public half of the key it holds (`trusted_jwks_url` unset). The shared `jwt_secret` is no longer set
anywhere: the chart's built-in `AIRFLOW__API_AUTH__JWT_SECRET` is off (chart 1.22.0,
`enableBuiltInSecretEnvVars`).
"""

from __future__ import annotations

from typing import Any

from lib.merge import owned

JWT_MINTERS = ("apiServer", "scheduler")
"""The chart sections whose pods sign tokens, and the only ones that hold the private key."""
KEY_ALGORITHM = "RSA"
KEY_BITS = 2048
"""RSA 2048 (Airflow's own `generate_private_key` default): tokens are RS256, which every JWT library checks."""
PRIVATE_KEY_FILE = "private-key.pem"
"""The Secret's key holding the PKCS#8 PEM Airflow loads (`load_pem_private_key`, no password)."""
KEY_DIRECTORY = "/opt/airflow/jwt-signing-key"
KEY_VOLUME = "jwt-signing-key"
PRIVATE_KEY_PATH_ENV = "AIRFLOW__API_AUTH__JWT_PRIVATE_KEY_PATH"
JWT_SECRET_ENV = "AIRFLOW__API_AUTH__JWT_SECRET"
KEY_FILE_MODE = 0o440
"""Owner and group read: the pods run as uid 50000 with fsGroup 0, the group of the mounted files."""
SIGNING_VIA = "the program signs JWTs with its own key pair, mounted on the API server and the scheduler only"


def private_key_path() -> str:
    return f"{KEY_DIRECTORY}/{PRIVATE_KEY_FILE}"


def jwt_signing_values(secret_name: str) -> dict[str, Any]:
    """Helm values: the private key mounted (only its file) on the minting sections' pods, with
    `[api_auth] jwt_private_key_path` set there alone; the shared JWT secret off everywhere."""
    volume = {
        "name": KEY_VOLUME,
        "secret": {
            "secretName": secret_name,
            "items": [{"key": PRIVATE_KEY_FILE, "path": PRIVATE_KEY_FILE}],
            "defaultMode": KEY_FILE_MODE,
        },
    }
    mount = {"name": KEY_VOLUME, "mountPath": KEY_DIRECTORY, "readOnly": True}
    env = {"name": PRIVATE_KEY_PATH_ENV, "value": private_key_path()}
    return {
        "enableBuiltInSecretEnvVars": {JWT_SECRET_ENV: owned(False, SIGNING_VIA)},
        **{section: {"extraVolumes": [volume], "extraVolumeMounts": [mount], "env": [env]} for section in JWT_MINTERS},
    }
