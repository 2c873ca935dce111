"""Which service accounts and images a task pod may run with, enforced by the API server.

The KubernetesExecutor builds a task pod from the pod template, then the DAG's
`executor_config["pod_override"]` (cncf.kubernetes 10.25.0 pod_generator.py `construct_pod`: the
override's fields win), so a DAG names the pod's `serviceAccountName`: a team's (docs/teams.md), but
as well the scheduler's, which may create pods, or the API server's, with its IAM role. A
ValidatingAdmissionPolicy refuses a pod that an account of the Airflow namespace creates (the
scheduler's executor; a KubernetesPodOperator in a task or the triggerer) unless it runs as the task
pods' account, a team's, or the namespace's `default` (`DEFAULT_ACCOUNT`). Pods the chart's
Deployments and Jobs own are created by the controllers in kube-system, and people's by their own
users: neither is matched.

In production the same policy also holds the pod's images (containers and init containers) to the
repositories the platform pulls and reviews: the Airflow image's, as the stack pulls it (from its
mirror or pull-through cache), and `taskImageRepositories`, which the policy pack requires to be
private ECR ones there (`production-private-task-images`). A KubernetesPodOperator's image is held
to them too. Outside production any image may run.

ValidatingAdmissionPolicy is `admissionregistration.k8s.io/v1` since Kubernetes 1.30 (every version
`kubernetesVersion` accepts). The expressions are CEL, evaluated by the API server after the
mutating admission plugins: the ServiceAccount plugin has set `serviceAccountName` ("default" when
the pod named none). tests/unit/test_task_accounts.py evaluates them with cel-python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

API_VERSION = "admissionregistration.k8s.io/v1"
DEFAULT_ACCOUNT = "default"
"""The namespace's own account, which a KubernetesPodOperator's pods run as unless they name one:
neither the chart nor the program binds it a Role or an IAM role."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the API server sets on every namespace to its own name (Kubernetes 1.22+)."""


def policy_name(namespace: str) -> str:
    return f"{namespace}-task-pod-accounts"


def created_by_the_namespace(namespace: str) -> str:
    """CEL: the request comes from a service account of `namespace`."""
    return f"request.userInfo.username.startsWith('system:serviceaccount:{namespace}:')"


def runs_as_one_of(accounts: Sequence[str]) -> str:
    """CEL: the pod's account is one of `accounts` (DNS-1123 names: nothing to escape)."""
    listed = ", ".join(f"'{a}'" for a in accounts)
    return f"object.spec.serviceAccountName in [{listed}]"


def images_from_one_of(repositories: Sequence[str]) -> str:
    """CEL: every container's and init container's image is one of `repositories`, by tag, by digest
    or bare (image references hold no quote: nothing to escape)."""
    listed = ", ".join(f"'{r}'" for r in repositories)
    one = f"[{listed}].exists(r, c.image == r || c.image.startsWith(r + ':') || c.image.startsWith(r + '@'))"
    return (
        f"object.spec.containers.all(c, {one}) && "
        f"(!has(object.spec.initContainers) || object.spec.initContainers.all(c, {one}))"
    )


def task_account_policy(
    namespace: str, accounts: Sequence[str], image_repositories: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The policy and its binding (both cluster-scoped): pods created in `namespace` by one of its
    service accounts must run as one of `accounts` or `DEFAULT_ACCOUNT` and, with
    `image_repositories` (production), only images of those repositories."""
    if not accounts:
        raise ValueError("a task pod needs at least one account to run as")
    accounts = (*accounts, DEFAULT_ACCOUNT)
    name = policy_name(namespace)
    images = (
        [
            {
                "expression": images_from_one_of(image_repositories),
                "message": f"a task pod's images come from {', '.join(image_repositories)} "
                "(the Airflow image's and taskImageRepositories)",
                "reason": "Forbidden",
            }
        ]
        if image_repositories
        else []
    )
    policy = {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    # The account of a pod cannot change after it is created.
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
                ]
            },
            "matchConditions": [
                {"name": "created-by-an-account-of-the-namespace", "expression": created_by_the_namespace(namespace)}
            ],
            "validations": [
                {
                    "expression": runs_as_one_of(accounts),
                    "message": f"a task pod runs as one of the service accounts {', '.join(accounts)} "
                    "(the task pods', a team's or the namespace's default): a pod_override may not name another",
                    "reason": "Forbidden",
                },
                *images,
            ],
        },
    }
    binding = {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}},
        },
    }
    return [policy, binding]
