"""Entry point of both uses of the pack.

- `python -m policy PLAN.json ...` (package `policy`): the offline run (`policy/cli.py`).
- `pulumi preview --policy-pack policy`: the Pulumi engine's policy host runs this file as a
  script (`runpy.run_path` of the pack's folder, pulumi/policy/__main__.py in the SDK), which
  serves the pack over gRPC (`policy/pack.py`).
Either way the repository root goes on the path, for `lib` and `policy`.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

if __package__ == "policy":
    from policy.cli import main

    sys.exit(main())
else:
    from policy.pack import serve

    serve()
