"""EksAddon: one EKS managed add-on at a pinned version, installed once there are nodes for it.

Creates (`airflow:index:EksAddon`):
- an `aws.eks.Addon` at the given version, taking over the self-managed copy EKS installs with a
  new cluster (`OVERWRITE` on create), and keeping the program's settings on update. It waits for
  what `depends_on` lists: an add-on whose pods need nodes (CoreDNS, the EFS CSI driver) only
  turns ACTIVE once the node groups exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from lib.eks_addons import VERSION_PATTERN
from lib.naming import with_name


@dataclass(frozen=True)
class EksAddonArgs:
    cluster_name: str
    """Name of the EKS cluster."""
    addon_name: str
    """EKS add-on name (`coredns`)."""
    version: str
    """Add-on version (`v1.13.2-eksbuild.4`): pinned, so it moves only in a reviewed change."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the node groups the add-on's pods run on)."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cluster_name or not self.addon_name:
            raise ValueError("EksAddonArgs: cluster_name and addon_name are required")
        if not VERSION_PATTERN.match(self.version):
            raise ValueError(f"EksAddonArgs.version '{self.version}' is not an EKS add-on version (v1.2.3-eksbuild.4)")


class EksAddon(pulumi.ComponentResource):
    addon: aws.eks.Addon
    """The EKS add-on (depend on it to wait for it to be ACTIVE)."""
    version: str
    """Its version."""

    def __init__(self, name: str, args: EksAddonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:EksAddon", name, None, opts)
        self.addon = aws.eks.Addon(
            name,
            cluster_name=args.cluster_name,
            addon_name=args.addon_name,
            addon_version=args.version,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=with_name(args.tags, name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.version = args.version
        self.register_outputs({"addonName": args.addon_name, "version": self.version})
