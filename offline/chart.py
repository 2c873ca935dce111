"""Render the official Airflow chart with the values the program builds, as `helm template` does.

The tests assert on what Helm really produces from our values, not on the values alone. Where
things come from:
- Helm: `$HELM`, else the `helm` next to this virtualenv's python (`scripts/install_helm.py`, run
  by `make test`, puts the pinned Helm 3 there).
- The chart, at the version the stack pins: `$AIRFLOW_CHART_DIR` (a folder holding the chart's
  `Chart.yaml`), else `../shared/airflow-chart/<version>/chart` beside the repository, else a
  `helm pull` from the chart repository into `build/charts/` (needs network once). A pinned
  version's pulled archive must have its published sha256 (`CHART_ARCHIVES`) before it is
  unpacked, and whichever copy is found must hold exactly the pinned files (`CHART_TREES`).
Anything missing is a `ChartUnavailable` error that says what to provide, never a silent skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART_NAME = "airflow"
CHART_REPOSITORY = "https://airflow.apache.org"
HELM_MAJOR = "v3."
HELM_MINIMUM = (3, 19)  # chart 1.22.0 RELEASE_NOTES.rst: "Minimum Helm version was updated to 3.19.0" (#66970)
CHART_ARCHIVES = {"1.22.0": "1f7d1dfe3d58e2c54899950aba907a43625a18c8b6fb3c54760c21592129a5b6"}
"""sha256 of the release archive `airflow-<version>.tgz` (../shared/airflow-chart/README.md)."""
CHART_TREES = {"1.22.0": "dc7d7b39511751edac8a61889316b06bd5519227b805bc758d891e59e5d329ff"}
"""sha256 of the unpacked chart's sorted `sha256sum` list (`tree_digest`; the same README), which
the archive unpacks to."""


RENDER_ENV = {"GOGC": "400"}
"""Helm's environment for a render unless the caller's sets it: Go's collector runs a quarter as
often (helm template of the prod values, Helm 3.19: 0.63 s of CPU instead of 0.80, 100 MB peak
instead of 70)."""
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""A safe loader, the C one when PyYAML has it: the same objects, read nine times faster (the prod
render: 83 → 9 ms)."""


class ChartUnavailable(RuntimeError):
    """Helm or the chart cannot be found; the message says what to provide."""


def helm_binary() -> Path:
    """The Helm 3 binary the renders use."""
    candidate = Path(os.environ.get("HELM") or Path(sys.executable).parent / "helm")
    if not candidate.is_file():
        raise ChartUnavailable(
            f"no Helm at {candidate}: run `python scripts/install_helm.py` (make test does) or set HELM=/path/to/helm"
        )
    return _version_checked(candidate)


@cache
def _version_checked(candidate: Path) -> Path:
    """`candidate` if it is a Helm 3 recent enough for the chart: asked once per process."""
    version = subprocess.run([str(candidate), "version", "--short"], capture_output=True, text=True, check=True)
    if not version.stdout.startswith(HELM_MAJOR):
        raise ChartUnavailable(f"{candidate} is Helm {version.stdout.strip()}; the renders need Helm 3")
    minor = int(version.stdout.removeprefix(HELM_MAJOR).split(".")[0])
    if (3, minor) < HELM_MINIMUM:
        raise ChartUnavailable(f"{candidate} is Helm {version.stdout.strip()}; chart 1.22 needs Helm >= 3.19")
    return candidate


def tree_digest(path: Path) -> str:
    """`find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum` run inside `path`."""
    files = sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file())
    listing = "".join(f"{hashlib.sha256((path / f).read_bytes()).hexdigest()}  ./{f}\n" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def _verified(path: Path, version: str) -> Path:
    """`path` if it holds the pinned files of `version` (any version without a pin passes)."""
    expected = CHART_TREES.get(version)
    if expected is not None and tree_digest(path) != expected:
        raise ChartUnavailable(f"the Airflow chart {version} at {path} is not the pinned release (file digest differs)")
    return path


def _chart_version(path: Path) -> str | None:
    chart_file = path / "Chart.yaml"
    if not chart_file.is_file():
        return None
    meta = yaml.safe_load(chart_file.read_text())
    return str(meta.get("version")) if meta.get("name") == CHART_NAME else None


@cache
def chart_dir(version: str) -> Path:
    """The unpacked official Airflow chart at `version` (see the module docstring for the search order)."""
    override = os.environ.get("AIRFLOW_CHART_DIR")
    if override:
        found = _chart_version(Path(override))
        if found != version:
            raise ChartUnavailable(f"AIRFLOW_CHART_DIR={override} holds chart {CHART_NAME} {found}, not {version}")
        return _verified(Path(override), version)
    shared = ROOT.parent / "shared" / "airflow-chart" / version / "chart"
    if _chart_version(shared) == version:
        return _verified(shared, version)
    cache_dir = ROOT / "build" / "charts" / version
    pulled = cache_dir / CHART_NAME
    if _chart_version(pulled) == version:
        return _verified(pulled, version)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        pull = [str(helm_binary()), "pull", CHART_NAME, "--repo", CHART_REPOSITORY, "--version", version]
        result = subprocess.run([*pull, "--destination", tmp], capture_output=True, text=True)
        archive = Path(tmp) / f"{CHART_NAME}-{version}.tgz"
        if result.returncode != 0 or not archive.is_file():
            raise ChartUnavailable(
                f"the Airflow chart {version} is not available: set AIRFLOW_CHART_DIR to an unpacked copy, or "
                f"place it at {shared}, or allow `helm pull` from {CHART_REPOSITORY} "
                f"({result.stderr.strip() or 'no archive was pulled'})"
            )
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        expected = CHART_ARCHIVES.get(version)
        if expected is not None and digest != expected:
            raise ChartUnavailable(f"the pulled {archive.name} has sha256 {digest}, not the published {expected}")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        if _chart_version(Path(tmp) / CHART_NAME) != version:
            raise ChartUnavailable(f"the pulled {archive.name} holds another chart than {CHART_NAME} {version}")
        _verified(Path(tmp) / CHART_NAME, version)
        if pulled.exists() and _chart_version(pulled) != version:  # a broken copy: replace it
            shutil.rmtree(pulled, ignore_errors=True)
        os.replace(archive, cache_dir / archive.name)  # kept beside the chart, as in ../shared
        try:
            os.rename(Path(tmp) / CHART_NAME, pulled)  # atomic: a test worker pulling too cannot interleave
        except OSError:
            if _chart_version(pulled) != version:  # not another worker's complete copy
                raise
    return pulled


def chart_archive(version: str) -> Path:
    """The release archive the chart found by `chart_dir` came from: beside it in ../shared and
    in build/charts/ (`airflow-<version>.tgz`)."""
    return chart_dir(version).parent / f"{CHART_NAME}-{version}.tgz"


def values_schema(version: str) -> dict[str, Any]:
    """The chart's own `values.schema.json`."""
    schema: dict[str, Any] = json.loads((chart_dir(version) / "values.schema.json").read_text())
    return schema


def render(
    values: dict[str, Any], *, version: str, release: str, namespace: str, kube_version: str
) -> list[dict[str, Any]]:
    """`helm template` of the chart at `version` with `values`: every rendered object, in order."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as values_file:
        json.dump(values, values_file)
        values_file.flush()
        cmd = [str(helm_binary()), "template", release, str(chart_dir(version)), "--namespace", namespace]
        cmd += ["--kube-version", kube_version, "--values", values_file.name]
        result = subprocess.run(cmd, capture_output=True, text=True, env=RENDER_ENV | dict(os.environ))
    if result.returncode != 0:
        raise RuntimeError(f"helm template failed: {result.stderr.strip()}")
    return [doc for doc in yaml.load_all(result.stdout, Loader=_LOADER) if doc]
