"""Benchmark: medians over several runs, printed, never asserted.

- import floor: a bare import of the Pulumi SDKs and submodules the program uses;
- offline plan of each stack (`scripts/plan.py --quiet`), and its ratio to the floor;
- the pytest suite;
each as wall time and the peak memory (max RSS) of the process.

    python scripts/benchmark.py [--runs 5] [--test-runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORTS = (
    "import pulumi, pulumi_aws, pulumi_eks, pulumi_kubernetes, pulumi_random; "
    "import pulumi_aws.ec2, pulumi_aws.eks, pulumi_aws.iam, pulumi_aws.kms, pulumi_aws.rds, pulumi_aws.efs, "
    "pulumi_aws.lb, pulumi_aws.autoscaling; "
    "import pulumi_kubernetes.core.v1, pulumi_kubernetes.helm.v3, pulumi_kubernetes.apiextensions"
)


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one run of `cmd` (which must succeed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


def median_of(cmd: list[str], runs: int) -> tuple[float, float]:
    samples = [measure(cmd) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description="Print timing and memory figures of the offline plan and tests.")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--test-runs", type=int, default=3, help="runs of the test suite")
    args = parser.parse_args()
    py = sys.executable
    measure([py, "-c", IMPORTS])  # warm the file cache once, as every later run is warm
    rows = []
    floor, floor_mem = median_of([py, "-c", IMPORTS], args.runs)
    rows.append(("import floor", floor, floor_mem, 1.0))
    with tempfile.TemporaryDirectory() as out:
        for stack in ("dev", "prod"):
            cmd = [py, "scripts/plan.py", "--stack", stack, "--quiet", "--out", out]
            seconds, mem = median_of(cmd, args.runs)
            rows.append((f"offline plan ({stack})", seconds, mem, seconds / floor))
    suite = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--numprocesses=auto"]  # as `make test`
    seconds, mem = median_of(suite, args.test_runs)
    rows.append(("test suite (pytest)", seconds, mem, seconds / floor))

    version = sys.version.split()[0]
    print(f"Medians over {args.runs} runs ({args.test_runs} for the tests), python {version}, {os.cpu_count()} CPUs")
    print(f"{'figure':<24}{'seconds':>10}{'peak MiB':>11}{'x floor':>9}")
    for label, seconds, mem, ratio in rows:
        print(f"{label:<24}{seconds:>10.2f}{mem:>11.0f}{ratio:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
