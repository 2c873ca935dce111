"""The emulated kubelet of `make integration`'s Airflow run: pods as local processes.

It runs a pod's containers as scripts/emulated_pod.py resolves, localises and materialises them,
each in its own session (so that stopping it stops its children), recorded in the integration
run's `Processes`. Pods come from the render (`start_container`, `run_to_completion`) or from the
spool that scripts/emulated_executor.py's API writes (`start`): for those it plays the pod's
lifecycle back as the API server would report it (status Pending, Running, Succeeded or Failed
with the main container's exit code; each change a new resourceVersion), and sends SIGTERM to a
deleted pod's processes. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scripts import emulated_pod
from scripts.emulated_pod import Cluster, Local


class Started(Protocol):
    """What the integration run's `Processes` offers: the processes it stops at the end."""

    started: list[tuple[str, subprocess.Popen[bytes]]]


@dataclass
class PodRun:
    name: str
    root: Path
    proc: subprocess.Popen[bytes] | None = None
    phase: str = "Pending"
    exit_code: int | None = None
    container: str = "base"
    image: str = ""


class Kubelet:
    """Runs pods of the render, and the task pods the executor writes to its spool, as processes."""

    def __init__(self, tmp: Path, cluster: Cluster, local: Local, procs: Started) -> None:
        self.tmp, self.cluster, self.local, self.procs = tmp, cluster, local, procs
        self.spool = tmp / "kubelet"
        for sub in ("pods", "status", "patches", "deleted"):
            (self.spool / sub).mkdir(parents=True, exist_ok=True)
        self.pods: dict[str, PodRun] = {}
        self.version = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self.errors: list[str] = []

    def start_container(
        self, pod: Mapping[str, Any], container: str, cluster: Cluster | None = None
    ) -> subprocess.Popen[bytes]:
        """One container of `pod` as a process (its own session, so its children stop with it)."""
        name = pod["metadata"]["name"]
        root = self.tmp / "pods" / name
        cluster = cluster or self.cluster
        resolved = emulated_pod.resolve(pod, container, cluster)
        local = emulated_pod.substitute(resolved, root, self.local)
        cwd = emulated_pod.materialise(local, root, cluster)
        emulated_pod.dump(local, root / f".{container}.process.json")
        log = (self.tmp / "pods" / f"{name}.{container}.log").open("ab")
        proc = subprocess.Popen(
            local.argv,
            env=emulated_pod.environment(local),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs.started.append((f"{name}/{container}", proc))
        return proc

    def run_to_completion(self, pod: Mapping[str, Any], timeout: float) -> None:
        """A Job's pod: its containers in order, each to exit 0."""
        spec = pod["spec"]
        for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
            proc = self.start_container(pod, c["name"])
            code = proc.wait(timeout)
            if code != 0:
                raise RuntimeError(f"{pod['metadata']['name']}/{c['name']} exited {code} (see pods/*.log)")

    # The executor's pods, from the spool.
    def start(self) -> None:
        self.thread.start()

    def _status(self, run: PodRun, phase: str, exit_code: int | None = None) -> None:
        with self.lock:
            self.version += 1
            version = self.version
        run.phase, run.exit_code = phase, exit_code
        status: dict[str, Any] = {"phase": phase}
        if exit_code is not None:
            terminated = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error"}
            status["containerStatuses"] = [
                {
                    "name": run.container,
                    "image": run.image,
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"terminated": terminated},
                }
            ]
        path = self.spool / "status" / f"{run.name}.json"
        partial = path.with_name(f".{path.name}")
        partial.write_text(json.dumps({"resourceVersion": str(version), "status": status}))
        partial.replace(path)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._tick()
            except Exception as error:  # reported by the run, never silently
                self.errors.append(f"{type(error).__name__}: {error}")
            time.sleep(0.2)

    def _tick(self) -> None:
        for manifest in sorted((self.spool / "pods").glob("*.json")):
            name = manifest.stem
            if name in self.pods:
                continue
            pod = json.loads(manifest.read_text())
            main = pod["spec"]["containers"][0]
            run = self.pods[name] = PodRun(name, self.tmp / "pods" / name, container=main["name"], image=main["image"])
            self._status(run, "Pending")
            try:
                run.proc = self.start_container(pod, main["name"])
                self._status(run, "Running")
            except Exception:
                self._status(run, "Failed", 128)
                raise
        for run in self.pods.values():
            if run.proc is None or run.phase not in ("Running",):
                continue
            if (self.spool / "deleted" / f"{run.name}.json").exists() and run.proc.poll() is None:
                os.killpg(run.proc.pid, signal.SIGTERM)  # a deleted pod's containers get SIGTERM
            code = run.proc.poll()
            if code is not None:
                self._status(run, "Succeeded" if code == 0 else "Failed", code)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(5)

    def task_pods(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.spool / "pods").glob("*.json"))]


def stop_group(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM to the process group the process leads (its own session), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):  # children left behind in the group
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.5)
