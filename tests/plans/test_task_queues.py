"""Task queues onto node groups: the example stack's plan and render, and the config refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from config.settings import Settings, load_settings
from lib.airflow.queues import local_settings, queue_pods
from lib.cluster.managed_addons import addons_on
from lib.cluster.sizing import node_task_capacity
from offline.mocks import Plan, ProgramError, run_program
from offline.stack_config import resolve_stack_config
from scripts.cost import report
from tests.support.overrides import groups_with
from tests.support.plans import plan_once
from tests.support.renders import Rendered

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stacks"
MNG = "eks:index:ManagedNodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
ASG_TAG = "aws:autoscaling/tag:Tag"
GPU_TAINT = {"key": "airflow-eks/gpu", "value": "true", "effect": "NO_SCHEDULE"}
GPU_GROUP = {
    "instanceTypes": ["g5.xlarge"],
    "minSize": 0,
    "desiredSize": 0,
    "maxSize": 2,
    "taskQueue": "gpu",
    "taints": [GPU_TAINT],
}


@pytest.fixture(scope="module")
def queues() -> Plan:
    return plan_once("queues", config_dir=EXAMPLES)


def test_the_gpu_group_has_the_gpu_ami_its_types_taint_and_label(queues: Plan) -> None:
    i = queues.one(MNG, "airflow-queues-gpu").inputs
    assert i["amiType"] == "AL2023_x86_64_NVIDIA"
    assert i["instanceTypes"] == ["g4dn.xlarge", "g5.xlarge"]
    assert i["capacityType"] == "ON_DEMAND"
    assert i["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 4}
    assert i["taints"] == [GPU_TAINT]
    assert i["labels"] == {"airflow-eks/accelerator": "nvidia", "airflow-eks/node-group": "gpu"}
    large = queues.one(MNG, "airflow-queues-large").inputs
    assert (large["amiType"], large["capacityType"]) == ("AL2023_x86_64_STANDARD", "SPOT")
    assert {r.inputs["amiType"] for r in queues.of_type(MNG) if r.name != "airflow-queues-gpu"} == {
        "AL2023_x86_64_STANDARD"
    }


def test_each_queue_group_scales_from_zero_on_its_asg_tags(queues: Plan) -> None:
    tags = {r.name: r.inputs["tag"] for r in queues.of_type(ASG_TAG) if r.name.startswith("airflow-queues-gpu-")}
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert sorted((t["key"], t["value"]) for t in tags.values()) == [
        (f"{prefix}/label/airflow-eks/accelerator", "nvidia"),
        (f"{prefix}/label/airflow-eks/node-group", "gpu"),
        (f"{prefix}/taint/airflow-eks/gpu", "true:NoSchedule"),
    ]


def test_the_device_plugin_comes_with_a_gpu_group_only(queues: Plan, prod: Plan) -> None:
    (plugin,) = [r for r in queues.of_type(RELEASE) if r.inputs["chart"] == "nvidia-device-plugin"]
    i = plugin.inputs
    assert (i["version"], i["namespace"], i["repositoryOpts"]["repo"]) == (
        "0.20.0",
        "kube-system",
        "https://nvidia.github.io/k8s-device-plugin",
    )
    assert i["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "airflow-eks/node-group", "operator": "In", "values": ["gpu"]}]}
        ]
    }
    assert i["values"]["tolerations"] == [
        {"key": "airflow-eks/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    assert plugin.parent == queues.one("airflow:index:GpuDevicePlugin", "airflow-queues-gpu-device-plugin").urn
    assert sorted(r.inputs["chart"] for r in prod.of_type(RELEASE)) == [
        "airflow",
        "aws-load-balancer-controller",
        "cluster-autoscaler",
    ]
    assert prod.counts()["airflow:index:GpuDevicePlugin"] == 0


def test_the_pool_holds_every_task_groups_nodes(queues: Plan) -> None:
    settings = settings_of_queues()
    addons = addons_on(settings.addon_toggles())
    per_group = {
        g.name: node_task_capacity(g.instance_types, g.max_size, 1000, 2048, addons, task_gpus=int(g.gpu))
        for g in settings.task_groups
    }
    # workers: 20 x m6i.xlarge at 3 pods (1 vCPU each); gpu: 4 nodes x 1 GPU; large: 10 x m6i.4xlarge at 15.
    assert per_group == {"workers": 60, "gpu": 4, "large": 150}
    assert settings.task_capacity == 214
    (release,) = [r for r in queues.of_type(RELEASE) if r.inputs["chart"] == "airflow"]
    assert release.inputs["values"]["config"]["core"]["parallelism"] == "214"


def settings_of_queues() -> Settings:
    config, region = resolve_stack_config("queues", EXAMPLES)
    return load_settings(config, "queues", region)


def test_the_rendered_chart_mounts_the_queue_policy_in_the_dag_processor(queues: Plan) -> None:
    rendered = Rendered(queues)
    (config_map,) = [
        o for o in rendered.objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "airflow-config"
    ]
    settings = settings_of_queues()
    resources = rendered.release.inputs["values"]["workers"]["kubernetes"]["resources"]
    assert config_map["data"]["airflow_local_settings.py"] == local_settings(
        queue_pods(settings.queue_groups, resources)
    ).rstrip("\n")  # the chart's block scalar (`|-`) drops the last newline
    for name in ("airflow-dag-processor", "airflow-scheduler"):
        (deployment,) = [o for o in rendered.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
        mounts = [m for c in deployment["spec"]["template"]["spec"]["containers"] for m in c.get("volumeMounts", [])]
        assert {
            "name": "config",
            "mountPath": "/opt/airflow/config/airflow_local_settings.py",
            "subPath": "airflow_local_settings.py",
            "readOnly": True,
        } in mounts, name


def test_without_a_queue_group_the_chart_keeps_its_own_local_settings(prod: Plan) -> None:
    (release,) = [r for r in prod.of_type(RELEASE) if r.inputs["chart"] == "airflow"]
    assert "airflowLocalSettings" not in release.inputs["values"]


def test_a_queue_changes_the_plan() -> None:
    plain = plan_once("dev", {"nodeGroups": {**groups_with(), "gpu": GPU_GROUP}})
    renamed = plan_once("dev", {"nodeGroups": {**groups_with(), "gpu": {**GPU_GROUP, "taskQueue": "cuda"}}})

    def policy(plan: Plan) -> str:
        (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "airflow"]
        return str(release.inputs["values"]["airflowLocalSettings"])

    assert '"gpu":' in policy(plain) and '"cuda":' in policy(renamed)


BAD = [
    ("a queue on workers", {"workers__taskQueue": "main"}, "nodeGroups.workers.taskQueue", "is for a group of its own"),
    ("a queue on system", {"system__taskQueue": "sys"}, "nodeGroups.system.taskQueue", "run no tasks"),
    (
        "the default queue",
        {"gpu": {**GPU_GROUP, "taskQueue": "default"}},
        "nodeGroups.gpu.taskQueue",
        "'default' is the queue of group workers",
    ),
    (
        "one queue twice",
        {"gpu": GPU_GROUP, "gpu2": GPU_GROUP},
        "nodeGroups.gpu2.taskQueue",
        "'gpu' is the queue of group gpu; one each",
    ),
    ("an untainted queue group", {"gpu": {**GPU_GROUP, "taints": []}}, "nodeGroups.gpu.taints", "needs a NO_SCHEDULE"),
    (
        "a queue group tainted PREFER_NO_SCHEDULE only",
        {"gpu": {**GPU_GROUP, "taints": [{**GPU_TAINT, "effect": "PREFER_NO_SCHEDULE"}]}},
        "nodeGroups.gpu.taints",
        "needs a NO_SCHEDULE",
    ),
    (
        "a GPU group without a queue",
        {"gpu": {**GPU_GROUP, "taskQueue": None}},
        "nodeGroups.gpu.taskQueue",
        "is required on a group of GPU types",
    ),
    (
        "GPU and other types",
        {"gpu": {**GPU_GROUP, "instanceTypes": ["g5.xlarge", "m6i.xlarge"]}},
        "nodeGroups.gpu.instanceTypes",
        "mixes NVIDIA GPU",
    ),
    (
        "a queue name Airflow would differ on",
        {"gpu": {**GPU_GROUP, "taskQueue": "GPU"}},
        "nodeGroups.gpu.taskQueue",
        "is not a queue name",
    ),
    ("a queue not a string", {"gpu": {**GPU_GROUP, "taskQueue": 7}}, "nodeGroups.gpu.taskQueue", "is not a string"),
]


@pytest.mark.parametrize(("changes", "key", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_task_queue_config_names_the_key_and_registers_nothing(
    changes: dict[str, Any], key: str, message: str
) -> None:
    groups = groups_with(**{k: v for k, v in changes.items() if "__" in k})
    for name, spec in changes.items():
        if "__" not in name:
            groups[name] = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"nodeGroups": groups})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError), f"{type(cause).__name__}: {cause}"
    assert cause.key == key
    assert message in str(cause)
    assert failure.value.registrations == []


def test_make_cost_counts_every_task_group_and_prices_the_gpu_nodes(queues: Plan) -> None:
    doc = report("queues", json.loads(json.dumps(queues.as_json())), "us-east-1", 8, date(2026, 12, 7))
    limits = {limit["name"]: limit for limit in doc["limits"]}
    # nodes: workers 60 + gpu 4 (one GPU a pod) + large 150; the pool holds them all (parallelism 214).
    assert limits["nodes"]["tasks"] == 214
    assert "queue group gpu: 4 worker nodes x 1 task pods (g4dn.xlarge, bound by gpus" in limits["nodes"]["detail"]
    assert "queue group large: 10 worker nodes x 15 task pods" in limits["nodes"]["detail"]
    assert limits["pool"]["tasks"] == 214  # default_pool holds every queue's tasks
    lines = {line["resource_type"]: line for line in doc["lines"]}
    gpu = lines["EC2 nodes: gpu (g4dn.xlarge/g5.xlarge, ON_DEMAND)"]
    # The dearer type, at its maximum of 4 nodes 8 hours a day when busy; none at idle (minSize 0).
    assert (gpu["count"], gpu["unit_price"], gpu["monthly_idle"], gpu["monthly_busy"]) == (
        0,
        1.006,
        0.0,
        979.1733,
    )  # 4 x 1.006 x 8 h x 730/24
