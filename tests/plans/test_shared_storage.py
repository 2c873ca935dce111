"""The EFS volumes (components/shared_storage.py) in both stacks' plans."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import pytest
from pulumi.runtime import mocks as pulumi_mocks

from components.shared_storage import transition_to_ia
from config.data import EFS_TRANSITION_DAYS
from config.settings import Settings
from offline.fakes import FakeCloud
from offline.mocks import Plan, Registration, run_program
from tests.support.settings import settings_of

FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
NAMESPACE = "kubernetes:core/v1:Namespace"
EKS_CLUSTER = "eks:index:Cluster"
CSI_SERVICE_ACCOUNTS = {
    "system:serviceaccount:kube-system:efs-csi-controller-sa",
    "system:serviceaccount:kube-system:efs-csi-node-sa",
}


def storage_children(plan: Plan, type_: str) -> list[Registration]:
    parent = plan.one("airflow:index:SharedStorage").urn
    return [r for r in plan.resources if r.parent == parent and r.type == type_]


T = TypeVar("T")


def only(items: list[T]) -> T:
    assert len(items) == 1, items
    return items[0]


def depended(plan: Plan, reg: Registration, type_: str) -> list[Registration]:
    """The registrations of `type_` that `reg` directly depends on."""
    return [r for r in plan.of_type(type_) if r.urn in reg.dependencies]


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> tuple[Plan, Settings]:
    plan = {"dev": dev, "prod": prod}[request.param]
    return plan, settings_of(request.param)


def test_one_encrypted_elastic_file_system(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    fs = plan.one(FILE_SYSTEM)
    assert fs.parent == plan.one("airflow:index:SharedStorage").urn
    assert fs.inputs["encrypted"] is True
    key = only(depended(plan, fs, "aws:kms/key:Key"))
    assert key.parent == fs.parent  # its own key, not the cluster's
    assert key.inputs["enableKeyRotation"] is True
    assert fs.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert fs.inputs["throughputMode"] == "elastic"
    assert fs.inputs["performanceMode"] == "generalPurpose"
    assert fs.inputs["creationToken"]
    assert fs.inputs["lifecyclePolicies"] == [
        {"transitionToIa": f"AFTER_{settings.storage.transition_to_ia_days}_DAYS"},
        {"transitionToPrimaryStorageClass": "AFTER_1_ACCESS"},
    ]
    assert plan.outputs["efs_file_system_id"].startswith("fs-")


def test_transition_rule_names() -> None:
    assert transition_to_ia(1) == "AFTER_1_DAY"
    assert transition_to_ia(30) == "AFTER_30_DAYS"
    assert {transition_to_ia(d) for d in EFS_TRANSITION_DAYS} == {
        "AFTER_1_DAY",
        "AFTER_7_DAYS",
        "AFTER_14_DAYS",
        "AFTER_30_DAYS",
        "AFTER_60_DAYS",
        "AFTER_90_DAYS",
        "AFTER_180_DAYS",
        "AFTER_270_DAYS",
        "AFTER_365_DAYS",
    }


def test_file_system_policy_refuses_plain_nfs(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    fs = plan.one(FILE_SYSTEM)
    policy = only(storage_children(plan, "aws:efs/fileSystemPolicy:FileSystemPolicy"))
    assert policy.inputs["fileSystemId"] == plan.outputs["efs_file_system_id"]
    assert fs.urn in policy.dependencies
    statements = json.loads(policy.inputs["policy"])["Statement"]
    deny = only([s for s in statements if s["Effect"] == "Deny"])
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "*"
    # Without an allow, a policy replaces EFS's default allow and every mount is refused.
    allow = only([s for s in statements if s["Effect"] == "Allow"])
    assert allow["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    assert {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"} <= set(allow["Action"])
    file_system_arn = f":file-system/{plan.outputs['efs_file_system_id']}"
    assert all(s["Resource"].endswith(file_system_arn) for s in statements)


def test_backups_follow_settings(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    backup = only(storage_children(plan, "aws:efs/backupPolicy:BackupPolicy"))
    assert backup.inputs["fileSystemId"] == plan.outputs["efs_file_system_id"]
    assert backup.inputs["backupPolicy"] == {"status": "ENABLED" if settings.storage.backups else "DISABLED"}


def test_prod_backs_up_and_protects(prod: Plan) -> None:
    backup = only(storage_children(prod, "aws:efs/backupPolicy:BackupPolicy"))
    assert backup.inputs["backupPolicy"] == {"status": "ENABLED"}
    fs = prod.one(FILE_SYSTEM)
    assert fs.protect is True
    assert only(depended(prod, fs, "aws:kms/key:Key")).protect is True


def test_dev_neither_backs_up_nor_protects(dev: Plan) -> None:
    backup = only(storage_children(dev, "aws:efs/backupPolicy:BackupPolicy"))
    assert backup.inputs["backupPolicy"] == {"status": "DISABLED"}
    fs = dev.one(FILE_SYSTEM)
    assert fs.protect is False
    assert only(depended(dev, fs, "aws:kms/key:Key")).protect is False


def test_a_mount_target_in_every_data_subnet(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    targets = plan.of_type(MOUNT_TARGET)
    rule = only(storage_children(plan, INGRESS))
    assert len(targets) == len(settings.network.availability_zone_ids) == 3
    assert sorted(t.name for t in targets) == [f"airflow-{plan.stack}-efs-mt-{z}" for z in "abc"]
    assert sorted(t.inputs["subnetId"] for t in targets) == sorted(plan.outputs["vpc_data_subnet_ids"])
    for target in targets:
        assert target.inputs["fileSystemId"] == plan.outputs["efs_file_system_id"]
        assert target.inputs["securityGroups"] == [rule.inputs["securityGroupId"]]


def test_only_the_nodes_reach_nfs(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    group = only(storage_children(plan, "aws:ec2/securityGroup:SecurityGroup"))
    rule = only(storage_children(plan, INGRESS))
    assert group.urn in rule.dependencies
    assert rule.inputs["referencedSecurityGroupId"] == plan.outputs["cluster_node_security_group_id"]
    # Task pods mount the DAGs and logs: the admitted group is one the task nodes carry.
    (workers,) = [t for t in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate") if t.name.endswith("-workers-lt")]
    assert rule.inputs["referencedSecurityGroupId"] in workers.inputs["vpcSecurityGroupIds"]
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 2049, 2049)
    assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    assert storage_children(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []


def test_access_points_act_as_airflow(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    points = plan.of_type(ACCESS_POINT)
    assert len(points) == 2
    assert sorted(p.inputs["rootDirectory"]["path"] for p in points) == ["/dags", "/logs"]
    for point in points:
        assert point.inputs["fileSystemId"] == plan.outputs["efs_file_system_id"]
        assert point.inputs["posixUser"] == {"uid": 50000, "gid": 0}
        creation = point.inputs["rootDirectory"]["creationInfo"]
        assert (creation["ownerUid"], creation["ownerGid"]) == (50000, 0)
        mode = int(creation["permissions"], 8)
        assert mode & 0o700 == 0o700  # the owner, uid 50000, reads, writes and enters
        assert mode & 0o070 == 0o070  # so does the group, gid 0: Airflow's group
        assert mode & 0o002 == 0  # nobody else writes
    ids = {plan.outputs["efs_dags_access_point_id"], plan.outputs["efs_logs_access_point_id"]}
    assert len(ids) == 2 and all(i.startswith("fsap-") for i in ids)


def volumes(plan: Plan) -> dict[str, tuple[Registration, Registration, Registration]]:
    """Per volume (dags, logs): its access point, PersistentVolume and claim, tied together by
    the claim names the stack exports."""
    result = {}
    for volume in ("dags", "logs"):
        claim_name = plan.outputs[f"efs_{volume}_claim_name"]
        claim = only([c for c in plan.of_type(PVC) if c.inputs["metadata"]["name"] == claim_name])
        pv = only([v for v in plan.of_type(PV) if v.inputs["spec"]["claimRef"]["name"] == claim_name])
        point = only(depended(plan, pv, ACCESS_POINT))
        result[volume] = (point, pv, claim)
    return result


def test_persistent_volumes_mount_their_access_point_with_tls(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    assert len(plan.of_type(PV)) == 2
    fs_id = plan.outputs["efs_file_system_id"]
    for volume, (point, pv, _claim) in volumes(plan).items():
        spec = pv.inputs["spec"]
        assert point.inputs["rootDirectory"]["path"] == f"/{volume}"
        assert spec["accessModes"] == ["ReadWriteMany"]
        assert spec["volumeMode"] == "Filesystem"
        assert spec["persistentVolumeReclaimPolicy"] == "Retain"
        assert spec["storageClassName"] == ""
        assert spec["csi"]["driver"] == "efs.csi.aws.com"
        assert re.fullmatch(r"fs-[0-9a-f]+::fsap-[0-9a-f]+", spec["csi"]["volumeHandle"])
        assert spec["csi"]["volumeHandle"] == f"{fs_id}::{plan.outputs[f'efs_{volume}_access_point_id']}"
        assert "tls" in spec["mountOptions"]
        assert re.fullmatch(r"\d+(Gi|Ti)", spec["capacity"]["storage"])
        assert spec["claimRef"]["namespace"] == plan.outputs["airflow_namespace"]


def test_claims_bind_their_own_volume_in_the_airflow_namespace(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    assert len(plan.of_type(PVC)) == 2
    assert plan.outputs["airflow_namespace"] == "airflow"
    assert plan.outputs["efs_dags_claim_name"] != plan.outputs["efs_logs_claim_name"]
    (namespace,) = [n for n in plan.of_type(NAMESPACE) if n.inputs["metadata"]["name"] == "airflow"]
    # The load balancer controller injects readiness gates into this namespace's pods only when
    # it carries this label (controller chart 3.5.0, templates/webhook.yaml, mpod.elbv2.k8s.aws).
    assert namespace.inputs["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    pv_names = set()
    for pv_reg, claim in ((pv, claim) for _, pv, claim in volumes(plan).values()):
        spec = claim.inputs["spec"]
        assert claim.inputs["metadata"]["namespace"] == "airflow"
        assert namespace.urn in claim.dependencies
        assert spec["accessModes"] == ["ReadWriteMany"]
        assert spec["volumeMode"] == "Filesystem"
        assert spec["storageClassName"] == ""
        assert spec["volumeName"] == pv_reg.inputs["metadata"]["name"]
        assert spec["resources"]["requests"]["storage"] == pv_reg.inputs["spec"]["capacity"]["storage"]
        pv_names.add(spec["volumeName"])
    assert len(pv_names) == 2  # DAGs and logs never share a volume


def test_kubernetes_objects_use_the_cluster_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    # A registration does not record its provider; the mock's arguments do.
    providers: dict[tuple[str, str], str | None] = {}
    new_resource = FakeCloud.new_resource

    def spy(self: FakeCloud, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        providers[(args.typ, args.name)] = args.provider
        return new_resource(self, args)

    monkeypatch.setattr(FakeCloud, "new_resource", spy)
    plan = run_program("dev")
    provider = plan.one("pulumi:providers:kubernetes")
    objects = [*plan.of_type(NAMESPACE), *plan.of_type(PV), *plan.of_type(PVC)]
    assert len(objects) == 6  # Airflow's namespace and the database roles Job's, two volumes, two claims
    for obj in objects:
        assert (providers[(obj.type, obj.name)] or "").startswith(provider.urn + "::"), obj.name
        assert obj.inputs["metadata"]["name"], obj.name  # explicit: no autonaming
    # AWS resources of the component keep the default AWS provider.
    assert not (providers[(FILE_SYSTEM, plan.one(FILE_SYSTEM).name)] or "").startswith(provider.urn)


def trust_statement(role: Registration) -> dict[str, Any]:
    statement: dict[str, Any] = only(json.loads(role.inputs["assumeRolePolicy"])["Statement"])
    return statement


def test_csi_addon_has_no_iam_role(stack: tuple[Plan, Settings]) -> None:
    """Static volumes mounted with `tls`: neither the controller nor the node plugin calls AWS
    (lib/cluster/managed_addons.py cites aws-efs-csi-driver v3.3.0), so no role, no trust of the
    node service account and no AmazonEFSCSIDriverPolicy."""
    plan, _ = stack
    addon = plan.one(ADDON, f"airflow-{plan.stack}-efs-csi")
    assert addon.inputs["addonName"] == "aws-efs-csi-driver"
    assert addon.inputs["clusterName"] == plan.outputs["cluster_name"]
    assert "serviceAccountRoleArn" not in addon.inputs
    component = plan.by_urn(addon.parent)
    assert not [r for r in plan.resources if r.parent == component.urn and r.type == ROLE]
    trusts = [json.loads(r.inputs["assumeRolePolicy"]) for r in plan.of_type(ROLE)]
    subjects = json.dumps(trusts)
    assert not any(sa.rsplit(":", 1)[1] in subjects for sa in CSI_SERVICE_ACCOUNTS)
    attached = [a.inputs["policyArn"] for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert not [p for p in attached if "EFSCSI" in p]
    # Static: every volume is a PV of the program's, no storage class, kept when its claim goes.
    pvs = plan.of_type(PV)
    assert len(pvs) == 2
    for pv in pvs:
        assert pv.inputs["spec"]["storageClassName"] == ""
        assert pv.inputs["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        assert pv.inputs["spec"]["mountOptions"] == ["tls"]


def test_csi_addon_waits_for_nodes_and_mount_targets(stack: tuple[Plan, Settings]) -> None:
    plan, settings = stack
    addon = plan.one(ADDON, f"airflow-{plan.stack}-efs-csi")
    groups = plan.of_type("eks:index:ManagedNodeGroup")
    assert len(groups) == len(settings.node_groups) == 3
    assert {g.urn for g in groups} <= set(addon.dependencies)
    assert {t.urn for t in plan.of_type(MOUNT_TARGET)} <= set(addon.dependencies)
    # The node DaemonSet tolerates every taint by default (workers are tainted); the EBS key
    # `node.tolerateAllTaints` is not in this add-on's schema and would be rejected.
    assert "tolerateAllTaints" not in addon.inputs.get("configurationValues", "")


def test_file_system_never_waits_for_the_eks_cluster(stack: tuple[Plan, Settings]) -> None:
    plan, _ = stack
    eks = plan.one(EKS_CLUSTER).urn
    regs = [
        plan.one(FILE_SYSTEM),
        *plan.of_type(MOUNT_TARGET),
        *plan.of_type(ACCESS_POINT),
        *storage_children(plan, INGRESS),
        *storage_children(plan, "aws:efs/fileSystemPolicy:FileSystemPolicy"),
    ]
    assert len(regs) == 8
    for reg in regs:
        assert eks not in plan.waits_for(reg.urn), reg.name
    # Nor on the node groups: only the add-on does.
    groups = {g.urn for g in plan.of_type("eks:index:ManagedNodeGroup")}
    assert not groups & plan.waits_for(plan.one(FILE_SYSTEM).urn)
    assert eks in plan.waits_for(plan.one(ADDON, f"airflow-{plan.stack}-efs-csi").urn)
