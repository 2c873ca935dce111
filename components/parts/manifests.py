"""Kubernetes objects that `lib` builds as plain manifests, registered as typed resources.

One helper, so that each kind keeps its Pulumi type (and its URN) whichever component adds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lib.naming import child_name

KINDS: dict[str, type[pulumi.CustomResource]] = {
    "PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
    "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
}


def register_manifests(
    parent: pulumi.Resource,
    component: str,
    manifests: Sequence[Mapping[str, Any]],
    namespace: pulumi.Input[str],
    provider: k8s.Provider,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[pulumi.CustomResource]:
    """Each manifest as a child of `parent` named `<component>-<its name>`, in `namespace` (an
    output, so that the objects wait for the namespace), after `depends_on`."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on))
    resources = []
    for manifest in manifests:
        kind = KINDS[manifest["kind"]]
        metadata = {**manifest["metadata"], "namespace": namespace}
        name = child_name(component, manifest["metadata"]["name"])
        resources.append(kind(name, metadata=metadata, spec=manifest["spec"], opts=opts))  # type: ignore[call-arg]
    return resources
