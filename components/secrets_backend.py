"""SecretsBackend: the IAM side of Airflow's connections and variables in AWS Secrets Manager.

Creates (`airflow:index:SecretsBackend`):
- without a key given, a KMS key (yearly rotation) to create the secrets with (`kms_key_arn`);
- an IAM role only the given service accounts may assume (IRSA: the API server, scheduler, DAG
  processor and triggerer, `lib.airflow.secrets_backend.SECRET_READERS`), allowed
  `secretsmanager:GetSecretValue` on the secrets under the prefixes and nothing else, and
  `kms:Decrypt` with the key only through Secrets Manager.
The chart values that point Airflow at it are `lib.airflow.secrets_backend.secrets_backend_values`.
The secrets themselves are the operators' and teams' (created with the key, under the prefixes):
the stack never holds their values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.parts.iam_roles import iam_role, irsa_trust
from components.parts.kms import encryption_key
from components.parts.outputs import register_public_outputs
from lib.airflow.secrets_backend import Prefixes, secret_arn_pattern
from lib.naming import child_name
from lib.security.iam_documents import nobody_trust_policy, secrets_read_policy


@dataclass(frozen=True)
class SecretsBackendArgs:
    prefixes: Prefixes
    """The connections', variables' (and config options') prefixes the role reads."""
    region: str
    """Region of the secrets (the stack's)."""
    account_id: pulumi.Input[str]
    """Account of the secrets."""
    namespace: str
    """Namespace of the service accounts."""
    service_accounts: tuple[str, ...]
    """Service accounts that assume the role (IRSA)."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    kms_key_arn: str = ""
    """The key the secrets are encrypted with; "" creates one."""
    protect: bool = True
    """Pulumi `protect` on the key it creates."""
    asleep: bool = False
    """The stack sleeps (no cluster, no OIDC provider): the key and the role stay, the role under a
    trust policy no one can use (`lib.security.iam_documents.nobody_trust_policy`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        if not self.service_accounts or not self.prefixes.all():
            raise ValueError("SecretsBackendArgs: service accounts and prefixes are required")


class SecretsBackend(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """The readers' role (their service accounts' `eks.amazonaws.com/role-arn`)."""
    kms_key_arn: pulumi.Output[str]
    """The key the secrets are created with."""

    def __init__(self, name: str, args: SecretsBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:SecretsBackend", name, None, opts)
        if args.kms_key_arn:
            key_arn: pulumi.Output[str] = pulumi.Output.from_input(args.kms_key_arn)
        else:
            key = encryption_key(
                self,
                child_name(name, "key"),
                name,
                f"Airflow connections and variables of {name}",
                args.protect,
                args.tags,
            )
            key_arn = key.arn
        role, _ = iam_role(
            self,
            child_name(name, "role"),
            (
                json.dumps(nobody_trust_policy())
                if args.asleep
                else irsa_trust(args.oidc_provider_arn, args.oidc_issuer, args.namespace, list(args.service_accounts))
            ),
            args.tags,
            description=f"Airflow's secrets backend of {name}: reads {', '.join(args.prefixes.all())}",
        )
        aws.iam.RolePolicy(
            child_name(name, "role-policy"),
            role=role.name,
            policy=pulumi.Output.all(args.account_id, key_arn).apply(
                lambda v: json.dumps(
                    secrets_read_policy(
                        [secret_arn_pattern(args.region, v[0], p) for p in args.prefixes.all()], v[1], args.region
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = role.arn
        self.kms_key_arn = key_arn
        register_public_outputs(self)
