"""The pure diff of two plan documents (reports/diff.py) and its rule table (reports/replacement.py)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from reports.diff import SECRET, Action, diff_plans, parse, render, show
from reports.replacement import RULES, covered

STACK = "urn:pulumi:dev::airflow-eks::"


def res(type_: str, name: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "urn": f"{STACK}{type_}::{name}",
        "type": type_,
        "name": name,
        "id": f"id-{name}",
        "custom": not type_.startswith(("airflow:", "eks:")),
        "parent": "",
        "dependencies": [],
        "inputs": inputs,
        "protect": False,
        **extra,
    }


def plan(*resources: dict[str, Any], key: str = "k1") -> dict[str, Any]:
    return {
        "project": "airflow-eks",
        "stack": "dev",
        "resources": list(resources),
        "outputs": {},
        "secretDigestKey": key,
    }


DB = "aws:rds/instance:Instance"
DB_INPUTS = {"dbName": "airflow", "instanceClass": "db.t4g.micro", "identifier": "airflow-dev-db", "password": SECRET}
GROUP = "eks:index:ManagedNodeGroup"
GROUP_INPUTS = {
    "instanceTypes": ["m6i.large"],
    "ignoreScalingChanges": True,
    "scalingConfig": {"minSize": 0, "desiredSize": 0, "maxSize": 5},
    "labels": {"airflow-eks/node-group": "workers"},
}
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET_TYPE = "kubernetes:core/v1:Secret"


def test_each_action_with_its_paths_and_the_preview_summary() -> None:
    old = plan(
        res(DB, "db", DB_INPUTS),
        res(GROUP, "workers", GROUP_INPUTS),
        res("aws:sns/topic:Topic", "gone", {"tags": {}}),
        res(RELEASE, "release", {"name": "airflow", "namespace": "airflow", "values": {"a": {"b": 1}}}),
    )
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["instanceClass"] = "db.t4g.small"
    new["resources"][1]["inputs"]["instanceTypes"] = ["m6i.xlarge"]
    new["resources"][3]["inputs"]["values"]["a"]["b"] = 2
    del new["resources"][2]
    new["resources"].append(res("aws:s3/bucket:Bucket", "logs", {"bucketPrefix": "logs-"}))

    diff = diff_plans(old, new)

    db, group, release = diff.by_name("db"), diff.by_name("workers"), diff.by_name("release")
    assert (db.action, db.changed, db.replaced_by) == (Action.UPDATE, ["instanceClass"], [])
    assert (group.action, group.changed, group.replaced_by) == (
        Action.REPLACE,
        ["instanceTypes[0]"],
        ["instanceTypes[0]"],
    )
    assert (release.action, release.changed) == (Action.UPDATE, ["values.a.b"])
    assert diff.by_name("gone").action is Action.DELETE
    assert diff.by_name("logs").action is Action.CREATE
    assert [diff.count(a) for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)] == [1, 2, 1, 1]
    assert [c.name for c in diff.loud] == ["workers"]  # a node group: stateful, shown first
    text = render(diff, "HEAD")
    assert (
        text.index("STATEFUL") < text.index("+- replace  eks:index:ManagedNodeGroup  workers") < text.index("Changes:")
    )
    assert "    + 1 to create\n    ~ 2 to update\n    +-1 to replace\n    - 1 to delete\n    0 unchanged" in text


def test_a_replace_on_change_input_replaces_the_database() -> None:
    old = plan(res(DB, "db", DB_INPUTS))
    for key, value in (("dbName", "other"), ("kmsKeyId", "arn:aws:kms:us-east-1:1:key/new"), ("engine", "mysql")):
        new = plan(res(DB, "db", {**DB_INPUTS, key: value}))
        change = diff_plans(old, new).by_name("db")
        assert (change.action, change.replaced_by, change.loud) == (Action.REPLACE, [key], True), key
        assert "metadata database" in change.stateful


def test_paths_are_written_as_the_plan_nests_them() -> None:
    assert show(("tags", "k8s.io/cluster-autoscaler/enabled")) == 'tags["k8s.io/cluster-autoscaler/enabled"]'
    assert show(("spec", "containers", 0, "image")) == "spec.containers[0].image"
    for path in [("a", "b.c", 3, "d"), ("values", "x", 0), ("stringData", "pgbouncer.ini")]:
        assert parse(show(path)) == path
    assert parse("spec.template.spec.containers[*].image") == ("spec", "template", "spec", "containers", "*", "image")


def test_a_list_of_another_length_is_one_change_and_a_new_key_is_its_own_path() -> None:
    old = plan(res(GROUP, "g", GROUP_INPUTS))
    grown = copy.deepcopy(GROUP_INPUTS) | {"instanceTypes": ["m6i.large", "m5.large"], "taints": []}
    change = diff_plans(old, plan(res(GROUP, "g", grown))).by_name("g")
    assert change.changed == ["instanceTypes", "taints"]
    assert change.replaced_by == ["instanceTypes"]  # a replace-on-change input; taints update in place


def test_ignore_scaling_changes_drops_the_desired_size_only() -> None:
    old = plan(res(GROUP, "g", GROUP_INPUTS))
    desired: dict[str, Any] = copy.deepcopy(GROUP_INPUTS)
    desired["scalingConfig"]["desiredSize"] = 3
    assert diff_plans(old, plan(res(GROUP, "g", desired))).by_name("g").action is Action.SAME
    bigger: dict[str, Any] = copy.deepcopy(desired)
    bigger["scalingConfig"]["maxSize"] = 9
    change = diff_plans(old, plan(res(GROUP, "g", bigger))).by_name("g")
    assert (change.action, change.changed) == (Action.UPDATE, ["scalingConfig.maxSize"])
    tracked = copy.deepcopy(desired) | {"ignoreScalingChanges": False}
    assert diff_plans(old, plan(res(GROUP, "g", tracked))).by_name("g").changed == [
        "ignoreScalingChanges",
        "scalingConfig.desiredSize",
    ]


def _secret(name: str, digests: dict[str, str]) -> dict[str, Any]:
    inputs = {"metadata": {"name": name, "namespace": "airflow"}, "type": "Opaque", "stringData": SECRET}
    return res(SECRET_TYPE, name, inputs, secretDigests=digests)


def test_secrets_are_compared_by_digest_never_shown() -> None:
    old = plan(_secret("s", {'stringData["pgbouncer.ini"]': "aaa", "stringData.users": "bbb"}))
    same = diff_plans(old, plan(_secret("s", {'stringData["pgbouncer.ini"]': "aaa", "stringData.users": "bbb"})))
    assert same.by_name("s").action is Action.SAME
    changed = diff_plans(old, plan(_secret("s", {'stringData["pgbouncer.ini"]': "ccc", "stringData.users": "bbb"})))
    change = changed.by_name("s")
    # pulumi-kubernetes replaces a Secret whose data change (no enableSecretMutable on the provider).
    assert (change.action, change.changed) == (Action.REPLACE, ['stringData["pgbouncer.ini"] (secret)'])
    text = render(changed, "base")
    assert "ccc" not in text and "aaa" not in text
    other_key = diff_plans(old, plan(_secret("s", {'stringData["pgbouncer.ini"]': "ccc"}), key="k2"))
    assert other_key.by_name("s").action is Action.SAME
    assert other_key.by_name("s").unknown_secrets == ["stringData"]
    assert any("could not be compared" in n for n in other_key.notes)
    assert any("another key" in n for n in other_key.notes)


def test_a_moved_resource_is_matched_through_its_alias() -> None:
    old = plan(res(DB, "db", DB_INPUTS))
    moved = res(DB, "db", DB_INPUTS)
    moved["urn"] = f"{STACK}airflow:index:Database${DB}::db"
    moved["aliases"] = [old["resources"][0]["urn"]]
    diff = diff_plans(old, plan(moved))
    assert [(c.action, c.moved_from) for c in diff.changes] == [(Action.SAME, old["resources"][0]["urn"])]


def test_a_replaced_resource_replaces_what_takes_its_outputs_at_a_replace_on_change_input() -> None:
    key = res("aws:kms/key:Key", "key", {"description": "db", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"})
    db = res(DB, "db", {**DB_INPUTS, "kmsKeyId": "arn:key"}, propertyDependencies={"kmsKeyId": [key["urn"]]})
    alarm = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "alarm",
        {"name": "a", "dimensions": {"DBInstanceIdentifier": "airflow-dev-db"}},
        propertyDependencies={"dimensions": [db["urn"]]},
    )
    old = plan(key, db, alarm)
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["customerMasterKeySpec"] = "RSA_2048"
    diff = diff_plans(old, new)
    assert diff.by_name("key").replaced_by == ["customerMasterKeySpec"]
    assert diff.by_name("db").replaced_by == ["kmsKeyId (from replaced key)"]
    alarm_change = diff.by_name("alarm")
    assert (alarm_change.action, alarm_change.changed) == (Action.UPDATE, ["dimensions (from replaced db)"])
    assert [c.name for c in diff.loud] == ["key", "db"]


def test_a_replaced_key_of_the_cluster_notes_that_eks_refuses_a_new_one() -> None:
    key = res("aws:kms/key:Key", "key", {"customerMasterKeySpec": "SYMMETRIC_DEFAULT"})
    cluster = res("eks:index:Cluster", "eks", {"name": "airflow-dev", "encryptionConfigKeyArn": "arn:key"})
    cluster["propertyDependencies"] = {"encryptionConfigKeyArn": [key["urn"]]}
    old = plan(key, cluster)
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["customerMasterKeySpec"] = "RSA_2048"
    change = diff_plans(old, new).by_name("eks")
    assert (change.action, change.changed) == (Action.UPDATE, ["encryptionConfigKeyArn (from replaced key)"])
    assert change.note.startswith("encryptionConfigKeyArn: removing it replaces the cluster")


def test_a_launch_template_update_updates_its_node_group() -> None:
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate", "lt", {"blockDeviceMappings": [{"ebs": {"volumeSize": 20}}]}
    )
    group = res(GROUP, "g", GROUP_INPUTS | {"launchTemplate": {"id": "lt-1", "version": "1"}})
    group["propertyDependencies"] = {"launchTemplate": [template["urn"]]}
    old = plan(template, group)
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] = 50
    diff = diff_plans(old, new)
    assert diff.by_name("lt").changed == ["blockDeviceMappings[0].ebs.volumeSize"]
    # A new template version rolls the group's nodes: an update, not a replacement.
    assert (diff.by_name("g").action, diff.by_name("g").changed) == (
        Action.UPDATE,
        ["launchTemplate (from updated lt)"],
    )


def test_a_replaced_kubernetes_provider_replaces_every_kubernetes_resource() -> None:
    provider = res("pulumi:providers:kubernetes", "k8s", {"kubeconfig": SECRET}, secretDigests={"kubeconfig": "a"})
    namespace = res("kubernetes:core/v1:Namespace", "ns", {"metadata": {"name": "airflow"}})
    role = res("aws:iam/role:Role", "role", {"assumeRolePolicy": "{}"})
    old = plan(provider, namespace, role)
    new = copy.deepcopy(old)
    new["resources"][0]["secretDigests"] = {"kubeconfig": "b"}
    diff = diff_plans(old, new)
    assert diff.by_name("k8s").replaced_by == ["kubeconfig"]
    assert diff.by_name("ns").replaced_by == ["its provider k8s is replaced"]
    assert diff.by_name("role").action is Action.SAME


def test_protected_and_retained_resources_are_marked() -> None:
    old = plan(
        res("aws:sns/topic:Topic", "topic", {"tags": {}}, protect=True),
        res("aws:cloudwatch/logGroup:LogGroup", "audit", {"name": "/aws/eks/x"}, retainOnDelete=True),
    )
    diff = diff_plans(old, plan())
    topic, audit = diff.by_name("topic"), diff.by_name("audit")
    assert topic.loud and not topic.stateful  # a protected delete: `pulumi up` refuses it
    assert audit.loud and audit.retained
    text = render(diff, "base")
    assert "[protected: `pulumi up` refuses until unprotected]" in text
    assert "[kept in the cloud (retainOnDelete): delete it yourself or import it]" in text
    assert "exits 3" in text and "(accepted: --allow-stateful)" in render(diff, "base", allow_stateful=True)


def test_a_conditional_rule_is_noted_without_a_replacement() -> None:
    lb = "aws:lb/loadBalancer:LoadBalancer"
    old = plan(res(lb, "nlb", {"subnets": ["a", "b"], "internal": True}))
    change = diff_plans(old, plan(res(lb, "nlb", {"subnets": ["a", "c"], "internal": True}))).by_name("nlb")
    assert (change.action, change.changed) == (Action.UPDATE, ["subnets[1]"])
    assert "removed" in change.note


def test_a_type_without_a_rule_is_named() -> None:
    other = "aws:sqs/queue:Queue"
    assert not covered(other)
    diff = diff_plans(plan(res(other, "q", {"delaySeconds": 0})), plan(res(other, "q", {"delaySeconds": 5})))
    assert diff.by_name("q").action is Action.UPDATE
    assert diff.notes == [f"no replacement rule for {other}: their updates may be replacements"]


@pytest.mark.parametrize("type_", sorted(RULES))
def test_every_rule_cites_its_provider_source(type_: str) -> None:
    rule = RULES[type_]
    assert re.search(r"(hashicorp|pulumi)/[a-z-]+ \S+", rule.source), rule.source
    assert re.search(r"[\w/.-]+\.(go|ts)\b", rule.source), rule.source
    assert rule.replace_on or rule.every_input or type_ in NOTHING_REPLACES, type_


NOTHING_REPLACES = {
    # Only a new name (a new URN) makes another of these: every input updates in place.
    "aws:ec2/internetGateway:InternetGateway",
}
