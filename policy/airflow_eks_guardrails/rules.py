"""The policies of the pack: one function each, from a `Stack` to its violations.

Each names the resource (URN) and says what to change. A value that is not known yet (during a
preview, before the resource that computes it exists) is skipped, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .declaration import (
    ENCRYPTION,
    IMDSV2,
    LEAST_PRIVILEGE_IAM,
    LOG_RETENTION,
    NO_PLAINTEXT_SECRETS,
    NO_PUBLIC_EXPOSURE,
    PRIVATE_TASK_IMAGES,
    PRODUCTION_HA,
    PRODUCTION_PROTECTION,
    PRODUCTION_TLS,
    TLS_ONLY_BUCKETS,
)
from .iam import least_privilege_iam
from .images import private_task_images
from .logs import log_retention, tls_only_buckets
from .model import Stack, Violation
from .production import production_high_availability, production_protection, production_tls_listeners
from .secrets import no_plaintext_secrets
from .security import encryption, imdsv2, no_public_exposure

Check = Callable[[Stack], Iterator[Violation]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    check: Check


POLICIES = tuple(
    Policy(name, (check.__doc__ or "").strip(), check)
    for name, check in (
        (ENCRYPTION, encryption),
        (NO_PUBLIC_EXPOSURE, no_public_exposure),
        (IMDSV2, imdsv2),
        (PRODUCTION_PROTECTION, production_protection),
        (PRODUCTION_HA, production_high_availability),
        (NO_PLAINTEXT_SECRETS, no_plaintext_secrets),
        (LEAST_PRIVILEGE_IAM, least_privilege_iam),
        (TLS_ONLY_BUCKETS, tls_only_buckets),
        (LOG_RETENTION, log_retention),
        (PRODUCTION_TLS, production_tls_listeners),
        (PRIVATE_TASK_IMAGES, private_task_images),
    )
)
