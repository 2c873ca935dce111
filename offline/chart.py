"""Render the official Airflow chart with the values the program builds, as `helm template` does.

The tests assert on what Helm really produces from our values, not on the values alone. Where
things come from:
- Helm: `$HELM`, else the `helm` next to this virtualenv's python (`scripts/install_helm.py`, run
  by `make test`, puts the pinned Helm 3 there).
- The chart, at the version the stack pins: `$AIRFLOW_CHART_DIR` (a folder holding the chart's
  `Chart.yaml`), else `../shared/airflow-chart/<version>/chart` beside the repository, else a
  `helm pull` from the chart repository into `build/charts/` (needs network once).
Anything missing is a `ChartUnavailable` error that says what to provide, never a silent skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART_NAME = "airflow"
CHART_REPOSITORY = "https://airflow.apache.org"
HELM_MAJOR = "v3."


class ChartUnavailable(RuntimeError):
    """Helm or the chart cannot be found; the message says what to provide."""


def helm_binary() -> Path:
    """The Helm 3 binary the renders use."""
    candidate = Path(os.environ.get("HELM") or Path(sys.executable).parent / "helm")
    if not candidate.is_file():
        raise ChartUnavailable(
            f"no Helm at {candidate}: run `python scripts/install_helm.py` (make test does) or set HELM=/path/to/helm"
        )
    version = subprocess.run([str(candidate), "version", "--short"], capture_output=True, text=True, check=True)
    if not version.stdout.startswith(HELM_MAJOR):
        raise ChartUnavailable(f"{candidate} is Helm {version.stdout.strip()}; the renders need Helm 3")
    return candidate


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
        return Path(override)
    shared = ROOT.parent / "shared" / "airflow-chart" / version / "chart"
    if _chart_version(shared) == version:
        return shared
    cache_dir = ROOT / "build" / "charts" / version
    pulled = cache_dir / CHART_NAME
    if _chart_version(pulled) == version:
        return pulled
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        pull = [str(helm_binary()), "pull", CHART_NAME, "--repo", CHART_REPOSITORY, "--version", version]
        result = subprocess.run([*pull, "--untar", "--untardir", tmp], capture_output=True, text=True)
        if result.returncode != 0 or _chart_version(Path(tmp) / CHART_NAME) != version:
            raise ChartUnavailable(
                f"the Airflow chart {version} is not available: set AIRFLOW_CHART_DIR to an unpacked copy, or "
                f"place it at {shared}, or allow `helm pull` from {CHART_REPOSITORY} "
                f"({result.stderr.strip() or 'the pulled chart has another version'})"
            )
        if pulled.exists() and _chart_version(pulled) != version:  # a broken copy: replace it
            shutil.rmtree(pulled, ignore_errors=True)
        try:
            os.rename(Path(tmp) / CHART_NAME, pulled)  # atomic: a test worker pulling too cannot interleave
        except OSError:
            if _chart_version(pulled) != version:  # not another worker's complete copy
                raise
    return pulled


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
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"helm template failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
