"""Read a platform stack's outputs, typed, from another Pulumi program.

    from airflow_eks_contract import read_platform

    platform = read_platform("acme/airflow-eks/prod")
    platform.airflow_worker_role_name  # pulumi.Output[str]

Each field is an `Output` of the contract's type. The contract's secrets stay secret whatever
the stack says. An output the stack lacks, or of another type, fails the update that uses it
with a `ContractError` naming the output, the stack and both contract versions.
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi

from .outputs import CONTRACT_VERSION, OutputSpec, PlatformOutputs, output_specs


class ContractError(Exception):
    """A platform stack does not publish what this contract promises."""


def _stack_label(name: Any, published: Any) -> str:
    found = f"publishes contract {published}" if published else "publishes no contract_version (before 1.1.0)"
    return f"stack '{name}' ({found}; this reader is contract {CONTRACT_VERSION})"


def checked_value(spec: OutputSpec, value: Any, stack: str) -> Any:
    """`value` as the contract types it, or a `ContractError`. `stack` names the stack in the error."""
    if value is None:
        raise ContractError(f"{stack} has no output '{spec.name}' ({spec.description}) added in contract {spec.since}")
    # The engine hands numbers over as floats: 5432 arrives as 5432.0.
    if spec.value_type is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_of(spec.value_type, value):
        raise ContractError(
            f"{stack}: output '{spec.name}' is a {type(value).__name__}, the contract says {spec.type_name}"
        )
    return value


def _is_of(value_type: Any, value: Any) -> bool:
    if value_type is str:
        return isinstance(value, str)
    if value_type is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if value_type == list[str]:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if value_type == dict[str, str]:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    raise TypeError(f"the contract has no type {value_type}")


def read_platform(stack: str | pulumi.StackReference, opts: pulumi.ResourceOptions | None = None) -> PlatformOutputs:
    """The outputs of a platform stack: `stack` is a fully qualified stack name such as
    `acme/airflow-eks/prod` (a `StackReference` of that name is created, with `opts`) or a
    `StackReference` of your own."""
    ref = stack if isinstance(stack, pulumi.StackReference) else pulumi.StackReference(stack, opts=opts)
    label = pulumi.Output.all(ref.name, ref.get_output("contract_version")).apply(lambda v: _stack_label(*v))
    fields: dict[str, pulumi.Output[Any]] = {}
    for spec in output_specs():
        value = pulumi.Output.all(label, ref.get_output(spec.name)).apply(functools.partial(_checked_pair, spec))
        fields[spec.name] = pulumi.Output.secret(value) if spec.secret else value
    return PlatformOutputs(**fields)


def _checked_pair(spec: OutputSpec, label_and_value: list[Any]) -> Any:
    label, value = label_and_value
    return checked_value(spec, value, label)
