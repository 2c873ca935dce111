"""Data in transit and at the end of its life: buckets refuse plain HTTP, log groups expire."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .declaration import LOG_RETENTION, TLS_ONLY_BUCKETS
from .iam import document, statements
from .model import BUCKET, BUCKET_POLICY, LOG_GROUP, UNKNOWN, Stack, Violation, known, violation


def _any_principal(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") in ("*", ["*"]))


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    """A Deny of every S3 action to everyone when `aws:SecureTransport` is false."""
    actions = statement.get("Action")
    actions = [actions] if isinstance(actions, str) else actions if isinstance(actions, list) else []
    condition = statement.get("Condition")
    secure = condition.get("Bool") if isinstance(condition, Mapping) else None
    transport = secure.get("aws:SecureTransport") if isinstance(secure, Mapping) else None
    values = transport if isinstance(transport, list) else [transport]
    return (
        statement.get("Effect") == "Deny"
        and _any_principal(statement.get("Principal"))
        and any(a in ("s3:*", "*") for a in actions)
        and transport is not None
        and all(str(v).lower() == "false" for v in values)
    )


def tls_only_buckets(stack: Stack) -> Iterator[Violation]:
    """Every bucket has a policy that denies any request not made over TLS (`aws:SecureTransport` false)."""
    tls_only: set[Any] = set()  # the buckets (IDs, names) a TLS-only policy is for
    for policy in stack.of_type(BUCKET_POLICY):
        doc = policy.props.get("policy")
        if not known(doc) or any(_denies_plain_http(s) for s in statements(document(doc) or {})):
            tls_only.add(policy.props.get("bucket"))
    for bucket in stack.of_type(BUCKET):
        keys = {bucket.id, bucket.props.get("bucket")} - {"", None, UNKNOWN}
        # A preview may not know yet which bucket a policy is for; the engine gives stack policies
        # no IDs, and an autonamed bucket has no name in its inputs: any TLS-only policy may be its.
        if keys & tls_only or UNKNOWN in tls_only or (not keys and tls_only):
            continue
        yield violation(
            TLS_ONLY_BUCKETS,
            bucket,
            "add a BucketPolicy denying s3:* to every principal when aws:SecureTransport is false (TLS only)",
        )


def log_retention(stack: Stack) -> Iterator[Violation]:
    """Every log group the stack creates expires its events (retentionInDays set, not 0: never)."""
    for group in stack.of_type(LOG_GROUP):
        days = group.props.get("retentionInDays")
        if days == UNKNOWN:
            continue
        # A number, which the engine hands over as a float (protobuf's Struct).
        if not isinstance(days, int | float) or isinstance(days, bool) or days <= 0:
            yield violation(
                LOG_RETENTION, group, f"retentionInDays is {days}: set a retention (0 or none keeps logs forever)"
            )
