"""Every built-in Kubernetes object either stack registers is valid for the cluster's version.

Objects are validated strictly (no unknown field) against the OpenAPI schemas kubernetes-validate
bundles. Helm releases and custom resources (their API group is not a built-in one) are left
to their owners' tests.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from config.settings import load_settings
from lib.cluster.versions import DEFAULT_VERSION
from offline.mocks import SECRET, Plan, Registration
from offline.stack_config import resolve_stack_config
from tests.support.plans import plan_once

SKIPPED_MODULES = ("helm.sh/", "yaml/", "kustomize/")  # Helm releases; components that hold objects
MUST_VALIDATE = {
    "kubernetes:core/v1:Namespace": 1,
    "kubernetes:core/v1:PersistentVolume": 2,
    "kubernetes:core/v1:PersistentVolumeClaim": 2,
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": 1,
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": 1,
}


def cluster_version(stack: str) -> str:
    config, region = resolve_stack_config(stack)
    return load_settings(config, stack, region).cluster.kubernetes_version


@cache
def builtin_groups(version: str) -> frozenset[str]:
    """API groups of Kubernetes `version` itself, read from the bundled schemas."""
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    definitions = json.loads((root / f"v{version}.0-local-strict" / "_definitions.json").read_text())
    return frozenset(
        gvk["group"]
        for schema in definitions["$defs"].values()
        for gvk in schema.get("x-kubernetes-group-version-kind", [])
    )


# What stands in for a redacted value, by the JSON type its place in the schema expects.
STAND_INS: dict[str, Any] = {"object": {}, "array": [], "string": SECRET, "integer": 0, "number": 0, "boolean": False}


def validate_redacted(obj: dict[str, Any], version: str) -> str:
    """`kubernetes_validate.validate(obj, version, strict=True)`, where a secret the plan shows as
    "[secret]" (a whole Secret's `stringData`, say) is replaced by an empty value of the type its
    place expects: a secret's content cannot be checked offline, but where it sits can."""
    obj = copy.deepcopy(obj)
    for _ in range(100):
        try:
            return kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            if err.instance != SECRET or err.validator != "type":
                raise
            expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            *parents, last = err.absolute_path
            target = obj
            for part in parents:
                target = target[part]
            target[last] = STAND_INS[next(t for t in expected if t != "null")]
    raise AssertionError("more redacted values than an object can hold")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]  # "v1" -> "" (core), "apps/v1" -> "apps"


def objects_to_validate(plan: Plan, version: str) -> list[Registration]:
    found = []
    for reg in plan.resources:
        if not reg.type.startswith("kubernetes:") or reg.type.split(":")[1].startswith(SKIPPED_MODULES):
            continue
        assert "apiVersion" in reg.inputs and "kind" in reg.inputs, f"{reg.type} {reg.name} is not an object"
        if group_of(reg.inputs["apiVersion"]) in builtin_groups(version):
            found.append(reg)
    return found


def test_builtin_groups_are_read() -> None:
    groups = builtin_groups(DEFAULT_VERSION)
    assert {"", "apps", "batch", "rbac.authorization.k8s.io", "storage.k8s.io"} <= groups
    assert "elbv2.k8s.aws" not in groups


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_builtin_object_is_valid(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    version = cluster_version(stack)
    # The bundle knows this version (validate() would otherwise fall back to an older one).
    assert version_key(kubernetes_validate.latest_version()) >= version_key(version)
    objects = objects_to_validate(plan, version)
    for reg in objects:
        used = validate_redacted(reg.inputs, version)
        # validate() falls back to an older schema for a version it lacks: refuse that.
        assert used == version, f"{reg.name}: validated against {used}, not {version}"
    # Never vacuous: at least the data tier's objects were validated.
    for type_, count in MUST_VALIDATE.items():
        assert sum(1 for r in objects if r.type == type_) >= count, type_


def test_validation_rejects_a_broken_object(dev: Plan) -> None:
    """The check can fail: the same claim with an unknown field, or without its spec's type, is refused."""
    claim = dev.of_type("kubernetes:core/v1:PersistentVolumeClaim")[0].inputs
    broken = {**claim, "spec": {**claim["spec"], "volumName": "typo"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, cluster_version("dev"), strict=True)
    wrong_type = {**claim, "spec": {**claim["spec"], "accessModes": "ReadWriteMany"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, cluster_version("dev"), strict=True)


def test_redacted_values_are_validated_by_their_place() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": SECRET, "type": "Opaque"}
    assert validate_redacted(secret, DEFAULT_VERSION) == DEFAULT_VERSION
    assert secret["stringData"] == SECRET  # the plan's object is not modified
    # A redacted value where no such field exists is still refused.
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_redacted({**secret, "strngData": SECRET}, DEFAULT_VERSION)
    # So is a real error next to a redacted value.
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_redacted({**secret, "immutable": "yes"}, DEFAULT_VERSION)


def test_the_teams_objects_are_valid() -> None:
    """The two-team example's ServiceAccounts, ConfigMaps, Roles and RoleBindings (docs/teams.md)."""
    plan = plan_once("teams", config_dir=Path(__file__).resolve().parents[2] / "examples" / "stacks")
    version = DEFAULT_VERSION
    objects = [r for r in objects_to_validate(plan, version) if "-team-" in r.name or "task-images" in r.name]
    kinds = sorted(r.inputs["kind"] for r in objects)
    assert kinds == ["ConfigMap"] * 3 + ["Role"] * 2 + ["RoleBinding"] * 2 + ["ServiceAccount"] * 2
    for reg in objects:
        assert validate_redacted(reg.inputs, version) == version, reg.name
