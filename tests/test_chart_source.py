"""Where the chart-render tests find the chart: AIRFLOW_CHART_DIR, ../shared, or a `helm pull` into build/.

A repository cloned alone has no ../shared: with network access, `helm pull` fetches the chart once
into build/charts/; without it, the tests fail saying what to provide. The pull is played here by
a stand-in `helm` that copies a chart, or fails, as the real one would.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline import chart

VERSION = "1.18.0"
STAND_IN = """#!/bin/sh
# A stand-in for helm: `version` and `pull ... --untardir DIR`, from {source} (or failing).
case "$1" in
  version) echo v3.19.0 ;;
  pull) [ -n "{source}" ] || {{ echo 'Error: cannot reach https://airflow.apache.org' >&2; exit 1; }}
        while [ "$1" != "--untardir" ]; do shift; done; cp -r "{source}" "$2/airflow"; echo "$@" >> "{log}" ;;
esac
"""


@pytest.fixture
def real_chart() -> Path:
    """The chart this machine has (wherever the tests find it), as a pull would bring it."""
    return chart.chart_dir(VERSION)


@pytest.fixture
def alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_chart: Path) -> Iterator[Path]:
    """The repository cloned alone: no ../shared, no AIRFLOW_CHART_DIR."""
    root = tmp_path / "clone"
    (root / "build").mkdir(parents=True)
    monkeypatch.setattr(chart, "ROOT", root)
    monkeypatch.delenv("AIRFLOW_CHART_DIR", raising=False)
    chart.chart_dir.cache_clear()
    yield tmp_path
    chart.chart_dir.cache_clear()


def stand_in_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path | None) -> Path:
    helm = tmp_path / "helm"
    log = tmp_path / "pulls.log"
    helm.write_text(STAND_IN.format(source=source or "", log=log))
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("HELM", str(helm))
    return log


def test_a_clone_alone_pulls_the_chart_once_into_build(
    alone: Path, real_chart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = stand_in_helm(alone, monkeypatch, real_chart)
    found = chart.chart_dir(VERSION)
    assert found == alone / "clone" / "build" / "charts" / VERSION / "airflow"
    assert (found / "values.schema.json").is_file()
    chart.chart_dir.cache_clear()
    assert chart.chart_dir(VERSION) == found  # the second time, from build/ without a pull
    assert len(log.read_text().splitlines()) == 1


def test_without_the_chart_or_a_network_the_error_says_what_to_provide(
    alone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in_helm(alone, monkeypatch, None)
    with pytest.raises(chart.ChartUnavailable) as failure:
        chart.chart_dir(VERSION)
    message = str(failure.value)
    assert "AIRFLOW_CHART_DIR" in message and "helm pull" in message and "cannot reach" in message


def test_an_explicit_chart_dir_must_hold_the_pinned_version(alone: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = alone / "other"
    shutil.copytree(Path(__file__).resolve().parent / "snapshots", copy)  # a folder without Chart.yaml
    monkeypatch.setenv("AIRFLOW_CHART_DIR", str(copy))
    with pytest.raises(chart.ChartUnavailable, match="AIRFLOW_CHART_DIR"):
        chart.chart_dir(VERSION)
