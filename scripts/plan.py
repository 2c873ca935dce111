"""Offline plan: what `pulumi up` would create for a stack, without credentials or a cloud.

Runs the program under mocks with the stack's real config, prints the resource tree (type,
name, parent) and the count per type, and writes `build/plan-<stack>.json`:
`{"project", "stack", "resources": [{"urn", "type", "name", "id", "custom", "parent",
"dependencies", "inputs", "protect"}], "outputs": {...}}`, with secrets shown as "[secret]".

    python scripts/plan.py [--stack dev] [--out build] [--quiet] [--config-dir config] [--project-file Pulumi.yaml]

Before the program runs, the stack's config goes through the Pulumi CLI's own rules (the project
schema, defaults, secret keys, declared types, required keys: offline/pulumi_cli.py); what the
CLI would refuse is refused with its message.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.errors import ConfigError  # noqa: E402
from offline.mocks import Plan, ProgramError, run_program  # noqa: E402
from offline.stack_config import CONFIG_DIR, available_stacks, stack_problems  # noqa: E402


def render_tree(plan: Plan) -> str:
    """The resources as an indented tree under their parents, then counts per type."""
    children: dict[str, list[int]] = {}
    urns = {r.urn for r in plan.resources}
    for i, reg in sorted(enumerate(plan.resources), key=lambda item: (item[1].type, item[1].name)):
        children.setdefault(reg.parent if reg.parent in urns else "", []).append(i)

    lines = [f"Stack {plan.project}/{plan.stack}: {len(plan.resources)} resources would be created"]

    def walk(parent: str, depth: int) -> None:
        for i in children.get(parent, []):
            reg = plan.resources[i]
            marks = (" [protected]" if reg.protect else "") + (" [kept on destroy]" if reg.retain_on_delete else "")
            lines.append(f"{'  ' * (depth + 1)}+ {reg.type}  {reg.name}{marks}")
            walk(reg.urn, depth + 1)

    walk("", 0)
    lines.append("")
    lines.append("Count per type:")
    for type_, count in sorted(plan.counts().items()):
        lines.append(f"  {count:4d}  {type_}")
    lines.append("")
    lines.append("Outputs:")
    shown = plan.as_json()["outputs"]
    for key in sorted(shown):
        lines.append(f"  {key}: {json.dumps(shown[key])}")
    return "\n".join(lines)


def write_plan(plan: Plan, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"plan-{plan.stack}.json"
    path.write_text(json.dumps(plan.as_json(), indent=2, sort_keys=False) + "\n")
    return path


def report_config_errors(stack: str, config_dir: Path, project_file: Path, first: ConfigError) -> None:
    """Every problem of the stack's config, each with its file, line and column (not only the
    first, which `pulumi up` would stop at)."""
    found = stack_problems(stack, config_dir, project_file) if (config_dir / f"Pulumi.{stack}.yaml").exists() else []
    if not found:
        found.append(("", first))  # an error only the whole program meets (zones read from the account)
    for where, error in found:
        print(f"error: {where}: {error}" if where else f"error: {error}", file=sys.stderr)
    if len(found) > 1:
        print(f"{len(found)} problems in the stack's config", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help=f"stack to plan: {', '.join(available_stacks())}")
    parser.add_argument("--out", default=str(ROOT / "build"), help="folder for plan-<stack>.json")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.add_argument("--config-dir", default=str(CONFIG_DIR), help="folder of the stack files (examples/stacks)")
    parser.add_argument("--project-file", default=str(ROOT / "Pulumi.yaml"), help="the project file")
    args = parser.parse_args(argv)
    config_dir, project_file = Path(args.config_dir), Path(args.project_file)
    try:
        plan = run_program(args.stack, config_dir=config_dir, project_file=project_file)
    except ConfigError as err:
        report_config_errors(args.stack, config_dir, project_file, err)
        return 2
    except ProgramError as err:
        if not isinstance(err.cause, ConfigError):
            print(f"error: {err.cause}", file=sys.stderr)
            return 1
        report_config_errors(args.stack, config_dir, project_file, err.cause)
        return 2
    path = write_plan(plan, Path(args.out))
    if not args.quiet:
        print(render_tree(plan))
    for token in sorted(set(plan.invokes)):
        print(f"note: `pulumi up` reads the account here ({token}); the plan shows fake answers", file=sys.stderr)
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"\nWrote {path} ({len(plan.resources)} resources, {len(plan.outputs)} outputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
