"""Every policy of the plan that lets an AWS service act (a `Service` principal: role trusts, key
policies, topic policies) names the account and the resources it acts for (`aws:SourceAccount` and
`aws:SourceArn`), but for the services lib/security/iam_documents.py lists with the reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.security.iam_documents import (
    SERVICE_TRUSTS_WITHOUT_SOURCE_ARN,
    principal_family,
    service_principal_statements,
)
from offline.fakes import ACCOUNT_ID
from offline.mocks import Plan

POLICY_INPUTS = ("assumeRolePolicy", "policy")


def policy_documents(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """(resource name, document) of every JSON policy among the plan's inputs."""
    found = []
    for r in plan.resources:
        for key in POLICY_INPUTS:
            value = r.inputs.get(key)
            if isinstance(value, str) and value.lstrip().startswith("{"):
                document = json.loads(value)
                if "Statement" in document:
                    found.append((r.name, document))
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_service_principals_carry_source_account_and_arn(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    checked, excepted = [], set()
    for name, document in policy_documents(plan):
        for service, statement in service_principal_statements(document):
            family = principal_family(service)
            if family in SERVICE_TRUSTS_WITHOUT_SOURCE_ARN:
                excepted.add(family)
                continue
            condition = statement.get("Condition", {})
            accounts = [v["aws:SourceAccount"] for v in condition.values() if "aws:SourceAccount" in v]
            arns = [v["aws:SourceArn"] for v in condition.values() if "aws:SourceArn" in v]
            assert len(accounts) == 1 and len(arns) == 1, (name, service, condition)
            assert accounts[0] == ACCOUNT_ID, (name, service)
            (arn_account,) = {arns[0].split(":")[4]}
            assert arn_account == accounts[0], (name, service, arns[0])
            checked.append((name, service))
    # The trusts and resource policies that must carry both (flow logs; with alerts, the topic and its key).
    services = sorted({s for _, s in checked})
    assert "vpc-flow-logs.amazonaws.com" in services
    if plan.of_type("aws:sns/topicPolicy:TopicPolicy"):
        assert {"cloudwatch.amazonaws.com", "events.rds.amazonaws.com"} <= set(services)
        assert len([c for c in checked if c[1] == "cloudwatch.amazonaws.com"]) == 2  # the key and the topic
    # Every exception is still needed (a stale one would hide nothing, but says something false).
    assert excepted == set(SERVICE_TRUSTS_WITHOUT_SOURCE_ARN)


def test_a_service_statement_without_source_arn_is_found() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["sns.amazonaws.com", "logs.eu-west-1.amazonaws.com"]}},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}},
            {"Effect": "Deny", "Principal": "*"},
        ]
    }
    found = [(principal_family(s), st["Effect"]) for s, st in service_principal_statements(document)]
    assert found == [("sns.amazonaws.com", "Allow"), ("logs.amazonaws.com", "Allow")]
    assert principal_family("events.rds.amazonaws.com") == "events.rds.amazonaws.com"
    assert principal_family("logs.us-gov-west-1.amazonaws.com") == "logs.amazonaws.com"
