"""No credential in clear in what the stack hands to AWS, Kubernetes or Helm."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .declaration import NO_PLAINTEXT_SECRETS
from .model import DB, K8S_PROVIDER, K8S_SECRET, SECRET, UNKNOWN, Resource, Stack, Violation, known, violation, walk

# A key whose value is a credential; keys that name or point at one (`...SecretName`, `...Arn`,
# `secretKeyRef`, Airflow's `..._CMD`: the command that prints it) are references, and two AWS inputs
# only sound like one (an idempotency token and IMDS's `httpTokens` setting).
SECRET_KEY = re.compile(r"(password|passwd|^pass$|secret|token|fernet|private_?key|api_?key|passphrase)", re.I)
REFERENCE_KEY = re.compile(r"(name|names|arn|ref|id|path|file|cmd|enabled|type|length|ttl|seconds)$", re.I)
NOT_CREDENTIALS = frozenset({"httpTokens", "creationToken"})
CREDENTIAL_URI = re.compile(r"://[^/\s:@]+:[^@\s/]+@")
SECRETS_BACKEND_KEY = re.compile(r"(^|_)secrets_backend(_kwargs)?$", re.I)
"""Airflow's `[workers] secrets_backend` and its kwargs (also as `AIRFLOW__WORKERS__...` variables): the
class that fetches secrets and its arguments (prefixes, region), not a credential."""


def _secret_field(path: tuple[str, ...]) -> bool:
    key = path[-1] if path else ""
    if key in NOT_CREDENTIALS or SECRETS_BACKEND_KEY.search(key):
        return False
    return bool(SECRET_KEY.search(key)) and not REFERENCE_KEY.search(key)


def env_lists(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Every list under a key `env` (a container's variables, a chart's `env` values), with its path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = (*path, str(key))
            if key == "env" and isinstance(item, list):
                yield here, item
            yield from env_lists(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from env_lists(item, (*path, str(index)))


def _env_credentials(resource: Resource) -> Iterator[Violation]:
    """An env entry named like a credential (`DB_PASSWORD`, `AIRFLOW__CORE__FERNET_KEY`) whose
    `value` is written out: the key walk sees only `value`, so the entry's name decides."""
    for path, entries in env_lists(resource.props):
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                continue
            value = entry.get("value")
            if _secret_field((entry["name"],)) and isinstance(value, str) and value not in ("", SECRET, UNKNOWN):
                yield violation(
                    NO_PLAINTEXT_SECRETS,
                    resource,
                    f"{'.'.join(path)}[{i}] ({entry['name']}) holds a credential in clear: take it from a Secret "
                    "(valueFrom.secretKeyRef, or the chart's `secret` list)",
                )


def no_plaintext_secrets(stack: Stack) -> Iterator[Violation]:
    """No credential in clear in a resource input or Helm value (an env variable named like one
    included): Secrets are referenced by name."""
    for resource in stack.resources:
        yield from _env_credentials(resource)
        for path, value in walk(resource.props):
            if not isinstance(value, str) or value in ("", SECRET, UNKNOWN):
                continue
            where = ".".join(path)
            if CREDENTIAL_URI.search(value):
                yield violation(
                    NO_PLAINTEXT_SECRETS, resource, f"{where} holds a URI with a password: pass it as a secret"
                )
            elif _secret_field(path):
                yield violation(
                    NO_PLAINTEXT_SECRETS, resource, f"{where} holds a credential in clear: reference a Secret"
                )
    if not stack.marks_secrets:
        return
    must_be_secret = {K8S_SECRET: ("data", "stringData"), K8S_PROVIDER: ("kubeconfig",), DB: ("password",)}
    for type_, fields in must_be_secret.items():
        for resource in stack.of_type(type_):
            for name in fields:
                for path, value in walk(resource.props.get(name), (name,)):
                    if known(value) and value != SECRET:
                        where = ".".join(path)
                        yield violation(
                            NO_PLAINTEXT_SECRETS, resource, f"{where} is not a Pulumi secret: wrap it in secret()"
                        )
