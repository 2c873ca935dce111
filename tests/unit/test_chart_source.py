"""Where the chart-render tests find the chart: AIRFLOW_CHART_DIR, ../shared, or a `helm pull` into build/.

A repository cloned alone has no ../shared: with network access, `helm pull` fetches the release
archive once into build/charts/, where it is checked against the published sha256 before it is
unpacked; without it, the tests fail saying what to provide. The pull is played here by a
stand-in `helm` that copies an archive, or fails, as the real one would. Whichever copy is found
must hold exactly the pinned release's files.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline import chart

VERSION = "1.22.0"
STAND_IN = """#!/bin/sh
# A stand-in for helm: `version` and `pull ... --destination DIR`, from {source} (or failing).
case "$1" in
  version) echo v3.19.0 ;;
  pull) [ -n "{source}" ] || {{ echo 'Error: cannot reach https://airflow.apache.org' >&2; exit 1; }}
        while [ "$1" != "--destination" ]; do shift; done; cp "{source}" "$2/airflow-{version}.tgz"
        echo "$@" >> "{log}" ;;
esac
"""


@pytest.fixture
def real_chart() -> Path:
    """The chart this machine has (wherever the tests find it), as a pull would bring it."""
    return chart.chart_dir(VERSION)


def archive_of(tree: Path, dest: Path) -> Path:
    """A release-like archive (`airflow/...`) of the unpacked chart `tree`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tree, arcname="airflow")
    dest.write_bytes(buffer.getvalue())
    return dest


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
    helm.write_text(STAND_IN.format(source=source or "", log=log, version=VERSION))
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("HELM", str(helm))
    return log


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_chart_found_is_the_pinned_release(real_chart: Path) -> None:
    assert chart.tree_digest(real_chart) == chart.CHART_TREES[VERSION]
    assert sha256(chart.chart_archive(VERSION)) == chart.CHART_ARCHIVES[VERSION]
    # The archive unpacks to exactly these files.
    with tarfile.open(chart.chart_archive(VERSION)) as tar:
        members = sorted(m.name.removeprefix("airflow/") for m in tar.getmembers() if m.isfile())
    assert members == sorted(str(f.relative_to(real_chart)) for f in real_chart.rglob("*") if f.is_file())


def test_the_pins_are_the_digests_of_the_shared_reference_data(real_chart: Path) -> None:
    """../shared/airflow-chart/README.md lists the release's sha256 and the unpacked tree's. A clone
    alone has no ../shared: its chart was pulled into build/ and checked against the pins then."""
    readme_file = chart.ROOT.parent / "shared" / "airflow-chart" / "README.md"
    if not readme_file.is_file():
        assert real_chart == chart.ROOT / "build" / "charts" / VERSION / "airflow"
        return
    readme = readme_file.read_text()
    listed = dict(re.findall(r"^- (\S+) .*?([0-9a-f]{64})$", readme, re.MULTILINE))
    assert listed[f"{VERSION}/airflow-{VERSION}.tgz"] == chart.CHART_ARCHIVES[VERSION]
    assert listed[f"{VERSION}/chart/"] == chart.CHART_TREES[VERSION]


def test_a_clone_alone_pulls_the_archive_once_checks_it_and_unpacks_it_into_build(
    alone: Path, real_chart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = archive_of(real_chart, alone / "published.tgz")
    monkeypatch.setitem(chart.CHART_ARCHIVES, VERSION, sha256(archive))  # this archive plays the release
    log = stand_in_helm(alone, monkeypatch, archive)
    found = chart.chart_dir(VERSION)
    assert found == alone / "clone" / "build" / "charts" / VERSION / "airflow"
    assert (found / "values.schema.json").is_file()
    assert chart.tree_digest(found) == chart.CHART_TREES[VERSION]
    assert sha256(chart.chart_archive(VERSION)) == sha256(archive)  # kept beside it
    chart.chart_dir.cache_clear()
    assert chart.chart_dir(VERSION) == found  # the second time, from build/ without a pull
    assert len(log.read_text().splitlines()) == 1


def test_a_pulled_archive_without_the_published_digest_is_refused_before_it_is_unpacked(
    alone: Path, real_chart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = archive_of(real_chart, alone / "tampered.tgz")
    assert sha256(archive) != chart.CHART_ARCHIVES[VERSION]
    stand_in_helm(alone, monkeypatch, archive)
    with pytest.raises(chart.ChartUnavailable, match="not the published"):
        chart.chart_dir(VERSION)
    assert not (alone / "clone" / "build" / "charts" / VERSION / "airflow").exists()


def test_a_copy_with_other_files_is_refused(alone: Path, real_chart: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = alone / "edited" / "airflow"
    shutil.copytree(real_chart, copy)
    (copy / "templates" / "extra.yaml").write_text("kind: ConfigMap\n")
    monkeypatch.setenv("AIRFLOW_CHART_DIR", str(copy))
    with pytest.raises(chart.ChartUnavailable, match="not the pinned release"):
        chart.chart_dir(VERSION)


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
    shutil.copytree(Path(__file__).resolve().parents[1] / "snapshots", copy)  # a folder without Chart.yaml
    monkeypatch.setenv("AIRFLOW_CHART_DIR", str(copy))
    with pytest.raises(chart.ChartUnavailable, match="AIRFLOW_CHART_DIR"):
        chart.chart_dir(VERSION)


def test_helm_older_than_the_charts_minimum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "helm"
    old.write_text("#!/bin/sh\necho v3.18.6+g4bd2c4f\n")
    old.chmod(old.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("HELM", str(old))
    with pytest.raises(chart.ChartUnavailable, match=r"needs Helm >= 3\.19"):
        chart.helm_binary()
