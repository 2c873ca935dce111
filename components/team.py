"""Team: one team of the shared platform, without cluster-admin.

Creates (`airflow:index:Team`), for the team's name:
- its task IAM role, which only its own service account may assume (IRSA: the trust names
  `system:serviceaccount:<namespace>:airflow-team-<team>` and no other), allowed to read its own
  Secrets Manager prefix (`<teams prefix>/<team>/*`) and decrypt with the secrets' key through
  Secrets Manager; the team attaches its other policies to it (`role_name`);
- that service account, annotated with the role, and a ConfigMap its pods load (`envFrom`), which
  puts the Secrets Manager backend with the team's prefixes first in its task processes
  (`lib.airflow.secrets_backend.team_backend_env`);
- its deployer IAM role, assumable by the IAM roles the team names (its CI), mapped by an EKS
  access entry (no access policy) to a Kubernetes group, bound to a Role in the Airflow namespace
  that manages the team's `<team>-connections` Secret only (`team_role_rules`); and a kubeconfig
  that authenticates as that role, for the team's own Pulumi stack (examples/team-dags).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.parts.iam_roles import iam_role, irsa_trust
from components.parts.outputs import register_public_outputs
from lib.airflow.secrets_backend import (
    TEAM_LABEL,
    TeamSpec,
    secret_arn_pattern,
    team_backend_env,
    team_kubeconfig,
    team_role_rules,
)
from lib.airflow.telemetry import IRSA_ROLE_ANNOTATION
from lib.naming import child_name
from lib.security.iam_documents import assume_role_trust, secrets_read_policy


@dataclass(frozen=True)
class TeamArgs:
    team: TeamSpec
    """The team: its name and the roles that may deploy for it."""
    teams_prefix: str
    """Secrets Manager prefix of the teams; the team's is `<teams_prefix>/<team>`."""
    region: str
    """Region of the cluster and the secrets."""
    account_id: pulumi.Input[str]
    """Account of the secrets."""
    namespace: pulumi.Input[str]
    """The Airflow namespace (an output: the objects wait for it)."""
    namespace_name: str
    """Its name, for the IRSA trust."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    kms_key_arn: pulumi.Input[str]
    """The key the team's secrets are encrypted with."""
    cluster_name: pulumi.Input[str]
    """The EKS cluster (an output of it: the access entry waits for the cluster)."""
    cluster_endpoint: pulumi.Input[str]
    """Its API server URL (the kubeconfig)."""
    cluster_ca: pulumi.Input[str]
    """Its certificate authority data (base64, the kubeconfig)."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the AWS resources."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the Kubernetes objects wait for."""


class Team(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """The team's task role (its service account's `eks.amazonaws.com/role-arn`)."""
    role_name: pulumi.Output[str]
    """Its name, to attach the team's policies to."""
    service_account: str
    """The team's task pods' service account (`pod_override`'s serviceAccountName)."""
    config_map: str
    """The ConfigMap its task pods load (`envFrom`): its secrets backend."""
    secrets_prefix: str
    """Its Secrets Manager prefix (`/connections/<id>`, `/variables/<key>` under it)."""
    deployer_role_arn: pulumi.Output[str]
    """The role the team's stack assumes to manage its objects in the namespace."""
    kubeconfig: pulumi.Output[str]
    """A kubeconfig (JSON) that authenticates as the deployer role."""

    def __init__(self, name: str, args: TeamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Team", name, None, opts)
        team = args.team
        child = pulumi.ResourceOptions(parent=self)
        prefix = team.prefix(args.teams_prefix)
        role, _ = iam_role(
            self,
            child_name(name, "tasks"),
            irsa_trust(args.oidc_provider_arn, args.oidc_issuer, args.namespace_name, [team.service_account]),
            args.tags,
            description=f"Airflow task pods of team {team.name} (IRSA)",
        )
        aws.iam.RolePolicy(
            child_name(name, "tasks-secrets"),
            role=role.name,
            policy=pulumi.Output.all(args.account_id, args.kms_key_arn).apply(
                lambda v: json.dumps(
                    secrets_read_policy([secret_arn_pattern(args.region, v[0], prefix)], v[1], args.region)
                )
            ),
            opts=child,
        )
        deployer, _ = iam_role(
            self,
            child_name(name, "deployer"),
            json.dumps(assume_role_trust(team.deployers)),
            args.tags,
            description=f"Deploys team {team.name}'s objects in the Airflow namespace (Kubernetes group "
            f"{team.kubernetes_group})",
        )
        entry = aws.eks.AccessEntry(
            child_name(name, "access-entry"),
            cluster_name=args.cluster_name,
            principal_arn=deployer.arn,
            kubernetes_groups=[team.kubernetes_group],
            type="STANDARD",
            tags=args.tags,
            opts=child,
        )
        self._kubernetes(name, args, role.arn, entry)
        self.role_arn = role.arn
        self.role_name = role.name
        self.service_account = team.service_account
        self.config_map = team.config_map
        self.secrets_prefix = prefix
        self.deployer_role_arn = deployer.arn
        self.kubeconfig = pulumi.Output.all(
            args.cluster_name, args.cluster_endpoint, args.cluster_ca, deployer.arn
        ).apply(lambda v: team_kubeconfig(v[0], v[1], v[2], args.region, v[3]))
        register_public_outputs(self)

    def _kubernetes(self, name: str, args: TeamArgs, role_arn: pulumi.Output[str], entry: aws.eks.AccessEntry) -> None:
        team = args.team
        opts = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on))
        labels = {TEAM_LABEL: team.name, "app.kubernetes.io/managed-by": "pulumi"}

        def metadata(object_name: str, **more: pulumi.Input[Mapping[str, str]]) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=args.namespace, labels=labels, **more)  # type: ignore[arg-type]

        k8s.core.v1.ServiceAccount(
            child_name(name, "service-account"),
            metadata=metadata(team.service_account, annotations=role_arn.apply(lambda a: {IRSA_ROLE_ANNOTATION: a})),
            # Its tasks need an AWS token (projected by EKS for IRSA), not a Kubernetes API one.
            automount_service_account_token=False,
            opts=opts,
        )
        k8s.core.v1.ConfigMap(
            child_name(name, "backend"),
            metadata=metadata(team.config_map),
            data=team_backend_env(team, args.teams_prefix, args.region),
            opts=opts,
        )
        role_name = f"airflow-team-{team.name}"
        k8s.rbac.v1.Role(child_name(name, "role"), metadata=metadata(role_name), rules=team_role_rules(team), opts=opts)  # type: ignore[arg-type]
        k8s.rbac.v1.RoleBinding(
            child_name(name, "role-binding"),
            metadata=metadata(role_name),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=role_name),
            subjects=[
                k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=team.kubernetes_group)
            ],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[entry])),
        )
