"""The add-on charts' Deployments, built from a plan's release values as their pinned templates
render them, for the scanners (checkov) that cannot get the charts themselves.

Neither chart can be rendered here or in CI: their repositories (aws.github.io/eks-charts,
kubernetes.github.io/autoscaler) are not reachable, no PyPI, npm or Debian package ships them at
the pinned versions, and the project copies no public chart into the repository. So each function
below maps the values the program sends (`lib/cluster/helm_addons.py`, as the plan's Release holds
them) and the chart's defaults for the values it leaves alone onto the pod spec, field by field,
as the template at the pinned version writes them (read, cited per field). What is not
verified: anything the templates do that is not here (labels, annotations, the controller's
arguments, the autoscaler's command line), which no checkov check of the pod spec reads, and the
charts' other objects (RBAC, Services, the webhook configurations), which hold no pod.
"""

from __future__ import annotations

from typing import Any

from lib.cluster.helm_addons import CLUSTER_AUTOSCALER, LOAD_BALANCER_CONTROLLER

LBC_TEMPLATE = "eks-charts 5239609 (chart 3.5.0) stable/aws-load-balancer-controller"
LBC_DEFAULTS: dict[str, Any] = {
    # values.yaml L9-12, L48-57, L313-331: what the program leaves at the chart's default.
    "image": {"tag": "v3.5.0", "pullPolicy": "IfNotPresent"},
    "livenessProbe": {
        "failureThreshold": 2,
        "httpGet": {"path": "/healthz", "port": 61779, "scheme": "HTTP"},
        "initialDelaySeconds": 30,
        "timeoutSeconds": 10,
    },
    "readinessProbe": {
        "failureThreshold": 2,
        "httpGet": {"path": "/readyz", "port": 61779, "scheme": "HTTP"},
        "successThreshold": 1,
        "initialDelaySeconds": 10,
        "timeoutSeconds": 10,
    },
    "podSecurityContext": {"fsGroup": 65534},
    "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False},
    "terminationGracePeriodSeconds": 10,
}
CA_TEMPLATE = (
    "kubernetes/autoscaler 5a0b98e4 (cluster-autoscaler-chart-9.59.0) cluster-autoscaler/charts/cluster-autoscaler"
)
CA_DEFAULTS: dict[str, Any] = {
    # values.yaml L166, L302-308, L352, L421.
    "image": {"pullPolicy": "IfNotPresent"},
    "priorityClassName": "system-cluster-critical",
    "containerSecurityContext": {},
    "securityContext": {},
}


def _over(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of the user's values over the chart's defaults (maps merged key by key)."""
    merged = dict(defaults)
    for key, value in values.items():
        base = merged.get(key)
        merged[key] = _over(base, value) if isinstance(base, dict) and isinstance(value, dict) else value
    return merged


def _deployment(name: str, namespace: str, replicas: int, pod: dict[str, Any]) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def load_balancer_controller_deployment(values: dict[str, Any]) -> dict[str, Any]:
    """templates/deployment.yaml: pod L45-63 and L274-300, its one container L64-266."""
    v = _over(LBC_DEFAULTS, values)
    container: dict[str, Any] = {
        "name": LOAD_BALANCER_CONTROLLER.chart,
        "args": [f"--cluster-name={v['clusterName']}", f"--aws-region={v['region']}", f"--aws-vpc-id={v['vpcId']}"],
        "securityContext": v["securityContext"],
        "image": f"{v['image']['repository']}:{v['image']['tag']}",
        "imagePullPolicy": v["image"]["pullPolicy"],
        "volumeMounts": [{"mountPath": "/tmp/k8s-webhook-server/serving-certs", "name": "cert", "readOnly": True}],
        "ports": [
            {"name": "webhook-server", "containerPort": 9443, "protocol": "TCP"},
            {"name": "metrics-server", "containerPort": 8080, "protocol": "TCP"},
        ],
        "resources": v["resources"],
        "livenessProbe": v["livenessProbe"],
        "readinessProbe": v["readinessProbe"],
    }
    pod: dict[str, Any] = {
        "serviceAccountName": v["serviceAccount"]["name"],
        "volumes": [
            {"name": "cert", "secret": {"defaultMode": 420, "secretName": "aws-load-balancer-tls"}},
        ],
        "securityContext": v["podSecurityContext"],
        "containers": [container],
        "terminationGracePeriodSeconds": v["terminationGracePeriodSeconds"],
        "nodeSelector": v["nodeSelector"],
        "tolerations": v["tolerations"],
    }
    return _deployment(
        LOAD_BALANCER_CONTROLLER.release_name, LOAD_BALANCER_CONTROLLER.namespace, v["replicaCount"], pod
    )


def cluster_autoscaler_deployment(values: dict[str, Any]) -> dict[str, Any]:
    """templates/deployment.yaml: pod L42-57 and L318-345, its one container L59-301 (an `envFrom`
    with no source, the AWS provider's, left out)."""
    v = _over(CA_DEFAULTS, values)
    container: dict[str, Any] = {
        "name": "aws-cluster-autoscaler",
        "image": f"{v['image']['repository']}:{v['image']['tag']}",
        "imagePullPolicy": v["image"]["pullPolicy"],
        "command": ["./cluster-autoscaler", f"--cloud-provider={v['cloudProvider']}"],
        # L290-293: the template's own, no value for it; no readiness probe at all.
        "livenessProbe": {"httpGet": {"path": "/health-check", "port": 8085}},
        "ports": [{"containerPort": 8085}],
        "resources": v["resources"],
    }
    if v["containerSecurityContext"]:
        container["securityContext"] = v["containerSecurityContext"]
    pod: dict[str, Any] = {
        "priorityClassName": v["priorityClassName"],
        "containers": [container],
        "nodeSelector": v["nodeSelector"],
        "serviceAccountName": v["rbac"]["serviceAccount"]["name"],
        "tolerations": v["tolerations"],
    }
    if v["securityContext"]:
        pod["securityContext"] = v["securityContext"]
    return _deployment(CLUSTER_AUTOSCALER.release_name, CLUSTER_AUTOSCALER.namespace, v["replicaCount"], pod)
