"""EksAddon: one EKS managed add-on at a pinned version, installed once what it needs exists.

Creates (`airflow:index:EksAddon`):
- optionally, an IAM role that only the add-on's service accounts can assume through the
  cluster's OIDC provider (IRSA), with the given AWS managed policy attached; and its
  configuration values;
- an `aws.eks.Addon` at the given version, taking over the self-managed copy EKS installs with a
  new cluster (`OVERWRITE` on create), and keeping the program's settings on update. It waits for
  what `depends_on` lists: an add-on whose pods need nodes (CoreDNS, the EFS CSI driver) only
  turns ACTIVE once the node groups exist; vpc-cni, which the nodes need to turn Ready, waits for
  its role only, and the node groups wait for it (as pulumi-eks orders its own copy: v4.3
  nodegroup.ts L1143-1152). Optionally
  `preserve` (its Kubernetes objects stay if the add-on is deleted) and aliases of the
  `aws.eks.Addon` alone (it was another component's before).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.parts.iam_roles import iam_role, irsa_trust
from components.parts.outputs import register_public_outputs
from lib.cluster.managed_addons import ADDON_NAMESPACE, VERSION_PATTERN, ManagedAddon
from lib.naming import child_name, with_name


@dataclass(frozen=True)
class AddonRoleArgs:
    """An IAM role for the add-on's service accounts (IRSA)."""

    service_accounts: tuple[str, ...]
    """The add-on's service accounts in kube-system: only they may assume the role."""
    policy_arn: str
    """The AWS managed policy the role gets."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    description: str = ""
    """Description of the role."""
    namespace: str = ADDON_NAMESPACE
    """Namespace of the service accounts."""


@dataclass(frozen=True)
class EksAddonArgs:
    cluster_name: str
    """Name of the EKS cluster."""
    addon_name: str
    """EKS add-on name (`coredns`)."""
    version: str
    """Add-on version (`v1.13.2-eksbuild.4`): pinned, so it moves only in a reviewed change."""
    role: AddonRoleArgs | None = None
    """An IAM role for the add-on's service accounts, when it calls AWS."""
    configuration: Mapping[str, Any] | None = None
    """The add-on's configuration values (its own JSON schema); None: its defaults."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the node groups the add-on's pods run on)."""
    former_parent: pulumi.Alias | None = None
    """Where this add-on's resources were created before (they keep their names): given, they
    carry this alias, so an existing stack updates them in place."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""
    addon_aliases: Sequence[pulumi.Input[str]] = ()
    """URNs the `aws.eks.Addon` alone had before (another component created it): a live stack
    updates it in place."""
    preserve: bool = False
    """Leave the add-on's Kubernetes objects in the cluster when the `aws.eks.Addon` is deleted."""

    def __post_init__(self) -> None:
        if not self.cluster_name or not self.addon_name:
            raise ValueError("EksAddonArgs: cluster_name and addon_name are required")
        if not VERSION_PATTERN.match(self.version):
            raise ValueError(f"EksAddonArgs.version '{self.version}' is not an EKS add-on version (v1.2.3-eksbuild.4)")
        if self.role is not None and not self.role.service_accounts:
            raise ValueError("EksAddonArgs.role.service_accounts is empty")

    @classmethod
    def of(
        cls,
        entry: ManagedAddon,
        version: str,
        cluster_name: str,
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer: pulumi.Input[str],
        depends_on: Sequence[pulumi.Resource] = (),
        former_parent: pulumi.Alias | None = None,
        tags: Mapping[str, str] | None = None,
        addon_aliases: Sequence[pulumi.Input[str]] = (),
    ) -> EksAddonArgs:
        """The args of the add-on catalog's `entry` (lib/cluster/managed_addons.py) at `version`."""
        role = entry.role
        return cls(
            cluster_name=cluster_name,
            addon_name=entry.name,
            version=version,
            role=AddonRoleArgs(
                service_accounts=role.service_accounts,
                policy_arn=role.policy_arn,
                oidc_provider_arn=oidc_provider_arn,
                oidc_issuer=oidc_issuer,
                description=role.description(cluster_name),
                namespace=role.namespace,
            )
            if role
            else None,
            configuration=entry.configuration_of(cluster_name),
            depends_on=depends_on,
            former_parent=former_parent,
            tags=tags or {},
            addon_aliases=addon_aliases,
            preserve=entry.preserve,
        )


class EksAddon(pulumi.ComponentResource):
    addon: aws.eks.Addon
    """The EKS add-on (depend on it to wait for it to be ACTIVE)."""
    addon_name: str
    """Its EKS name."""
    version: str
    """Its version."""
    role_arn: pulumi.Output[str] | None
    """The add-on's IAM role, if it has one."""

    def __init__(self, name: str, args: EksAddonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:EksAddon", name, None, opts)
        moved = [args.former_parent] if args.former_parent else None
        waits_for = list(args.depends_on)
        self.role_arn = None
        if args.role is not None:
            spec = args.role
            role, attachments = iam_role(
                self,
                child_name(name, "role"),
                irsa_trust(spec.oidc_provider_arn, spec.oidc_issuer, spec.namespace, spec.service_accounts),
                args.tags,
                managed_policies={"policy": spec.policy_arn},
                description=spec.description or None,
                aliases=moved,
            )
            self.role_arn = role.arn
            waits_for += attachments
        self.addon = aws.eks.Addon(
            name,
            cluster_name=args.cluster_name,
            addon_name=args.addon_name,
            addon_version=args.version,
            service_account_role_arn=self.role_arn,
            configuration_values=json.dumps(args.configuration, sort_keys=True) if args.configuration else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            preserve=args.preserve or None,
            tags=with_name(args.tags, name),
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[*(moved or []), *args.addon_aliases] or None, depends_on=waits_for
            ),
        )
        self.addon_name = args.addon_name
        self.version = args.version
        register_public_outputs(self)
