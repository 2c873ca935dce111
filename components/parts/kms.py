"""KMS keys of the components: one helper, so every key is made the same way."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from lib.naming import with_name

DELETION_WINDOW_DAYS = 30  # the longest: a key deleted by mistake can be restored for a month


def encryption_key(
    parent: pulumi.Resource,
    name: str,
    alias: str,
    description: str,
    protect: bool,
    tags: Mapping[str, str],
    retain_on_delete: bool = False,
    policy: pulumi.Input[str] | None = None,
    adopt_id: str = "",
) -> aws.kms.Key:
    """A customer-managed key with yearly rotation, and its `alias/<alias>`, children of `parent`.
    With `protect`, Pulumi refuses to delete the key; with `retain_on_delete`, a destroy leaves it
    in the account (what it encrypted outlives the stack: a final snapshot, backups). `policy`
    replaces the default key policy (a service that uses the key itself needs a statement).
    `adopt_id`: import that existing key instead of creating one; the import ignores the deletion
    window, which AWS reports only for a key pending deletion (DescribeKey's
    `PendingDeletionWindowInDays`), so that an enabled key's import finds no difference."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        policy=policy,
        tags=with_name(tags, name),
        opts=pulumi.ResourceOptions(
            parent=parent,
            protect=protect,
            retain_on_delete=retain_on_delete,
            import_=adopt_id or None,
            ignore_changes=["deletionWindowInDays"] if adopt_id else None,
        ),
    )
    aws.kms.Alias(
        f"{name}-alias", name=f"alias/{alias}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=parent)
    )
    return key
