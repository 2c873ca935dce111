"""Policy documents of the stack: trust, identity and resource policies (IAM, KMS key, SNS topic,
S3 bucket, EFS file system policies), each with what it allows and why.

A statement that lets an AWS service act (a `Service` principal) names the account and the
resources it acts for (`aws:SourceAccount` and `aws:SourceArn`, the IAM user guide's "The confused
deputy problem"), where the service documents them; the exceptions are SERVICE_TRUSTS_WITHOUT_SOURCE_ARN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

SERVICE_TRUSTS_WITHOUT_SOURCE_ARN: dict[str, str] = {
    "ec2.amazonaws.com": (
        "The node role's trust (components/node_groups.py): EC2 assumes it for the instance profile of the "
        "instances it is passed to, which iam:PassRole gates; the EKS user guide's node role trust carries no "
        "condition and EC2 documents no aws:SourceArn for it: a condition EC2 does not send refuses every node."
    ),
    "logs.amazonaws.com": (
        "Key policies of log groups' keys (lib/security/audit.py, logs_key_policy): scoped to one group, or one "
        "prefix, by kms:EncryptionContext:aws:logs:arn, the condition the CloudWatch Logs user guide documents "
        '("Encrypt log data in CloudWatch Logs using AWS KMS"); it names the log group itself, narrower than '
        "an account, and CloudWatch Logs documents no aws:SourceArn on its KMS requests."
    ),
}
"""Service principal (the regional `logs.<region>.amazonaws.com` by its global name) -> why its
statements carry no aws:SourceArn."""


def service_principal_statements(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(service, statement) of each statement of `document` that names a `Service` principal."""
    for statement in document["Statement"]:
        principal = statement.get("Principal")
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        for service in [services] if isinstance(services, str) else services:
            yield service, statement


def principal_family(service: str) -> str:
    """`logs.eu-west-1.amazonaws.com` -> `logs.amazonaws.com` (the key of SERVICE_TRUSTS_WITHOUT_SOURCE_ARN);
    a global name (`events.rds.amazonaws.com`) stays."""
    parts = service.split(".")
    regional = len(parts) == 4 and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", parts[1])
    return f"{parts[0]}.amazonaws.com" if regional else service


def alarm_source_arn(region: str, account_id: str) -> str:
    """Any CloudWatch alarm of the account in the region (the CloudWatch user guide's SNS access
    policy for alarm actions names the alarms by this ARN)."""
    return f"arn:aws:cloudwatch:{region}:{account_id}:alarm:*"


def rds_instance_source_arn(region: str, account_id: str) -> str:
    """Any DB instance of the account in the region: the source of the RDS event subscription
    (components/alarms.py, `db-instance`); the RDS user guide's "Granting permissions to publish
    notifications to an Amazon SNS topic" names the source by its RDS resource ARN (`...:db:prefix-*`)."""
    return f"arn:aws:rds:{region}:{account_id}:db:*"


def _source(account_id: str, source_arn: str) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceAccount": account_id}, "ArnLike": {"aws:SourceArn": source_arn}}


def irsa_trust_policy(
    oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_accounts: Sequence[str]
) -> dict[str, Any]:
    """Trust policy letting only `namespace`'s `service_accounts`, through the cluster's OIDC
    provider and for the STS audience, assume a role (IAM roles for service accounts)."""
    subjects = [f"system:serviceaccount:{namespace}:{sa}" for sa in service_accounts]
    if not subjects:
        raise ValueError("irsa_trust_policy needs at least one service account")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{oidc_issuer}:sub": subjects[0] if len(subjects) == 1 else subjects,
                        f"{oidc_issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def nobody_trust_policy() -> dict[str, Any]:
    """Trust policy no one can use: a role kept while its cluster (and the cluster's OIDC provider,
    which its IRSA trust names) is gone, so that it keeps its name, its ARN and the policies others
    attached to it (IAM refuses to delete a role that has policies attached: DeleteConflict). No
    statement allows, so no one can assume it; the deny says so. Explicit role-assumption actions
    (a trust policy takes only those), not `sts:*`. Not verified against IAM here (no account): that
    it accepts a trust policy whose only statement denies."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}
        ],
    }


def efs_tls_only_policy(file_system_arn: str) -> dict[str, Any]:
    """File system policy: mount, write and root access through a mount target, never without TLS.

    Root access is granted because the access points act as gid 0; an allow statement is needed at
    all because a policy with only a deny replaces EFS's default allow and refuses every mount."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountThroughMountTargets",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "elasticfilesystem:ClientMount",
                    "elasticfilesystem:ClientWrite",
                    "elasticfilesystem:ClientRootAccess",
                ],
                "Resource": file_system_arn,
                "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
            },
            {
                "Sid": "DenyWithoutTls",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": file_system_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def _statement(sid: str, principal: dict[str, Any], actions: Sequence[str], condition: Any = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(actions),
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def key_policy(account_id: str, services: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A KMS key policy: the account administers it through IAM (the default statement, without
    which the key is unmanageable), and each of `services` statements on top."""
    root = _statement("AccountAdministersThroughIam", {"AWS": f"arn:aws:iam::{account_id}:root"}, ["kms:*"])
    return {"Version": "2012-10-17", "Statement": [root, *services]}


def alerts_key_policy(account_id: str, region: str) -> dict[str, Any]:
    """CloudWatch alarms and RDS events publish to the encrypted topic: they need the data key, for
    this account's alarms and DB instances in `region` only (the same source as the topic policy)."""
    use = ["kms:Decrypt", "kms:GenerateDataKey*"]
    return key_policy(
        account_id,
        [
            _statement(
                "CloudWatchAlarmsPublish",
                {"Service": "cloudwatch.amazonaws.com"},
                use,
                _source(account_id, alarm_source_arn(region, account_id)),
            ),
            _statement(
                "RdsEventsPublish",
                {"Service": "events.rds.amazonaws.com"},
                use,
                _source(account_id, rds_instance_source_arn(region, account_id)),
            ),
        ],
    )


def logs_key_policy(account_id: str, region: str, log_group_prefix: str) -> dict[str, Any]:
    """CloudWatch Logs encrypts the log groups under `log_group_prefix` with the key, and no others."""
    arn = f"arn:aws:logs:{region}:{account_id}:log-group:{log_group_prefix}*"
    return key_policy(
        account_id,
        [
            _statement(
                "LogsEncryptTheseGroups",
                {"Service": f"logs.{region}.amazonaws.com"},
                ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arn}},
            )
        ],
    )


def alerts_topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Who may publish to the alerts topic: this account's alarms and RDS event subscriptions, in the
    topic's region."""
    region = topic_arn.split(":")[3]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                **_statement(sid, {"Service": service}, ["sns:Publish"], _source(account_id, source)),
                "Resource": topic_arn,
            }
            for sid, service, source in (
                ("CloudWatchAlarms", "cloudwatch.amazonaws.com", alarm_source_arn(region, account_id)),
                ("RdsEvents", "events.rds.amazonaws.com", rds_instance_source_arn(region, account_id)),
            )
        ],
    }


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Refuse every request to the bucket and its objects that is not over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def remote_logs_policy(bucket_arn: str, prefix: str, key_arn: str) -> dict[str, Any]:
    """What Airflow's S3 remote logging does, and nothing else, on nothing else: read and write the
    log objects under `prefix`, use the bucket's key, and list the bucket.

    The list right is what lets a missing log answer 404. Before every upload the provider checks
    whether the log exists, to append to it (amazon provider 9.39.0, `S3RemoteLogIO.write` ->
    `S3Hook.check_for_key` -> `head_object`, which takes only a 404 as "absent" and re-raises
    anything else, so `write` logs "Could not verify previous log to append" and uploads nothing).
    S3 answers a HEAD or GET of a missing key with 404 only to a caller allowed s3:ListBucket on
    the bucket, 403 otherwise (S3 API reference, HeadObject and GetObject, "Permissions"). A HEAD
    names no prefix, so a ListBucket limited by an `s3:prefix` condition cannot match it (whether
    S3 leaves the key out of that check or leaves it empty, `<prefix>/*` matches neither): the
    statement is unconditioned. It shows no more than the role reads already: the bucket is the
    stack's own, for these logs only (components/log_archive.py), and the program lets this role
    alone write to it, under `prefix`.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListLogs",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
            },
            {
                "Sid": "ReadWriteLogs",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
            {
                "Sid": "UseBucketKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
            },
        ],
    }


def secrets_read_policy(secret_arn_patterns: Sequence[str], key_arn: str, region: str) -> dict[str, Any]:
    """Read the secrets under the given prefixes (`arn:...:secret:<prefix>/*`) and nothing else, and
    decrypt them with their key only through Secrets Manager (`kms:ViaService`). What the amazon
    provider's SecretsManagerBackend calls (9.39.0 secrets/secrets_manager.py): GetSecretValue only."""
    if not secret_arn_patterns:
        raise ValueError("secrets_read_policy needs at least one prefix")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecretsUnderPrefixes",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": list(secret_arn_patterns),
            },
            {
                "Sid": "DecryptThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }


def assume_role_trust(principal_arns: Sequence[str]) -> dict[str, Any]:
    """Trust policy letting these IAM principals (and no others) assume a role with sts:AssumeRole."""
    if not principal_arns:
        raise ValueError("assume_role_trust needs at least one principal")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": list(principal_arns)}, "Action": "sts:AssumeRole"},
        ],
    }
