"""The plan document `make diff` compares: `make plan`'s, and per resource what a diff needs besides.

Each resource of `build/plan-<stack>.json`'s format gains `aliases` (the URNs it was known by:
a moved resource is matched to its old URN), `retainOnDelete`, `propertyDependencies` (which
resources each input takes outputs from), and `secretDigests`: for each
secret input (shown as "[secret]"), key by key, a keyed digest (HMAC-SHA256 under a key that
never leaves this machine) that tells a changed secret from an unchanged one without holding it;
the document's `secretDigestKey` names the key (a hash of it), so that digests of different keys
are never compared.

`scripts/diff.py` builds the working tree's document in-process, and the base revision's by running
this file in a subprocess against that revision's checkout:

    python scripts/diff_plan.py --root <checkout> --stack prod --out <file> [--config-dir config]

which imports the checkout's own program and offline tooling (the key from $PLAN_DIGEST_KEY, hex).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import inspect
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reports.diff import show  # noqa: E402  (before another checkout's modules may come first)

KEY_ENV = "PLAN_DIGEST_KEY"


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"airflow-eks plan digest key\0" + key).hexdigest()[:16]


def _leaves(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path, value


def digest(key: bytes, value: Any) -> str:
    return hmac.new(key, json.dumps(value, sort_keys=True).encode(), hashlib.sha256).hexdigest()[:24]


def document(plan: Any, key: bytes | None) -> dict[str, Any]:
    """`plan.as_json()` with each resource's aliases, retainOnDelete and (with a key) secret digests."""
    doc: dict[str, Any] = plan.as_json()
    if key is not None:
        doc["secretDigestKey"] = key_id(key)
    for reg, res in zip(plan.resources, doc["resources"], strict=True):
        res["aliases"] = list(getattr(reg, "aliases", ()))
        res["retainOnDelete"] = bool(getattr(reg, "retain_on_delete", False))
        res["propertyDependencies"] = {k: list(v) for k, v in getattr(reg, "property_dependencies", {}).items()}
        secrets = getattr(reg, "secrets", ())
        if key is not None and secrets:
            res["secretDigests"] = {
                show(leaf): digest(key, value) for path, raw in secrets for leaf, value in _leaves(raw, tuple(path))
            }
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the checkout whose program is planned")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", required=True, help="file to write the document to")
    parser.add_argument("--config-dir", default="config", help="the stack files' folder, relative to --root")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    sys.path.insert(0, str(root))
    from offline.mocks import run_program  # the checkout's own

    kwargs: dict[str, Any] = {}
    params = inspect.signature(run_program).parameters
    if "config_dir" in params:
        kwargs["config_dir"] = root / args.config_dir
    if "project_file" in params:
        kwargs["project_file"] = root / "Pulumi.yaml"
    key_hex = os.environ.get(KEY_ENV, "")
    plan = run_program(args.stack, **kwargs)
    doc = document(plan, bytes.fromhex(key_hex) if key_hex else None)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
