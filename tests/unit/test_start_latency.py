"""The modelled start of a task on a group at zero nodes, for each node autoscaler (`make cost`)."""

from __future__ import annotations

from lib.cluster.sizing import load_table
from lib.cluster.start_latency import NodeAutoscaler, Step, start_seconds, steps
from scripts.cost import render, start_from_zero

TABLE = load_table("start-latency.json")


def test_each_autoscaler_has_its_own_steps_then_the_common_ones() -> None:
    ca, karpenter = steps(TABLE, NodeAutoscaler.CLUSTER_AUTOSCALER), steps(TABLE, NodeAutoscaler.KARPENTER)
    assert [s.step for s in ca][:2] == [
        "the autoscaler sees the pending pod",
        "the Auto Scaling group launches the instance",
    ]
    assert [s.step for s in karpenter][:2] == [
        "Karpenter batches the pending pod",
        "Karpenter launches the instance (CreateFleet)",
    ]
    assert ca[2:] == karpenter[2:]  # boot and join, image pull, pod start: the same AMI and image
    assert [s.step for s in ca[2:]] == [
        "the instance boots and its node joins, Ready",
        "the task image is pulled",
        "the task pod starts and its task runs",
    ]


def test_every_step_says_whether_a_document_fixes_it_or_what_is_assumed() -> None:
    for autoscaler in NodeAutoscaler:
        for step in steps(TABLE, autoscaler):
            assert step.basis.startswith(("source: ", "assumption: ")) and len(step.basis) > 40, step
    assert steps(TABLE, NodeAutoscaler.CLUSTER_AUTOSCALER)[0].basis.startswith("source: Cluster Autoscaler FAQ")
    assert steps(TABLE, NodeAutoscaler.KARPENTER)[0].basis.startswith("source: Karpenter v1.14.1 reference/settings.md")


def test_the_totals_add_the_steps() -> None:
    assert start_seconds(TABLE, NodeAutoscaler.CLUSTER_AUTOSCALER) == 5 + 15 + 60 + 20 + 10
    assert start_seconds(TABLE, NodeAutoscaler.KARPENTER) == 1 + 3 + 60 + 20 + 10
    table = {
        "steps": {"clusterAutoscaler": [{"step": "a", "seconds": 2, "source": "s"}], "karpenter": [], "common": []}
    }
    assert steps(table, NodeAutoscaler.CLUSTER_AUTOSCALER) == [Step("a", 2.0, "source: s")]


def test_make_cost_prints_both_side_by_side() -> None:
    doc = {
        "stack": "dev",
        "region": "us-east-1",
        "date": "2026-12-07",
        "prices_as_of": "2026-12",
        "lines": [
            {
                "resource_type": "EKS control plane",
                "count": 1,
                "unit_price": 0.1,
                "monthly_idle": 73.0,
                "monthly_busy": 73.0,
                "monthly_hibernated": 73.0,
                "source": "https://aws.amazon.com/eks/pricing/",
            }
        ],
        "idle_monthly": 0.0,
        "busy_monthly": 0.0,
        "hibernated_monthly": 0.0,
        "busy_hours_per_day": 8,
        "not_priced": [],
        "start_from_zero": start_from_zero(TABLE),
        "node_autoscaler": "karpenter",
        "max_concurrent_tasks": 1,
        "binding_limit": "nodes",
        "limits": [],
        "node_daemonsets": {"pods": 0, "cpu_m": 0, "memory_mi": 0, "detail": ""},
        "one_scheduler_down": {"max_concurrent_tasks": 1, "binding_limit": "nodes", "limits": []},
        "one_zone_down": {"max_concurrent_tasks": 1, "binding_limit": "nodes", "limits": []},
    }
    text = render(doc)
    assert "  clusterAutoscaler   110 s = 5 the autoscaler sees the pending pod + 15 " in text
    assert "  karpenter            94 s = 1 Karpenter batches the pending pod + 3 " in text
    # The stack's own is marked, and named above them.
    (marked,) = [line for line in text.splitlines() if line.endswith("<- this stack's")]
    assert marked.startswith("  karpenter ")
    assert "this stack's node autoscaler: karpenter (nodeAutoscaler)" in text
