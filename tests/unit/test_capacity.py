"""The capacity model's arithmetic on small cases worked by hand (lib/cluster/capacity.py)."""

from __future__ import annotations

from typing import Any

import pytest

from lib.cluster.capacity import (
    Addresses,
    Airflow,
    Limit,
    NodeOverhead,
    Shape,
    Timing,
    Workers,
    allocatable,
    binding_limit,
    node_limit,
    pods_per_node,
    reserved_cpu_m,
    reserved_memory_mi,
    task_limits,
)

M6I_XLARGE = Shape(vcpu=4, memory_gib=16, enis=4, ipv4_per_eni=15)
NO_OVERHEAD = NodeOverhead(0, 0, 0, 0.0, 0)


def test_vpc_cni_pods_and_addresses_per_node() -> None:
    assert M6I_XLARGE.max_pods == 4 * 14 + 2 == 58
    assert Shape(2, 4, 3, 6).max_pods == 17  # t3.medium, as the EKS AMI's eni-max-pods lists it
    assert M6I_XLARGE.addresses == 60


@pytest.mark.parametrize(("vcpu", "reserved"), [(1, 60), (2, 70), (4, 80), (8, 90), (16, 110), (48, 190)])
def test_kubelet_cpu_reservation(vcpu: int, reserved: int) -> None:
    # 60 for the first core, 10 for the second, 5 each for the next two, 2.5 each above four.
    assert reserved_cpu_m(vcpu) == reserved


def test_kubelet_memory_reservation_and_allocatable() -> None:
    assert reserved_memory_mi(58) == 11 * 58 + 255 == 893
    overhead = NodeOverhead(
        daemonset_pods=3, daemonset_cpu_m=250, daemonset_memory_mi=256, os_memory_overhead=0.075, eviction_memory_mi=100
    )
    cpu, memory = allocatable(M6I_XLARGE, overhead)
    assert cpu == 4000 - 80 - 250 == 3670
    assert memory == 15155 - 893 - 100 - 256 == 13906  # floor(16384 * 0.925) = 15155


def test_pods_per_node_names_the_resource_that_runs_out() -> None:
    assert pods_per_node(M6I_XLARGE, 1000, 2048, NO_OVERHEAD) == (3, "cpu")  # 3920m / 1000m
    assert pods_per_node(M6I_XLARGE, 100, 4096, NO_OVERHEAD) == (3, "memory")  # 15491Mi / 4096Mi
    assert pods_per_node(M6I_XLARGE, 10, 16, NO_OVERHEAD) == (58, "pods")


def _limits(addresses: Addresses, **airflow: Any) -> dict[str, int]:
    workers = Workers({"m6i.xlarge": M6I_XLARGE}, max_nodes=10, task_cpu_m=1000, task_memory_mi=2048)
    settings = {
        "schedulers": 2,
        "parallelism": 32,
        "pool_slots": 128,
        "batch_size": 4,
        "api_servers": 2,
        "api_workers": 4,
        "sqlalchemy_connections": 15,
        "pgbouncer_server_connections": 100,
    } | airflow
    timing = Timing(heartbeat_seconds=5, api_request_seconds=0.05, scheduler_loop_seconds=2, mean_task_minutes=1)
    return {m.name: m.tasks for m in task_limits(workers, Airflow(**settings), timing, addresses, NO_OVERHEAD)}


def test_every_limit_by_hand() -> None:
    limits = _limits(Addresses(free=1000, other_nodes=4, other_node_addresses=30))
    assert limits == {
        "nodes": 10 * 3,  # 3 one-CPU pods per m6i.xlarge
        "pool": 2 * 32,  # below the pool's 128 slots
        "pod creation": 2 * 4 // 2 * 60,  # 4 pods/s for a minute
        "api server": 2 * 4 * 15 * 100,  # 120 sessions, 100 heartbeats a session (5 s / 0.05 s)
        "database connections": 100 * 100,  # PgBouncer's 100 server connections
        "subnet addresses": (1000 - 4 * 30) // 60 * 3,  # 14 worker nodes of 60 addresses
    }


def test_the_binding_limit_is_the_smallest_and_pgbouncer_absent_lifts_its_cap() -> None:
    few_addresses = _limits(Addresses(free=200, other_nodes=0, other_node_addresses=0))
    assert few_addresses["subnet addresses"] == 3 * 3
    assert "database connections" not in _limits(Addresses(None, 0, 0), pgbouncer_server_connections=None)
    assert "subnet addresses" not in _limits(Addresses(None, 0, 0))


def test_the_pool_caps_what_the_schedulers_admit() -> None:
    addresses = Addresses(None, 0, 0)
    assert _limits(addresses, parallelism=600, pool_slots=30)["pool"] == 30  # one scheduler's 600, 30 slots
    assert _limits(addresses, schedulers=1, parallelism=30, pool_slots=30)["pool"] == 30  # one scheduler down


def test_the_nodes_limit_alone_is_what_the_program_sizes_airflow_with() -> None:
    workers = Workers({"m6i.xlarge": M6I_XLARGE}, max_nodes=10, task_cpu_m=1000, task_memory_mi=2048)
    assert node_limit(workers, NO_OVERHEAD) == Limit(
        "nodes", 30, "10 worker nodes x 3 task pods (m6i.xlarge, bound by cpu; task pod requests 1000m CPU / 2048Mi)"
    )


def test_binding_limit() -> None:
    assert binding_limit([Limit("a", 5, ""), Limit("b", 3, ""), Limit("c", 3, "")]).name == "b"
