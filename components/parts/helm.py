"""Helm releases of the components: one helper, so every release is installed the same way.

Atomic (a failed install or upgrade rolls back and cleans up), waited for (Helm waits until the
release's workloads are ready, within `timeout`), in a namespace that exists already, with a
bounded history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

MAX_HISTORY = 10


def helm_release(
    parent: pulumi.Resource,
    name: str,
    *,
    release_name: str,
    chart: str,
    version: str,
    repository: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    provider: k8s.Provider,
    timeout: int,
    depends_on: Sequence[pulumi.Resource] = (),
    wait_for_jobs: bool | None = None,
) -> k8s.helm.v3.Release:
    """A pinned chart `version` from `repository`, released as `release_name` in `namespace`."""
    # An OCI registry is no chart repository (no index.yaml): the chart is named by its full
    # reference, without repositoryOpts (pulumi-kubernetes Release's documented OCI form).
    oci = repository.startswith("oci://")
    return k8s.helm.v3.Release(
        name,
        name=release_name,
        chart=f"{repository.rstrip('/')}/{chart}" if oci else chart,
        version=version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=repository),
        namespace=namespace,
        create_namespace=False,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        skip_await=False,
        wait_for_jobs=wait_for_jobs,
        timeout=timeout,
        max_history=MAX_HISTORY,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
