"""The task pods' admission policy (lib/airflow/task_accounts.py), its CEL evaluated by cel-python
(offline/admission.py)."""

from __future__ import annotations

from typing import Any

import pytest

from lib.airflow.task_accounts import DEFAULT_ACCOUNT, task_account_policy
from offline.admission import admitted as decide

NAMESPACE = "airflow"
ACCOUNTS = ("airflow-worker", "airflow-team-analytics")
SCHEDULER = "system:serviceaccount:airflow:airflow-scheduler"


def admitted(username: str, account: str) -> bool:
    """The API server's decision on a pod running as `account`, created by `username`."""
    policy, _ = task_account_policy(NAMESPACE, ACCOUNTS)
    return decide(policy["spec"], {"spec": {"serviceAccountName": account}}, username)


@pytest.mark.parametrize("account", [*ACCOUNTS, DEFAULT_ACCOUNT])
def test_the_executor_may_run_a_task_as_the_task_pods_a_teams_or_the_default_account(account: str) -> None:
    assert admitted(SCHEDULER, account)
    assert admitted("system:serviceaccount:airflow:airflow-worker", account)  # a KubernetesPodOperator


@pytest.mark.parametrize(
    "account", ["airflow-scheduler", "airflow-api-server", "airflow-triggerer", "airflow-team-ml", "airflow-worker2"]
)
def test_no_pod_of_the_namespaces_accounts_runs_as_another(account: str) -> None:
    assert not admitted(SCHEDULER, account)
    assert not admitted("system:serviceaccount:airflow:airflow-triggerer", account)


@pytest.mark.parametrize(
    "username",
    [
        "system:serviceaccount:kube-system:replicaset-controller",  # the chart's Deployments
        "system:serviceaccount:kube-system:job-controller",  # its Jobs and the cleanup CronJob
        "system:serviceaccount:airflow-db-admin:airflow-db-roles",  # another namespace's
        "arn:aws:sts::123456789012:assumed-role/admin/someone",  # a person (EKS access entry)
        "system:serviceaccount:airflowx:x",  # a namespace whose name only begins with the same letters
    ],
)
def test_pods_of_controllers_other_namespaces_and_people_are_not_matched(username: str) -> None:
    assert admitted(username, "airflow-scheduler")


def test_the_policy_and_its_binding() -> None:
    policy, binding = task_account_policy(NAMESPACE, ACCOUNTS)
    assert (policy["kind"], binding["kind"]) == ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    assert policy["metadata"] == binding["metadata"] == {"name": "airflow-task-pod-accounts"}
    assert policy["spec"]["failurePolicy"] == "Fail"
    (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule == {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
    (validation,) = policy["spec"]["validations"]
    assert "airflow-worker, airflow-team-analytics, default" in validation["message"]
    assert binding["spec"] == {
        "policyName": "airflow-task-pod-accounts",
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "airflow"}}},
    }
    with pytest.raises(ValueError, match="at least one account"):
        task_account_policy(NAMESPACE, ())


REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/apache/airflow"
TEAM_IMAGES = "123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow"


def images_admitted(containers: list[str], init: list[str] | None = None) -> bool:
    policy, _ = task_account_policy(NAMESPACE, ACCOUNTS, (REPOSITORY, TEAM_IMAGES))
    spec: dict[str, Any] = {"serviceAccountName": "airflow-worker", "containers": [{"image": i} for i in containers]}
    if init is not None:
        spec["initContainers"] = [{"image": i} for i in init]
    return decide(policy["spec"], {"spec": spec}, SCHEDULER)


def test_in_production_a_task_pods_images_come_from_the_reviewed_repositories() -> None:
    assert images_admitted([f"{REPOSITORY}:3.3.2"])
    assert images_admitted([f"{REPOSITORY}@sha256:{'0' * 64}", REPOSITORY, f"{TEAM_IMAGES}:1.4"])
    assert images_admitted([f"{REPOSITORY}:3.3.2"], init=[f"{TEAM_IMAGES}:1.4"])
    assert not images_admitted(["python:3.12"])
    assert not images_admitted([f"{REPOSITORY}:3.3.2", "busybox"])  # a sidecar the override adds
    assert not images_admitted([f"{REPOSITORY}-fork:3.3.2"])  # a repository that only begins the same
    assert not images_admitted([f"{REPOSITORY}:3.3.2"], init=["docker.io/library/alpine:3"])


def test_outside_production_no_image_rule() -> None:
    policy, _ = task_account_policy(NAMESPACE, ACCOUNTS)
    assert len(policy["spec"]["validations"]) == 1
