"""Task queues onto node groups, as plain data: the groups, the queue pods, the policy, the device plugin."""

from __future__ import annotations

import pytest

from lib.airflow.queues import local_settings, queue_pod, queue_pods
from lib.cluster.capacity import NodeOverhead, Shape, pods_per_node
from lib.cluster.helm_addons import NVIDIA_DEVICE_PLUGIN, nvidia_device_plugin_values
from lib.cluster.node_groups import InvalidField, NodeGroup, Taint, TaintEffect
from lib.cluster.scheduling import autoscaler_node_template_tags

RESOURCES = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
GPU_TAINT = Taint("airflow-eks/gpu", "true", TaintEffect.NO_SCHEDULE)
GPU = NodeGroup("gpu", ("g4dn.xlarge", "g5.xlarge"), 0, 0, 4, taints=(GPU_TAINT,), task_queue="gpu")
LARGE = NodeGroup(
    "large",
    ("m6i.4xlarge",),
    0,
    0,
    10,
    taints=(Taint("airflow-eks/large", "true", TaintEffect.NO_EXECUTE),),
    task_queue="large",
)
WORKERS = NodeGroup("workers", ("m6i.xlarge",), 1, 1, 5, taints=(Taint("w", "true", TaintEffect.NO_SCHEDULE),))


def test_a_gpu_group_takes_the_nvidia_ami_and_others_the_standard_one() -> None:
    assert GPU.gpu is True
    assert GPU.ami_type == "AL2023_x86_64_NVIDIA"
    assert LARGE.gpu is False
    assert LARGE.ami_type == "AL2023_x86_64_STANDARD"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"instance_types": ("g5.xlarge", "m6i.xlarge")}, "instance_types", "mixes NVIDIA GPU and other types"),
        ({"task_queue": ""}, "task_queue", "is required on a group of GPU types (g5.xlarge)"),
        ({"task_queue": "GPU"}, "task_queue", "'GPU' is not a queue name"),
        ({"task_queue": "gpu-"}, "task_queue", "'gpu-' is not a queue name"),
        ({"task_queue": "q" * 64}, "task_queue", "is not a queue name"),
    ],
)
def test_a_bad_task_group_names_its_field(fields: dict[str, object], field: str, message: str) -> None:
    args: dict[str, object] = {"instance_types": ("g5.xlarge",), "task_queue": "gpu"} | fields
    with pytest.raises(InvalidField) as failure:
        NodeGroup("gpu", min_size=0, desired_size=0, max_size=1, **args)  # type: ignore[arg-type]
    assert failure.value.field == field
    assert message in failure.value.message


def test_queue_names_airflow_accepts_within_the_format() -> None:
    for queue in ("a", "gpu", "gpu_large", "team-a-2", "q" * 63):
        assert NodeGroup("g", ("m6i.large",), 0, 0, 1, task_queue=queue).task_queue == queue


def test_a_gpu_queue_pod_adds_one_gpu_to_the_task_pods_resources_and_places_it_on_its_group() -> None:
    assert queue_pod(GPU, RESOURCES) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "nodeSelector": {"airflow-eks/node-group": "gpu"},
            "tolerations": [{"key": "airflow-eks/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "base",
                    "resources": {
                        "requests": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"},
                        "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
                    },
                }
            ],
        },
    }


def test_another_queue_pod_only_places_the_task() -> None:
    assert queue_pod(LARGE, RESOURCES) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "nodeSelector": {"airflow-eks/node-group": "large"},
            "tolerations": [{"key": "airflow-eks/large", "operator": "Equal", "value": "true", "effect": "NoExecute"}],
        },
    }


def test_queue_pods_cover_the_groups_with_a_queue_only() -> None:
    assert sorted(queue_pods((WORKERS, GPU, LARGE), RESOURCES)) == ["gpu", "large"]


def test_the_policy_source_compiles_and_carries_the_queues() -> None:
    source = local_settings(queue_pods((GPU, LARGE), RESOURCES))
    compile(source, "airflow_local_settings.py", "exec")
    assert "def task_policy(task):" in source
    assert "DEFAULT_QUEUE = 'default'" in source
    assert '"gpu":{"apiVersion":"v1"' in source
    assert "{{" not in source  # nothing the chart's `tpl` would read as an action


def test_the_policy_quotes_a_template_action_for_the_charts_tpl() -> None:
    source = local_settings({"q": {"spec": {"nodeSelector": {"k": "{{ x }}"}}}})
    assert '{{ "{{" }} x }}' in source


def test_the_device_plugin_runs_on_the_gpu_groups_only_tolerating_their_taints() -> None:
    other_gpu = NodeGroup(
        "gpu-big",
        ("p4d.24xlarge",),
        0,
        0,
        1,
        taints=(GPU_TAINT, Taint("big", "yes", TaintEffect.NO_EXECUTE)),
        task_queue="gpu-big",
    )
    values = nvidia_device_plugin_values((WORKERS, GPU, LARGE, other_gpu), {"nvcr.io": "mirror.example/nvcr"})
    assert values == {
        "fullnameOverride": "nvidia-device-plugin",
        "image": {"repository": "mirror.example/nvcr/nvidia/k8s-device-plugin", "tag": "v0.20.0"},
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "airflow-eks/node-group", "operator": "In", "values": ["gpu", "gpu-big"]}
                            ]
                        }
                    ]
                }
            }
        },
        "tolerations": [
            {"key": "airflow-eks/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
            {"key": "big", "operator": "Equal", "value": "yes", "effect": "NoExecute"},
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}},
    }
    assert NVIDIA_DEVICE_PLUGIN.version == "0.20.0"
    with pytest.raises(ValueError, match="only with a GPU node group"):
        nvidia_device_plugin_values((WORKERS, LARGE))


def test_a_gpu_group_scales_from_zero_on_its_label_and_taint_tags() -> None:
    assert autoscaler_node_template_tags(GPU) == {
        "k8s.io/cluster-autoscaler/node-template/label/airflow-eks/node-group": "gpu",
        "k8s.io/cluster-autoscaler/node-template/taint/airflow-eks/gpu": "true:NoSchedule",
    }


def test_a_gpu_node_holds_as_many_gpu_tasks_as_it_has_gpus() -> None:
    none = NodeOverhead(0, 0, 0, 0.0, 0)
    g4dn = Shape(vcpu=4, memory_gib=16, enis=3, ipv4_per_eni=10, gpus=1)
    assert pods_per_node(g4dn, 500, 1024, none) == (7, "cpu")  # no GPU asked: 3920m / 500m
    assert pods_per_node(g4dn, 500, 1024, none, gpus=1) == (1, "gpus")
    assert pods_per_node(Shape(4, 16, 3, 10), 500, 1024, none, gpus=1) == (0, "gpus")
