"""A NAT instance: the node subnets' way out for about a tenth of a NAT gateway's price.

`natGateways: instance` (refused with `production: true`) puts one small Graviton instance in
the first zone's public subnet, with the source/destination check off, and points every node
subnet's default route at its network interface. Its operating system is configured the way AWS
documents a NAT instance on Amazon Linux 2023 (VPC user guide, "Create a NAT AMI"; aws-cdk v2
`NatInstanceProviderV2` runs the same commands): iptables-services, IP forwarding kept in
/etc/sysctl.d, masquerading on the interface of the default route, the rules saved so that a
reboot or an automatic recovery restores them. Tighter than that page: forwarding is dropped
except from the node subnets (and what answers them), so the VPC's other addresses, and the
internet, cannot use the instance as a router.

What `make integration` runs of it: `rules_script` in network namespaces, one interface in and
out as on EC2 (scripts/nat_instance_check.py). What only EC2 shows: the package install, the
iptables service, the AMI's interface names.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence

INSTANCE_TYPE = "t4g.nano"
"""2 vCPUs (burstable, 5% baseline), 0.5 GiB, up to 5 Gbit/s: a dev stack's image pulls and API
calls. Its CPU credits are `standard`: a busy month throttles it rather than bills surplus credits."""
AMI = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
"""The newest Amazon Linux 2023 for arm64, resolved by EC2 when the instance launches: the launch
template keeps this name, so a new AMI replaces nothing, and a replaced instance gets the newest."""
ROOT_VOLUME_GIB = 8
"""The AMI's own root volume size (a smaller one is refused at launch)."""


def _cidrs(node_cidrs: Sequence[str]) -> list[str]:
    if not node_cidrs:
        raise ValueError("a NAT instance needs the node subnets' CIDRs")
    return [str(ipaddress.ip_network(c)) for c in node_cidrs]


def _rules(node_cidrs: Sequence[str]) -> list[str]:
    """The kernel's part, idempotent: forward and masquerade what the node subnets send out of the
    interface of the default route (on EC2 the only one: packets leave where they came in), and
    the answers; drop every other forwarded packet."""
    lines = [
        # The word after `dev`: the route's other fields vary (`via`, `proto`, `metric`).
        "out=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == \"dev\") {print $(i + 1); exit}}')",
        "sysctl -qw net.ipv4.ip_forward=1",
        "iptables -F FORWARD",
        "iptables -P FORWARD DROP",
        "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "iptables -t nat -F POSTROUTING",
    ]
    for cidr in _cidrs(node_cidrs):
        source = shlex.quote(cidr)
        lines += [
            f'iptables -A FORWARD -i "$out" -o "$out" -s {source} -j ACCEPT',
            f'iptables -t nat -A POSTROUTING -o "$out" -s {source} -j MASQUERADE',
        ]
    return lines


def rules_script(node_cidrs: Sequence[str]) -> str:
    """`_rules` as a script of its own (what scripts/nat_instance_check.py runs)."""
    return "\n".join(["set -euo pipefail", *_rules(node_cidrs)]) + "\n"


def user_data(node_cidrs: Sequence[str]) -> str:
    """The instance's first boot (cloud-init, as root): the iptables service, forwarding kept across
    reboots, `_rules`, the rules saved for the service to restore. The install retries: the
    instance has its public address from launch, but a mirror may not answer at once."""
    lines = [
        "#!/bin/bash",
        "# airflow-eks NAT instance (natGateways: instance): lib/network/nat_instance.py",
        "set -euo pipefail",
        "for attempt in $(seq 1 30); do dnf install -y -q iptables-services && break; sleep 10; done",
        "systemctl enable --now iptables",
        "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-airflow-eks-nat.conf",
        *_rules(node_cidrs),
        "service iptables save",
    ]
    return "\n".join(lines) + "\n"
