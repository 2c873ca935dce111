"""What `pulumi up` would do to a deployed stack: the working tree's plan against a saved one.

    python scripts/diff.py --stack prod [--base HEAD] [--allow-stateful] [--config-dir config]
    python scripts/diff.py --stack prod --save deployed/plan-prod.json

`--base` is a git revision (default HEAD: what your uncommitted changes do; a tag or commit: what
deploying the working tree over that release does), planned in a temporary `git worktree` of this
repository with this virtualenv, or a saved plan file: one `--save` wrote when the stack was
deployed, or a copy of `build/plan-<stack>.json`. Prints each resource to create, update (the
input paths that change; a secret only as changed), replace (and why) or delete, stateful ones
first, then a summary like `pulumi preview`'s, and writes `build/diff-<stack>.json`.

Exits 3 when a stateful resource (the database, the file system, a KMS key, a bucket, a log group,
the cluster, a node group, a generated secret) or a protected one would be replaced or deleted,
unless `--allow-stateful`; 2 when a plan cannot be made; else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.errors import ConfigError  # noqa: E402
from offline.mocks import ProgramError, run_program  # noqa: E402
from offline.stack_config import CONFIG_DIR  # noqa: E402
from reports.diff import diff_plans, render  # noqa: E402
from scripts.diff_plan import KEY_ENV, document  # noqa: E402

STATEFUL_EXIT = 3
KEY_FILE = ROOT / "build" / "plan-digest.key"


class BaseError(Exception):
    """The base plan cannot be had: not a file, not a revision, or its program failed."""


def local_key() -> bytes:
    """This checkout's digest key (build/plan-digest.key, made once, readable by its owner only):
    saved plans and later diffs share it."""
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(KEY_FILE.read_text().strip())


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)


def revision_plan(revision: str, stack: str, config_dir: str, key: bytes) -> dict[str, Any]:
    """The plan document of `revision`: checked out in a temporary worktree, planned there by this
    virtualenv's Python (the revision's own program and offline tooling), the worktree removed."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").stdout.strip()
    if not commit:
        raise BaseError(f"--base {revision!r} is neither a plan file nor a git revision of {ROOT}")
    with tempfile.TemporaryDirectory(prefix="airflow-eks-diff-") as tmp:
        tree = Path(tmp) / "base"
        added = _git("worktree", "add", "--detach", str(tree), commit)
        if added.returncode != 0:
            raise BaseError(f"git worktree add failed: {added.stderr.strip()}")
        try:
            out = Path(tmp) / "plan.json"
            run = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "scripts" / "diff_plan.py"),
                    "--root",
                    str(tree),
                    "--stack",
                    stack,
                    "--out",
                    str(out),
                    "--config-dir",
                    config_dir,
                ],
                capture_output=True,
                text=True,
                env={**os.environ, KEY_ENV: key.hex()},
                check=False,
            )
            if run.returncode != 0:
                tail = "\n".join(run.stderr.strip().splitlines()[-5:])
                raise BaseError(f"planning {revision} ({commit[:12]}) failed:\n{tail}")
            doc: dict[str, Any] = json.loads(out.read_text())
            return doc
        finally:
            _git("worktree", "remove", "--force", str(tree))
            _git("worktree", "prune")


def base_plan(base: str, stack: str, config_dir: str) -> tuple[dict[str, Any], bytes]:
    """(the base document, the key to digest the working tree's secrets with)."""
    path = Path(base)
    if path.is_file():
        doc: dict[str, Any] = json.loads(path.read_text())
        if doc.get("stack") not in (None, stack):
            raise BaseError(f"{base} is a plan of stack {doc.get('stack')!r}, not {stack!r}")
        return doc, local_key()
    key = secrets.token_bytes(32)  # one run's: both plans are digested here and now
    return revision_plan(base, stack, config_dir, key), key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="the stack to compare")
    parser.add_argument("--base", default="HEAD", help="a git revision (default HEAD) or a saved plan file")
    parser.add_argument(
        "--allow-stateful", action="store_true", help="exit 0 even when stateful resources are replaced or deleted"
    )
    parser.add_argument("--save", metavar="FILE", help="write the working tree's plan document to FILE and stop")
    parser.add_argument("--config-dir", default=str(CONFIG_DIR), help="folder of the stack files")
    parser.add_argument("--out", default=str(ROOT / "build"), help="folder for diff-<stack>.json")
    args = parser.parse_args(argv)
    config_dir = Path(args.config_dir).resolve()
    try:
        relative_config = str(config_dir.relative_to(ROOT))
    except ValueError:
        print(f"error: --config-dir must be inside the repository ({ROOT})", file=sys.stderr)
        return 2
    try:
        old: dict[str, Any] = {}
        if args.save:
            key = local_key()
        else:
            old, key = base_plan(args.base, args.stack, relative_config)
        plan = run_program(args.stack, config_dir=config_dir, project_file=ROOT / "Pulumi.yaml")
    except BaseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ProgramError as err:
        print(f"error: {err.cause}", file=sys.stderr)
        return 2 if isinstance(err.cause, ConfigError) else 1
    new = document(plan, key)
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(new, indent=1) + "\n")
        print(f"Wrote {args.save} ({len(new['resources'])} resources): pass it as --base after this is deployed")
        return 0
    diff = diff_plans(old, new)
    print(render(diff, args.base, args.allow_stateful))
    out = Path(args.out) / f"diff-{args.stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(diff.as_json(), indent=1) + "\n")
    return STATEFUL_EXIT if diff.loud and not args.allow_stateful else 0


if __name__ == "__main__":
    sys.exit(main())
