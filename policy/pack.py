"""The policies as a pulumi-policy pack (`pulumi preview --policy-pack policy`).

Each policy is a stack policy: it sees every resource at once, as the production and availability
checks need (zones of subnets, budgets of pods). Mandatory, unless the stack waives it
(`policyWaivers`): then advisory, its message carrying the stack's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
    proxy,
)

from policy.model import UNKNOWN, Resource, Stack
from policy.rules import POLICIES, Policy

PACK_NAME = "airflow-eks-guardrails"
# pulumi-policy's sentinels for values a preview cannot know yet.
_UNKNOWN_SENTINELS = frozenset(v for k, v in vars(proxy).items() if k.startswith("UNKNOWN_") and k.endswith("_VALUE"))


def plain(value: Any) -> Any:
    """pulumi-policy's props (proxies that raise on an unknown) as plain data, unknowns as UNKNOWN."""
    if type(value).__name__ in ("_DictProxy", "_ListProxy"):
        value = value["__target"]  # the proxies' own way to the wrapped value, which never raises
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return UNKNOWN if isinstance(value, str) and value in _UNKNOWN_SENTINELS else value


def stack_of(args: StackValidationArgs) -> Stack:
    """The engine's resources as the policies' `Stack`. IDs are not given to stack policies."""
    resources = tuple(
        Resource(r.urn, r.resource_type, r.name, plain(r.props), bool(r.opts.protect) if r.opts else False)
        for r in args.resources
    )
    return Stack(resources)


def validation(policy: Policy, waived: bool) -> StackValidationPolicy:
    """The policy as the engine runs it: mandatory over what the stack does not waive, or, as
    `<name>-waived`, advisory over what it does (each message carrying the stack's reason)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = stack_of(args)
        reason = stack.waivers.get(policy.name)
        if waived != (reason is not None):
            return
        for violation in policy.check(stack):
            report_violation(violation.message + (f" [waived: {reason}]" if waived else ""), violation.urn)

    return StackValidationPolicy(
        name=f"{policy.name}-waived" if waived else policy.name,
        description=policy.description,
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY if waived else EnforcementLevel.MANDATORY,
    )


def serve() -> None:
    """Start the pack (blocks: the Pulumi engine talks to it over gRPC)."""
    PolicyPack(
        name=PACK_NAME,
        policies=[validation(p, w) for p in POLICIES for w in (False, True)],
        enforcement_level=EnforcementLevel.MANDATORY,
    )
