"""LogArchive: the S3 bucket Airflow's remote logging keeps task logs in, and its IAM role.

Creates (`airflow:index:LogArchive`):
- a KMS key (yearly rotation) for the objects (an S3 Bucket Key, so S3 asks KMS rarely);
- the bucket: owner-enforced object ownership (no ACLs), all public access blocked, SSE-KMS by
  default, a lifecycle that moves logs to Standard-IA after `transition_days` and expires them
  after `expiration_days` (and aborts stale multipart uploads), a policy refusing any request
  without TLS. No versioning: Airflow rewrites a log object to append, and old versions would
  be paid for until they expire;
- an IAM role that may only list, read and write the log prefix and use the key: assumed by the
  service accounts given (IRSA: the API server, the triggerer) and by the roles given (the task
  pods' role, whose Airflow connection assumes it).
With `protect`, Pulumi `protect` on the bucket and its key. Asleep, no role (`role_arn` empty).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.parts.iam_roles import iam_role
from components.parts.kms import encryption_key
from components.parts.outputs import register_public_outputs
from lib.airflow.telemetry import LOGS_PREFIX
from lib.naming import child_name, with_name
from lib.observability.cloudwatch import MIN_IA_DAYS
from lib.security.iam_documents import irsa_trust_policy, remote_logs_policy, tls_only_bucket_policy

MULTIPART_ABORT_DAYS = 7


@dataclass(frozen=True)
class LogArchiveArgs:
    namespace: str
    """Namespace of the service accounts that use the role."""
    service_accounts: tuple[str, ...]
    """Service accounts that assume the role directly (IRSA)."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    assuming_role_arns: Sequence[pulumi.Input[str]] = ()
    """Roles that assume it with sts:AssumeRole (the task pods' role)."""
    transition_days: int = 30
    """Days before a log moves to Standard-IA."""
    expiration_days: int = 365
    """Days before a log is deleted."""
    protect: bool = True
    """Pulumi `protect` on the bucket and its key."""
    asleep: bool = False
    """The stack sleeps (no cluster, no OIDC provider): the key and the bucket stay, no role."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        if not self.service_accounts:
            raise ValueError("LogArchiveArgs.service_accounts is empty")
        if self.transition_days < MIN_IA_DAYS:
            raise ValueError(f"LogArchiveArgs.transition_days {self.transition_days} is below S3's {MIN_IA_DAYS}")
        if self.expiration_days <= self.transition_days:
            raise ValueError(
                f"LogArchiveArgs.expiration_days {self.expiration_days} is not after transition_days "
                f"{self.transition_days}"
            )


def _trust(oidc_arn: str, issuer: str, args: LogArchiveArgs, roles: Sequence[str]) -> str:
    policy: dict[str, Any] = irsa_trust_policy(oidc_arn, issuer, args.namespace, args.service_accounts)
    if roles:
        policy["Statement"].append({"Effect": "Allow", "Principal": {"AWS": list(roles)}, "Action": "sts:AssumeRole"})
    return json.dumps(policy)


class LogArchive(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    """Name of the bucket."""
    bucket_arn: pulumi.Output[str]
    """ARN of the bucket."""
    role_arn: pulumi.Output[str]
    """The role Airflow's remote logging uses ("" asleep)."""
    kms_key_arn: pulumi.Output[str]
    """The objects' key."""

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:LogArchive", name, None, opts)
        key = encryption_key(
            self, child_name(name, "key"), name, f"Airflow task logs of {name}", args.protect, args.tags
        )
        bucket = self._bucket(name, args, key)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.role_arn = pulumi.Output.from_input("")
        if not args.asleep:
            self.role_arn = self._role(name, args, bucket, key)
        register_public_outputs(self)

    def _role(self, name: str, args: LogArchiveArgs, bucket: aws.s3.Bucket, key: aws.kms.Key) -> pulumi.Output[str]:
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer, *args.assuming_role_arns).apply(
            lambda v: _trust(v[0], v[1], args, v[2:])
        )
        role, _ = iam_role(
            self, child_name(name, "role"), trust, args.tags, description=f"Airflow remote logs of {name}"
        )
        aws.iam.RolePolicy(
            child_name(name, "role-policy"),
            role=role.name,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda v: json.dumps(remote_logs_policy(v[0], LOGS_PREFIX, v[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role.arn

    def _bucket(self, name: str, args: LogArchiveArgs, key: aws.kms.Key) -> aws.s3.Bucket:
        """The bucket and its settings: ownership, public access block, encryption, lifecycle, policy."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name,
            bucket_prefix=f"{name}-",
            tags=with_name(args.tags, name),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[bucket])
        aws.s3.BucketOwnershipControls(
            child_name(name, "ownership"),
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            child_name(name, "public-access-block"),
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            child_name(name, "encryption"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        self._lifecycle(name, args, bucket)
        aws.s3.BucketPolicy(
            child_name(name, "policy"),
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_bucket_policy(arn))),
            # S3 refuses a bucket policy while the public access block is being set.
            opts=pulumi.ResourceOptions.merge(on_bucket, pulumi.ResourceOptions(depends_on=[block])),
        )
        return bucket

    def _lifecycle(self, name: str, args: LogArchiveArgs, bucket: aws.s3.Bucket) -> None:
        """Standard-IA after `transition_days`, deleted after `expiration_days`."""
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketLifecycleConfiguration(
            child_name(name, "lifecycle"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="task-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{LOGS_PREFIX}/"),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=args.transition_days, storage_class="STANDARD_IA"
                        )
                    ],
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expiration_days),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=MULTIPART_ABORT_DAYS
                    ),
                )
            ],
            opts=child,
        )
