"""Benchmark: medians over several runs, printed, never asserted.

- import floor: a bare import of the Pulumi SDKs and submodules the program uses;
- offline plan of each stack (`scripts/plan.py --quiet`), and its ratio to the floor;
- the pytest suite as `make test` runs it, and the fast tier as `make test-fast` does, beside
  their targets (issue 22: at most 60 s and 15 s on a two-core machine);
each as wall time, CPU time (user + system, of the process and every process it waited for:
pytest's workers, Helm, checkov) and the peak memory (max RSS) of the process. CPU time is the
figure to compare when other work shares the machine: the load average before and after is
printed with the table.

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


Sample = tuple[float, float, float]
"""Wall seconds, CPU seconds and peak RSS in MiB of one run."""
TIERS = {
    "pytest (make test)": ("pytest", 60.0),
    "fast tier (test-fast)": ("test-fast", 15.0),
}
"""The test runs measured: the Makefile's target that runs them, and the target in seconds."""


def measure(cmd: list[str]) -> Sample:
    """Wall seconds, CPU seconds and peak RSS in MiB of one run of `cmd` (which must succeed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def median_of(cmd: list[str], runs: int) -> Sample:
    samples = [measure(cmd) for _ in range(runs)]
    wall, cpu, mem = zip(*samples, strict=True)
    return statistics.median(wall), statistics.median(cpu), max(mem)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description="Print timing and memory figures of the offline plan and tests.")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--test-runs", type=int, default=3, help="runs of the test suite")
    args = parser.parse_args()
    py = sys.executable
    before = load()
    measure([py, "-c", IMPORTS])  # warm the file cache once, as every later run is warm
    rows: list[tuple[str, Sample, float, float | None]] = []
    floor = median_of([py, "-c", IMPORTS], args.runs)
    rows.append(("import floor", floor, 1.0, None))
    with tempfile.TemporaryDirectory() as out:
        for stack in ("dev", "prod"):
            cmd = [py, "scripts/plan.py", "--stack", stack, "--quiet", "--out", out]
            sample = median_of(cmd, args.runs)
            rows.append((f"offline plan ({stack})", sample, sample[0] / floor[0], None))
    for label, (make_target, target) in TIERS.items():
        sample = median_of(["make", "--no-print-directory", "-s", make_target], args.test_runs)
        rows.append((label, sample, sample[0] / floor[0], target))

    version = sys.version.split()[0]
    print(f"Medians over {args.runs} runs ({args.test_runs} for the tests), python {version}, {os.cpu_count()} CPUs")
    print(f"load average (1, 5, 15 min) before: {before}, after: {load()}")
    print(f"{'figure':<24}{'seconds':>10}{'CPU s':>9}{'peak MiB':>11}{'x floor':>9}{'target s':>10}")
    for label, (seconds, cpu, mem), ratio, limit in rows:
        goal = f"{limit:>10.0f}" if limit else ""
        print(f"{label:<24}{seconds:>10.2f}{cpu:>9.2f}{mem:>11.0f}{ratio:>9.2f}{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
