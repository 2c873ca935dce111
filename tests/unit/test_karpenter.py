"""Karpenter as plain data: a NodePool and an EC2NodeClass per task group, the controller's IAM and queue."""

from __future__ import annotations

from lib.cluster.karpenter import (
    KARPENTER,
    TASK_POD_ANNOTATIONS,
    ec2_node_class,
    interruption_queue_policy,
    interruption_rules,
    karpenter_controller_policy,
    karpenter_values,
    node_pool,
)
from lib.cluster.node_groups import CapacityType, NodeGroup, Taint, TaintEffect

GPU = NodeGroup(
    "gpu",
    ("g4dn.xlarge", "g5.xlarge"),
    0,
    0,
    4,
    disk_size_gib=100,
    labels={"airflow-eks/accelerator": "nvidia"},
    taints=(Taint("airflow-eks/gpu", "true", TaintEffect.NO_SCHEDULE),),
    task_queue="gpu",
)
WORKERS = NodeGroup(
    "workers",
    ("m7g.xlarge",),
    0,
    0,
    20,
    capacity_type=CapacityType.SPOT,
    taints=(Taint("airflow.apache.org/workers", "true", TaintEffect.NO_SCHEDULE),),
)
SYSTEM = NodeGroup("system", ("m6i.large",), 2, 2, 3)
CLUSTER = "airflow-prod"


def test_the_chart_is_pinned_on_its_oci_registry() -> None:
    assert (KARPENTER.repository, KARPENTER.chart, KARPENTER.version) == (
        "oci://public.ecr.aws/karpenter",
        "karpenter",
        "1.14.1",
    )


def test_the_controller_runs_on_the_system_group_for_this_cluster_and_queue() -> None:
    assert karpenter_values(CLUSTER, "airflow-prod-karpenter", SYSTEM) == {
        "settings": {"clusterName": CLUSTER, "interruptionQueue": "airflow-prod-karpenter"},
        "serviceAccount": {"create": True, "name": "karpenter"},
        "replicas": 2,
        "nodeSelector": {"airflow-eks/node-group": "system"},
        "tolerations": [],
        "controller": {
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
        },
    }


def test_a_task_groups_node_pool_keeps_its_placement_and_never_disrupts_a_busy_node() -> None:
    pool = node_pool(GPU)
    assert pool["apiVersion"] == "karpenter.sh/v1" and pool["kind"] == "NodePool"
    template = pool["spec"]["template"]
    assert template["metadata"]["labels"] == {"airflow-eks/accelerator": "nvidia", "airflow-eks/node-group": "gpu"}
    assert template["spec"]["taints"] == [{"key": "airflow-eks/gpu", "value": "true", "effect": "NoSchedule"}]
    assert template["spec"]["requirements"] == [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g4dn.xlarge", "g5.xlarge"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
    ]
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}
    assert pool["spec"]["disruption"] == {
        "consolidationPolicy": "WhenEmpty",
        "consolidateAfter": "60s",
        "budgets": [{"nodes": "10%"}],
    }
    assert pool["spec"]["limits"] == {"nodes": "4"}
    assert TASK_POD_ANNOTATIONS == {"karpenter.sh/do-not-disrupt": "true"}
    spot = node_pool(WORKERS)["spec"]["template"]["spec"]["requirements"]
    assert spot[1:] == [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]},
    ]


def test_a_node_class_launches_the_al2023_ami_with_imdsv2_one_hop_and_an_encrypted_root() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/abc"
    node_class = ec2_node_class(GPU, CLUSTER, "airflow-prod-node-role", key, "v20260801", {"project": "airflow-eks"})
    spec = node_class["spec"]
    assert (node_class["apiVersion"], node_class["kind"], node_class["metadata"]) == (
        "karpenter.k8s.aws/v1",
        "EC2NodeClass",
        {"name": "gpu"},
    )
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260801"}]
    assert spec["role"] == "airflow-prod-node-role"
    assert (
        spec["subnetSelectorTerms"]
        == spec["securityGroupSelectorTerms"]
        == [{"tags": {"karpenter.sh/discovery": CLUSTER}}]
    )
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert spec["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "rootVolume": True,
            "ebs": {
                "volumeSize": "100Gi",
                "volumeType": "gp3",
                "encrypted": True,
                "kmsKeyID": key,
                "deleteOnTermination": True,
            },
        }
    ]
    assert spec["tags"] == {"project": "airflow-eks"}


def test_the_interruption_queue_hears_five_kinds_of_event_and_only_from_eventbridge() -> None:
    assert interruption_rules() == {
        "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        "capacity-reservation-interruption": {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
        },
    }
    arn = "arn:aws:sqs:us-east-1:123456789012:airflow-prod-karpenter"
    allow, deny = interruption_queue_policy(arn)["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert (allow["Action"], allow["Resource"]) == ("sqs:SendMessage", arn)
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_the_controller_creates_and_ends_only_what_carries_this_clusters_tags() -> None:
    role = "arn:aws:iam::123456789012:role/airflow-prod-node-role"
    queue = "arn:aws:sqs:us-east-1:123456789012:airflow-prod-karpenter"
    statements = {
        s["Sid"]: s for s in karpenter_controller_policy("us-east-1", "123456789012", CLUSTER, role, queue)["Statement"]
    }
    create = statements["CreateOnlyOwnTagged"]["Condition"]["StringEquals"]
    assert create == {
        f"aws:RequestTag/kubernetes.io/cluster/{CLUSTER}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": CLUSTER,
    }
    end = statements["EndOwnInstancesAndTemplates"]
    assert end["Action"] == ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"]
    assert end["Condition"]["StringEquals"] == {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}
    assert (statements["PassTheNodesRole"]["Resource"], statements["PassTheNodesRole"]["Condition"]) == (
        role,
        {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
    )
    assert statements["ReadTheInterruptionQueue"]["Resource"] == queue
    # Nothing but reads is granted on every resource without a condition.
    for statement in statements.values():
        if statement["Resource"] == "*" and "Condition" not in statement:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in actions), statement["Sid"]
