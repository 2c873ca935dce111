"""DAG delivery from git: one git-sync Deployment that writes the repository into the DAGs claim.

Why not the chart's git-sync: with `dags.persistence` on, chart 1.22 adds a git-sync sidecar to
every replica of the standalone DAG processor, each writing the same repository into the same
shared claim (two or more writers, racing on one git root), and none to the triggerer or the
task pod template (their templates gate it on `not .Values.dags.persistence`). (Chart 1.18 had
none at all.) Turning persistence off instead would clone the repository into every task pod.
So a single writer (this Deployment, `Recreate`, one replica) keeps the shared EFS volume in
step with the branch, and every pod that reads DAGs mounts that volume.

What git-sync v4.4.2 does (the chart 1.22.0 default; read in its main.go, unchanged here from
v4.3.0, and its Dockerfile.in for the uid 65533 user): `--link` may be absolute and the link it
makes is relative to the link's folder (publishSymlink, "so it can be volume-mounted at
another path"), so `/dags/repo` here is `/opt/airflow/dags/repo` in Airflow pods; a `--root`
that is not a git repository is emptied (initRepo), so the root is a folder of its own, never
the volume's top, where DAGs copied by hand live; `/` on `--http-bind` answers 503 until the
first sync, then 200 (the readiness probe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.cluster.node_groups import NodeGroup
from lib.cluster.scheduling import node_selector, tolerations

DAGS_MOUNT_PATH = "/opt/airflow/dags"
"""Where the chart mounts the DAGs claim in every Airflow pod (`{airflowHome}/dags`)."""
MOUNT_PATH = "/dags"
ROOT = f"{MOUNT_PATH}/.git-sync"
LINK = "repo"
IMAGE = "registry.k8s.io/git-sync/git-sync:v4.4.2"  # the chart 1.22.0 default (images.gitSync)
USER_ID = 65533  # the image's own user, which has a passwd entry (ssh needs one)
HTTP_PORT = 8080
PERIOD = "60s"
SECRET_MOUNT_PATH = "/etc/git-secret"
HTTPS_SECRET_KEYS = ("GITSYNC_USERNAME", "GITSYNC_PASSWORD")
SSH_SECRET_KEYS = ("gitSshKey", "known_hosts")
"""Keys of `gitSyncCredentialsSecret`: user and password (or token) for an https URL; the private
key and the host's known_hosts lines for an ssh URL (host keys are always checked)."""


@dataclass(frozen=True)
class GitSyncSource:
    """Where DAGs come from: a branch of a repository, and the folder in it that holds them."""

    repo: str
    """https://, ssh:// or git@ URL."""
    branch: str = "main"
    sub_path: str = "dags"
    """Folder of the repository that holds the DAGs (`""`: its top)."""
    credentials_secret: str = ""
    """Kubernetes Secret with the credentials (see `HTTPS_SECRET_KEYS`, `SSH_SECRET_KEYS`)."""


def is_ssh(repo: str) -> bool:
    return not repo.startswith("https://")


_REF_FORBIDDEN = ("..", "@{", "//", " ", "~", "^", ":", "?", "*", "[", "\\")


def branch_problem(branch: str) -> str | None:
    """What git refuses in a branch name (git-check-ref-format(1), as `--branch` checks it), or None."""
    if not branch or branch == "@":
        return f"'{branch}' is not a branch name"
    bad = [c for c in branch if ord(c) < 0x20 or ord(c) == 0x7F] or [f for f in _REF_FORBIDDEN if f in branch]
    if bad:
        return (
            f"{branch!r} holds {bad[0]!r}, which git refuses in a branch name "
            "(no space or control character, nor .. @{ // ~ ^ : ? * [ \\)"
        )
    if branch[0] in "/-" or branch[-1] in "/.":
        return f"'{branch}' begins with '/' or '-', or ends with '/' or '.', which git refuses"
    if any(part.startswith(".") or part.endswith(".lock") for part in branch.split("/")):
        return f"'{branch}' has a part beginning with '.' or ending with '.lock', which git refuses"
    return None


def sub_path_problem(sub_path: str) -> str | None:
    """A folder inside the repository: relative, never climbing out (`..`), no empty or `.` parts."""
    if not sub_path:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in sub_path) or "\\" in sub_path:
        return f"{sub_path!r} holds a control character or a backslash; give a folder such as dags"
    if any(part in ("", ".", "..") for part in sub_path.split("/")):
        return f"'{sub_path}' is not a folder inside the repository such as dags (relative, no '..', '.' or '//')"
    return None


def dags_folder(sub_path: str | None) -> str:
    """Airflow's `dags_folder`: the volume's top, or the synced repository's `sub_path`."""
    if sub_path is None:
        return DAGS_MOUNT_PATH
    return "/".join(part for part in (DAGS_MOUNT_PATH, LINK, sub_path) if part)


def _credentials(repo: str, secret: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Environment, mounts and volumes that hand `secret` to git-sync."""
    if not secret:
        return [], [], []
    if not is_ssh(repo):
        env = [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}} for key in HTTPS_SECRET_KEYS]
        return env, [], []
    key, known_hosts = SSH_SECRET_KEYS
    env = [
        {"name": "GITSYNC_SSH_KEY_FILE", "value": f"{SECRET_MOUNT_PATH}/ssh"},
        {"name": "GITSYNC_SSH_KNOWN_HOSTS", "value": "true"},
        {"name": "GITSYNC_SSH_KNOWN_HOSTS_FILE", "value": f"{SECRET_MOUNT_PATH}/known_hosts"},
    ]
    mounts = [{"name": "git-secret", "mountPath": SECRET_MOUNT_PATH, "readOnly": True}]
    volumes = [
        {
            "name": "git-secret",
            "secret": {
                "secretName": secret,
                "defaultMode": 0o440,  # readable by the pod's fsGroup, the git-sync user
                "items": [{"key": key, "path": "ssh"}, {"key": known_hosts, "path": "known_hosts"}],
            },
        }
    ]
    return env, mounts, volumes


def _container(
    repo: str,
    ref: str,
    resources: Mapping[str, Any],
    env: list[dict[str, Any]],
    secret_mounts: list[dict[str, Any]],
    image: str = IMAGE,
) -> dict[str, Any]:
    """git-sync, unprivileged and read-only but for the volume and /tmp."""
    return {
        "name": "git-sync",
        "image": image,
        "env": [
            {"name": "GITSYNC_REPO", "value": repo},
            {"name": "GITSYNC_REF", "value": ref},
            {"name": "GITSYNC_DEPTH", "value": "1"},
            {"name": "GITSYNC_ROOT", "value": ROOT},
            {"name": "GITSYNC_LINK", "value": f"{MOUNT_PATH}/{LINK}"},
            {"name": "GITSYNC_PERIOD", "value": PERIOD},
            {"name": "GITSYNC_HTTP_BIND", "value": f":{HTTP_PORT}"},
            *env,
        ],
        "ports": [{"name": "http", "containerPort": HTTP_PORT}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": dict(resources),
        "securityContext": {
            "runAsUser": USER_ID,
            "runAsGroup": USER_ID,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "dags", "mountPath": MOUNT_PATH},
            {"name": "tmp", "mountPath": "/tmp"},  # git's HOME in the image
            *secret_mounts,
        ],
    }


def git_sync_deployment(
    *,
    name: str,
    namespace: str,
    source: GitSyncSource,
    dags_claim: str,
    group: NodeGroup,
    resources: Mapping[str, Any],
    image: str = IMAGE,
) -> dict[str, Any]:
    """The Deployment (as a Kubernetes object) that syncs `source`'s branch into the DAGs claim,
    on the nodes of `group`; Airflow reads the repository's DAG folder through `dags_folder`."""
    repo, ref, credentials_secret = source.repo, source.branch, source.credentials_secret
    labels = {"app.kubernetes.io/name": "git-sync", "app.kubernetes.io/part-of": "airflow"}
    env, secret_mounts, secret_volumes = _credentials(repo, credentials_secret)
    container = _container(repo, ref, resources, env, secret_mounts, image)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},  # never two writers on the volume
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,  # git-sync never calls the Kubernetes API
                    "securityContext": {"fsGroup": USER_ID, "seccompProfile": {"type": "RuntimeDefault"}},
                    "nodeSelector": node_selector(group),
                    "tolerations": tolerations(group),
                    "containers": [container],
                    "volumes": [
                        {"name": "dags", "persistentVolumeClaim": {"claimName": dags_claim}},
                        {"name": "tmp", "emptyDir": {}},
                        *secret_volumes,
                    ],
                },
            },
        },
    }
