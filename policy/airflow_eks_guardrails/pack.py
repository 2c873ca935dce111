"""The policies as a pulumi-policy pack (`pulumi preview --policy-pack policy`).

Each policy is a stack policy: it sees every resource at once, as the production and availability
checks need (zones of subnets, budgets of pods). Mandatory, unless the stack waives it
(`policyWaivers`): then advisory, its message carrying the stack's reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .model import UNKNOWN, Resource, Stack
from .rules import POLICIES, Policy

PACK_NAME = "airflow-eks-guardrails"


def plain(value: Any) -> Any:
    """pulumi-policy's props as plain data, a value the engine cannot know yet as UNKNOWN.

    Only pulumi-policy's public API: the props are a `Mapping` whose lists are `Sequence`s, and
    reading an unknown value raises pulumi-policy's `UnknownValueError` (1.21: a class of its
    `proxy` module, which the package does not export), recognised here by its name.
    """
    if isinstance(value, Mapping):
        return {key: plain(_read(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(_read(value, i)) for i in range(len(value))]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except Exception as error:
        if type(error).__name__ != "UnknownValueError":
            raise
        return UNKNOWN


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
