"""SharedStorage: the EFS file system behind Airflow's DAGs and logs volumes.

Creates (`airflow:index:SharedStorage`):
- a KMS key (yearly rotation) and alias encrypting the file system;
- an encrypted EFS file system (general purpose, elastic throughput, lifecycle to Infrequent
  Access and back on first access), its AWS Backup policy (on or off), and a file system policy
  that refuses any access without TLS;
- a security group whose only rule admits the nodes' group on NFS (2049); a mount target in the
  data subnet of every AZ;
- per volume (`dags`, `logs`), an access point that acts as uid 50000 gid 0 (the Airflow image's
  user) in its own root directory, so a full logs tree cannot touch the DAGs, and, with the
  cluster's Kubernetes provider, a static PersistentVolume (TLS mount through the access point,
  EFS CSI driver) reserved for one claim, which the volume's user creates (the Airflow component).
With `protect`, Pulumi `protect` on the file system and its key. While the stack sleeps (no
provider) everything but the PersistentVolumes stays, under the same names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.parts.kms import encryption_key
from components.parts.outputs import register_public_outputs
from components.parts.security_groups import ingress_rule
from lib.naming import child_name, with_name
from lib.network.zones import zone_key
from lib.security.iam_documents import efs_tls_only_policy

NFS_PORT = 2049
AIRFLOW_UID = 50000  # the official Airflow image's user; its group is root (0)
AIRFLOW_GID = 0
DIRECTORY_PERMISSIONS = "0775"  # owner and group (gid 0, Airflow's) write
VOLUME_CAPACITY = "100Gi"  # EFS is elastic; Kubernetes requires a value and never enforces it
CSI_DRIVER = "efs.csi.aws.com"


def transition_to_ia(days: int) -> str:
    """EFS lifecycle rule for `days` (`AFTER_30_DAYS`; one day is `AFTER_1_DAY`)."""
    return "AFTER_1_DAY" if days == 1 else f"AFTER_{days}_DAYS"


@dataclass(frozen=True)
class SharedStorageArgs:
    vpc_id: pulumi.Input[str]
    """The VPC of the mount targets' security group."""
    subnet_ids: pulumi.Input[list[str]]
    """Data subnets, one per AZ: one mount target in each."""
    zone_count: int
    """Number of availability zones, and of data subnets."""
    node_security_group_id: pulumi.Input[str]
    """The nodes' security group: the only source admitted on NFS."""
    provider: k8s.Provider | None
    """Kubernetes provider of the cluster (the PersistentVolumes); None while the stack sleeps (no
    cluster): the file system, its access points and mount targets stay, no PersistentVolume."""
    claim_namespace: str
    """Namespace of the claims the volumes are reserved for."""
    claims: Mapping[str, str] = field(default_factory=lambda: {"dags": "airflow-dags", "logs": "airflow-logs"})
    """Volume name -> the claim (in `claim_namespace`) that alone may bind it."""
    transition_to_ia_days: int = 30
    """Days before a file moves to Infrequent Access (1, 7, 14, 30, 60, 90, 180, 270, 365)."""
    backups: bool = True
    """AWS Backup of the file system."""
    protect: bool = True
    """Pulumi `protect` on the file system and its key."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource."""

    def __post_init__(self) -> None:
        if self.zone_count < 1:
            raise ValueError(f"SharedStorageArgs.zone_count {self.zone_count} is not positive")
        if not self.claims or not self.claim_namespace:
            raise ValueError("SharedStorageArgs: claims and claim_namespace are required")


class SharedStorage(pulumi.ComponentResource):
    file_system_id: pulumi.Output[str]
    """ID of the EFS file system."""
    access_point_ids: dict[str, pulumi.Output[str]]
    """Access point of each volume."""
    security_group_id: pulumi.Output[str]
    """Security group of the mount targets."""
    volume_names: dict[str, pulumi.Output[str]]
    """PersistentVolume of each volume (ReadWriteMany, reserved for its claim); none asleep."""
    claim_names: dict[str, str]
    """The claim each volume is reserved for, in `claim_namespace`."""
    claim_namespace: str
    """Namespace of those claims."""
    volume_capacity: str
    """Capacity of every volume (EFS never enforces it; a claim must request at most this)."""
    mount_ready: list[pulumi.Resource]
    """What a mount needs besides the CSI driver: the file system policy and a mount target in
    every AZ (the CSI driver add-on waits for these)."""

    def __init__(self, name: str, args: SharedStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:SharedStorage", name, None, opts)
        fs = self._file_system(name, args)
        mount_targets = self._mount_targets(name, args, fs)
        self.access_point_ids, self.volume_names = {}, {}
        for volume, claim in args.claims.items():
            access_point = aws.efs.AccessPoint(
                child_name(name, "efs", volume),
                file_system_id=fs.id,
                posix_user=aws.efs.AccessPointPosixUserArgs(uid=AIRFLOW_UID, gid=AIRFLOW_GID),
                root_directory=aws.efs.AccessPointRootDirectoryArgs(
                    path=f"/{volume}",
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=AIRFLOW_UID, owner_gid=AIRFLOW_GID, permissions=DIRECTORY_PERMISSIONS
                    ),
                ),
                tags=with_name(args.tags, child_name(name, "efs", volume)),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.access_point_ids[volume] = access_point.id
            if args.provider is not None:
                self.volume_names[volume] = self._volume(name, volume, claim, args, fs, access_point).metadata.name
        self.file_system_id = fs.id
        self.claim_names = dict(args.claims)
        self.claim_namespace = args.claim_namespace
        self.volume_capacity = VOLUME_CAPACITY
        self.mount_ready = mount_targets
        register_public_outputs(self)

    def _file_system(self, name: str, args: SharedStorageArgs) -> aws.efs.FileSystem:
        fs_name = child_name(name, "efs")
        child = pulumi.ResourceOptions(parent=self)
        key = encryption_key(
            self,
            child_name(name, "efs-key"),
            alias=f"{name}-efs",
            description=f"Encryption of EFS file system {fs_name} (Airflow DAGs and logs)",
            protect=args.protect,
            tags=args.tags,
        )
        fs = aws.efs.FileSystem(
            fs_name,
            creation_token=fs_name,  # idempotent creation, stable across updates
            encrypted=True,
            kms_key_id=key.arn,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia=transition_to_ia(args.transition_to_ia_days)),
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_primary_storage_class="AFTER_1_ACCESS"),
            ],
            tags=with_name(args.tags, fs_name),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.efs.BackupPolicy(
            child_name(name, "efs-backup"),
            file_system_id=fs.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED" if args.backups else "DISABLED"),
            opts=child,
        )
        return fs

    def _mount_targets(self, name: str, args: SharedStorageArgs, fs: aws.efs.FileSystem) -> list[pulumi.Resource]:
        """The TLS-only policy, the security group and a mount target per AZ (returned with the policy)."""
        child = pulumi.ResourceOptions(parent=self)
        policy = aws.efs.FileSystemPolicy(
            child_name(name, "efs-policy"),
            file_system_id=fs.id,
            policy=fs.arn.apply(lambda arn: json.dumps(efs_tls_only_policy(arn))),
            opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            child_name(name, "efs-sg"),
            description=f"Mount targets of EFS file system {child_name(name, 'efs')}: NFS from the EKS nodes only",
            vpc_id=args.vpc_id,
            tags=with_name(args.tags, child_name(name, "efs-sg")),
            opts=child,
        )
        ingress_rule(
            self,
            child_name(name, "efs-from-nodes"),
            security_group_id=security_group.id,
            port=NFS_PORT,
            description="NFS from the EKS nodes",
            source_security_group_id=args.node_security_group_id,
            tags=args.tags,
        )
        self.security_group_id = security_group.id
        subnet_ids = pulumi.Output.from_input(args.subnet_ids)
        targets: list[pulumi.Resource] = [
            aws.efs.MountTarget(
                child_name(name, "efs-mt", zone_key(i)),
                file_system_id=fs.id,
                subnet_id=subnet_ids[i],
                security_groups=[security_group.id],
                opts=child,
            )
            for i in range(args.zone_count)
        ]
        return [policy, *targets]

    def _volume(
        self,
        name: str,
        volume: str,
        claim: str,
        args: SharedStorageArgs,
        fs: aws.efs.FileSystem,
        access_point: aws.efs.AccessPoint,
    ) -> k8s.core.v1.PersistentVolume:
        provider = args.provider
        return k8s.core.v1.PersistentVolume(
            child_name(name, volume, "pv"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=child_name(name, volume)),  # cluster-scoped: the stack's name
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": VOLUME_CAPACITY},
                volume_mode="Filesystem",
                access_modes=["ReadWriteMany"],
                persistent_volume_reclaim_policy="Retain",  # the data outlives the claim
                storage_class_name="",  # static: never dynamically provisioned
                mount_options=["tls"],  # the file system policy refuses plain NFS
                # Reserved for its claim: no other claim can bind this volume.
                claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=args.claim_namespace, name=claim),
                csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                    driver=CSI_DRIVER, volume_handle=pulumi.Output.format("{0}::{1}", fs.id, access_point.id)
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
