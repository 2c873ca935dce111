"""The NAT instance's rules (lib/network/nat_instance.py `rules_script`) in network namespaces, for `make integration`.

Builds, with names that carry a random suffix and are deleted however the run ends, a bridge in a
namespace of its own ("lan") joining four namespaces by veth pairs:
- node: 10.20.0.10/16, default route via the NAT's 10.20.200.5 (inside the node CIDR 10.20.0.0/18);
- data: 10.20.250.10/16, default route via 10.20.200.5 too (a VPC address outside the node CIDRs);
- nat: ONE interface with 10.20.200.5/16 and 198.51.100.2/24, default route via 198.51.100.1, as
  on EC2 where packets leave by the interface they came in on;
- internet: 198.51.100.1/24, no route back to 10.20.0.0/16, a TCP server on port 8080 that answers
  each connection with the source address it saw.
Then checks, each printed PASS or FAIL with its reason:
1. before the rules (a fresh namespace: ip_forward 0), node cannot reach the server;
2. `bash -c RULES` in the nat namespace exits 0, node reaches the server, which sees 198.51.100.2;
3. data still cannot reach the server (its packets dropped in FORWARD);
4. the rules run again exit 0 and leave the same `iptables-save`; node still reaches the server.
Exits 0 only if every check passed, 2 when it cannot run (not root, `ip` or `iptables` missing).
Must run as root; `--rules-file` checks another script text in place of `rules_script`'s.

    .venv/bin/python scripts/nat_instance_check.py [--rules-file FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.network.nat_instance import rules_script  # noqa: E402

NODE_CIDRS = ["10.20.0.0/18"]
NODE, DATA = "10.20.0.10", "10.20.250.10"
NAT_INSIDE, NAT_OUTSIDE, INTERNET = "10.20.200.5", "198.51.100.2", "198.51.100.1"
PORT = 8080
CONNECT_SECONDS = 2.0
COMMAND_SECONDS = 30.0

# The server answers each connection with the peer address it accepted, so what the client
# reads is what the internet saw (masqueraded or not).
SERVER = """
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    conn, peer = server.accept()
    with conn:
        conn.sendall(peer[0].encode() + b"\\n")
"""
CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])) as conn:
        print(conn.recv(256).decode().strip())
except OSError as error:
    print(f"{type(error).__name__}: {error}")
    sys.exit(1)
"""


def sh(argv: Sequence[str], timeout: float = COMMAND_SECONDS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def must(argv: Sequence[str]) -> str:
    done = sh(argv)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


class Topology:
    """The namespaces, named `natck-<suffix>-<role>`; `lan` holds the bridge."""

    ROLES = ("lan", "node", "data", "nat", "internet")

    def __init__(self) -> None:
        suffix = secrets.token_hex(3)
        self.ns = {role: f"natck-{suffix}-{role}" for role in self.ROLES}
        self.created: list[str] = []

    def build(self) -> None:
        for name in self.ns.values():
            must(["ip", "netns", "add", name])
            self.created.append(name)
            must(["ip", "-n", name, "link", "set", "lo", "up"])
        lan = self.ns["lan"]
        must(["ip", "-n", lan, "link", "add", "br0", "type", "bridge"])
        must(["ip", "-n", lan, "link", "set", "br0", "up"])
        # Both ends are created inside namespaces, so no name can clash with the host's interfaces.
        for role in ("node", "data", "nat", "internet"):
            port = f"to-{role}"
            must(["ip", "-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", self.ns[role]])
            must(["ip", "-n", lan, "link", "set", port, "master", "br0", "up"])
            must(["ip", "-n", self.ns[role], "link", "set", "eth0", "up"])
        self.address("node", f"{NODE}/16", NAT_INSIDE)
        self.address("data", f"{DATA}/16", NAT_INSIDE)
        self.address("nat", f"{NAT_INSIDE}/16", None)
        self.address("nat", f"{NAT_OUTSIDE}/24", INTERNET)
        self.address("internet", f"{INTERNET}/24", None)  # no route to the VPC: only masquerading answers
        # Counts what arrives from data unmasqueraded: the server cannot answer it (no route back),
        # so a failed connection alone would not show that the NAT dropped it.
        must(in_ns(self.ns["internet"], "iptables", "-A", "INPUT", "-s", DATA))

    def address(self, role: str, cidr: str, gateway: str | None) -> None:
        must(["ip", "-n", self.ns[role], "addr", "add", cidr, "dev", "eth0"])
        if gateway:
            must(["ip", "-n", self.ns[role], "route", "add", "default", "via", gateway, "dev", "eth0"])

    def delete(self) -> None:
        for name in reversed(self.created):
            sh(["ip", "netns", "del", name])


@contextmanager
def server(ns: str) -> Iterator[None]:
    proc = subprocess.Popen(
        in_ns(ns, sys.executable, "-c", SERVER, INTERNET, str(PORT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            line = proc.stdout.readline() if sel.select(timeout=COMMAND_SECONDS) else ""
        if line.strip() != "listening":
            raise RuntimeError(f"the internet's server did not start: {line.strip() or 'no output'}")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def connect(ns: str) -> tuple[bool, str]:
    """(reached, the source address the server saw or the client's error)."""
    done = sh(in_ns(ns, sys.executable, "-c", CLIENT, INTERNET, str(PORT), str(CONNECT_SECONDS)))
    return done.returncode == 0, (done.stdout.strip() or done.stderr.strip())


def run_rules(ns: str, text: str) -> subprocess.CompletedProcess[str]:
    return sh(in_ns(ns, "bash", "-c", text))


def rule_set(ns: str) -> list[str]:
    """`iptables-save` without its comment lines and packet counters, to compare two runs."""
    lines = must(in_ns(ns, "iptables-save")).splitlines()
    return [re.sub(r"\s*\[\d+:\d+\]", "", line) for line in lines if not line.startswith("#")]


def forward_drops(ns: str) -> int:
    """The packets FORWARD's policy dropped so far (0 if the policy is not DROP)."""
    header = must(in_ns(ns, "iptables", "-L", "FORWARD", "-n", "-v", "-x")).splitlines()[0]
    found = re.search(r"policy DROP (\d+) packets", header)
    return int(found.group(1)) if found else 0


def arrived_from_data(ns: str) -> int:
    """The packets from data's own address the internet's counting rule saw."""
    for line in must(in_ns(ns, "iptables-save", "-c", "-t", "filter")).splitlines():
        found = re.fullmatch(rf"\[(\d+):\d+\] -A INPUT -s {re.escape(DATA)}/32", line.strip())
        if found:
            return int(found.group(1))
    raise RuntimeError("the internet's counting rule is missing")


def report(results: list[bool], number: int, ok: bool, reason: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'} {number}. {reason}", flush=True)
    results.append(ok)


def failed_script(done: subprocess.CompletedProcess[str]) -> str:
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"the rules script exited {done.returncode}: {last}"


def checks(topo: Topology, text: str) -> list[bool]:
    results: list[bool] = []
    nat, node, data = topo.ns["nat"], topo.ns["node"], topo.ns["data"]

    forwarding = must(in_ns(nat, "sysctl", "-n", "net.ipv4.ip_forward")).strip()
    reached, seen = connect(node)
    report(
        results,
        1,
        not reached,
        f"before the rules (ip_forward={forwarding}) node {NODE} "
        + (f"reached the server, which saw {seen}" if reached else f"cannot reach {INTERNET}:{PORT} ({seen})"),
    )

    first = run_rules(nat, text)
    reached, seen = connect(node)
    if first.returncode != 0:
        report(results, 2, False, failed_script(first))
    elif not reached:
        report(results, 2, False, f"after the rules node {NODE} cannot reach {INTERNET}:{PORT} ({seen})")
    else:
        report(
            results,
            2,
            seen == NAT_OUTSIDE,
            f"the rules script exited 0; node {NODE} reached {INTERNET}:{PORT}, which saw {seen}"
            + (" (masqueraded)" if seen == NAT_OUTSIDE else f", not {NAT_OUTSIDE}: not masqueraded"),
        )

    dropped = forward_drops(nat)
    reached, seen = connect(data)
    dropped, arrived = forward_drops(nat) - dropped, arrived_from_data(topo.ns["internet"])
    if reached:
        reason = f"reached the server, which saw {seen}: forwarded"
    elif arrived:
        reason = f"cannot connect ({seen}), but {arrived} of its packets reached the internet unmasqueraded: forwarded"
    else:
        reason = f"cannot reach the server ({seen}); FORWARD's DROP policy counted {dropped} packets, none arrived"
    report(results, 3, not reached and not arrived, f"data {DATA} (outside {', '.join(NODE_CIDRS)}) {reason}")

    before = rule_set(nat)
    second = run_rules(nat, text)
    after = rule_set(nat)
    reached, seen = connect(node)
    rules = sum(line.startswith("-A ") for line in after)
    if second.returncode != 0:
        report(results, 4, False, f"second run: {failed_script(second)}")
    elif before != after:
        line = next(line for line in [*after, *before] if after.count(line) != before.count(line))
        changed = f"{line!r} {before.count(line)} times before, {after.count(line)} after"
        report(results, 4, False, f"the second run changed the rule set: {changed}")
    else:
        report(
            results,
            4,
            reached and seen == NAT_OUTSIDE,
            f"the second run exited 0 and left the same {rules} rules; node "
            + (f"still reaches the server as {seen}" if reached else f"cannot reach the server ({seen})"),
        )
    return results


def refusal() -> str | None:
    if os.geteuid() != 0:
        return "must run as root (it creates network namespaces)"
    missing = [tool for tool in ("ip", "iptables", "iptables-save", "sysctl", "bash") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian: apt-get install iproute2 iptables procps)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rules-file",
        type=Path,
        help=f"check this script text instead of rules_script({NODE_CIDRS})",
    )
    options = parser.parse_args(argv)
    # The user data runs as root under cloud-init, with the sbin directories on PATH.
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([*path, *(d for d in ("/usr/sbin", "/sbin") if d not in path)])
    reason = refusal()
    if reason:
        print(f"nat_instance_check: {reason}", file=sys.stderr)
        return 2
    text = options.rules_file.read_text() if options.rules_file else rules_script(NODE_CIDRS)
    # A terminated run still deletes its namespaces (the `finally` below runs on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    topo = Topology()
    try:
        topo.build()
        with server(topo.ns["internet"]):
            results = checks(topo, text)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"FAIL: could not run the checks: {error}", flush=True)
        return 1
    finally:
        topo.delete()
    print(f"{sum(results)} of {len(results)} checks passed", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
