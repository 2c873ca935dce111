"""`python scripts/policy.py build/plan-<stack>.json`: the pack over an offline plan, then the AZ-loss table.

Prints each violation (policy, resource URN, what to change); a waived policy's violations are
printed as advisory with the stack's reason. Exits 1 when a mandatory policy is violated, 2 when
the plan cannot be read, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lib.cluster.sizing import assumptions_for, load_table, shape_of
from policy.airflow_eks_guardrails.model import Stack, Violation, plan_stack
from policy.airflow_eks_guardrails.rules import POLICIES
from reports.az_loss import Tier, az_loss, render, tiers_down
from reports.capacity import plan_overhead
from reports.plan_facts import RELEASE, node_groups, of_type


def evaluate(stack: Stack) -> tuple[list[Violation], list[tuple[Violation, str]]]:
    """(mandatory violations, waived violations with the stack's reason)."""
    mandatory, waived = [], []
    for policy in POLICIES:
        reason = stack.waivers.get(policy.name)
        for violation in policy.check(stack):
            if reason is None:
                mandatory.append(violation)
            else:
                waived.append((violation, reason))
    return mandatory, waived


Renderer = Callable[[Mapping[str, Any]], list[dict[str, Any]]]
"""A plan -> its Airflow chart rendered with the values of its release (scripts/policy.py runs Helm)."""


def airflow_release(plan: Mapping[str, Any]) -> Mapping[str, Any]:
    """The inputs of the plan's Airflow release (chart, version, values, name, namespace)."""
    return next(r["inputs"] for r in of_type(plan, RELEASE) if r["inputs"]["chart"] == "airflow")


def analyse(plan: Mapping[str, Any], objects: Sequence[Mapping[str, Any]]) -> dict[str, list[Tier]]:
    """The AZ-loss analysis of a plan, with the committed instance shapes, the DaemonSets of its
    add-ons and `objects`, its Airflow chart's render."""
    shapes_table = load_table("instance-types.json")
    shapes = {t: shape_of(t, shapes_table) for t in shapes_table["instance_types"]}
    overhead = plan_overhead(plan, assumptions_for(plan["stack"], load_table("assumptions.json")))
    return az_loss(plan, objects, shapes, overhead)


def main(render_chart: Renderer, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/policy.py", description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="+", type=Path, help="plan files written by `make plan`")
    args = parser.parse_args(argv)
    failed = False
    for path in args.plans:
        try:  # read once: the policies and the AZ-loss analysis share it
            plan = json.loads(path.read_text())
            stack = plan_stack(plan)
        except (OSError, ValueError, KeyError) as err:
            print(f"error: cannot read plan {path}: {err}", file=sys.stderr)
            return 2
        mandatory, waived = evaluate(stack)
        kind = "production" if stack.production else "not production"
        print(f"Stack {stack.name} ({kind}): {len(POLICIES)} policies over {len(stack.resources)} resources")
        for v in mandatory:
            print(f"  MANDATORY {v.policy}: {v.urn}\n    {v.message}")
        for v, reason in waived:
            print(f"  advisory  {v.policy} (waived: {reason}): {v.urn}\n    {v.message}")
        print(f"  {len(mandatory)} mandatory violation(s), {len(waived)} waived")
        if not node_groups(plan):  # asleep (`hibernate`): nothing runs, no zone to lose
            print(f"\nAZ-loss analysis of {stack.name}: asleep, no node group and no Airflow release\n")
            failed = failed or bool(mandatory)
            continue
        result = analyse(plan, render_chart(plan))
        down = len(tiers_down(result))
        print(f"\nAZ-loss analysis of {stack.name}: {down} tier(s) down in some zone\n{render(result)}\n")
        failed = failed or bool(mandatory)
    return 1 if failed else 0
