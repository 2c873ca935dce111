"""Names Kubernetes accepts, as its API server validates them (k8s.io/apimachinery validation).

Every check returns what is wrong (a sentence naming the accepted format) or None, so callers
can name their own key. Patterns are matched whole (`fullmatch`): a `$` would let a trailing
newline through, which a YAML `|` block gives.
"""

from __future__ import annotations

import re

DNS_SUBDOMAIN_MAX = 253
NAME_MAX = 63
"""A label name part and a label value (also a DNS label)."""
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
LABEL_NAME_FORMAT = "letters, digits, '-', '_' or '.', beginning and ending with a letter or digit"
# kubelet refuses --node-labels in the kubernetes.io and k8s.io namespaces but for these
# prefixes (NodeRestriction): EKS passes a node group's labels to kubelet that way.
_NODE_LABEL_NAMESPACES = ("kubernetes.io", "k8s.io")
_NODE_LABEL_ALLOWED = ("kubelet.kubernetes.io", "node.kubernetes.io")


def dns_subdomain_problem(value: str) -> str | None:
    """A DNS-1123 subdomain: the name of a Secret, ConfigMap, ... and a label key's prefix."""
    if not value or len(value) > DNS_SUBDOMAIN_MAX or not _DNS_SUBDOMAIN.fullmatch(value):
        return (
            f"'{value}' is not a DNS subdomain: 1 to {DNS_SUBDOMAIN_MAX} lowercase letters, digits, '-' "
            "and '.', each dot-separated part beginning and ending with a letter or digit"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """A qualified name: an optional DNS-subdomain prefix and `/`, then a name of 1 to 63."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or dns_subdomain_problem(prefix)):
        return f"'{key}' has a prefix that is not a DNS subdomain (lowercase, at most {DNS_SUBDOMAIN_MAX})"
    if not name or len(name) > NAME_MAX or not _LABEL_NAME.fullmatch(name):
        return f"'{key}' has a name part that is not 1 to {NAME_MAX} {LABEL_NAME_FORMAT}"
    return None


def label_value_problem(value: str) -> str | None:
    """Empty, or 1 to 63 of the name part's characters."""
    if value and (len(value) > NAME_MAX or not _LABEL_NAME.fullmatch(value)):
        return f"'{value}' is not a label value: empty, or 1 to {NAME_MAX} {LABEL_NAME_FORMAT}"
    return None


def node_label_key_problem(key: str) -> str | None:
    """A label kubelet sets on its own node: also outside the namespaces Kubernetes keeps."""
    problem = label_key_problem(key)
    if problem or "/" not in key:
        return problem
    prefix = key.rpartition("/")[0]

    def within(domains: tuple[str, ...]) -> bool:
        return any(prefix == d or prefix.endswith(f".{d}") for d in domains)

    if within(_NODE_LABEL_NAMESPACES) and not within(_NODE_LABEL_ALLOWED):
        return (
            f"'{key}' is in a namespace Kubernetes keeps (kubernetes.io, k8s.io): kubelet refuses it; "
            f"only prefixes {' and '.join(_NODE_LABEL_ALLOWED)} are accepted there"
        )
    return None
