"""The pack's own tests: they run in the pack's folder alone, with only its requirements.txt
(and pytest) installed, as `pulumi policy publish policy` takes it:

    cd policy && python -m pytest tests

Each policy flags a resource that breaks it and passes the same resource fixed; the engine's
view (pulumi-policy's resources, unknown values) becomes what the policies read. The
repository's own tests run the pack over the stacks' real plans.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyResource, PolicyResourceOptions, StackValidationArgs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the pack's folder, as the engine has it

from airflow_eks_guardrails.declaration import (
    ENCRYPTION,
    IMDSV2,
    NO_PLAINTEXT_SECRETS,
    NO_PUBLIC_EXPOSURE,
    POLICY_NAMES,
    PRODUCTION_PROTECTION,
    guardrail_tags,
)
from airflow_eks_guardrails.model import DB, KMS_KEY, LAUNCH_TEMPLATE, LOAD_BALANCER, UNKNOWN, Resource, Stack
from airflow_eks_guardrails.pack import plain, stack_of, validation
from airflow_eks_guardrails.rules import POLICIES

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k-1"
NOT_PRODUCTION = guardrail_tags(False, {})


def resource(type_: str, props: dict[str, Any], protect: bool = False, id_: str = "") -> Resource:
    return Resource(f"urn:pulumi:prod::airflow-eks::{type_}::r", type_, "r", props, protect, id_)


def violations(policy: str, *resources: Resource, marks_secrets: bool = True) -> list[str]:
    (check,) = (p.check for p in POLICIES if p.name == policy)
    return [v.message for v in check(Stack(resources, marks_secrets=marks_secrets))]


def test_every_declared_policy_is_in_the_pack_once() -> None:
    assert [p.name for p in POLICIES] == list(POLICY_NAMES)
    assert all(p.description for p in POLICIES)


def test_encryption_wants_a_rotating_key() -> None:
    key = {"customerMasterKeySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": False}
    assert violations(ENCRYPTION, resource(KMS_KEY, key, id_="k-1"))
    assert violations(ENCRYPTION, resource(KMS_KEY, {**key, "enableKeyRotation": True}, id_="k-1")) == []


def test_the_load_balancer_stays_internal() -> None:
    assert violations(NO_PUBLIC_EXPOSURE, resource(LOAD_BALANCER, {"internal": False}))
    assert violations(NO_PUBLIC_EXPOSURE, resource(LOAD_BALANCER, {"internal": True})) == []


def test_nodes_take_imdsv2_with_one_hop() -> None:
    options = {"httpEndpoint": "enabled", "httpTokens": "optional", "httpPutResponseHopLimit": 2}
    assert len(violations(IMDSV2, resource(LAUNCH_TEMPLATE, {"metadataOptions": options}))) == 2
    fixed = {**options, "httpTokens": "required", "httpPutResponseHopLimit": 1}
    assert violations(IMDSV2, resource(LAUNCH_TEMPLATE, {"metadataOptions": fixed})) == []


def test_a_production_database_is_protected_and_a_declared_dev_one_need_not_be() -> None:
    db = {
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "final",
        "backupRetentionPeriod": 7,
        "deleteAutomatedBackups": False,
    }
    assert violations(PRODUCTION_PROTECTION, resource(DB, db, protect=True)) == []
    unprotected = resource(DB, {**db, "backupRetentionPeriod": 1}, protect=False)
    assert len(violations(PRODUCTION_PROTECTION, unprotected)) == 2
    dev = resource(DB, {**db, "backupRetentionPeriod": 1, "tags": NOT_PRODUCTION}, protect=False)
    assert violations(PRODUCTION_PROTECTION, dev) == []


def test_a_password_in_clear_is_refused() -> None:
    assert violations(NO_PLAINTEXT_SECRETS, resource(DB, {"password": "hunter2-in-clear"}))
    assert violations(NO_PLAINTEXT_SECRETS, resource(DB, {"password": "[secret]"})) == []


def engine_resource(props: dict[str, Any]) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], None, [])  # type: ignore[arg-type]
    return PolicyResource(LOAD_BALANCER, props, "urn:lb", "lb", options, None, None, [], {})


class Unknown(Exception):
    pass


class UnknownValueError(Exception):
    """What pulumi-policy 1.21 raises on reading a value a preview cannot know (its `proxy`)."""


class Props(dict[str, Any]):
    """A stand-in for pulumi-policy's props proxy: reading `unknown` raises."""

    def __init__(self, data: dict[str, Any], error: type[Exception]) -> None:
        super().__init__(data)
        self.error = error

    def __getitem__(self, key: str) -> Any:
        if key == "unknown":
            raise self.error(key)
        return super().__getitem__(key)


def test_unknown_values_of_a_preview_are_skipped_and_other_errors_are_not() -> None:
    props = Props({"internal": True, "unknown": None, "subnets": ["a", "b"]}, UnknownValueError)
    assert plain(props) == {"internal": True, "unknown": UNKNOWN, "subnets": ["a", "b"]}
    with pytest.raises(Unknown):
        plain(Props({"unknown": None}, Unknown))


def test_the_engine_runs_each_policy_mandatory_and_a_waived_one_advisory() -> None:
    public = engine_resource({"internal": False})
    args = StackValidationArgs([public])
    assert stack_of(args).resources[0].props == {"internal": False}
    (policy,) = (p for p in POLICIES if p.name == NO_PUBLIC_EXPOSURE)
    reported: list[tuple[str, str | None]] = []
    mandatory = validation(policy, waived=False)
    assert mandatory.enforcement_level == EnforcementLevel.MANDATORY
    mandatory.validate(args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[misc]
    assert [urn for _, urn in reported] == ["urn:lb"]
    reason = "a public demo behind its own firewall"
    waived_props = {"internal": False, "tags": guardrail_tags(True, {NO_PUBLIC_EXPOSURE: reason})}
    waived_args = StackValidationArgs([engine_resource(waived_props)])
    reported.clear()
    mandatory.validate(waived_args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[misc]
    assert reported == []
    advisory = validation(policy, waived=True)
    assert advisory.enforcement_level == EnforcementLevel.ADVISORY
    advisory.validate(waived_args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[misc]
    assert len(reported) == 1 and reported[0][0].endswith(f"[waived: {reason}]")
