"""SharedStorage: the EFS file system behind Airflow's DAGs and logs volumes.

Creates (`airflow:index:SharedStorage`):
- a KMS key (yearly rotation) and alias encrypting the file system;
- an encrypted EFS file system (general purpose, elastic throughput, lifecycle to Infrequent
  Access and back on first access), its AWS Backup policy (on or off from settings), and a file
  system policy that refuses any access without TLS;
- a security group whose only rule is a separate ingress rule: NFS (2049) from the cluster's
  `nodes` security group; a mount target in the data subnet of every AZ;
- two access points, `dags` and `logs`, that act as uid 50000 gid 0 (the Airflow image's
  user) in their own root directory, so a full logs tree cannot touch the DAGs;
- the EFS CSI driver as an EKS managed add-on at a pinned version, with an IAM role for its service accounts (IRSA)
  holding the AWS managed EFS CSI policy; it waits for the node groups given;
- with the cluster's Kubernetes provider: the `airflow` namespace (labelled for the load
  balancer controller's pod readiness gates) and, for each of dags and
  logs, a static PersistentVolume (TLS mount through the access point) and the
  PersistentVolumeClaim bound to it.
With `protect`, Pulumi `protect` on the file system and its key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.kms import encryption_key
from config.settings import StorageSettings
from lib.iam import irsa_trust_policy
from lib.naming import child_name, with_name
from lib.zones import zone_key

NFS_PORT = 2049
AIRFLOW_NAMESPACE = "airflow"
AIRFLOW_UID = 50000  # the official Airflow image's user; its group is root (0)
AIRFLOW_GID = 0
DIRECTORY_PERMISSIONS = "0775"  # owner and group (gid 0, Airflow's) write
VOLUMES = ("dags", "logs")
VOLUME_CAPACITY = "100Gi"  # EFS is elastic; Kubernetes requires a value and never enforces it
CSI_DRIVER = "efs.csi.aws.com"
CSI_ADDON = "aws-efs-csi-driver"
CSI_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
CSI_SERVICE_ACCOUNTS = ("efs-csi-controller-sa", "efs-csi-node-sa")  # in kube-system
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"


def transition_to_ia(days: int) -> str:
    """EFS lifecycle rule for `days` (`AFTER_30_DAYS`; one day is `AFTER_1_DAY`)."""
    return "AFTER_1_DAY" if days == 1 else f"AFTER_{days}_DAYS"


def csi_trust_policy(oidc_provider_arn: str, oidc_issuer: str) -> str:
    """Trust policy letting only the EFS CSI driver's service accounts assume the role."""
    return json.dumps(irsa_trust_policy(oidc_provider_arn, oidc_issuer, "kube-system", CSI_SERVICE_ACCOUNTS))


def tls_only_policy(file_system_arn: str) -> str:
    """File system policy: mount, write and root access through a mount target, never without TLS.

    Root access is granted because the access points act as gid 0; an allow statement is needed at
    all because a policy with only a deny replaces EFS's default allow and refuses every mount."""
    return json.dumps(
        {
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
    )


@dataclass(frozen=True)
class SharedStorageArgs:
    settings: StorageSettings
    vpc_id: pulumi.Input[str]
    zone_count: int
    """Number of availability zones, and of data subnets."""
    subnet_ids: pulumi.Input[list[str]]
    """Data subnets, one per AZ: one mount target in each."""
    node_security_group_id: pulumi.Input[str]
    """The cluster's `nodes` security group: the only source admitted on NFS."""
    cluster_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    """OIDC issuer host and path, without https://."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster (namespace, volumes and claims)."""
    csi_driver_version: str
    """Version of the EFS CSI driver EKS add-on (pinned per Kubernetes version)."""
    addon_depends_on: Sequence[pulumi.Resource] = ()
    """What the CSI add-on waits for: the node groups (its pods need nodes to become active)."""
    protect: bool = True
    """Pulumi `protect` on the file system and its key."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.zone_count < 1:
            raise ValueError(f"SharedStorageArgs.zone_count {self.zone_count} is not positive")
        if not self.cluster_name:
            raise ValueError("SharedStorageArgs.cluster_name is empty")
        if not self.addon_depends_on:
            raise ValueError("SharedStorageArgs.addon_depends_on is empty; the CSI add-on must wait for nodes")


class SharedStorage(pulumi.ComponentResource):
    file_system_id: pulumi.Output[str]
    """ID of the EFS file system."""
    dags_access_point_id: pulumi.Output[str]
    """Access point of the DAGs volume."""
    logs_access_point_id: pulumi.Output[str]
    """Access point of the logs volume."""
    security_group_id: pulumi.Output[str]
    """Security group of the mount targets."""
    namespace: str
    """Namespace of Airflow (`airflow`)."""
    namespace_resource: k8s.core.v1.Namespace
    """The namespace object (depend on it before creating anything in it)."""
    dags_claim_name: str
    """PersistentVolumeClaim of the DAGs volume (ReadWriteMany) in `namespace`."""
    logs_claim_name: str
    """PersistentVolumeClaim of the logs volume (ReadWriteMany) in `namespace`."""
    claims: list[k8s.core.v1.PersistentVolumeClaim]
    """The two claims (depend on them, with `csi_driver`, before mounting)."""
    csi_driver: aws.eks.Addon
    """The EFS CSI driver add-on; it also waits for the mount targets, so once it exists the
    volumes can be mounted from every AZ."""

    def __init__(self, name: str, args: SharedStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:SharedStorage", name, None, opts)
        s, tags = args.settings, args.tags
        child = pulumi.ResourceOptions(parent=self)
        kube = pulumi.ResourceOptions(parent=self, provider=args.provider)
        fs_name = child_name(name, "efs")

        key = encryption_key(
            self,
            child_name(name, "efs-key"),
            alias=f"{name}-efs",
            description=f"Encryption of EFS file system {fs_name} (Airflow DAGs and logs)",
            protect=args.protect,
            tags=tags,
        )

        fs = aws.efs.FileSystem(
            fs_name,
            creation_token=fs_name,  # idempotent creation, stable across updates
            encrypted=True,
            kms_key_id=key.arn,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia=transition_to_ia(s.transition_to_ia_days)),
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_primary_storage_class="AFTER_1_ACCESS"),
            ],
            tags=with_name(tags, fs_name),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.efs.BackupPolicy(
            child_name(name, "efs-backup"),
            file_system_id=fs.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED" if s.backups else "DISABLED"),
            opts=child,
        )
        policy = aws.efs.FileSystemPolicy(
            child_name(name, "efs-policy"), file_system_id=fs.id, policy=fs.arn.apply(tls_only_policy), opts=child
        )

        security_group = aws.ec2.SecurityGroup(
            child_name(name, "efs-sg"),
            description=f"Mount targets of EFS file system {fs_name}: NFS from the EKS nodes only",
            vpc_id=args.vpc_id,
            tags=with_name(tags, child_name(name, "efs-sg")),
            opts=child,
        )
        # A separate rule (not inline): it waits only for the two groups, never for the cluster.
        aws.vpc.SecurityGroupIngressRule(
            child_name(name, "efs-from-nodes"),
            security_group_id=security_group.id,
            referenced_security_group_id=args.node_security_group_id,
            ip_protocol="tcp",
            from_port=NFS_PORT,
            to_port=NFS_PORT,
            description="NFS from the EKS nodes",
            tags=with_name(tags, child_name(name, "efs-from-nodes")),
            opts=child,
        )
        subnet_ids = pulumi.Output.from_input(args.subnet_ids)
        mount_targets = [
            aws.efs.MountTarget(
                child_name(name, "efs-mt", zone_key(i)),
                file_system_id=fs.id,
                subnet_id=subnet_ids[i],
                security_groups=[security_group.id],
                opts=child,
            )
            for i in range(args.zone_count)
        ]

        access_points = {
            volume: aws.efs.AccessPoint(
                child_name(name, "efs", volume),
                file_system_id=fs.id,
                posix_user=aws.efs.AccessPointPosixUserArgs(uid=AIRFLOW_UID, gid=AIRFLOW_GID),
                root_directory=aws.efs.AccessPointRootDirectoryArgs(
                    path=f"/{volume}",
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=AIRFLOW_UID, owner_gid=AIRFLOW_GID, permissions=DIRECTORY_PERMISSIONS
                    ),
                ),
                tags=with_name(tags, child_name(name, "efs", volume)),
                opts=child,
            )
            for volume in VOLUMES
        }

        role = aws.iam.Role(
            child_name(name, "efs-csi-role"),
            description=f"EFS CSI driver of EKS cluster {args.cluster_name} (IRSA)",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda v: csi_trust_policy(v[0], v[1])
            ),
            tags=with_name(tags, child_name(name, "efs-csi-role")),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            child_name(name, "efs-csi-role", "policy"), role=role.name, policy_arn=CSI_POLICY_ARN, opts=child
        )
        # No configuration_values: the add-on's node DaemonSet already tolerates every taint
        # (the chart's default `node.tolerations: [{operator: Exists}]`), so it runs on the
        # tainted workers group; `node.tolerateAllTaints` is an EBS CSI key that this add-on's
        # schema (additionalProperties: false) would reject.
        self.csi_driver = aws.eks.Addon(
            child_name(name, "efs-csi"),
            cluster_name=args.cluster_name,
            addon_name=CSI_ADDON,
            addon_version=args.csi_driver_version,
            service_account_role_arn=role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=with_name(tags, child_name(name, "efs-csi")),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*args.addon_depends_on, attachment, policy, *mount_targets]
            ),
        )

        self.namespace = AIRFLOW_NAMESPACE
        self.namespace_resource = k8s.core.v1.Namespace(
            child_name(name, "namespace"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=AIRFLOW_NAMESPACE,
                labels={
                    # Airflow needs nothing privileged; warn about what the strictest level would refuse.
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    # The load balancer controller's pod webhook gates a new API server pod's
                    # readiness on its target being healthy in the NLB (only in labelled namespaces).
                    READINESS_GATE_LABEL: "enabled",
                },
            ),
            opts=kube,
        )

        self.claims = []
        claim_names: dict[str, str] = {}
        for volume, access_point in access_points.items():
            pv_name = child_name(name, volume)  # cluster-scoped: the stack's name keeps it unique
            claim_name = f"airflow-{volume}"
            claim_names[volume] = claim_name
            pv = k8s.core.v1.PersistentVolume(
                child_name(name, volume, "pv"),
                metadata=k8s.meta.v1.ObjectMetaArgs(name=pv_name),
                spec=k8s.core.v1.PersistentVolumeSpecArgs(
                    capacity={"storage": VOLUME_CAPACITY},
                    volume_mode="Filesystem",
                    access_modes=["ReadWriteMany"],
                    persistent_volume_reclaim_policy="Retain",  # the data outlives the claim
                    storage_class_name="",  # static: never dynamically provisioned
                    mount_options=["tls"],  # the file system policy refuses plain NFS
                    # Reserved for its claim: no other claim can bind this volume.
                    claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=AIRFLOW_NAMESPACE, name=claim_name),
                    csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                        driver=CSI_DRIVER,
                        volume_handle=pulumi.Output.format("{0}::{1}", fs.id, access_point.id),
                    ),
                ),
                opts=kube,
            )
            self.claims.append(
                k8s.core.v1.PersistentVolumeClaim(
                    child_name(name, volume, "pvc"),
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=claim_name, namespace=self.namespace_resource.metadata.name
                    ),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteMany"],
                        storage_class_name="",
                        volume_mode="Filesystem",
                        volume_name=pv.metadata.name,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": VOLUME_CAPACITY}),
                    ),
                    opts=kube,
                )
            )

        self.file_system_id = fs.id
        self.dags_access_point_id = access_points["dags"].id
        self.logs_access_point_id = access_points["logs"].id
        self.security_group_id = security_group.id
        self.dags_claim_name = claim_names["dags"]
        self.logs_claim_name = claim_names["logs"]
        self.register_outputs(
            {
                "fileSystemId": self.file_system_id,
                "dagsAccessPointId": self.dags_access_point_id,
                "logsAccessPointId": self.logs_access_point_id,
                "securityGroupId": self.security_group_id,
                "namespace": self.namespace,
                "dagsClaimName": self.dags_claim_name,
                "logsClaimName": self.logs_claim_name,
            }
        )
