"""Cluster: the EKS control plane and the Kubernetes provider everything in-cluster uses.

Creates (`airflow:index:Cluster`):
- a KMS key (yearly rotation) and alias that envelope-encrypt Kubernetes secrets; its policy is
  AWS's default (the account, through IAM): EKS uses it through a grant it creates with the
  cluster creator's permissions, as the EKS user guide documents for envelope encryption;
- the control-plane log group `/aws/eks/<cluster>/cluster`, with a retention and a key of its own
  that CloudWatch Logs may use for that group only, created before the cluster so that EKS writes
  to it instead of creating one without expiry (both outlive a destroy);
- a `pulumi_eks.Cluster` with no default node group and no pulumi-eks security groups:
  private API endpoint always on, the public one off or limited to given CIDRs, API
  authentication mode with an access entry per admin role (keyed by the role), control-plane
  logs (api, audit, authenticator), an IAM OIDC provider for IAM roles for service accounts,
  the kube-proxy EKS add-on at a pinned version, and an upgrade policy (what EKS does when the
  version's standard support ends);
- the vpc-cni EKS add-on (`EksAddon` `<name>-vpc-cni`) at a pinned version with its own IAM role
  for aws-node (IRSA, AmazonEKS_CNI_Policy, which the node role no longer holds): it needs the
  OIDC provider pulumi-eks creates inside the cluster, so pulumi-eks does not create it
  (`useDefaultVpcCni`); the node groups wait for it (`network_addons`);
- an ingress rule on 443 of the EKS cluster security group per private access CIDR, so that a
  VPN or bastion can reach the private endpoint;
- a Kubernetes provider built from the cluster's kubeconfig (a secret), which waits for the
  rules that admit the deployer.
Asleep (`asleep`), only the two keys and the log group, under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.eks_addon import EksAddon, EksAddonArgs
from components.parts.kms import encryption_key
from components.parts.log_group import encrypted_log_group
from components.parts.outputs import register_public_outputs
from components.parts.security_groups import ingress_rule
from lib.cluster.managed_addons import KUBE_PROXY, MANAGED_ADDONS, VPC_CNI, Installer, installed_by
from lib.cluster.versions import SupportType
from lib.naming import access_entry_key, child_name, slug, with_name
from lib.network.subnets import kubernetes_service_ip
from lib.observability.cloudwatch import LOG_RETENTION_DAYS
from lib.security.audit import cluster_log_group

CLUSTER_LOG_TYPES = ("api", "audit", "authenticator")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
API_PORT = 443


@dataclass(frozen=True)
class ClusterArgs:
    cluster_name: str
    """Name of the EKS cluster."""
    vpc_id: pulumi.Input[str]
    """The VPC of the cluster."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets for the control-plane network interfaces (and the nodes)."""
    kubernetes_version: str
    """EKS Kubernetes version (`1.36`)."""
    addon_versions: Mapping[str, str]
    """EKS add-on versions; this component pins `kube-proxy`, which pulumi-eks creates with the
    cluster, and `vpc-cni`, which it creates itself."""
    region: str
    """The cluster's region (the log key's policy names CloudWatch Logs there)."""
    account_id: pulumi.Input[str]
    """Its account."""
    endpoint_public_access: bool = False
    """Open the public API endpoint, to `public_access_cidrs` only."""
    public_access_cidrs: tuple[str, ...] = ()
    """Sources allowed to the public endpoint (the egress of whoever runs `pulumi up`)."""
    private_access_cidrs: tuple[str, ...] = ()
    """Networks (VPN, bastion, CI runners) admitted to the private endpoint on 443."""
    admin_role_arns: tuple[str, ...] = ()
    """IAM roles given cluster-admin through access entries (never the creator, admin already)."""
    upgrade_policy: SupportType = SupportType.EXTENDED
    """At the end of the version's standard support: EXTENDED stays (and is billed extended support),
    STANDARD has EKS upgrade the control plane. EXTENDED is EKS's own default."""
    log_retention_days: int = 365
    """Days CloudWatch keeps the control-plane logs (a value CloudWatch Logs accepts)."""
    protect: bool = True
    """Protect the KMS keys and the control-plane log group from deletion."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""
    adopt_log_key_id: str = ""
    """ID of the key of the control-plane log group a destroyed cluster of the same name kept: the
    group and the key are imported, not created (`components/parts/log_group.py`)."""
    asleep: bool = False
    """The stack sleeps: only what holds data (the secrets key, the control-plane log group and its
    key), under the same names; no EKS cluster, rules or provider, and the cluster's outputs empty."""

    def __post_init__(self) -> None:
        if not self.cluster_name or not self.kubernetes_version or not self.region:
            raise ValueError("ClusterArgs: cluster_name, kubernetes_version and region are required")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"ClusterArgs.log_retention_days {self.log_retention_days} is not one of {LOG_RETENTION_DAYS}"
            )
        ours = [*installed_by(Installer.CLUSTER), *installed_by(Installer.CLUSTER_NETWORK)]
        missing = [a.name for a in ours if a.name not in self.addon_versions]
        if missing:
            raise ValueError(f"ClusterArgs.addon_versions lacks {missing}")
        if self.endpoint_public_access != bool(self.public_access_cidrs):
            raise ValueError("ClusterArgs.public_access_cidrs: required with endpoint_public_access, refused without")
        if not self.endpoint_public_access and not self.private_access_cidrs:
            raise ValueError("ClusterArgs: no private_access_cidrs and no public endpoint: nothing would reach the API")


class Cluster(pulumi.ComponentResource):
    cluster_name: str
    """Name of the EKS cluster (known before it exists)."""
    eks_cluster: eks.Cluster | None
    """The pulumi-eks cluster (pass it to `eks.ManagedNodeGroup`); None asleep."""
    endpoint: pulumi.Output[str]
    """URL of the Kubernetes API server."""
    oidc_provider_arn: pulumi.Output[str]
    """ARN of the IAM OIDC provider (IRSA trust policies)."""
    oidc_issuer: pulumi.Output[str]
    """OIDC issuer host and path, without https:// (IRSA condition keys)."""
    cluster_security_group_id: pulumi.Output[str]
    """The security group EKS creates for the control plane and nodes."""
    secrets_key_arn: pulumi.Output[str]
    """KMS key encrypting Kubernetes secrets."""
    log_group_name: pulumi.Output[str]
    """The control-plane log group (`/aws/eks/<cluster>/cluster`)."""
    logs_kms_key_arn: pulumi.Output[str]
    """Its key."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig JSON (secret)."""
    kubernetes_service_ip: pulumi.Output[str]
    """ClusterIP of the `kubernetes` Service (the first address of the cluster's service CIDR, which EKS
    picks at creation): where pods reach the Kubernetes API; `""` asleep."""
    provider: k8s.Provider | None
    """Kubernetes provider for this cluster; None asleep."""
    network_addons: dict[str, EksAddon]
    """The add-ons every node needs before it turns Ready (vpc-cni), by EKS name: node groups
    depend on their `addon`; none asleep."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Cluster", name, None, opts)
        self.cluster_name = args.cluster_name
        key = encryption_key(
            self,
            child_name(name, "secrets-key"),
            alias=f"{args.cluster_name}-eks-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {args.cluster_name}",
            protect=args.protect,
            tags=args.tags,
        )
        logs_key, log_group = encrypted_log_group(
            self,
            child_name(name, "cluster-logs"),
            cluster_log_group(args.cluster_name),
            args.region,
            args.account_id,
            args.log_retention_days,
            args.protect,
            args.tags,
            adopt_key_id=args.adopt_log_key_id,
        )
        self.secrets_key_arn = key.arn
        self.log_group_name = log_group.name
        self.logs_kms_key_arn = logs_key.arn
        if args.asleep:
            self.eks_cluster = self.provider = None  # nothing in the cluster is built asleep
            self.endpoint = self.oidc_provider_arn = self.oidc_issuer = pulumi.Output.from_input("")
            self.cluster_security_group_id = self.kubernetes_service_ip = pulumi.Output.from_input("")
            self.network_addons = {}  # vpc-cni and its role go with the cluster
            self.kubeconfig = pulumi.Output.secret("")
            register_public_outputs(self)
            return
        self.eks_cluster = eks_cluster = self._eks_cluster(name, args, key.arn, log_group)
        # EKS's cluster security group admits only its members: open the private endpoint
        # to the given networks (a VPN, a bastion, CI runners) that run `pulumi up`.
        api_rules = [
            ingress_rule(
                self,
                child_name(name, "api-from", slug(cidr)),
                security_group_id=eks_cluster.cluster_security_group_id,
                port=API_PORT,
                description="Kubernetes API (private endpoint)",
                cidr=cidr,
            )
            for cidr in args.private_access_cidrs
        ]
        self.kubeconfig = pulumi.Output.secret(eks_cluster.kubeconfig_json)
        self.provider = k8s.Provider(
            child_name(name, "k8s"),
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # Through the private endpoint, nothing answers before the rules that admit the deployer.
            opts=pulumi.ResourceOptions(parent=self, depends_on=api_rules),
        )
        self.endpoint = eks_cluster.eks_cluster.endpoint
        self.kubernetes_service_ip = eks_cluster.eks_cluster.kubernetes_network_config.apply(
            lambda config: kubernetes_service_ip(config.service_ipv4_cidr)
        )
        self.oidc_provider_arn = eks_cluster.oidc_provider_arn
        self.oidc_issuer = eks_cluster.oidc_issuer
        self.network_addons = {
            entry.name: EksAddon(
                child_name(name, entry.resource_name),
                EksAddonArgs.of(
                    entry,
                    args.addon_versions[entry.name],
                    args.cluster_name,
                    self.oidc_provider_arn,
                    self.oidc_issuer,
                    tags=args.tags,
                    # The Addon pulumi-eks created (v4.3 cluster.ts L1094-1111, cni-addon.ts
                    # L297-313: `VpcCniAddon` `<eks>-vpc-cni` and its `aws.eks.Addon` of that name)
                    # is this one: a live stack updates it in place, adding the role, instead of
                    # a CreateAddon that EKS refuses while the add-on exists.
                    addon_aliases=[self._pulumi_eks_vpc_cni_urn(name, eks_cluster)] if entry.name == VPC_CNI else [],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for entry in installed_by(Installer.CLUSTER_NETWORK)
        }
        self.cluster_security_group_id = eks_cluster.cluster_security_group_id
        register_public_outputs(self)

    def _eks_cluster(
        self, name: str, args: ClusterArgs, key_arn: pulumi.Output[str], log_group: aws.cloudwatch.LogGroup
    ) -> eks.Cluster:
        return eks.Cluster(
            child_name(name, "eks"),
            name=args.cluster_name,
            version=args.kubernetes_version,
            vpc_id=args.vpc_id,
            private_subnet_ids=args.subnet_ids,
            node_associate_public_ip_address=False,
            skip_default_node_group=True,
            skip_default_security_groups=True,
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=list(args.public_access_cidrs) if args.endpoint_public_access else None,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries=self._access_entries(args.admin_role_arns),
            # pulumi-eks manages kube-proxy as an EKS add-on even without a default node group
            # (v4.3 cluster.ts L764-797), at the newest build when no version is given: pinned
            # here, it moves with the Kubernetes version only. It would create vpc-cni too
            # (L1089-1111) unless `useDefaultVpcCni`: its `vpcCniOptions.serviceAccountRoleArn`
            # (cni-addon.ts L44-57) cannot take aws-node's IRSA role, whose trust names the OIDC
            # provider this same component creates (L1245-1262), so the component creates it after.
            use_default_vpc_cni=True,
            **self._addon_options(args),
            # Always set, EXTENDED included: left out, the cluster keeps whatever it was given last.
            # pulumi-eks hands it to its aws.eks.Cluster as is (cluster.ts since #1787, in v4.3.0 and
            # the pinned 4.4 SDK's `upgrade_policy`); EKS changes it in place (UpdateClusterConfig).
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=SupportType(args.upgrade_policy).value),
            encryption_config_key_arn=key_arn,
            enabled_cluster_log_types=list(CLUSTER_LOG_TYPES),
            create_oidc_provider=True,
            tags=with_name(args.tags, args.cluster_name),
            # EKS writes to /aws/eks/<name>/cluster, creating it only when it is missing (pulumi-eks
            # v4.4 names the aws.eks.Cluster `name` and creates no log group, cluster.ts L687-723):
            # the group must exist first. The construction of the remote component waits for it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )

    def _pulumi_eks_vpc_cni_urn(self, name: str, eks_cluster: eks.Cluster) -> pulumi.Output[str]:
        """URN of the `aws.eks.Addon` pulumi-eks created for vpc-cni before this component did."""
        eks_name = child_name(name, "eks")
        parent = pulumi.resource.create_urn(f"{eks_name}-vpc-cni", "eks:index:VpcCniAddon", parent=eks_cluster.urn)
        return pulumi.resource.create_urn(f"{eks_name}-vpc-cni", "aws:eks/addon:Addon", parent=parent)

    @staticmethod
    def _addon_options(args: ClusterArgs) -> dict[str, Any]:
        """pulumi-eks's option of each add-on the catalog has it create (Installer.CLUSTER), with the
        entry's version and configuration: kube-proxy only."""
        entries = {a.name: a for a in installed_by(Installer.CLUSTER)}
        if set(entries) != {KUBE_PROXY}:
            raise ValueError(f"pulumi-eks creates kube-proxy only, not {sorted(entries)}")
        kube_proxy = MANAGED_ADDONS[KUBE_PROXY]
        return {
            "kube_proxy_addon_options": eks.KubeProxyAddonOptionsArgs(
                version=args.addon_versions[KUBE_PROXY],
                configuration_values=kube_proxy.configuration_of(args.cluster_name),
            ),
        }

    @staticmethod
    def _access_entries(admin_role_arns: tuple[str, ...]) -> dict[str, eks.AccessEntryArgs]:
        """Cluster-admin entries, keyed by role: pulumi-eks names each `<name>-<key>`
        (authenticationMode.ts L178-215), so reordering the roles changes nothing. It always
        makes the creating identity admin (bootstrapClusterCreatorAdminPermissions, hard-coded
        true in v4.3 cluster.ts L733-741): an entry for it too fails with ResourceInUseException."""
        return {
            access_entry_key(arn): eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    "cluster-admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=CLUSTER_ADMIN_POLICY,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            for arn in admin_role_arns
        }
