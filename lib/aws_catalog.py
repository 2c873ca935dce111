"""AWS's own lists, read from data the provider SDK already ships, never written by hand.

EC2 instance types: the `InstanceType` enum of the installed pulumi-aws SDK
(`pulumi_aws/ec2/_enums.py`), generated from the provider's schema. pulumi-aws 7.51 lists 1,405
types in 206 families, current ones included (m6i.2xlarge, m7i, m8g, r7g, c8i, m9g...), so it is
complete enough to refuse a shape that only looks right (`m6i.huge`); a type AWS adds later is
accepted once the pinned provider is upgraded (requirements.txt), which is a reviewed change anyway.
The file is read as data (its string constants, by `ast`), not imported: this package stays free
of Pulumi, and importing the SDK would cost the loader a third of a second.

RDS classes are not read from the SDK: its `rds.InstanceType` enum (79 members in 7.51) stops at
db.m6g/db.r6g and lacks db.m6i, db.r6i, db.m7g, db.r7g, db.r8g..., so it would refuse current
classes; `lib.database.postgres` keeps the families it can size PgBouncer's pools for instead.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
from functools import cache
from pathlib import Path

SDK_PACKAGE = "pulumi_aws"


def _enum_members(path: Path, class_name: str) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return frozenset(
                stmt.value.value
                for stmt in node.body
                if isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            )
    raise LookupError(f"{path} has no class {class_name}")


@cache
def ec2_instance_types() -> frozenset[str]:
    """Every EC2 instance type the installed pulumi-aws SDK knows."""
    spec = importlib.util.find_spec(SDK_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{SDK_PACKAGE} is not installed (requirements.txt)")
    return _enum_members(Path(next(iter(spec.submodule_search_locations))) / "ec2" / "_enums.py", "InstanceType")


def instance_type_problem(instance_type: str) -> str | None:
    """What is wrong with an EC2 instance type, with the nearest real ones; None if AWS has it."""
    known = ec2_instance_types()
    if instance_type in known:
        return None
    near = difflib.get_close_matches(instance_type, sorted(known), n=3)
    hint = f"; did you mean {', '.join(near)}?" if near else " such as m6i.large"
    return f"'{instance_type}' is not an EC2 instance type (the {len(known)} of the pulumi-aws SDK's list){hint}"
