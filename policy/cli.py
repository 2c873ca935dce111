"""`python -m policy build/plan-<stack>.json`: the pack over an offline plan, then the AZ-loss table.

Prints each violation (policy, resource URN, what to change); a waived policy's violations are
printed as advisory with the stack's reason. Exits 1 when a mandatory policy is violated, 2 when
the plan cannot be read, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lib.az_loss import az_loss, render, tiers_down
from lib.sizing import assumptions_for, load_table, node_overhead, shape_of
from policy.model import Stack, Violation, load_plan
from policy.rules import POLICIES


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


def az_table(plan_path: Path) -> tuple[str, int]:
    """The AZ-loss table of the plan, and how many (zone, tier) pairs are down."""
    plan = json.loads(plan_path.read_text())
    shapes_table = load_table("instance-types.json")
    shapes = {t: shape_of(t, shapes_table) for t in shapes_table["instance_types"]}
    overhead = node_overhead(assumptions_for(plan["stack"], load_table("assumptions.json")))
    result = az_loss(plan, shapes, overhead)
    return render(result), len(tiers_down(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy", description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="+", type=Path, help="plan files written by `make plan`")
    args = parser.parse_args(argv)
    failed = False
    for path in args.plans:
        try:
            stack = load_plan(path)
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
        table, down = az_table(path)
        print(f"\nAZ-loss analysis of {stack.name}: {down} tier(s) down in some zone\n{table}\n")
        failed = failed or bool(mandatory)
    return 1 if failed else 0
