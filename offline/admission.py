"""A ValidatingAdmissionPolicy's decision on a pod, as the API server would take it, offline.

The policy's CEL is evaluated with cel-python (requirements-dev.txt), not cel-go: the expressions
the program writes (lib/airflow/task_accounts.py) use only standard CEL (`in`, `startsWith`, `all`,
`exists`, `has`), which both implement. A request the policy's `matchConditions` do not all match
is admitted; a matched one only if every validation holds (Kubernetes 1.30+, "Validating Admission
Policy": `validationActions: [Deny]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import celpy


def admitted(policy_spec: Mapping[str, Any], pod: Mapping[str, Any], username: str) -> bool:
    """Whether a pod (a v1 Pod, or only its `spec` under "spec") created by `username` is admitted."""
    env = celpy.Environment()
    request = {"request": {"userInfo": {"username": username}}, "object": {"spec": dict(pod.get("spec") or {})}}
    activation = {name: celpy.json_to_cel(value) for name, value in request.items()}

    def holds(expression: str) -> bool:
        return bool(env.program(env.compile(expression)).evaluate(activation))

    if not all(holds(c["expression"]) for c in policy_spec.get("matchConditions") or []):
        return True
    return all(holds(v["expression"]) for v in policy_spec.get("validations") or [])
