"""The policy pack's folder alone, as `pulumi policy publish policy` uploads it: copied to an
empty directory, it loads and its own tests pass, with nothing of the repository on the path.

Here with this virtualenv's pulumi-policy and pulumi (the pins policy/requirements.txt names,
tests/unit/test_policy_pack_folder.py); `make integration` installs them afresh.
"""

from __future__ import annotations

import select
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_alone(tmp_path: Path) -> Path:
    pack = tmp_path / "published" / "policy"
    shutil.copytree(ROOT / "policy", pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    return pack


def isolated(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # -I: no PYTHONPATH, no user site, not even the working directory on the path.
    return subprocess.run([sys.executable, "-I", *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_the_folder_alone_runs_its_own_tests(tmp_path: Path) -> None:
    pack = copy_alone(tmp_path)
    result = isolated(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(pack / "tests")], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_the_folder_alone_loads_as_the_policy_host_loads_it(tmp_path: Path) -> None:
    """The engine's policy host runs the folder with runpy.run_path; serving it prints the port."""
    pack = copy_alone(tmp_path)
    serve = f"import runpy; runpy.run_path({str(pack)!r}, run_name='__main__')"
    # -u: the host runs the pack unbuffered (-I drops PYTHONUNBUFFERED), so the port arrives at once.
    command = [sys.executable, "-I", "-u", "-c", serve]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert select.select([process.stdout], [], [], 60)[0], "the pack printed no port within 60 s"
        assert int(process.stdout.readline()) > 0
    finally:
        process.kill()
        process.wait()


def test_a_pack_that_reaches_outside_its_folder_fails_alone(tmp_path: Path) -> None:
    pack = copy_alone(tmp_path)
    model = pack / "airflow_eks_guardrails" / "model.py"
    model.write_text(model.read_text() + "\nfrom lib.naming import child_name  # noqa\n")
    result = isolated(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(pack / "tests")], tmp_path)
    assert result.returncode != 0 and "No module named 'lib'" in result.stdout + result.stderr
