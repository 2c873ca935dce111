"""What a stack tells the policy pack (`policy/`) about itself, through tags on its AWS resources.

A policy pack sees resources, not the stack's config, so the program stamps two facts on every AWS
resource it tags: whether the stack declares itself production (`production`: the stateful and
availability policies apply), and each policy it opts out of with the reason (`policyWaivers`).
Tag keys and values are what every AWS service that takes tags accepts (ASCII letters, digits,
spaces and `_ . : / = + - @`, values up to 256 characters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

ENCRYPTION = "encryption-with-rotating-cmk"
NO_PUBLIC_EXPOSURE = "no-public-exposure"
IMDSV2 = "imdsv2-hop-limit-1"
PRODUCTION_PROTECTION = "production-stateful-protection"
PRODUCTION_HA = "production-high-availability"
NO_PLAINTEXT_SECRETS = "no-plaintext-secrets"
LEAST_PRIVILEGE_IAM = "least-privilege-iam"
TLS_ONLY_BUCKETS = "tls-only-buckets"
LOG_RETENTION = "log-retention"
PRODUCTION_TLS = "production-tls-listeners"
PRIVATE_TASK_IMAGES = "production-private-task-images"
POLICY_NAMES = (
    ENCRYPTION,
    NO_PUBLIC_EXPOSURE,
    IMDSV2,
    PRODUCTION_PROTECTION,
    PRODUCTION_HA,
    NO_PLAINTEXT_SECRETS,
    LEAST_PRIVILEGE_IAM,
    TLS_ONLY_BUCKETS,
    LOG_RETENTION,
    PRODUCTION_TLS,
    PRIVATE_TASK_IMAGES,
)
"""Every policy of the pack; each is mandatory unless the stack waives it."""

TAG_PREFIX = "airflow-eks:"
PRODUCTION_TAG = f"{TAG_PREFIX}production"
WAIVER_TAG_PREFIX = f"{TAG_PREFIX}waiver:"
WAIVER_REASON = re.compile(r"[A-Za-z0-9_ .:/=+\-@]{10,256}")
"""A reason a reviewer can read (10 characters or more) in the characters AWS tags accept."""


def guardrail_tags(production: bool, waivers: Mapping[str, str]) -> dict[str, str]:
    """The tags that carry the stack's declaration and waivers to the policy pack."""
    tags = {PRODUCTION_TAG: "true" if production else "false"}
    tags |= {f"{WAIVER_TAG_PREFIX}{policy}": reason for policy, reason in sorted(waivers.items())}
    return tags


def waiver_problem(policy: str, reason: str) -> str | None:
    """Why a waiver is refused, or None."""
    if policy not in POLICY_NAMES:
        return f"'{policy}' is not a policy of the pack; policies: {', '.join(POLICY_NAMES)}"
    if not WAIVER_REASON.fullmatch(reason):
        return (
            f"the reason for waiving '{policy}' must be 10 to 256 characters of letters, digits, spaces and "
            "_ . : / = + - @ (it travels as an AWS tag)"
        )
    return None


def declared(tags: Mapping[str, str]) -> tuple[bool, dict[str, str]]:
    """(production, waivers) as a resource's tags declare them; a stack that says nothing is production."""
    production = tags.get(PRODUCTION_TAG, "true") != "false"
    waivers = {k.removeprefix(WAIVER_TAG_PREFIX): v for k, v in tags.items() if k.startswith(WAIVER_TAG_PREFIX)}
    return production, waivers
