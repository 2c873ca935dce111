"""Estimated monthly cost and task capacity of a stack, from its offline plan.

Reads `build/plan-<stack>.json` (`make plan`), prices it with `sizing/aws-prices.json` and
the usage in `sizing/assumptions.json`, runs the capacity model (lib/cluster/capacity.py), prints both
and writes `build/cost-<stack>.json`. Estimates from public list prices, not a quote or a bill.

    python scripts/cost.py [--stack dev] [--busy-hours 8] [--plan build/plan-dev.json] [--date 2027-04-01]

The control plane is priced at the rate its Kubernetes version's support has on the day (`--date`,
default today, UTC): extended support past the end of standard support (lib/cluster/versions.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.cluster.capacity import Limit, binding_limit  # noqa: E402
from lib.cluster.sizing import assumptions_for, load_table  # noqa: E402
from lib.cluster.start_latency import NodeAutoscaler, start_seconds, steps  # noqa: E402
from lib.cluster.versions import utc_today  # noqa: E402
from offline.stack_config import resolve_stack_config  # noqa: E402
from reports.capacity import capacity  # noqa: E402
from reports.cost import MissingPrice, PriceTable, estimate  # noqa: E402
from reports.plan_facts import NODE_POOL, of_type  # noqa: E402


def report(
    stack: str, plan: dict[str, Any], region: str, busy_hours: float, today: date | None = None
) -> dict[str, Any]:
    """The `build/cost-<stack>.json` document, priced on `today` (default the current day, UTC)."""
    assumed = assumptions_for(stack, load_table("assumptions.json"))
    prices = PriceTable(load_table("aws-prices.json"), region)
    day = today or utc_today()
    cost = estimate(plan, prices, assumed.usage, busy_hours, day)
    model = capacity(plan, load_table("instance-types.json"), assumed)
    return {
        "stack": stack,
        "region": region,
        "date": day.isoformat(),
        "currency": "USD",
        "busy_hours_per_day": busy_hours,
        "idle_monthly": cost.total("idle"),
        "busy_monthly": cost.total("busy"),
        "hibernated_monthly": cost.total("hibernated"),
        "prices_as_of": prices.as_of,
        "max_concurrent_tasks": model.max_concurrent_tasks,
        "binding_limit": model.binding.name,
        "next_limit": model.next.name if model.next else None,
        "limits": _limits(model.limits),
        "node_daemonsets": {
            "pods": model.overhead.daemonset_pods,
            "cpu_m": model.overhead.daemonset_cpu_m,
            "memory_mi": model.overhead.daemonset_memory_mi,
            "detail": model.overhead.daemonsets,
        },
        "one_scheduler_down": _scenario(model.scheduler_down),
        "one_zone_down": _scenario(model.zone_down),
        "lines": [line.as_json() for line in cost.lines],
        "not_priced": [{"resource_type": t, "what": what} for t, what in cost.not_priced],
        "node_autoscaler": node_autoscaler(plan).value,
        "start_from_zero": start_from_zero(load_table("start-latency.json")),
    }


def _limits(limits: list[Limit]) -> list[dict[str, Any]]:
    return [{"name": m.name, "tasks": m.tasks, "detail": m.detail} for m in limits]


def _scenario(limits: list[Limit]) -> dict[str, Any]:
    """The capacity when something is lost: its binding limit and every limit."""
    binding = binding_limit(limits)
    return {"max_concurrent_tasks": binding.tasks, "binding_limit": binding.name, "limits": _limits(limits)}


def node_autoscaler(plan: dict[str, Any]) -> NodeAutoscaler:
    """Karpenter when the plan has its NodePools (`nodeAutoscaler: karpenter`), else the Cluster Autoscaler."""
    pools = of_type(plan, NODE_POOL)
    return NodeAutoscaler.KARPENTER if pools else NodeAutoscaler.CLUSTER_AUTOSCALER


def start_from_zero(table: dict[str, Any]) -> list[dict[str, Any]]:
    """A task's start on a group at zero nodes, modelled for each node autoscaler (lib/cluster/start_latency.py)."""
    return [
        {
            "autoscaler": a.value,
            "seconds": start_seconds(table, a),
            "steps": [{"step": s.step, "seconds": s.seconds, "basis": s.basis} for s in steps(table, a)],
        }
        for a in NodeAutoscaler
    ]


def render(doc: dict[str, Any]) -> str:
    """The estimate as a person reads it: a line per priced item with idle, busy and asleep figures and
    the number of its source (listed under the totals), the gaps, then the capacity chain."""
    sources: dict[str, int] = {}
    for line in doc["lines"]:
        sources.setdefault(line["source"], len(sources) + 1)
    width = min(72, max((len(line["resource_type"]) for line in doc["lines"]), default=len("resource")))
    figures = f"{'count':>9} {'unit $':>9} {'idle $/mo':>10} {'busy $/mo':>10} {'asleep $/mo':>11}"
    out = [
        f"Estimated monthly cost of stack {doc['stack']}: {doc['region']} list prices in USD "
        f"(sizing/aws-prices.json, figures dated to {doc['prices_as_of']}), priced on {doc['date']}",
        f"{'resource':{width}} {figures}  src",
    ]
    rule = "-" * (width + len(figures) + 6)
    out.append(rule)
    for line in doc["lines"]:
        label = line["resource_type"]
        label = label if len(label) <= width else label[: width - 1] + "~"
        out.append(
            f"{label:{width}} {line['count']:>9.6g} {line['unit_price']:>9.4f} {line['monthly_idle']:>10.2f} "
            f"{line['monthly_busy']:>10.2f} {line['monthly_hibernated']:>11.2f}  [{sources[line['source']]}]"
        )
    out.append(rule)
    out.append(
        f"{'total':{width}} {'':>9} {'':>9} {doc['idle_monthly']:>10.2f} {doc['busy_monthly']:>10.2f} "
        f"{doc['hibernated_monthly']:>11.2f}"
    )
    out.append(
        f"idle: every node group at its desired size, task groups at their minimum, no task running; busy: task "
        f"groups at their maximum {doc['busy_hours_per_day']:g} hours a day; asleep: a month with `hibernate: true`"
    )
    out.append("")
    out.append("Sources (volumes: sizing/assumptions.json, each with its reason):")
    out += [f" [{n}] {source}" for source, n in sources.items()]
    # Known gaps of the model, declared `unpriced` or `not_priced` in sizing/aws-prices.json: not in the totals.
    for gap in doc["not_priced"]:
        out.append(f"not priced: {gap['resource_type']}: {gap['what']}")
    out.append("")
    out.append(
        f"Task start on a group at zero nodes (modelled; sizing/start-latency.json gives each figure's basis); "
        f"this stack's node autoscaler: {doc['node_autoscaler']} (nodeAutoscaler)"
    )
    for model in doc["start_from_zero"]:
        parts = " + ".join(f"{s['seconds']:g} {s['step']}" for s in model["steps"])
        used = "  <- this stack's" if model["autoscaler"] == doc["node_autoscaler"] else ""
        out.append(f"  {model['autoscaler']:17} {model['seconds']:>5g} s = {parts}{used}")
    out.append("")
    out.append(
        f"Capacity chain (task pods at once, the least of these): {doc['max_concurrent_tasks']}, "
        f"bound by {doc['binding_limit']}" + (f" (next: {doc['next_limit']})" if doc.get("next_limit") else "")
    )
    for limit in doc["limits"]:
        mark = "*" if limit["name"] == doc["binding_limit"] else "+" if limit["name"] == doc.get("next_limit") else " "
        out.append(f" {mark} {limit['name']:20} {limit['tasks']:>7}  {limit['detail']}")
    ds = doc["node_daemonsets"]
    out.append(f"   every node's DaemonSets: {ds['pods']} pods, {ds['cpu_m']}m / {ds['memory_mi']}Mi ({ds['detail']})")
    for key, label in (("one_scheduler_down", "one scheduler down"), ("one_zone_down", "one zone down")):
        lost = doc[key]
        out.append(f"   with {label}: {lost['max_concurrent_tasks']} task pods, bound by {lost['binding_limit']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--plan", help="plan file (default build/plan-<stack>.json)")
    parser.add_argument("--busy-hours", type=float, default=8.0, help="hours a day the task groups run at maximum")
    parser.add_argument("--out", default=str(ROOT / "build"), help="folder for cost-<stack>.json")
    parser.add_argument("--date", type=date.fromisoformat, help="price on this day, YYYY-MM-DD (default today, UTC)")
    args = parser.parse_args(argv)
    plan_path = Path(args.plan or ROOT / "build" / f"plan-{args.stack}.json")
    if not plan_path.exists():
        print(f"error: {plan_path} does not exist; run `make plan STACK={args.stack}` first", file=sys.stderr)
        return 2
    _, region = resolve_stack_config(args.stack)
    try:
        doc = report(args.stack, json.loads(plan_path.read_text()), region, args.busy_hours, args.date)
    except (MissingPrice, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"cost-{args.stack}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(render(doc))
    print(f"\nWrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
