"""IAM documents, without mocks."""

from __future__ import annotations

import pytest

from lib.security.iam_documents import irsa_trust_policy, nobody_trust_policy


def test_one_service_account_is_a_plain_condition() -> None:
    policy = irsa_trust_policy("arn:aws:iam::1:oidc-provider/oidc.x/id/A", "oidc.x/id/A", "kube-system", ["ca"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Federated": "arn:aws:iam::1:oidc-provider/oidc.x/id/A"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "oidc.x/id/A:sub": "system:serviceaccount:kube-system:ca",
            "oidc.x/id/A:aud": "sts.amazonaws.com",
        }
    }


def test_several_service_accounts_are_listed_exactly() -> None:
    policy = irsa_trust_policy("arn", "iss", "ns", ["a", "b"])
    assert policy["Statement"][0]["Condition"]["StringEquals"]["iss:sub"] == [
        "system:serviceaccount:ns:a",
        "system:serviceaccount:ns:b",
    ]


def test_no_service_account_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        irsa_trust_policy("arn", "iss", "ns", [])


def test_nobody_trust_policy_allows_no_one() -> None:
    policy = nobody_trust_policy()
    assert [s["Effect"] for s in policy["Statement"]] == ["Deny"]
    assert policy["Statement"][0]["Principal"] == {"AWS": "*"}
    assert policy["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]
