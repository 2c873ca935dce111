"""The Airflow chart rendered by Helm with the values of a plan's release."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from offline.chart import chart_dir, render
from offline.mocks import Plan, Registration
from scripts.airflow_run import cfg_lines
from tests.support.session_cache import once

RELEASE = "kubernetes:helm.sh/v3:Release"


def airflow_release(plan: Plan) -> Registration:
    """The plan's one release of the Airflow chart."""
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "airflow"]
    return release


def render_once(
    values: dict[str, Any], *, version: str, release: str, namespace: str, kube_version: str
) -> list[dict[str, Any]]:
    """`offline.chart.render`, run once per session for the same inputs: `helm template` is
    deterministic, and the stacks' renders are read by a dozen test modules. Each call returns
    its own copy of the objects (a test may change what it reads)."""
    args = {"version": version, "release": release, "namespace": namespace, "kube_version": kube_version}
    key = ["render", values, args, os.environ.get("HELM"), str(chart_dir(version))]
    return once(key, lambda: render(values, **args))


class Rendered:
    """A plan, and the chart rendered with the values its Airflow release carries."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.release = airflow_release(plan)
        self.kube_version: str = plan.outputs["cluster_kubernetes_version"]
        i = self.release.inputs
        self.objects = render_once(
            i["values"],
            version=i["version"],
            release=i["name"],
            namespace=i["namespace"],
            kube_version=self.kube_version,
        )

    def one(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        return found

    def workload_pods(self) -> dict[str, dict[str, Any]]:
        """Each pod spec the render's workloads and CronJobs run, by the object's name."""
        found: dict[str, dict[str, Any]] = {}
        for o in self.objects:
            if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
                found[o["metadata"]["name"]] = o["spec"]["template"]["spec"]
            elif o["kind"] == "CronJob":
                found[o["metadata"]["name"]] = o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return found

    def deployment_pod(self, name: str) -> dict[str, Any]:
        spec: dict[str, Any] = self.one("Deployment", name)["spec"]["template"]["spec"]
        return spec

    def pod_template(self) -> dict[str, Any]:
        """The KubernetesExecutor's task pod, from the chart's pod template ConfigMap."""
        for o in self.objects:
            if o["kind"] == "ConfigMap" and "pod_template_file.yaml" in o.get("data", {}):
                template: dict[str, Any] = yaml.safe_load(o["data"]["pod_template_file.yaml"])
                return template
        raise AssertionError("no pod template rendered")

    def airflow_cfg(self) -> dict[str, str]:
        """`key = value` lines of the rendered airflow.cfg, by `section.key`."""
        text = self.one("ConfigMap", "airflow-config")["data"]["airflow.cfg"]
        return {name: line.split(" = ", 1)[1] for name, line in cfg_lines(text) if name}

    def program_objects(self, type_: str) -> list[Registration]:
        return self.plan.of_type(type_)


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(pod.get("initContainers") or []), *pod["containers"]]


def render_plan(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Airflow chart rendered with the values of a plan's release (a plan as JSON), once per session:
    what scripts/policy.py gives the AZ-loss analysis."""
    (release,) = [r["inputs"] for r in plan["resources"] if r["type"] == RELEASE and r["inputs"]["chart"] == "airflow"]
    return render_once(
        release["values"],
        version=release["version"],
        release=release["name"],
        namespace=release["namespace"],
        kube_version=plan["outputs"]["cluster_kubernetes_version"],
    )
