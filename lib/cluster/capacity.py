"""How many task pods a stack runs at once, and which limit binds: plain arithmetic.

Each limit is a number of concurrent task pods; the smallest binds. Inputs are plain numbers
(`reports/plan_facts.py` reads them from a plan, `sizing/` holds the assumptions):

- nodes:       worker nodes at their maximum x task pods per node. Pods per node is the least,
               over the group's instance types, of allocatable CPU / the pod's CPU request,
               allocatable memory / its memory request, and the VPC CNI's pod limit
               (interfaces x (addresses - 1) + 2), each after the DaemonSets every node runs
               (lib/cluster/daemonsets.py: every add-on's, at its pinned version).
               Allocatable follows the EKS AL2023 AMIs' kubelet reservations, as nodeadm
               computes them (awslabs/amazon-eks-ami, nodeadm/internal/kubelet/config.go
               `getCPUMillicoresToReserve` and `getMemoryMebibytesToReserve`, and
               eni_max_pods.go `CalcMaxPods`, read at commit 81fec2e8 of 2026-07-23): CPU 6% of
               the first core, 1% of the second, 0.5% of the next two and 0.25% of the rest;
               memory 11 MiB per pod of max pods + 255 MiB; max pods the VPC CNI's formula
               (no custom `maxPodsExpression`, no prefix delegation); plus the hard eviction
               threshold (`memory.available` 100Mi, config.go) and the OS's share.
- pool:        Airflow's `default_pool` slots (every task runs in it), and at most schedulers x
               [core] parallelism (a limit per scheduler); the program sets both to the nodes'
               limit (`node_limit`), so one scheduler alone still fills the pool.
- creation:    the KubernetesExecutor starts at most batch size pods per scheduler loop, so
               at most schedulers x batch / loop seconds a second; with a mean task length
               that holds rate x length pods at once (Little's law).
- api server:  in Airflow 3 a task pod talks only to the API server's execution API, a
               heartbeat every few seconds, each on a database session of an API process:
               sessions = API pods x workers x SQLAlchemy pool; tasks = sessions x heartbeat
               interval / request time.
- database connections: the same requests reach the database through PgBouncer, whose server
               connections are sized within RDS's `max_connections` of the instance class
               (lib/database/pgbouncer/pools.py); tasks = connections x heartbeat / request time.
- addresses:   each worker node may hold every address of its interfaces (the VPC CNI keeps
               a warm interface), taken from the node subnets after the other groups' nodes
               at their maximum; tasks = worker nodes that fit x pods per node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """An EC2 instance type as the capacity model sees it."""

    vcpu: int
    memory_gib: int
    enis: int
    ipv4_per_eni: int
    gpus: int = 0
    """NVIDIA GPUs (a task pod of a GPU queue takes one)."""

    @property
    def max_pods(self) -> int:
        """The VPC CNI's limit without prefix delegation (the EKS AMIs' eni-max-pods)."""
        return self.enis * (self.ipv4_per_eni - 1) + 2

    @property
    def addresses(self) -> int:
        """Addresses a node holds at most: every interface attached and filled."""
        return self.enis * self.ipv4_per_eni


@dataclass(frozen=True)
class NodeOverhead:
    """What a node keeps from pods besides the kubelet's reservations."""

    daemonset_pods: int
    daemonset_cpu_m: int
    daemonset_memory_mi: int
    os_memory_overhead: float
    eviction_memory_mi: int
    daemonsets: str = ""
    """Which DaemonSets the pods, CPU and memory are, for the report."""


def reserved_cpu_m(vcpu: int) -> int:
    """kube-reserved CPU of the EKS AL2023 AMIs, in millicores: nodeadm's
    `getCPUMillicoresToReserve`, each range's share in hundredths of a percent, rounded down per range."""
    total = vcpu * 1000
    bounds = (0, 1000, 2000, 4000, total)
    shares = (600, 100, 50, 25)  # 6%, 1%, 0.5%, 0.25%
    return sum(
        (min(total, bounds[i + 1]) - bounds[i]) * share // 10000 for i, share in enumerate(shares) if total > bounds[i]
    )


def reserved_memory_mi(max_pods: int) -> int:
    """The kubelet's memory reservation of the EKS AMIs: 11 MiB per pod + 255 MiB."""
    return 11 * max_pods + 255


def allocatable(shape: Shape, overhead: NodeOverhead) -> tuple[int, int]:
    """CPU (millicores) and memory (MiB) left to pods other than the DaemonSets'."""
    cpu = shape.vcpu * 1000 - reserved_cpu_m(shape.vcpu) - overhead.daemonset_cpu_m
    memory = math.floor(shape.memory_gib * 1024 * (1 - overhead.os_memory_overhead))
    memory -= reserved_memory_mi(shape.max_pods) + overhead.eviction_memory_mi + overhead.daemonset_memory_mi
    return cpu, memory


def pods_per_node(shape: Shape, cpu_m: int, memory_mi: int, overhead: NodeOverhead, gpus: int = 0) -> tuple[int, str]:
    """Task pods one node holds, and what stops the next one (cpu, memory, pods or gpus: a pod
    asking `gpus` GPUs)."""
    cpu, memory = allocatable(shape, overhead)
    by = {
        "cpu": max(cpu, 0) // cpu_m,
        "memory": max(memory, 0) // memory_mi,
        "pods": max(shape.max_pods - overhead.daemonset_pods, 0),
    }
    if gpus:
        by["gpus"] = shape.gpus // gpus
    reason = min(by, key=lambda k: by[k])
    return by[reason], reason


@dataclass(frozen=True)
class Workers:
    """The task pods' node group and pod size."""

    shapes: dict[str, Shape]
    """Instance type -> shape; the autoscaler may launch any of them."""
    max_nodes: int
    task_cpu_m: int
    task_memory_mi: int
    task_gpus: int = 0
    """GPUs a task pod asks (a GPU queue's: lib/airflow/queues.py)."""


@dataclass(frozen=True)
class Airflow:
    """Airflow's own limits."""

    schedulers: int
    parallelism: int
    pool_slots: int
    """`default_pool`'s slots."""
    batch_size: int
    api_servers: int
    api_workers: int
    sqlalchemy_connections: int
    pgbouncer_server_connections: int | None
    """Connections PgBouncer opens to the database; None without PgBouncer."""


@dataclass(frozen=True)
class Timing:
    heartbeat_seconds: float
    api_request_seconds: float
    scheduler_loop_seconds: float
    mean_task_minutes: float


@dataclass(frozen=True)
class Addresses:
    """Node subnet addresses; `free` is None when the subnets are not the stack's (unknown size)."""

    free: int | None
    """Usable addresses of the node subnets (size - AWS's 5 each)."""
    other_nodes: int
    """Nodes of the other groups at their maximum."""
    other_node_addresses: int
    """Addresses each of those holds at most."""


@dataclass(frozen=True)
class Limit:
    name: str
    tasks: int
    detail: str


def _fewest_pods(workers: Workers, overhead: NodeOverhead) -> tuple[str, int, str]:
    """The instance type holding the fewest task pods, how many, and what binds."""
    per_node = {
        t: pods_per_node(s, workers.task_cpu_m, workers.task_memory_mi, overhead, workers.task_gpus)
        for t, s in workers.shapes.items()
    }
    smallest = min(per_node, key=lambda t: per_node[t][0])
    return smallest, *per_node[smallest]


def node_limit(workers: Workers, overhead: NodeOverhead) -> Limit:
    """Worker nodes at their maximum x task pods per node (the instance type holding fewest)."""
    smallest, pods, reason = _fewest_pods(workers, overhead)
    return Limit(
        "nodes",
        workers.max_nodes * pods,
        f"{workers.max_nodes} worker nodes x {pods} task pods ({smallest}, bound by {reason}; "
        f"task pod requests {workers.task_cpu_m}m CPU / {workers.task_memory_mi}Mi)",
    )


def task_limits(
    workers: Workers, airflow: Airflow, timing: Timing, addresses: Addresses, overhead: NodeOverhead
) -> list[Limit]:
    """Every limit on concurrent task pods, in a fixed order."""
    _, pods, _ = _fewest_pods(workers, overhead)
    limits = [
        node_limit(workers, overhead),
        Limit(
            "pool",
            min(airflow.pool_slots, airflow.schedulers * airflow.parallelism),
            f"default_pool {airflow.pool_slots} slots; {airflow.schedulers} schedulers x [core] parallelism "
            f"{airflow.parallelism}",
        ),
    ]
    rate = airflow.schedulers * airflow.batch_size / timing.scheduler_loop_seconds
    limits.append(
        Limit(
            "pod creation",
            math.floor(rate * timing.mean_task_minutes * 60),
            f"{rate:g} pods/s ({airflow.schedulers} schedulers x batch {airflow.batch_size} per "
            f"{timing.scheduler_loop_seconds:g} s loop) x {timing.mean_task_minutes:g} min mean task",
        )
    )
    sessions = airflow.api_servers * airflow.api_workers * airflow.sqlalchemy_connections
    per_session = timing.heartbeat_seconds / timing.api_request_seconds
    limits.append(
        Limit(
            "api server",
            math.floor(sessions * per_session),
            f"{sessions} database sessions ({airflow.api_servers} API pods x {airflow.api_workers} workers x "
            f"{airflow.sqlalchemy_connections}) x {timing.heartbeat_seconds:g} s heartbeat / "
            f"{timing.api_request_seconds:g} s a request",
        )
    )
    if airflow.pgbouncer_server_connections is not None:
        limits.append(
            Limit(
                "database connections",
                math.floor(airflow.pgbouncer_server_connections * per_session),
                f"PgBouncer's {airflow.pgbouncer_server_connections} server connections (within RDS "
                f"max_connections) x {timing.heartbeat_seconds:g} s heartbeat / {timing.api_request_seconds:g} s "
                "a request",
            )
        )
    if addresses.free is not None:
        per_worker = max(s.addresses for s in workers.shapes.values())
        left = addresses.free - addresses.other_nodes * addresses.other_node_addresses
        nodes = max(left, 0) // per_worker
        limits.append(
            Limit(
                "subnet addresses",
                nodes * pods,
                f"{addresses.free} node subnet addresses - {addresses.other_nodes} other nodes x "
                f"{addresses.other_node_addresses} = {left}, {nodes} worker nodes of {per_worker} addresses",
            )
        )
    return limits


def binding_limit(limits: list[Limit]) -> Limit:
    """The limit that binds: the fewest tasks (the first of equals)."""
    return min(limits, key=lambda limit: limit.tasks)


def next_limit(limits: list[Limit]) -> Limit | None:
    """The limit that would bind once the binding one is lifted (None with a single limit)."""
    ranked = sorted(limits, key=lambda limit: limit.tasks)  # stable: the first of equals binds
    return ranked[1] if len(ranked) > 1 else None
