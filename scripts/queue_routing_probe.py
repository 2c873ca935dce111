"""Task queues through the real Airflow: run in Airflow's virtualenv (.venv-airflow) by `make integration`.

Given the files the chart renders for examples/stacks/Pulumi.queues.yaml
(scripts/rendered_queue_files.py): `airflow_local_settings.py` goes where the chart mounts it
($AIRFLOW_HOME/config, on Airflow's path), then Airflow 3.3.2's own DagBag parses
examples/dags/task_queues.py (the DAG processor's parse: cluster policies applied), each DAG is
serialized and read back as the scheduler reads it, and the cncf.kubernetes provider's
`PodGenerator.construct_pod` builds each task's pod from the rendered `pod_template_file.yaml` and
the task's `executor_config`, as the KubernetesExecutor does. Asserts, per task, the pod's node
selector, tolerations and resources; and that a DAG with a queue no group runs fails to import,
naming the queues. Exits 1 with the first difference.

    .venv-airflow/bin/python scripts/queue_routing_probe.py RENDERED_DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = ROOT / "examples" / "dags" / "task_queues.py"
GROUP_LABEL = "airflow-eks/node-group"
GPU = "nvidia.com/gpu"
MISSPELT = """
from datetime import datetime
from airflow.sdk import DAG, task
with DAG(dag_id="misspelt_queue", schedule=None, start_date=datetime(2026, 1, 1)):
    @task(queue="gpus")
    def train() -> None: ...
    train()
"""


def check(what: str, got: object, expected: object) -> None:
    if got != expected:
        raise SystemExit(f"{what}: {got!r}, expected {expected!r}")
    print(f"ok: {what} = {got!r}")


def main(rendered: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="queues-"))
    (home / "config").mkdir()
    shutil.copy(rendered / "airflow_local_settings.py", home / "config" / "airflow_local_settings.py")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    (dags / "misspelt_queue.py").write_text(MISSPELT)
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    )
    # Imported only now: Airflow reads AIRFLOW_HOME and loads airflow_local_settings at import.
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(dags))
    errors = {Path(path).name: text for path, text in bag.import_errors.items()}
    check("DAG files that failed to import", sorted(errors), ["misspelt_queue.py"])
    if "queue 'gpus' has no node group; queues: default, gpu, large" not in errors["misspelt_queue.py"]:
        raise SystemExit(f"the misspelt queue's import error does not name the queues: {errors['misspelt_queue.py']}")
    print("ok: queue 'gpus' refused, the error naming the queues default, gpu, large")

    dag = DagSerialization.from_dict(DagSerialization.to_dict(bag.dags["task_queues"]))
    template = PodGenerator.deserialize_model_file(str(rendered / "pod_template_file.yaml"))
    pods = {}
    for task_id in ("prepare", "train", "report"):
        task = dag.get_task(task_id)
        override = (task.executor_config or {}).get("pod_override")
        pods[task_id] = PodGenerator.construct_pod(
            dag_id=dag.dag_id,
            task_id=task_id,
            pod_id=f"task-queues-{task_id}",
            try_number=1,
            kube_image="apache/airflow:3.3.2",
            date=None,
            args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
            pod_override_object=override,
            # A copy each: construct_pod merges into it.
            base_worker_pod=PodGenerator.deserialize_model_file(str(rendered / "pod_template_file.yaml")),
            namespace="airflow",
            scheduler_job_id="1",
            run_id="manual",
        )
    workers = template.spec.node_selector
    check("prepare (default queue): node selector", pods["prepare"].spec.node_selector, workers)
    check("report (its own pod_override): node selector", pods["report"].spec.node_selector, workers)
    report = pods["report"].spec.containers[0].resources
    check("report: requests", report.requests, {"cpu": "2", "memory": "8Gi"})
    train = pods["train"].spec
    check("train (queue gpu): node selector", train.node_selector, {GROUP_LABEL: "gpu"})
    check(
        "train: tolerations",
        [(t.key, t.operator, t.value, t.effect) for t in train.tolerations],
        [("airflow-eks/gpu", "Equal", "true", "NoSchedule")],
    )
    resources = train.containers[0].resources
    check("train: GPU limit", resources.limits.get(GPU), "1")
    check("train: GPU request", resources.requests.get(GPU), "1")
    base = template.spec.containers[0].resources
    check("train: CPU and memory as the template's", {k: resources.limits[k] for k in base.limits}, base.limits)
    check("train: container", train.containers[0].name, "base")
    # What the template gives every task pod stays: its volumes and service account.
    check("train: volumes", sorted(v.name for v in train.volumes), sorted(v.name for v in template.spec.volumes))
    check("train: service account", train.service_account_name, template.spec.service_account_name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rendered", type=Path, help="the folder scripts/rendered_queue_files.py wrote")
    main(parser.parse_args().rendered)
