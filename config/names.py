"""What AWS accepts of the names and tags a stack brings: the stack name and the `tags` map.

The stack name becomes part of every resource's name (`airflow-<stack>-...`), so it must fit the
shortest of AWS's name limits (lib/naming.py lists them) and give identifiers RDS accepts. Tags
must fit every service that takes tags (IAM, RDS, ELB and EFS accept the fewest characters), in
the 50 a resource may carry beside the program's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from config.errors import ConfigError, cut
from lib.naming import PROGRAM_TAG_KEYS, PROGRAM_TAGS_MAX, longest_stack_name, name_overflow
from policy.airflow_eks_guardrails.declaration import TAG_PREFIX

STACK_NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")
"""A letter, then letters, digits and single hyphens, never last: RDS identifiers refuse `--`
and a trailing hyphen."""
MAX_TAGS = 50
"""Tags per resource (EC2, IAM, RDS, ELB, EFS, KMS, S3, CloudWatch Logs, SNS): 50."""
TAG_TEXT = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")
"""Characters every AWS service that takes tags accepts (the IAM, RDS, ELB and EFS intersection)."""
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
RESERVED_TAG_PREFIXES = ("aws:", TAG_PREFIX, "kubernetes.io/", "k8s.io/")
OVERRIDABLE_TAG_KEYS = ("project", "stack", "managed-by")
"""Program tags a user tag may replace (`lib.naming.base_tags`: the user's win)."""


def check_stack_name(stack: str) -> None:
    longest = longest_stack_name()
    accepted = f"1 to {longest} lowercase letters, digits or single hyphens, starting with a letter, not ending in '-'"
    if not STACK_NAME.fullmatch(stack):
        raise ConfigError("stack", f"'{cut(stack)}' is not a stack name of {accepted}")
    problem = name_overflow(f"airflow-{stack}")
    if problem:
        raise ConfigError("stack", f"'{stack}' is too long: {problem}; accepted: {accepted}")


def check_tags(tags: Mapping[str, str], waivers: Mapping[str, str]) -> None:
    """`tags`: what every tagged service accepts, none the program's own, all fitting in 50."""
    room = MAX_TAGS - PROGRAM_TAGS_MAX - len(waivers)
    if len(tags) > room:
        raise ConfigError(
            "tags",
            f"lists {len(tags)} tags; accepted: at most {room} (AWS allows {MAX_TAGS} per resource, the program "
            f"sets up to {PROGRAM_TAGS_MAX} and one per policyWaivers entry)",
        )
    program = {k.lower(): k for k in PROGRAM_TAG_KEYS}
    seen: dict[str, str] = {}
    for key, value in tags.items():
        shown = f"'{cut(key)}: {cut(value)}'"
        if not (1 <= len(key) <= MAX_TAG_KEY and len(value) <= MAX_TAG_VALUE and TAG_TEXT.fullmatch(key + value)):
            raise ConfigError(
                "tags",
                f"{shown} is not a tag every AWS service accepts: a key of 1 to {MAX_TAG_KEY} and a value of up to "
                f"{MAX_TAG_VALUE} letters, digits, spaces and _ . : / = + - @",
            )
        prefix = next((p for p in RESERVED_TAG_PREFIXES if key.lower().startswith(p)), None)
        if prefix:  # the policy pack reads `airflow-eks:` tags: set them through production / policyWaivers
            owner = "AWS's" if prefix == "aws:" else "the program's own"
            raise ConfigError("tags", f"'{cut(key)}': keys starting with '{prefix}' are {owner}")
        ours = program.get(key.lower())
        if ours and key not in OVERRIDABLE_TAG_KEYS:
            raise ConfigError(
                "tags", f"'{key}' is the program's tag '{ours}' (it sets it per resource); choose another key"
            )
        if key.lower() in seen:
            raise ConfigError("tags", f"'{key}' and '{seen[key.lower()]}' differ only in case, which IAM refuses")
        seen[key.lower()] = key
