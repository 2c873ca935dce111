"""Least privilege in IAM: no wildcard action, and a wildcard resource only where AWS offers no other."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .declaration import LEAST_PRIVILEGE_IAM
from .model import IAM_POLICY, IAM_ROLE, INLINE_POLICIES, UNKNOWN, Resource, Stack, Violation, known, violation

UNSCOPED_VERBS = ("Describe",)
"""Actions named so read metadata, and most of them take no resource ARN (the Service
Authorization Reference lists no resource type for them): `Resource: "*"` is the only way to grant them."""
UNSCOPED_ACTIONS = frozenset(
    {"ec2:GetInstanceTypesFromInstanceRequirements", "iam:ListInstanceProfiles", "pricing:GetProducts"}
)
"""Other actions without a resource type (Service Authorization Reference, Amazon EC2), and two Karpenter's
controller calls that its v1.14.1 getting-started template grants on `*` as unscoped (listing instance
profiles for their garbage collection; the Price List API); whether IAM's listing accepts a narrower
resource was not checked here."""
ANY_RESOURCE = re.compile(r"^(\*|arn:[^:]*:[^:]*:[^:]*:[^:]*:\*)$")
"""`*`, or an ARN whose resource part is `*` (every resource of a service)."""
SCOPING_CONDITION = re.compile(r"ResourceTag/", re.I)
"""A condition on the resource's tags narrows `*` to the resources so tagged."""


def document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from an input (a JSON string, or a map); None when unknown or unreadable."""
    if isinstance(value, str) and value != UNKNOWN:
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = doc.get("Statement")
    found = [found] if isinstance(found, Mapping) else found if isinstance(found, list) else []
    return [s for s in found if isinstance(s, Mapping)]


def _listed(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [i for i in items if isinstance(i, str)]


def _unscoped(action: str) -> bool:
    return action in UNSCOPED_ACTIONS or action.split(":", 1)[-1].startswith(UNSCOPED_VERBS)


def statement_problems(statement: Mapping[str, Any]) -> Iterator[str]:
    """What an Allow statement grants beyond least privilege."""
    if statement.get("Effect") != "Allow":
        return
    if "NotAction" in statement:
        yield "allows every action but those NotAction lists: list the actions instead"
    if "NotResource" in statement:
        yield "allows every resource but those NotResource lists: list the resources instead"
    actions = _listed(statement.get("Action"))
    for action in actions:
        if "*" in action:
            yield f"allows the wildcard action {action}: list the actions it needs"
    wide = [r for r in _listed(statement.get("Resource")) if ANY_RESOURCE.match(r)]
    scoped = SCOPING_CONDITION.search(json.dumps(statement.get("Condition") or {}))
    read_only = bool(actions) and all(_unscoped(a) and "*" not in a for a in actions)
    if wide and not scoped and not read_only:
        needing = [a for a in actions if not _unscoped(a)]
        yield (
            f"allows {', '.join(needing) or 'its actions'} on {wide[0]}: name the resources, or condition "
            "it on their tags (aws:ResourceTag/...)"
        )


def _documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.type == IAM_ROLE:
        for i, inline in enumerate(resource.props.get("inlinePolicies") or []):
            if isinstance(inline, Mapping):
                yield f"inlinePolicies[{i}] ({inline.get('name', '?')})", inline.get("policy")
    else:
        yield "policy", resource.props.get("policy")


def least_privilege_iam(stack: Stack) -> Iterator[Violation]:
    """No IAM policy (managed, inline, or embedded in a role) allows a wildcard action, or every
    resource but for read-only calls AWS offers no resource for or under a resource-tag condition."""
    for resource in stack.of_type(IAM_POLICY, IAM_ROLE, *INLINE_POLICIES):
        for where, value in _documents(resource):
            doc = document(value) if known(value) else None
            for i, statement in enumerate(statements(doc or {})):
                label = statement.get("Sid") or i
                for problem in statement_problems(statement):
                    yield violation(LEAST_PRIVILEGE_IAM, resource, f"{where} statement {label} {problem}")
