"""The namespace's network, on what Helm renders and what the program creates: default deny, then
each allowed flow by name, and a refused one per component.

An evaluator of NetworkPolicy semantics (Kubernetes networking.k8s.io/v1: a pod selected by no
policy of a type is open for it; otherwise one rule of a selecting policy must admit the peer and
the port; a connection needs the source's egress and the destination's ingress) runs over the real
`helm template` of the chart with each stack's values and the program's own NetworkPolicies. The
pods are the rendered ones (Deployments, Jobs, CronJobs), the task pod from the pod template the
program writes, and git-sync from a plan that runs it. The table of flows below is written here,
not read from the program, so that a flow the program drops or adds fails.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from config.errors import ConfigError
from lib.airflow.network_flows import NetworkContext, network_policies
from lib.airflow.network_flows import flows as program_flows
from lib.airflow.task_egress import task_egress_rules
from lib.network.subnets import load_balancer_address
from offline.mocks import Plan, ProgramError, run_program
from tests.support.plans import plan_once
from tests.support.renders import Rendered

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "airflow"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
GIT_SYNC_REPO = "https://github.com/example/dags.git"
KUBERNETES_SERVICE_IP = "172.20.0.1"  # the fake cluster's service CIDR 172.20.0.0/16 (offline/fakes.py)
COREDNS = {"labels": {"k8s-app": "kube-dns"}, "namespace": "kube-system"}
CLOUDWATCH_AGENT = {"labels": {"app.kubernetes.io/name": "cloudwatch-agent"}, "namespace": "amazon-cloudwatch"}
STS = "52.46.0.10"  # an address outside the private ranges (STS, S3, a git host through NAT alike)
ELSEWHERE_IN_VPC = "10.30.216.7"  # an address of prod's first data subnet, on a port that is not the database's


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for e in selector.get("matchExpressions") or []:
        present, value = e["key"] in labels, labels.get(e["key"])
        op = e["operator"]
        if (op == "In" and value not in e["values"]) or (op == "NotIn" and value in e.get("values", [])):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return (selector.get("matchLabels") or {}).items() <= labels.items()


def _peer_admits(peer: dict[str, Any], end: dict[str, Any]) -> bool:
    """Whether a policy peer (of a policy in NAMESPACE) matches `end`: {"ip"} or a pod {"labels", "namespace"}."""
    if "ipBlock" in peer:
        if "ip" not in end:
            return False
        ip = ipaddress.ip_address(end["ip"])
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in block.get("except") or []
        )
    if "labels" not in end:
        return False
    namespace = end.get("namespace", NAMESPACE)
    if "namespaceSelector" in peer:
        in_namespace = _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace})
    else:
        in_namespace = namespace == NAMESPACE
    return in_namespace and _selects(peer.get("podSelector", {}), end["labels"])


def _port_admits(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    return not ports or any(
        str(p.get("port", port)) == str(port) and p.get("protocol", "TCP") == protocol for p in ports
    )


def _direction_allows(
    policies: list[dict[str, Any]], pod: dict[str, str], other: dict[str, Any], port: int, protocol: str, kind: str
) -> bool:
    rules, peers = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    selecting = [p for p in policies if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod)]
    return not selecting or any(
        _port_admits(rule.get("ports"), port, protocol)
        and (rule.get(peers) is None or any(_peer_admits(peer, other) for peer in rule[peers]))
        for p in selecting
        for rule in p["spec"].get(rules) or []
    )


def connects(
    policies: list[dict[str, Any]],
    source: dict[str, Any],
    destination: dict[str, Any],
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether `source` may open `port` on `destination` (each a pod {"labels", "namespace"} or an {"ip"}):
    the source's egress if it is a pod of the namespace, the destination's ingress if it is one."""

    def ours(end: dict[str, Any]) -> bool:
        return "labels" in end and end.get("namespace", NAMESPACE) == NAMESPACE

    out = not ours(source) or _direction_allows(policies, source["labels"], destination, port, protocol, "Egress")
    into = not ours(destination) or _direction_allows(
        policies, destination["labels"], source, port, protocol, "Ingress"
    )
    return out and into


def policies_of(plan: Plan) -> list[dict[str, Any]]:
    return [{"metadata": r.inputs["metadata"], "spec": r.inputs["spec"]} for r in plan.of_type(NETWORK_POLICY)]


def pods_of(r: Rendered, git_sync: Plan | None = None) -> dict[str, dict[str, Any]]:
    """Every pod of the namespace, by name (without `airflow-`), as an evaluator end."""
    found = {
        o["metadata"]["name"].removeprefix("airflow-"): o["spec"]["template"]["metadata"]["labels"]
        for o in r.objects
        if o["kind"] in WORKLOADS
    }
    found |= {
        o["metadata"]["name"].removeprefix("airflow-"): o["spec"]["jobTemplate"]["spec"]["template"]["metadata"][
            "labels"
        ]
        for o in r.objects
        if o["kind"] == "CronJob"
    }
    found["task-pod"] = r.pod_template()["metadata"]["labels"]
    if git_sync is not None:
        (deployment,) = [d for d in git_sync.of_type("kubernetes:apps/v1:Deployment") if "git-sync" in d.name]
        found["git-sync"] = deployment.inputs["spec"]["template"]["metadata"]["labels"]
    return {name: {"labels": labels} for name, labels in found.items()}


def subnet_cidrs(plan: Plan, tier: str) -> list[str]:
    found = [s.inputs["cidrBlock"] for s in plan.of_type("aws:ec2/subnet:Subnet") if f"-{tier}-" in s.name]
    assert len(found) == 3, (tier, found)  # prod's three zones
    return found


def nlb_addresses(plan: Plan) -> list[str]:
    nlb = plan.one("aws:lb/loadBalancer:LoadBalancer")
    return [m["privateIpv4Address"] for m in nlb.inputs["subnetMappings"]]


@pytest.fixture(scope="module")
def git_sync_plan() -> Plan:
    return plan_once("prod", {"gitSyncRepo": GIT_SYNC_REPO})


@pytest.fixture(scope="module")
def prod_net(git_sync_plan: Plan) -> tuple[Rendered, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    r = Rendered(git_sync_plan)
    return r, policies_of(git_sync_plan), pods_of(r, git_sync_plan)


DATABASE_CLIENTS = ("scheduler", "api-server", "triggerer", "dag-processor", "run-airflow-migrations", "create-user")
AIRFLOW_PODS = (*DATABASE_CLIENTS, "task-pod", "cleanup")
EVERY_POD = (*AIRFLOW_PODS, "pgbouncer", "git-sync")
ALLOWED_FLOWS = {
    # flow name: (sources, destination, port, protocol); a destination in {} is outside the namespace.
    "dns": (EVERY_POD, "coredns", 53, "UDP"),
    "load-balancer-to-api-server": (("nlb",), "api-server", 8080, "TCP"),
    "task-pods-to-api-server": (("task-pod",), "api-server", 8080, "TCP"),
    "api-server-to-task-pod-logs": (("api-server",), "task-pod", 8793, "TCP"),
    "api-server-to-triggerer-logs": (("api-server",), "triggerer", 8794, "TCP"),
    "database-clients-to-pgbouncer": (DATABASE_CLIENTS, "pgbouncer", 6543, "TCP"),
    "pgbouncer-to-database": (("pgbouncer",), "database", 5432, "TCP"),
    "kubernetes-api": (("scheduler", "api-server", "cleanup"), "kubernetes-api", 443, "TCP"),
    "aws-apis": (("api-server", "triggerer", "task-pod"), "sts", 443, "TCP"),
    "statsd": (AIRFLOW_PODS, "cloudwatch-agent", 8125, "UDP"),
    "git-sync-to-git": (("git-sync",), "git-host", 443, "TCP"),
}
"""Every flow of prod with git-sync, by the program's name for it."""


def ends(plan: Plan, pods: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each end a flow names, as evaluator ends (several for several addresses)."""
    found: dict[str, list[dict[str, Any]]] = {name: [pod] for name, pod in pods.items()}
    found["nlb"] = [{"ip": a} for a in nlb_addresses(plan)]
    found["coredns"] = [COREDNS]
    found["cloudwatch-agent"] = [CLOUDWATCH_AGENT]
    found["database"] = [{"ip": str(ipaddress.ip_network(c)[10])} for c in subnet_cidrs(plan, "data")]
    node_cidrs = subnet_cidrs(plan, "nodes")
    found["kubernetes-api"] = [
        {"ip": KUBERNETES_SERVICE_IP},
        *({"ip": str(ipaddress.ip_network(c)[20])} for c in node_cidrs),
    ]
    found["sts"] = found["git-host"] = [{"ip": STS}]
    assert all(found.values()), found
    return found


def test_the_namespace_denies_first(git_sync_plan: Plan) -> None:
    policies = policies_of(git_sync_plan)
    (deny,) = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert deny["metadata"]["name"] == "airflow-default-deny"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # Every other policy governs both directions: a component's egress is its flows only.
    assert all(p["spec"]["policyTypes"] == ["Ingress", "Egress"] for p in policies)
    # Nothing else of the namespace is open: an unlabelled pod reaches nothing and nothing reaches it.
    stranger = {"labels": {"app": "anything"}}
    assert not connects(policies, stranger, {"ip": STS}, 443)
    assert not connects(policies, stranger, COREDNS, 53, "UDP")
    assert not connects(policies, {"ip": "10.30.0.9"}, stranger, 80)


def test_the_program_names_the_flows_the_test_names(git_sync_plan: Plan) -> None:
    names = [f.name for f in program_flows(_context_of(git_sync_plan))]
    assert names == list(ALLOWED_FLOWS)


def _context_of(plan: Plan) -> NetworkContext:
    return NetworkContext(
        load_balancer_addresses=nlb_addresses(plan),
        kubernetes_api_cidrs=(f"{KUBERNETES_SERVICE_IP}/32", *subnet_cidrs(plan, "nodes")),
        database_cidrs=subnet_cidrs(plan, "data"),
        statsd_agent_namespace="amazon-cloudwatch",
        git_port=443,
    )


@pytest.mark.parametrize("flow", sorted(ALLOWED_FLOWS))
def test_each_flow_is_allowed(prod_net: tuple[Rendered, list[dict[str, Any]], dict[str, Any]], flow: str) -> None:
    r, policies, pods = prod_net
    sources, destination, port, protocol = ALLOWED_FLOWS[flow]
    found = ends(r.plan, pods)
    for source in sources:
        for s in found[source]:
            for d in found[destination]:
                assert connects(policies, s, d, port, protocol), (flow, source, s, d)


DENIED = {
    # component: (source, destination, port, protocol, why it must stay shut)
    "api-server": ("node-pod", "api-server", 8080, "TCP", "another pod of the node subnets (not the NLB)"),
    "scheduler": ("scheduler", "sts", 443, "TCP", "the scheduler has no AWS role"),
    "triggerer": ("task-pod", "triggerer", 8794, "TCP", "only the API server reads trigger logs"),
    "dag-processor": ("dag-processor", "kubernetes-api", 443, "TCP", "it holds no token"),
    "pgbouncer": ("task-pod", "pgbouncer", 6543, "TCP", "task pods use the execution API, never the database"),
    "task-pod": ("task-pod", "database", 5432, "TCP", "task pods never reach PostgreSQL"),
    "run-airflow-migrations": ("run-airflow-migrations", "sts", 443, "TCP", "a Job reaches PgBouncer only"),
    "create-user": ("create-user", "kubernetes-api", 443, "TCP", "a Job reaches PgBouncer only"),
    "cleanup": ("cleanup", "pgbouncer", 6543, "TCP", "the pod cleanup uses the Kubernetes API only"),
    "git-sync": ("git-sync", "pgbouncer", 6543, "TCP", "git-sync reaches its repository only"),
    "pgbouncer-egress": ("pgbouncer", "elsewhere-in-vpc", 22, "TCP", "PgBouncer reaches the database's port only"),
    "other-namespace": ("other-namespace-scheduler", "pgbouncer", 6543, "TCP", "labels from another namespace"),
}


@pytest.mark.parametrize("case", sorted(DENIED))
def test_a_flow_is_refused_per_component(
    prod_net: tuple[Rendered, list[dict[str, Any]], dict[str, Any]], case: str
) -> None:
    r, policies, pods = prod_net
    source, destination, port, protocol, why = DENIED[case]
    found = ends(r.plan, pods)
    node = ipaddress.ip_network(subnet_cidrs(r.plan, "nodes")[0])
    found["node-pod"] = [{"ip": str(node[1000])}]
    found["elsewhere-in-vpc"] = [{"ip": ELSEWHERE_IN_VPC}]
    found["other-namespace-scheduler"] = [{**pods["scheduler"], "namespace": "default"}]
    for s in found[source]:
        for d in found[destination]:
            assert not connects(policies, s, d, port, protocol), (case, why)


def test_every_pod_has_a_policy_of_its_own(prod_net: tuple[Rendered, list[dict[str, Any]], dict[str, Any]]) -> None:
    _, policies, pods = prod_net
    assert set(pods) == {*EVERY_POD}
    for name, pod in pods.items():
        own = [p for p in policies if p["spec"]["podSelector"] and _selects(p["spec"]["podSelector"], pod["labels"])]
        assert len(own) == 1, (name, [p["metadata"]["name"] for p in own])


def test_egress_to_a_service_names_its_selector(
    prod_net: tuple[Rendered, list[dict[str, Any]], dict[str, Any]],
) -> None:
    """The VPC CNI's controller adds a Service's ClusterIP to an egress rule only when the rule's
    podSelector matches the Service's selector, and the port maps to a numeric or same-port target
    (amazon-network-policy-controller-k8s ecc7e6a7 getMatchingServiceClusterIPs, hasTargetPortBypass):
    a pod's egress probe sees the ClusterIP, before kube-proxy's DNAT."""
    r, policies, _ = prod_net
    services = {o["metadata"]["name"]: o["spec"] for o in r.objects if o["kind"] == "Service"}
    reached = {"airflow-api-server": 8080, "airflow-pgbouncer": 6543}
    for name, port in reached.items():
        spec = services[name]
        (svc_port,) = [p for p in spec["ports"] if int(p["port"]) == port]
        assert str(svc_port.get("targetPort", port)) in (str(port), svc_port.get("name")), name
        egress_peers = [
            peer
            for p in policies
            for rule in p["spec"].get("egress") or []
            if _port_admits(rule.get("ports"), port, "TCP")
            for peer in rule.get("to") or []
            if "podSelector" in peer and "namespaceSelector" not in peer
        ]
        assert any(
            _selects(peer["podSelector"], spec["selector"]) and peer["podSelector"]["matchLabels"] == spec["selector"]
            for peer in egress_peers
        ), name


def test_the_api_server_admits_the_load_balancers_addresses_only(git_sync_plan: Plan) -> None:
    addresses = nlb_addresses(git_sync_plan)
    node_cidrs = subnet_cidrs(git_sync_plan, "nodes")
    assert addresses == [load_balancer_address(c).address for c in node_cidrs]
    (policy,) = [p for p in policies_of(git_sync_plan) if p["metadata"]["name"] == "airflow-api-server-policy"]
    sources = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert sources == [
        *({"ipBlock": {"cidr": f"{a}/32"}} for a in addresses),
        {"podSelector": {"matchLabels": {"tier": "airflow", "component": "worker", "release": "airflow"}}},
    ]


def test_dev_sends_statsd_to_the_charts_exporter(dev: Plan) -> None:
    r = Rendered(dev)
    policies, pods = policies_of(dev), pods_of(r)
    assert "statsd" in pods
    for source in AIRFLOW_PODS:
        assert connects(policies, pods[source], pods["statsd"], 9125, "UDP"), source
    assert not connects(policies, pods["pgbouncer"], pods["statsd"], 9125, "UDP")
    assert not connects(policies, pods["task-pod"], CLOUDWATCH_AGENT, 8125, "UDP")
    # Dev's plan has no git-sync: no flow out to a git host.
    assert not connects(policies, pods["scheduler"], {"ip": STS}, 443)


def test_a_brought_database_is_reached_on_its_port_wherever_it_is() -> None:
    policies = network_policies(NetworkContext(database_cidrs=("0.0.0.0/0",), database_port=6432))
    pgbouncer = {"labels": {"tier": "airflow", "component": "pgbouncer", "release": "airflow"}}
    assert connects(policies, pgbouncer, {"ip": "192.168.4.20"}, 6432)
    assert not connects(policies, pgbouncer, {"ip": "192.168.4.20"}, 5432)


def test_a_flow_without_addresses_is_left_out_not_opened() -> None:
    """An empty `to`/`from` means everything to Kubernetes: a flow whose addresses are not known is dropped."""
    policies = network_policies(NetworkContext())
    api_server = {"labels": {"tier": "airflow", "component": "api-server", "release": "airflow"}}
    assert not connects(policies, {"ip": "10.1.2.3"}, api_server, 8080)
    assert not connects(policies, api_server, {"ip": "10.1.2.3"}, 443)
    for p in policies:
        for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
            assert rule.get("from", rule.get("to")), p["metadata"]["name"]


def test_the_evaluator_follows_the_network_policy_rules() -> None:
    policy = {
        "metadata": {"name": "db"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}],
            "egress": [
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.9.0.0/16"]}}], "ports": [{"port": 443}]}
            ],
        },
    }
    web, db = {"labels": {"app": "web"}}, {"labels": {"app": "db"}}
    assert connects([policy], web, db, 5432)
    assert not connects([policy], web, db, 22)
    assert not connects([policy], {"labels": {"app": "web"}, "namespace": "other"}, db, 5432)
    assert not connects([policy], {"ip": "10.0.0.1"}, db, 5432)
    assert connects([policy], db, {"ip": "10.1.0.1"}, 443)
    assert not connects([policy], db, {"ip": "10.9.0.1"}, 443)  # except
    assert not connects([policy], db, {"ip": "10.1.0.1"}, 80)
    assert connects([policy], {"ip": "10.0.0.1"}, {"labels": {"app": "cache"}}, 6379)  # not selected: open
    assert not connects([policy], db, web, 5432, "UDP")  # a protocol the rule does not name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pgbouncer_admits_the_database_clients_only(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    r = Rendered(plan)
    policies, pods = policies_of(plan), pods_of(r)
    admitted = {name: connects(policies, pod, pods["pgbouncer"], 6543) for name, pod in pods.items()}
    assert admitted == {name: name in DATABASE_CLIENTS for name in pods}, admitted
    # The chart renders none (its PgBouncer policy admits every `tier: airflow` pod): the program's only.
    assert [o["metadata"]["name"] for o in r.objects if o["kind"] == "NetworkPolicy"] == []
    # The exporter's port: nobody (the runbook reads it through a port-forward, outside NetworkPolicy).
    assert not any(connects(policies, pod, pods["pgbouncer"], 9127) for pod in pods.values())


def test_extra_peers_given_to_the_chart_are_kept() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    overrides = {
        "pgbouncer": {"extraNetworkPolicies": [peer]},
        "statsd": {"extraNetworkPolicies": [peer]},
        "apiServer": {"networkPolicy": {"ingress": {"from": [peer]}}},
    }
    by_name = {
        p["metadata"]["name"]: p
        for p in network_policies(NetworkContext(load_balancer_addresses=("10.0.0.5",), extra=overrides))
    }
    prometheus = {"labels": {"app": "prometheus"}, "namespace": "monitoring"}
    policies = list(by_name.values())
    component = {
        c: {"labels": {"tier": "airflow", "component": c, "release": "airflow"}}
        for c in ("api-server", "pgbouncer", "statsd")
    }
    assert connects(policies, prometheus, component["pgbouncer"], 9127)  # as the chart does: the exporter too
    assert connects(policies, prometheus, component["pgbouncer"], 6543)
    assert connects(policies, prometheus, component["statsd"], 9102)
    assert connects(policies, prometheus, component["api-server"], 8080)
    assert not connects(policies, prometheus, component["api-server"], 8793)
    assert by_name["airflow-api-server-policy"]["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.0.0.5/32"}}]
    assert by_name["airflow-api-server-policy"]["spec"]["ingress"][-1] == {
        "from": [peer],
        "ports": [{"protocol": "TCP", "port": 8080}],
    }


@pytest.mark.parametrize("component", ["scheduler", "dag-processor"])
def test_the_secrets_backends_readers_reach_aws_only_with_the_backend(component: str) -> None:
    """The scheduler and the DAG processor read connections and variables through the backend
    (`[secrets] backend`, Airflow 3.3.2): HTTPS to AWS's public endpoints only when it is on."""
    pod = {"labels": {"tier": "airflow", "component": component, "release": "airflow"}}
    secrets_manager = {"ip": "52.94.224.10"}  # a public address, as secretsmanager.<region>.amazonaws.com resolves
    assert connects(network_policies(NetworkContext(secrets_backend=True)), pod, secrets_manager, 443)
    assert not connects(network_policies(NetworkContext()), pod, secrets_manager, 443)
    assert not connects(network_policies(NetworkContext(secrets_backend=True)), pod, {"ip": "10.1.2.3"}, 443)


def test_with_single_sign_on_the_api_server_reaches_the_identity_provider_on_its_port() -> None:
    """The provider may be anywhere (a SaaS, or a Keycloak inside the network): any address, the
    issuer's port only (lib.airflow.sso.issuer_port), from the API server only."""
    api_server = {"labels": {"tier": "airflow", "component": "api-server", "release": "airflow"}}
    scheduler = {"labels": {"tier": "airflow", "component": "scheduler", "release": "airflow"}}
    with_sso = network_policies(NetworkContext(identity_provider_port=8443))
    assert connects(with_sso, api_server, {"ip": "10.1.2.3"}, 8443)
    assert not connects(with_sso, api_server, {"ip": "10.1.2.3"}, 8080)
    assert not connects(with_sso, scheduler, {"ip": "10.1.2.3"}, 8443)
    assert not connects(network_policies(NetworkContext()), api_server, {"ip": "10.1.2.3"}, 8443)


def test_task_egress_opens_its_ports_to_its_addresses_from_the_task_pods_only() -> None:
    """`taskEgress` (lib/airflow/task_egress.py): a warehouse in the VPC on 5439, a web host on 80
    anywhere but the instance metadata service; for the task pods, nothing more and no one else."""
    rules = task_egress_rules(
        {
            "warehouse": {"cidrs": ["10.50.0.0/16"], "ports": [5439]},
            "web": {"cidrs": ["0.0.0.0/0"], "ports": [80]},
        }
    )
    policies = network_policies(NetworkContext(task_egress=rules))
    task_pod = {"labels": {"component": "worker", "release": "airflow", "tier": "airflow"}}
    scheduler = {"labels": {"tier": "airflow", "component": "scheduler", "release": "airflow"}}
    warehouse, web = {"ip": "10.50.3.4"}, {"ip": "93.184.216.34"}
    assert connects(policies, task_pod, warehouse, 5439)
    assert not connects(policies, task_pod, warehouse, 5432)
    assert not connects(policies, task_pod, warehouse, 5439, "UDP")
    assert connects(policies, task_pod, web, 80)
    assert not connects(policies, task_pod, {"ip": "169.254.169.254"}, 80)
    assert not connects(policies, scheduler, warehouse, 5439)
    assert not connects(network_policies(NetworkContext()), task_pod, warehouse, 5439)
    assert [f.name for f in program_flows(NetworkContext(task_egress=rules))][-2:] == [
        "task-egress-warehouse",
        "task-egress-web",
    ]


def test_the_program_hands_task_egress_to_the_task_pods_policy() -> None:
    plan = plan_once("dev", {"taskEgress": {"warehouse": {"cidrs": ["10.50.0.0/16"], "ports": [5439]}}})
    (policy,) = [r for r in plan.of_type(NETWORK_POLICY) if r.inputs["metadata"]["name"] == "airflow-task-pod-policy"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.50.0.0/16"}}],
        "ports": [{"protocol": "TCP", "port": 5439}],
    } in policy.inputs["spec"]["egress"]


def test_a_bad_task_egress_names_the_key_and_registers_nothing() -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"taskEgress": {"imds": {"cidrs": ["169.254.169.254/32"], "ports": [80]}}})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "taskEgress", cause
    assert "link-local (the instance metadata service)" in str(cause)
    assert failure.value.registrations == []
