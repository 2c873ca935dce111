"""The Airflow namespace's network: deny everything, then allow each flow of one table.

`flows(context)` is the table: one `Flow` per allowed connection (who opens it, to what, on which
ports, and why). `network_policies` turns it into the namespace's NetworkPolicies:
- `<release>-default-deny`: every pod of the namespace, Ingress and Egress, no rule: what no flow
  names is refused, both ways;
- `<release>-<component>-policy` per component: an ingress rule for each flow to it, an egress
  rule for each flow from it (a flow inside the namespace is both: the source's egress and the
  destination's ingress). A component no flow reaches keeps its policy with no ingress rule.

**Adding a flow** (an identity provider the API server calls, a Job of the database's own
roles, Secrets Manager through an endpoint, ...) is one entry of `flows`: its name, the
components that open it, the component or `Peer` it reaches and its ports, e.g.

    Flow("secrets-manager", ("scheduler", "api-server"), AWS_APIS, HTTPS, "the secrets backend"),

and a new component is one entry of `COMPONENTS` (its pods' labels). The render test names every
flow (`tests/renders/test_network_flows.py`).

How the AWS VPC CNI enforces them (network policy agent at c8619c05, v1.4.0 and 75 commits; controller
amazon-network-policy-controller-k8s at ecc7e6a7; EKS user guide "Limit Pod traffic with
Kubernetes network policies"):
- an eBPF probe on each pod's host-side veth sees a connection to a Service before kube-proxy's
  DNAT, so the controller adds a Service's ClusterIP to an egress rule when the rule's
  podSelector matches the Service's selector (pkg/resolvers/endpoints.go
  getMatchingServiceClusterIPs): each selector here is exactly the chart's Service selector
  (`tier`, `component`, `release`) or CoreDNS's (`k8s-app: kube-dns`), and the Services' target
  ports are numeric or name the same container port (hasTargetPortBypass);
- the Kubernetes API's Service (`default/kubernetes`) has no selector, so no podSelector reaches
  it: its ClusterIP (`kubernetes_service_ip`) and the control plane's network interfaces, which EKS
  places in the cluster's subnets (the node subnets), are ipBlocks on 443;
- traffic from the pod's own node is always allowed (the agent's fw_rule_processor.go adds the
  node IP to every map): kubelet probes need no flow;
- a new pod starts default-allow until the controller has resolved it (the controller's README:
  "new pods will come up with default allow policy"), unless the agent runs in strict mode.
AWS APIs (STS, S3 through the gateway endpoint, CloudWatch) and git hosts have no fixed
addresses: those flows reach 443 (or git's port) anywhere outside the private ranges.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lib.airflow.secrets import RELEASE_NAME
from lib.airflow.task_egress import EgressRule

Port = tuple[str, int]
"""(protocol, port)."""
API_SERVER_PORT = 8080  # the chart's `ports.apiServer`
PGBOUNCER_PORT = 6543  # `ports.pgbouncer`
PGBOUNCER_EXPORTER_PORT = 9127  # `ports.pgbouncerScrape`
STATSD_INGEST_PORT = 9125  # `ports.statsdIngest` (UDP)
STATSD_SCRAPE_PORT = 9102  # `ports.statsdScrape`
WORKER_LOGS_PORT = 8793  # `ports.workerLogs`: a running task pod serves its log here (3.3.2 config.yml default)
TRIGGERER_LOGS_PORT = 8794  # `ports.triggererLogs` (`[logging] trigger_log_server_port`, 3.3.2 default)
KUBERNETES_API_PORT = 443  # the `kubernetes` Service's and EKS's endpoint port
HTTPS: tuple[Port, ...] = (("TCP", 443),)
DNS: tuple[Port, ...] = (("UDP", 53), ("TCP", 53))
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
"""Not the internet: the VPC and what is routed to it, link-local (instance metadata), shared space."""
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}


def labels(component: str, release: str = RELEASE_NAME) -> dict[str, str]:
    """The labels the chart puts on a component's pods (`worker`: the task pods' template)."""
    return {"tier": "airflow", "component": component, "release": release}


COMPONENTS: Mapping[str, str | Mapping[str, str]] = {
    "api-server": "api-server",
    "scheduler": "scheduler",
    "triggerer": "triggerer",
    "dag-processor": "dag-processor",
    "pgbouncer": "pgbouncer",
    "statsd": "statsd",
    "task-pod": "worker",
    "migrations": "run-airflow-migrations",
    "create-user": "create-user-job",
    "database-cleanup": "database-cleanup",
    "pod-cleanup": "airflow-cleanup-pods",
    "git-sync": {"app.kubernetes.io/name": "git-sync"},
}
"""Each component of the namespace -> its pods' `component` label (charts 1.18.0 to 1.22.0; the
task pods' from the program's template), or its own labels (git-sync, the program's Deployment)."""
DATABASE_CLIENTS = (
    "scheduler",
    "api-server",
    "triggerer",
    "dag-processor",
    "migrations",
    "create-user",
    "database-cleanup",
)
"""The components that use the metadata database (through PgBouncer); never task pods, which use
the API server's execution API (Airflow 3's task SDK)."""
AIRFLOW_PODS = (*DATABASE_CLIENTS, "task-pod", "pod-cleanup")
"""Every pod running Airflow (they all send StatsD)."""
KUBERNETES_API_CLIENTS = ("scheduler", "api-server", "pod-cleanup")
"""The pods that call the Kubernetes API (the only ones holding a service-account token,
lib/airflow/hardening.py `TOKEN_SECTIONS`): the executor, running tasks' logs, the failed-pod cleanup."""
AWS_API_CLIENTS = ("api-server", "triggerer", "task-pod")
"""The pods with an IAM role (IRSA: STS, then S3 for the task logs, lib/airflow/telemetry.py)."""


def selector(component: str, release: str = RELEASE_NAME) -> dict[str, str]:
    found = COMPONENTS[component]
    return labels(found, release) if isinstance(found, str) else dict(found)


@dataclass(frozen=True)
class Peer:
    """Something outside the namespace's components: NetworkPolicy peers (ipBlocks, or pods of
    another namespace) under a name the table and the tests use."""

    name: str
    peers: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Flow:
    """One allowed connection: `sources` open it to `destination` on `ports`."""

    name: str
    sources: tuple[str, ...] | Peer
    """Components of the namespace, or a peer outside it (ingress only)."""
    destination: str | Peer
    """A component, or a peer outside the namespace (egress only)."""
    ports: tuple[Port, ...]
    why: str

    def __post_init__(self) -> None:
        inside = [*([] if isinstance(self.sources, Peer) else self.sources)]
        inside += [] if isinstance(self.destination, Peer) else [self.destination]
        unknown = [c for c in inside if c not in COMPONENTS]
        if unknown or not self.ports or (isinstance(self.sources, Peer) and isinstance(self.destination, Peer)):
            raise ValueError(f"flow {self.name}: unknown components {unknown}, no ports, or no component at all")


@dataclass(frozen=True)
class NetworkContext:
    """What the flows reach outside the namespace, from the stack."""

    load_balancer_addresses: Sequence[str] = ()
    """The NLB's own private addresses (its subnet mappings): health checks and requests."""
    kubernetes_api_cidrs: Sequence[str] = ()
    """The Kubernetes API: the `kubernetes` Service's ClusterIP and the subnets of EKS's interfaces."""
    database_cidrs: Sequence[str] = ()
    """Where the metadata database's addresses are (its subnets), or 0.0.0.0/0 for a host the
    program does not place."""
    database_port: int = 5432
    statsd_agent_namespace: str | None = None
    """The namespace of the StatsD agent (the CloudWatch agent's) on `statsd_port`; None: the chart's exporter."""
    statsd_port: int = 8125
    git_port: int | None = None
    """The git host's port when git-sync runs (443 for https, 22 for ssh)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """The user's chart values: the peers they add through the chart's own network policy keys."""
    identity_provider_port: int | None = None
    """The OIDC issuer's port with single sign-on (`lib.airflow.sso.issuer_port`); None: no SSO."""
    secrets_backend: bool = False
    """Whether the servers read connections and variables from Secrets Manager (`secretsManagerBackend`)."""
    task_egress: tuple[EgressRule, ...] = ()
    """Where task pods may connect besides the table's flows (`taskEgress`, `lib/airflow/task_egress.py`)."""


def _ip_peer(name: str, cidrs: Sequence[str]) -> Peer:
    return Peer(name, tuple({"ipBlock": {"cidr": _cidr(c)}} for c in cidrs))


def _cidr(address: str) -> str:
    return str(ipaddress.ip_network(address if "/" in address else f"{address}/32", strict=False))


def _internet(name: str) -> Peer:
    return Peer(name, ({"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}},))


AWS_APIS = _internet("aws-apis")
"""STS, S3 (through the gateway endpoint: still S3's public addresses), CloudWatch: HTTPS outside the private ranges."""
COREDNS = Peer(
    "coredns",
    ({"namespaceSelector": {"matchLabels": KUBE_SYSTEM}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}},),
)


def _extra_peers(values: Mapping[str, Any], *path: str) -> tuple[Mapping[str, Any], ...]:
    """The list at `path` in the user's chart values, or none."""
    found: Any = values
    for key in path:
        found = found.get(key) if isinstance(found, Mapping) else None
    return tuple(found) if isinstance(found, list) else ()


def flows(context: NetworkContext) -> tuple[Flow, ...]:
    """Every allowed connection of the namespace: the table (see the module docstring)."""
    c = context
    kubernetes_api = _ip_peer("kubernetes-api", c.kubernetes_api_cidrs)
    statsd: tuple[str | Peer, tuple[Port, ...]] = (
        (
            Peer(
                "statsd-agent",
                ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": c.statsd_agent_namespace}}},),
            ),
            (("UDP", c.statsd_port),),
        )
        if c.statsd_agent_namespace
        else ("statsd", (("UDP", STATSD_INGEST_PORT),))
    )
    table = [
        Flow("dns", tuple(COMPONENTS), COREDNS, DNS, "every pod resolves names through CoreDNS"),
        Flow(
            "load-balancer-to-api-server",
            _ip_peer("load-balancer", c.load_balancer_addresses),
            "api-server",
            (("TCP", API_SERVER_PORT),),
            "the NLB's requests and health checks, from its own addresses (the target group preserves no client IP)",
        ),
        Flow(
            "task-pods-to-api-server",
            ("task-pod",),
            "api-server",
            (("TCP", API_SERVER_PORT),),
            "the execution API: a task's state, XComs, connections and variables",
        ),
        Flow(
            "api-server-to-task-pod-logs",
            ("api-server",),
            "task-pod",
            (("TCP", WORKER_LOGS_PORT),),
            "a running task's log, served by its pod",
        ),
        Flow(
            "api-server-to-triggerer-logs",
            ("api-server",),
            "triggerer",
            (("TCP", TRIGGERER_LOGS_PORT),),
            "a deferred task's log, served by the triggerer",
        ),
        Flow(
            "database-clients-to-pgbouncer",
            DATABASE_CLIENTS,
            "pgbouncer",
            (("TCP", PGBOUNCER_PORT),),
            "the metadata database, through PgBouncer's pools",
        ),
        Flow(
            "pgbouncer-to-database",
            ("pgbouncer",),
            _ip_peer("database", c.database_cidrs),
            (("TCP", c.database_port),),
            "PgBouncer's server connections (TLS, verify-full)",
        ),
        Flow(
            "kubernetes-api",
            KUBERNETES_API_CLIENTS,
            kubernetes_api,
            (("TCP", KUBERNETES_API_PORT),),
            "task pods created and watched, running tasks' logs, failed pods deleted",
        ),
        Flow("aws-apis", AWS_API_CLIENTS, AWS_APIS, HTTPS, "IRSA's STS, and the task logs in S3"),
        Flow("statsd", AIRFLOW_PODS, statsd[0], statsd[1], "Airflow's metrics"),
    ]
    if c.secrets_backend:
        # The backend's readers without an AWS flow of their own: the API server and the triggerer
        # have one (AWS_API_CLIENTS); the scheduler and the DAG processor read through the backend too
        # (Airflow 3.3.2, `[secrets] backend`: docs/teams.md).
        table.append(
            Flow(
                "secrets-backend",
                ("scheduler", "dag-processor"),
                AWS_APIS,
                HTTPS,
                "STS, then Secrets Manager: connections and variables",
            )
        )
    if c.identity_provider_port:
        table.append(
            Flow(
                "api-server-to-identity-provider",
                ("api-server",),
                Peer("identity-provider", ({"ipBlock": {"cidr": "0.0.0.0/0"}},)),
                (("TCP", c.identity_provider_port),),
                "single sign-on: the issuer's discovery document, keys and token endpoint (a SaaS or in the network)",
            )
        )
    if c.git_port:
        table.append(
            Flow("git-sync-to-git", ("git-sync",), _internet("git"), (("TCP", c.git_port),), "the DAGs' repository")
        )
    for rule in c.task_egress:
        ports = tuple((rule.protocol, port) for port in rule.ports)
        name = f"task-egress-{rule.name}"
        table.append(Flow(name, ("task-pod",), Peer(name, rule.peers()), ports, "yours (taskEgress)"))
    # Peers the user adds through the chart's own keys (the chart's network policies are off).
    extra = c.extra
    if peers := _extra_peers(extra, "apiServer", "networkPolicy", "ingress", "from"):
        table.append(
            Flow("user-peers-to-api-server", Peer("user", peers), "api-server", (("TCP", API_SERVER_PORT),), "yours")
        )
    if peers := _extra_peers(extra, "pgbouncer", "extraNetworkPolicies"):  # the chart gives them both ports
        ports = (("TCP", PGBOUNCER_PORT), ("TCP", PGBOUNCER_EXPORTER_PORT))
        table.append(Flow("user-peers-to-pgbouncer", Peer("user", peers), "pgbouncer", ports, "yours"))
    if peers := _extra_peers(extra, "statsd", "extraNetworkPolicies"):
        ports = (("UDP", STATSD_INGEST_PORT), ("TCP", STATSD_SCRAPE_PORT))
        table.append(Flow("user-peers-to-statsd", Peer("user", peers), "statsd", ports, "yours"))
    return tuple(table)


def _ports(ports: tuple[Port, ...]) -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for protocol, port in ports]


def _peers(end: tuple[str, ...] | str | Peer, release: str) -> list[Mapping[str, Any]]:
    """The NetworkPolicy peers of a flow's end: a peer's own, or the components' pods (the chart's
    by their `component` label, one selector for several; the program's by their own labels)."""
    if isinstance(end, Peer):
        return list(end.peers)
    components = (end,) if isinstance(end, str) else end
    chart = [found for c in components if isinstance(found := COMPONENTS[c], str)]
    peers: list[Mapping[str, Any]] = []
    if len(chart) == 1:  # exactly the chart Service's selector, for the controller's ClusterIP lookup
        peers.append({"podSelector": {"matchLabels": labels(chart[0], release)}})
    elif chart:
        expression = {"key": "component", "operator": "In", "values": chart}
        peers.append(
            {"podSelector": {"matchLabels": {"tier": "airflow", "release": release}, "matchExpressions": [expression]}}
        )
    peers += [
        {"podSelector": {"matchLabels": selector(c, release)}} for c in components if not isinstance(COMPONENTS[c], str)
    ]
    return peers


def _metadata(name: str, release: str) -> dict[str, Any]:
    return {"name": f"{release}-{name}", "labels": {"tier": "airflow", "release": release}}


def network_policies(context: NetworkContext, release: str = RELEASE_NAME) -> list[dict[str, Any]]:
    """The namespace's NetworkPolicies: the default deny, then one per component from `flows`.
    A flow whose peers are empty (a CIDR list not given) is left out, never written as an empty
    `from`/`to`, which Kubernetes reads as everything."""
    table = [f for f in flows(context) if not (isinstance(f.sources, Peer) and not f.sources.peers)]
    table = [f for f in table if not (isinstance(f.destination, Peer) and not f.destination.peers)]
    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _metadata("default-deny", release),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }
    ]
    for component in COMPONENTS:
        ingress = [
            {"from": _peers(f.sources, release), "ports": _ports(f.ports)} for f in table if f.destination == component
        ]
        egress = [
            {"to": _peers(f.destination, release), "ports": _ports(f.ports)}
            for f in table
            if not isinstance(f.sources, Peer) and component in f.sources
        ]
        spec = {
            "podSelector": {"matchLabels": selector(component, release)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        }
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _metadata(f"{component}-policy", release),
                "spec": spec,
            }
        )
    return policies


def git_port(repo: str) -> int:
    """The port git-sync reaches its repository on: the URL's own, else 22 for ssh (`ssh://`,
    `git@host:path`), 443 for https."""
    parsed = urlsplit(repo)
    if parsed.scheme in ("https", "ssh", "http") and parsed.port:
        return parsed.port
    if parsed.scheme == "http":
        return 80
    return 443 if parsed.scheme == "https" else 22
