"""The prod stack's Airflow release as the cluster would receive it, for `make integration`'s Airflow run.

Runs in the project's virtualenv (.venv: Pulumi, Helm): the program under mocks (offline/mocks.py)
for the prod stack, the official chart rendered by Helm with the values the release carries
(offline/chart.py, as tests/renders/test_chart_render.py does), and every Kubernetes Secret the program
creates, with the data the cloud would receive (as tests/plans/test_airflow_release.py reads it). The
mocks' random resources answer real random values here (`RandomBytes`: `length` random bytes;
`RandomPassword`: `length` letters and digits, as `special=False` asks), so that the Fernet key
the program derives is a working key, and pulumi-tls's `PrivateKey` a real RSA key of `rsaBits`
(openssl), so that the JWT signing key signs; every value still flows through the program's objects.

    .venv/bin/python scripts/airflow_render.py OUT.json [--set KEY=VALUE ...]

OUT.json: {"objects": [...rendered...], "secrets": {name: {key: value}}, "release": {...},
"outputs": {...stack outputs...}, "admission": {policy name: its spec}} (the program's
ValidatingAdmissionPolicies, for scripts/admission_check.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import string
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pulumi.runtime import mocks as pulumi_mocks  # noqa: E402

from offline.chart import render  # noqa: E402
from offline.fakes import SIG_KEY, FakeCloud  # noqa: E402
from offline.mocks import Plan, run_program  # noqa: E402

STACK = "prod"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
ADMISSION_POLICY_TYPE = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
SECRET_TYPE = "kubernetes:core/v1:Secret"
ALPHANUMERIC = string.ascii_letters + string.digits


def _unwrap(value: Any) -> Any:
    """A value as the engine sends it to the cloud, without its secret marker."""
    if isinstance(value, dict) and SIG_KEY in value and "value" in value:
        return _unwrap(value["value"])
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _random_outputs(typ: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """What pulumi-random answers for a RandomBytes or a RandomPassword (special=False only)."""
    length = int(inputs.get("length", 0))
    if typ == "random:index/randomBytes:RandomBytes":
        raw = secrets.token_bytes(length)
        return {"base64": base64.b64encode(raw).decode(), "hex": raw.hex()}
    if typ == "random:index/randomPassword:RandomPassword":
        if inputs.get("special", True):
            raise SystemExit("airflow_render: a RandomPassword with special characters is not emulated")
        return {"result": "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))}
    if typ == "tls:index/privateKey:PrivateKey":
        if inputs.get("algorithm") != "RSA":
            raise SystemExit("airflow_render: a PrivateKey other than RSA is not emulated")
        bits = f"rsa_keygen_bits:{int(inputs.get('rsaBits', 2048))}"
        pkcs8 = subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", bits], check=True, capture_output=True, text=True
        ).stdout
        public = subprocess.run(
            ["openssl", "pkey", "-pubout"], input=pkcs8, check=True, capture_output=True, text=True
        ).stdout
        return {"privateKeyPemPkcs8": pkcs8, "publicKeyPem": public}
    return None


class LiveRandomCloud(FakeCloud):
    """The offline plan's fake cloud, with real random values and a record of each Secret's data."""

    written: dict[str, dict[str, str]] = {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid, outputs = super().new_resource(args)
        live = _random_outputs(args.typ, args.inputs)
        if live is not None:
            outputs = {**outputs, **live}
        if args.typ == SECRET_TYPE:
            data = _unwrap(args.inputs.get("stringData") or {})
            LiveRandomCloud.written[args.inputs["metadata"]["name"]] = dict(data)
        return rid, outputs


def render_release(overrides: dict[str, str]) -> dict[str, Any]:
    import offline.mocks as mocks

    LiveRandomCloud.written = {}
    original = mocks.FakeCloud
    mocks.FakeCloud = LiveRandomCloud  # type: ignore[misc]
    try:
        plan: Plan = run_program(STACK, config_overrides=overrides)
    finally:
        mocks.FakeCloud = original  # type: ignore[misc]
    (release,) = [r for r in plan.of_type(RELEASE_TYPE) if r.inputs["chart"] == "airflow"]
    i = release.inputs
    kube_version = plan.outputs["cluster_kubernetes_version"]
    objects = render(
        i["values"], version=i["version"], release=i["name"], namespace=i["namespace"], kube_version=kube_version
    )
    return {
        "objects": objects,
        "secrets": LiveRandomCloud.written,
        "release": {k: i[k] for k in ("name", "namespace", "version", "values")},
        "outputs": {k: v for k, v in plan.outputs.items() if isinstance(v, (str, int, float, bool, list, dict))},
        "admission": {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(ADMISSION_POLICY_TYPE)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a stack config override")
    options = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in options.set)
    result = render_release(overrides)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
