"""The task-logs role's policy, judged on the exact requests Airflow's S3 remote logging makes.

No AWS here, and moto's server cannot stand in for it: moto 5.2.6 checks an IAM policy's actions
and resources only (moto/iam/access_control.py: "TODO add support for the Resource and Condition
parts", and `check_action_permitted` passes no request context to the statements' conditions), and
its HeadObject answers 404 for a missing key whatever the caller may list (moto/s3/responses.py
`head_object`). So a small evaluator of IAM's rules (explicit deny, then allow, else implicit
deny; wildcards; the condition operators the stack's policies use, with `IfExists` and a missing
key), and a model of the calls the pinned provider makes (apache-airflow-providers-amazon 9.39.0):
- upload (`S3RemoteLogIO.write`, append): `S3Hook.check_for_key` -> `head_object` (HeadObject:
  s3:GetObject on the object; a 404 means absent, any other error aborts the upload), the old
  log read when present (`read_key`: `Object.load()` then `get()`), then `put_object` (PutObject,
  and KMS GenerateDataKey for the bucket's SSE-KMS default);
- read (`S3RemoteLogIO.read`): `list_keys` (ListObjectsV2 with the log's key as prefix) then
  `read_key` of each.
S3's rule for a missing key (API reference, HeadObject and GetObject, "Permissions"): 404 to a
caller allowed s3:ListBucket on the bucket, else 403; that check names no prefix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from lib.airflow.telemetry import LOGS_PREFIX
from lib.security.iam_documents import remote_logs_policy, tls_only_bucket_policy
from offline.mocks import Plan

BUCKET = "airflow-prod-task-logs-0a1b2c3d"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG = f"{LOGS_PREFIX}/dag_id=etl/run_id=manual__2026-12-06/task_id=load/attempt=1.log"
TLS = {"aws:SecureTransport": "true"}

# ------------------------------------------------------------------------------- the evaluator

_POSITIVE = {"StringEquals", "StringLike", "Bool"}
_NEGATED = {"StringNotEquals", "StringNotLike"}


def _glob(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM's wildcards: `*` any run of characters (`/` and `:` too), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _operator_holds(operator: str, policy_values: list[str], actual: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals"):
        found = actual in policy_values
    elif operator in ("StringLike", "StringNotLike"):
        found = any(_glob(p, actual) for p in policy_values)
    else:  # Bool
        found = actual.lower() in [str(p).lower() for p in policy_values]
    return not found if operator in _NEGATED else found


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """Every operator, every key: AND. A missing key fails a positive operator, passes a negated
    one, and passes any `...IfExists` (IAM User Guide, condition operators)."""
    for raw_operator, keys in conditions.items():
        if_exists = raw_operator.endswith("IfExists")
        operator = raw_operator.removesuffix("IfExists")
        if operator not in _POSITIVE | _NEGATED:
            raise ValueError(f"the evaluator does not know {raw_operator}: extend it before judging this policy")
        for key, values in keys.items():
            if key not in context:
                if not (if_exists or operator in _NEGATED):
                    return False
                continue
            if not _operator_holds(operator, [str(v) for v in _as_list(values)], context[key]):
                return False
    return True


def _statement_applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    unsupported = {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
    if unsupported:
        raise ValueError(f"the evaluator does not know {sorted(unsupported)}")
    return (
        any(_glob(a, action, case_sensitive=False) for a in _as_list(statement["Action"]))
        and any(_glob(r, resource) for r in _as_list(statement["Resource"]))
        and _conditions_hold(statement.get("Condition", {}), context)
    )


def allowed(policies: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's decision over identity and resource policies of one account: an explicit deny wins,
    then any allow, else the implicit deny."""
    statements = [s for p in policies for s in _as_list(p["Statement"])]
    applying = [s for s in statements if _statement_applies(s, action, resource, context)]
    if any(s["Effect"] == "Deny" for s in applying):
        return False
    return any(s["Effect"] == "Allow" for s in applying)


# ---------------------------------------------------------------------- S3 and the provider


@dataclass
class S3:
    """A bucket as S3 answers the role whose policies are given (and the bucket's own policy)."""

    policies: list[dict[str, Any]]
    objects: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)

    def _may(self, action: str, resource: str, **context: str) -> bool:
        return allowed(self.policies, action, resource, {**TLS, **context})

    def _answer(self, call: str, status: int) -> int:
        self.calls.append((call, status))
        return status

    def _read(self, call: str, key: str, body: bool) -> int:
        if not self._may("s3:GetObject", f"{BUCKET_ARN}/{key}"):
            return self._answer(call, 403)
        if key not in self.objects:  # 404 only to whoever may list the bucket, with no prefix
            return self._answer(call, 404 if self._may("s3:ListBucket", BUCKET_ARN) else 403)
        if body and not self._may("kms:Decrypt", KEY_ARN):  # SSE-KMS: a GET decrypts, a HEAD does not
            return self._answer(call, 403)
        return self._answer(call, 200)

    def head_object(self, key: str) -> int:
        return self._read("HeadObject", key, body=False)

    def get_object(self, key: str) -> int:
        return self._read("GetObject", key, body=True)

    def put_object(self, key: str, body: str) -> int:
        resource = f"{BUCKET_ARN}/{key}"
        if not (self._may("s3:PutObject", resource) and self._may("kms:GenerateDataKey", KEY_ARN)):
            return self._answer("PutObject", 403)
        self.objects[key] = body
        return self._answer("PutObject", 200)

    def list_objects_v2(self, prefix: str) -> tuple[int, list[str]]:
        if not self._may("s3:ListBucket", BUCKET_ARN, **{"s3:prefix": prefix}):
            return self._answer("ListObjectsV2", 403), []
        return self._answer("ListObjectsV2", 200), sorted(k for k in self.objects if k.startswith(prefix))


class ClientError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def upload(s3: S3, key: str, log: str) -> bool:
    """amazon provider 9.39.0 `S3RemoteLogIO.write(log, remote_log_location, append=True)`."""
    try:
        status = s3.head_object(key)  # check_for_key -> head_object
        if status not in (200, 404):
            raise ClientError(status)  # head_object re-raises all but a 404
        # s3_read -> read_key (get_key's Object.load(), then .get()); "" on any error.
        old = s3.objects[key] if status == 200 and s3.head_object(key) == 200 and s3.get_object(key) == 200 else ""
        if old:
            log = f"{old}{'' if old.endswith(chr(10)) else chr(10)}{log}"
    except ClientError:
        return False  # "Could not verify previous log to append"
    return s3.put_object(key, log) == 200  # one retry, the same answer


def read(s3: S3, key: str) -> list[str] | None:
    """`S3RemoteLogIO.read`: list under the log's key, then read each."""
    status, keys = s3.list_objects_v2(key)
    if status != 200 or not keys:
        return None
    return [s3.objects[k] for k in keys if s3.head_object(k) == 200 and s3.get_object(k) == 200]


# ------------------------------------------------------------------------------------ the tests


def role_policies(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [policy, tls_only_bucket_policy(BUCKET_ARN)]


def test_the_evaluator_follows_iams_rules() -> None:
    def policy(statement: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"Version": "2012-10-17", "Statement": [statement]}]

    listing = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET_ARN}
    assert allowed(policy(listing), "s3:listbucket", BUCKET_ARN, {})  # actions ignore case
    assert not allowed(policy(listing), "s3:ListBucket", f"{BUCKET_ARN}-other", {})
    scoped = {**listing, "Condition": {"StringLike": {"s3:prefix": ["logs/*"]}}}
    assert allowed(policy(scoped), "s3:ListBucket", BUCKET_ARN, {"s3:prefix": "logs/a"})
    assert not allowed(policy(scoped), "s3:ListBucket", BUCKET_ARN, {"s3:prefix": "other/"})
    assert not allowed(policy(scoped), "s3:ListBucket", BUCKET_ARN, {})  # a missing key fails StringLike
    if_exists = {**listing, "Condition": {"StringLikeIfExists": {"s3:prefix": ["logs/*"]}}}
    assert allowed(policy(if_exists), "s3:ListBucket", BUCKET_ARN, {})
    negated = {**listing, "Condition": {"StringNotLike": {"s3:prefix": ["secret/*"]}}}
    assert allowed(policy(negated), "s3:ListBucket", BUCKET_ARN, {})
    objects = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/logs/*"}
    assert allowed(policy(objects), "s3:GetObject", f"{BUCKET_ARN}/logs/a/b:c.log", {})
    assert not allowed(policy(objects), "s3:GetObject", f"{BUCKET_ARN}/logsx/a", {})
    deny = tls_only_bucket_policy(BUCKET_ARN)
    assert not allowed(
        [*policy(objects), deny], "s3:GetObject", f"{BUCKET_ARN}/logs/a", {"aws:SecureTransport": "false"}
    )
    assert allowed([*policy(objects), deny], "s3:GetObject", f"{BUCKET_ARN}/logs/a", TLS)
    with pytest.raises(ValueError, match="NumericLessThan"):
        allowed(
            policy({**listing, "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}),
            "s3:ListBucket",
            BUCKET_ARN,
            {},
        )


PREFIX_SCOPED_LIST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ListLogs",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": BUCKET_ARN,
            "Condition": {"StringLike": {"s3:prefix": [f"{LOGS_PREFIX}/*", LOGS_PREFIX]}},
        },
        *remote_logs_policy(BUCKET_ARN, LOGS_PREFIX, KEY_ARN)["Statement"][1:],
    ],
}
"""The policy the stack had before: listing only with an `s3:prefix` condition."""


def test_a_prefix_scoped_list_right_loses_every_first_upload() -> None:
    s3 = S3(role_policies(PREFIX_SCOPED_LIST))
    assert upload(s3, LOG, "attempt 1") is False
    assert s3.calls == [("HeadObject", 403)] and s3.objects == {}


def test_the_first_upload_of_a_log_finds_it_absent_and_writes_it() -> None:
    s3 = S3(role_policies(remote_logs_policy(BUCKET_ARN, LOGS_PREFIX, KEY_ARN)))
    assert upload(s3, LOG, "attempt 1") is True
    assert s3.calls == [("HeadObject", 404), ("PutObject", 200)]
    # The next upload of the same log appends to it; the API server then reads it back.
    assert upload(s3, LOG, "more") is True
    assert s3.objects == {LOG: "attempt 1\nmore"}
    assert read(s3, LOG) == ["attempt 1\nmore"]


def test_the_role_still_writes_and_reads_nothing_but_the_logs() -> None:
    s3 = S3(role_policies(remote_logs_policy(BUCKET_ARN, LOGS_PREFIX, KEY_ARN)))
    outside = "dags/etl.py"
    assert s3.put_object(outside, "x") == 403
    s3.objects[outside] = "x"  # written by someone else
    assert s3.get_object(outside) == 403 and s3.head_object(outside) == 403
    assert s3.put_object(f"{LOGS_PREFIX}-other/a.log", "x") == 403
    policies = s3.policies
    for action in ("s3:DeleteObject", "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:ListAllMyBuckets"):
        for resource in (BUCKET_ARN, f"{BUCKET_ARN}/{LOG}", "*"):
            assert not allowed(policies, action, resource, TLS), (action, resource)
    assert not allowed(policies, "s3:ListBucket", "arn:aws:s3:::another-bucket", TLS)
    assert not allowed(policies, "s3:GetObject", f"{BUCKET_ARN}/{LOG}", {"aws:SecureTransport": "false"})


def test_the_stack_deploys_that_policy(prod: Plan) -> None:
    bucket_arn = f"arn:aws:s3:::{prod.outputs['task_logs_bucket_name']}"
    key_arn = prod.component_outputs[prod.one("airflow:index:LogArchive").urn]["kmsKeyArn"]
    deployed = json.loads(
        prod.one("aws:iam/rolePolicy:RolePolicy", "airflow-prod-task-logs-role-policy").inputs["policy"]
    )
    assert deployed == remote_logs_policy(bucket_arn, LOGS_PREFIX, key_arn)
    assert allowed([deployed], "s3:ListBucket", bucket_arn, TLS)  # no s3:prefix: a HEAD's 404 check
