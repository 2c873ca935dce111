"""Choosing where a task runs: its queue, or its own pod override (docs/task-queues.md).

For a stack with a GPU task group, as examples/stacks/Pulumi.queues.yaml declares:

    nodeGroups:
      gpu: {instanceTypes: [g4dn.xlarge], minSize: 0, ..., taskQueue: gpu,
            taints: [{key: airflow-eks/gpu, value: "true", effect: NO_SCHEDULE}]}

- `prepare` has no queue: Airflow's default queue, whose pods run on the `workers` group (the
  pod template);
- `train` says `queue="gpu"`: the stack's cluster policy (airflow_local_settings.py, written by
  lib/airflow/queues.py) gives it the `gpu` group's node selector and tolerations and one
  `nvidia.com/gpu` when the DAG processor parses this file;
- `report` places itself with the KubernetesExecutor's own `pod_override`, without a queue: the
  fields it sets replace the pod template's (nodeSelector, tolerations, the container's resources
  whole). A task may also combine both: its override is merged over its queue's.

A queue no group runs (`queue="gpus"`) is a DAG import error that lists the queues.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task
from kubernetes.client import models as k8s

BIG_TASK = k8s.V1Pod(
    spec=k8s.V1PodSpec(
        containers=[
            k8s.V1Container(
                name="base",  # the executor merges into the template's container of that name
                resources=k8s.V1ResourceRequirements(
                    requests={"cpu": "2", "memory": "8Gi"}, limits={"cpu": "2", "memory": "8Gi"}
                ),
            )
        ],
    )
)

with DAG(dag_id="task_queues", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["example"]):

    @task
    def prepare() -> str:
        return "s3://bucket/features/"

    @task(queue="gpu")
    def train(features: str) -> str:
        import os

        # The device plugin exposes the pod's GPU to the container (NVIDIA_VISIBLE_DEVICES).
        return f"trained on {features} with GPU {os.environ.get('NVIDIA_VISIBLE_DEVICES', 'none')}"

    @task(executor_config={"pod_override": BIG_TASK})
    def report(model: str) -> None:
        print(model)

    report(train(prepare()))
