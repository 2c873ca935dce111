"""What a destroy leaves (issue 25): exactly the resources docs/operations.md's "Tearing down" table
lists, each with the command that removes it; and the repositories the pull-through cache makes
outside Pulumi's state expire their images, so that left behind they cost nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.images import CACHED_IMAGE_DAYS, PULL_THROUGH_CACHE
from offline.mocks import Plan
from tests.support.plans import plan_once

OPERATIONS = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
TEARING_DOWN = OPERATIONS[OPERATIONS.index("## Tearing down") :]
PTC_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
# A kept resource (after `airflow-<stack>-`) -> what the table says of it, and its removal.
KEPT = {
    "db-key": ("the database's **KMS key**", "aws kms schedule-key-deletion"),
    "flow-logs": ("`/aws/vpc/<stack name>/flow-logs`", "aws logs delete-log-group"),
    "flow-logs-key": ("and their two keys", "aws kms schedule-key-deletion"),
    "cluster-logs": ("`/aws/eks/<cluster>/cluster`", "aws logs delete-log-group"),
    "cluster-logs-key": ("and their two keys", "aws kms schedule-key-deletion"),
}


@pytest.fixture(scope="module")
def cached() -> dict[str, Plan]:
    return {stack: plan_once(stack, {"imagePullThroughCacheCredentialArn": PTC_ARN}) for stack in ("dev", "prod")}


def table_row(marker: str) -> str:
    (row,) = [line for line in TEARING_DOWN.splitlines() if line.startswith("|") and marker in line]
    return row


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_destroy_keeps_exactly_what_the_docs_list(cached: dict[str, Plan], stack: str) -> None:
    kept = sorted(r.name.removeprefix(f"airflow-{stack}-") for r in cached[stack].resources if r.retain_on_delete)
    assert kept == sorted(KEPT)
    for marker, command in KEPT.values():
        assert command in table_row(marker)


def test_every_leftover_outside_the_state_is_listed_with_its_removal() -> None:
    for marker, command in (
        ("**final snapshot**", "aws rds delete-db-snapshot"),
        ("**automated backups**", "aws rds delete-db-instance-automated-backup"),
        ("**AWS Backup recovery points**", "aws backup delete-recovery-point"),
        ("**pull-through cache's repositories**", "aws ecr delete-repository"),
    ):
        assert command in table_row(marker)
    row = table_row("**pull-through cache's repositories**")
    assert all(f"{up.prefix}/*" in row for up in PULL_THROUGH_CACHE.values())


def test_the_repositories_the_cache_creates_expire_their_images(cached: dict[str, Plan]) -> None:
    plan = cached["prod"]
    templates = {t.inputs["prefix"]: t for t in plan.of_type(TEMPLATE)}
    assert sorted(templates) == sorted(up.prefix for up in PULL_THROUGH_CACHE.values())
    for prefix, template in templates.items():
        assert template.inputs["appliedFors"] == ["PULL_THROUGH_CACHE"]
        assert json.loads(template.inputs["lifecyclePolicy"]) == {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Cached images expire 30 days after the cache pulled them",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": CACHED_IMAGE_DAYS,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
        # Nothing a template would need a role for (tags, a KMS key): ECR's own encryption.
        assert not {"customRoleArn", "resourceTags", "encryptionConfigurations"} & template.inputs.keys(), prefix
    # A node's first pull, which creates a repository, waits for the templates.
    node_import = plan.one("aws:iam/rolePolicy:RolePolicy", "airflow-prod-image-cache-node-import")
    assert {t.urn for t in templates.values()} <= set(node_import.dependencies)
    assert "30 days after it was cached" in table_row("**pull-through cache's repositories**")
    assert CACHED_IMAGE_DAYS == 30


def test_without_the_cache_no_template(dev: Plan) -> None:
    assert not dev.of_type(TEMPLATE)
