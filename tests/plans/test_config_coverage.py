"""Nothing a user configures is silently ignored.

For every key declared in Pulumi.yaml, changing it to another valid value must change the
plan (resources, inputs or outputs, secrets included). A new key without an entry here fails
`test_every_declared_key_is_covered`.

A key whose new value carries a string that only it can bring (`traces`: an ARN, a CIDR, a URL,
a name with a digit or punctuation, absent from the baseline's plan) is shown to reach the plan
by that string showing in it. Such keys of the same stack and baseline are planned together, in
one run (where the program refuses them together, as `alarmEmails` beside `alarmTopicArn`, the
keys it names in a run of their own): a string of one key's cannot come from another's. Every
other key is planned alone and its plan compared whole with the baseline's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from config.errors import ConfigError, each
from config.project import read_declarations
from config.settings import KEYS
from lib.cluster.versions import DEFAULT_VERSION, EKS_VERSIONS
from offline.mocks import Plan, ProgramError
from tests.support.overrides import groups_with
from tests.support.plans import plan_once

SUBNETS = {
    "existingNodeSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"],
    "existingDataSubnetIds": ["subnet-0000000000000001a", "subnet-0000000000000001b", "subnet-0000000000000001c"],
}
OWN_VPC = {
    "vpcCidr": "10.0.0.0/16",
    "availabilityZoneIds": ["use1-az1", "use1-az2", "use1-az4"],
    "existingVpcId": "vpc-0123456789abcdef0",
    "nlbAllowedCidrs": ["10.0.0.0/16"],
    **SUBNETS,
}
OWN_DB = {"existingDbHost": "db.example.internal", "existingDbPassword": "first-password-value"}
PRIVATE = {"clusterPrivateAccessCidrs": ["10.99.0.0/24"]}
PTC_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
GIT = {"gitSyncRepo": "https://git.example.com/data/dags.git"}
SM = {"secretsManagerBackend": True}
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TEAMS = {**SM, "teams": {"analytics": {"deployers": ["arn:aws:iam::123456789012:role/analytics-ci"]}}}
SSO = {
    "nlbCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "airflowCreateAdminUser": False,
    "ssoIssuer": "https://idp.example.com/oauth2/default",
    "ssoClientId": "airflow-client",
    "ssoClientSecret": "first-client-secret",
    "ssoRoleMapping": {"airflow-admins": "Admin"},
}
NO_ADMIN_TLS = {k: SSO[k] for k in ("nlbCertificateArn", "airflowCreateAdminUser")}

# key -> (stack, baseline overrides, overrides that change the key)
CHANGES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "availabilityZoneIds": ("dev", {}, {"availabilityZoneIds": ["use1-az2", "use1-az5"]}),
    "vpcCidr": ("dev", {}, {"vpcCidr": "10.21.0.0/16"}),
    "taskEgress": ("dev", {}, {"taskEgress": {"warehouse": {"cidrs": ["10.50.0.0/16"], "ports": [5439]}}}),
    "natGateways": ("dev", {}, {"natGateways": "single"}),
    "existingVpcId": ("prod", OWN_VPC, {**OWN_VPC, "existingVpcId": "vpc-0fedcba9876543210"}),
    "existingPublicSubnetIds": (
        "prod",
        OWN_VPC,
        {
            **OWN_VPC,
            "existingPublicSubnetIds": [
                "subnet-000000000000000fa",
                "subnet-000000000000000fb",
                "subnet-000000000000000fc",
            ],
        },
    ),
    "existingNodeSubnetIds": (
        "prod",
        OWN_VPC,
        {**OWN_VPC, "existingNodeSubnetIds": [s[:-2] + "e" + s[-1] for s in SUBNETS["existingNodeSubnetIds"]]},
    ),
    "existingDataSubnetIds": (
        "prod",
        OWN_VPC,
        {**OWN_VPC, "existingDataSubnetIds": [s[:-2] + "d" + s[-1] for s in SUBNETS["existingDataSubnetIds"]]},
    ),
    "kubernetesVersion": ("dev", {}, {"kubernetesVersion": "1.33"}),
    "clusterEndpointPublicAccess": (
        "dev",
        PRIVATE,
        {**PRIVATE, "clusterEndpointPublicAccess": False, "clusterPublicAccessCidrs": []},
    ),
    "clusterPublicAccessCidrs": ("dev", {}, {"clusterPublicAccessCidrs": ["192.0.2.10/32", "198.51.100.7/32"]}),
    "clusterPrivateAccessCidrs": ("dev", {}, PRIVATE),
    "clusterAdminRoleArns": ("dev", {}, {"clusterAdminRoleArns": ["arn:aws:iam::123456789012:role/admin"]}),
    "nodeAmiReleaseVersion": ("dev", {}, {"nodeAmiReleaseVersion": EKS_VERSIONS[DEFAULT_VERSION].ami_release}),
    "clusterUpgradePolicy": ("dev", {}, {"clusterUpgradePolicy": "EXTENDED"}),
    # Set by prod's stack file: prod turns it off (dev would need a week of backups to turn it on).
    "protectStatefulResources": ("prod", {}, {"protectStatefulResources": False}),
    "dbInstanceClass": ("dev", {}, {"dbInstanceClass": "db.t4g.large"}),
    "dbEngineVersion": ("dev", {}, {"dbEngineVersion": "17"}),
    "dbAllocatedStorageGib": ("dev", {}, {"dbAllocatedStorageGib": 30}),
    "dbMaxAllocatedStorageGib": ("dev", {}, {"dbMaxAllocatedStorageGib": 200}),
    "dbMultiAz": ("dev", {}, {"dbMultiAz": True}),
    "dbBackupRetentionDays": ("dev", {}, {"dbBackupRetentionDays": 3}),
    "dbBackupWindow": ("dev", {}, {"dbBackupWindow": "05:00-06:00"}),
    "dbMaintenanceWindow": ("dev", {}, {"dbMaintenanceWindow": "sat:04:00-sat:05:00"}),
    "dbPerformanceInsights": ("dev", {}, {"dbPerformanceInsights": True}),
    "dbFinalSnapshot": ("dev", {}, {"dbFinalSnapshot": False}),
    "dbRetainAutomatedBackups": ("dev", {}, {"dbRetainAutomatedBackups": False}),
    "dbSlowStatementMs": ("dev", {}, {"dbSlowStatementMs": 250}),
    "dbOneKey": ("prod", {}, {"dbOneKey": True}),
    "dbName": ("dev", {}, {"dbName": "airflow_meta"}),
    "dbUsername": ("dev", {}, {"dbUsername": "airflow_owner"}),
    "dbAppPasswordGeneration": ("dev", {}, {"dbAppPasswordGeneration": 1}),
    "existingDbHost": ("prod", OWN_DB, {**OWN_DB, "existingDbHost": "db2.example.internal"}),
    "existingDbPort": ("prod", OWN_DB, {**OWN_DB, "existingDbPort": 6432}),
    "existingDbSecurityGroupId": ("prod", OWN_DB, {**OWN_DB, "existingDbSecurityGroupId": "sg-0123456789abcdef0"}),
    "existingDbPassword": ("prod", OWN_DB, {**OWN_DB, "existingDbPassword": "second-password-value"}),
    "efsTransitionToIaDays": ("dev", {}, {"efsTransitionToIaDays": 60}),
    "efsBackups": ("dev", {}, {"efsBackups": True}),
    "nlbAllowedCidrs": ("dev", {}, {"nlbAllowedCidrs": ["10.20.0.0/24"]}),
    "nlbCertificateArn": (
        "dev",
        {},
        {"nlbCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"},
    ),
    "airflowChartVersion": ("dev", {}, {"airflowChartVersion": "1.22.1"}),
    "airflowVersion": ("dev", {}, {"airflowVersion": "3.3.3"}),
    "airflowSchedulerReplicas": ("dev", {}, {"airflowSchedulerReplicas": 2}),
    "airflowApiServerReplicas": ("dev", {}, {"airflowApiServerReplicas": 2}),
    "airflowTriggererReplicas": ("dev", {}, {"airflowTriggererReplicas": 2}),
    "airflowDagProcessorReplicas": ("dev", {}, {"airflowDagProcessorReplicas": 2}),
    "airflowPgbouncerReplicas": ("dev", {}, {"airflowPgbouncerReplicas": 2}),
    "airflowResourceProfile": ("dev", {}, {"airflowResourceProfile": "medium"}),
    "airflowTaskPodSize": ("dev", {}, {"airflowTaskPodSize": "large"}),
    "airflowParallelism": ("prod", {}, {"airflowParallelism": 450}),
    "airflowFailedPodRetentionHours": ("dev", {}, {"airflowFailedPodRetentionHours": 72}),
    "fernetKeyGeneration": ("dev", {}, {"fernetKeyGeneration": 1}),
    "fernetKeyPreviousGeneration": (
        "dev",
        {"fernetKeyGeneration": 1},
        {"fernetKeyGeneration": 1, "fernetKeyPreviousGeneration": 0},
    ),
    "hibernate": ("dev", {}, {"hibernate": True}),
    "adoptKeptAuditLogs": (
        "dev",
        {},
        {"adoptKeptAuditLogs": {"/aws/vpc/airflow-dev/flow-logs": "1234abcd-12ab-34cd-56ef-1234567890ab"}},
    ),
    "dbRestoreSnapshotIdentifier": ("dev", {}, {"dbRestoreSnapshotIdentifier": "airflow-dev-db-final-1a2b3c4d"}),
    "nodeGroupsApplySizes": ("dev", {}, {"nodeGroupsApplySizes": ["workers"]}),
    "imagePullThroughCacheCredentialArn": ("dev", {}, {"imagePullThroughCacheCredentialArn": PTC_ARN}),
    "imageRegistryMirrors": ("dev", {}, {"imageRegistryMirrors": {"docker.io": "registry.example.com/hub"}}),
    "airflowCreateAdminUser": ("dev", {}, {"airflowCreateAdminUser": False}),
    "ssoIssuer": ("dev", NO_ADMIN_TLS, SSO),
    "ssoClientId": ("dev", SSO, {**SSO, "ssoClientId": "another-client"}),
    "ssoClientSecret": ("dev", SSO, {**SSO, "ssoClientSecret": "second-client-secret"}),
    "ssoRoleMapping": ("dev", SSO, {**SSO, "ssoRoleMapping": {"airflow-admins": "Admin", "analysts": "Viewer"}}),
    "ssoGroupsClaim": ("dev", SSO, {**SSO, "ssoGroupsClaim": "cognito:groups"}),
    "ssoUsernameClaim": ("dev", SSO, {**SSO, "ssoUsernameClaim": "preferred_username"}),
    "gitSyncRepo": ("dev", {}, GIT),
    "gitSyncBranch": ("dev", GIT, {**GIT, "gitSyncBranch": "release-2026"}),
    "gitSyncSubPath": ("dev", GIT, {**GIT, "gitSyncSubPath": "pipelines/dags-v2"}),
    "gitSyncCredentialsSecret": ("dev", GIT, {**GIT, "gitSyncCredentialsSecret": "git-credentials"}),
    "tags": ("dev", {}, {"tags": {"environment": "dev", "team": "data-platform"}}),
    "production": ("prod", {}, {"production": False}),
    "policyWaivers": ("dev", {}, {"policyWaivers": {"no-public-exposure": "public endpoint reviewed in SEC-1234"}}),
    "nodeGroups": ("dev", {}, {"nodeGroups": groups_with(system__maxSize=3)}),
    "airflowValues": ("dev", {}, {"airflowValues": {"config": {"core": {"default_timezone": "Europe/Amsterdam"}}}}),
    "loadBalancerControllerValues": (
        "dev",
        {},
        {"loadBalancerControllerValues": {"resources": {"limits": {"memory": "640Mi"}}}},
    ),
    "eksAddonVersions": ("dev", {}, {"eksAddonVersions": {"coredns": "v1.12.1-eksbuild.2"}}),
    "clusterAutoscalerValues": (
        "dev",
        {},
        {"clusterAutoscalerValues": {"extraArgs": {"scale-down-delay-after-add": "7m30s"}}},
    ),
    "nodeAutoscaler": ("dev", {}, {"nodeAutoscaler": "karpenter"}),  # dev's task group starts at zero
    "alarms": ("dev", {}, {"alarms": False}),
    "alarmEmails": ("dev", {}, {"alarmEmails": ["oncall@example.com"]}),
    "alarmTopicArn": ("dev", {}, {"alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:platform-alerts"}),
    "alarmThresholds": ("dev", {}, {"alarmThresholds": {"dbCpuPercent": 70}}),
    "dashboard": ("dev", {}, {"dashboard": False}),
    "clusterMetrics": ("dev", {}, {"clusterMetrics": True}),
    "logRetentionDays": ("prod", {}, {"logRetentionDays": 90}),
    "auditLogRetentionDays": ("dev", {}, {"auditLogRetentionDays": 731}),
    "remoteLogs": ("dev", {}, {"remoteLogs": True}),
    "remoteLogsTransitionDays": ("prod", {}, {"remoteLogsTransitionDays": 60}),
    "remoteLogsExpirationDays": ("prod", {}, {"remoteLogsExpirationDays": 730}),
    "secretsManagerBackend": ("dev", {}, SM),
    "secretsManagerConnectionsPrefix": ("dev", SM, {**SM, "secretsManagerConnectionsPrefix": "data/connections"}),
    "secretsManagerVariablesPrefix": ("dev", SM, {**SM, "secretsManagerVariablesPrefix": "data/variables"}),
    "secretsManagerConfigPrefix": ("dev", SM, {**SM, "secretsManagerConfigPrefix": "airflow/config"}),
    "secretsManagerKmsKeyArn": (
        "dev",
        SM,
        {
            **SM,
            "secretsManagerKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        },
    ),
    "secretsManagerTeamsPrefix": ("dev", TEAMS, {**TEAMS, "secretsManagerTeamsPrefix": "data/teams"}),
    "teams": ("dev", SM, TEAMS),
    "taskImageRepositories": (
        "dev",
        {},
        {"taskImageRepositories": ["123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow"]},
    ),
}


def fingerprint(plan: Plan) -> str:
    """Everything the plan shows, plus the raw outputs and the registered secrets (a changed secret
    shows only there: a brought database's password reaches a Secrets Manager secret version only)."""
    secrets = [(r.urn, r.secrets) for r in plan.resources if r.secrets]
    return json.dumps([plan.as_json(), plan.outputs, secrets], sort_keys=True, default=str)


def plan_of(stack: str, overrides: dict[str, Any]) -> str:
    return fingerprint(plan_once(stack, overrides))


@cache
def _fingerprint(stack: str, overrides: str) -> str:
    """`plan_of` once per worker for a stack and overrides (JSON): the baselines and the batches
    are read by every key of theirs."""
    return plan_of(stack, json.loads(overrides))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def change_of(key: str) -> dict[str, Any]:
    """The keys `key`'s entry sets to other values than its baseline does."""
    _, base, changed = CHANGES[key]
    return {k: v for k, v in changed.items() if base.get(k) != v}


@cache
def traces(key: str) -> list[str]:
    """The strings of `key`'s new value that the baseline's plan lacks and that cannot be a word
    of the program's own (they hold a digit or punctuation), as they show in a fingerprint."""
    stack, base, _ = CHANGES[key]
    before = _fingerprint(stack, json.dumps(base, sort_keys=True))
    shown = {json.dumps(s)[1:-1] for s in _strings(change_of(key)) if len(s) >= 5 and not s.isalpha()}
    return sorted(s for s in shown if s not in before)


def _planned(stack: str, base: dict[str, Any], keys: list[str]) -> dict[str, dict[str, Any]]:
    """The overrides each of `keys` is planned with: all their changes over `base` at once, or,
    where the program refuses them together, the keys it names apart from the others (each half
    where it names none of them)."""
    together = dict(base)
    for key in keys:
        for name, value in change_of(key).items():
            assert together.get(name, value) in (value, base.get(name)), f"two keys of {keys} change {name}"
            together[name] = value
    try:
        plan_once(stack, together)
    except ProgramError as err:
        if len(keys) == 1 or not isinstance(err.cause, ConfigError):
            raise
        named = {re.split(r"[.\[]", e.key)[0] for e in each(err.cause)}
        apart = [k for k in keys if k in named]
        if not apart or len(apart) == len(keys):
            apart = keys[len(keys) // 2 :]
        rest = [k for k in keys if k not in apart]
        return {**_planned(stack, base, rest), **_planned(stack, base, apart)}
    return dict.fromkeys(keys, together)


@cache
def _batches(stack: str, base: str) -> dict[str, dict[str, Any]]:
    """Per worker, for the keys with traces on `stack` and baseline `base` (JSON), their overrides."""
    keys = [k for k in sorted(CHANGES) if CHANGES[k][0] == stack and json.dumps(CHANGES[k][1], sort_keys=True) == base]
    traced = [k for k in keys if traces(k)]
    for key in traced:
        for other in traced:
            shared = [t for t in traces(key) if other != key and t in json.dumps(change_of(other))]
            assert not shared, f"{key} and {other} both bring {shared}: give one another value"
    return _planned(stack, json.loads(base), traced)


def test_every_declared_key_is_covered() -> None:
    _, decls = read_declarations()
    assert set(CHANGES) == set(decls) == set(KEYS)


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_changing_a_key_changes_the_plan(key: str) -> None:
    stack, base, changed = CHANGES[key]
    shown = traces(key)
    if shown:
        after = _fingerprint(stack, json.dumps(_batches(stack, json.dumps(base, sort_keys=True))[key], sort_keys=True))
        missing = [s for s in shown if s not in after]
        assert not missing, f"{key}'s {missing} did not reach the {stack} plan"
        return
    before, after = _fingerprint(stack, json.dumps(base, sort_keys=True)), plan_of(stack, changed)
    assert after != before, f"changing {key} left the {stack} plan unchanged"


def test_a_key_is_planned_with_others_only_by_a_string_only_it_brings() -> None:
    assert traces("vpcCidr") == ["10.21.0.0/16"]
    assert traces("natGateways") == []  # a word ("single"): planned alone
    assert traces("nodeGroups") == []  # its instance types and taints show in the baseline's plan already
    dev = _batches("dev", "{}")
    assert "natGateways" not in dev
    together = dev["vpcCidr"]
    assert dev["nlbCertificateArn"] == together
    assert {k: together[k] for k in ("vpcCidr", "nlbCertificateArn")} == {
        **change_of("vpcCidr"),
        **change_of("nlbCertificateArn"),
    }
    # The program refuses alarmEmails beside alarmTopicArn, imageRegistryMirrors beside the pull-through
    # cache's credential, naming the first of each pair: those two are planned apart, the rest together.
    assert "alarmEmails" not in dev["alarmTopicArn"]
    assert "alarmTopicArn" not in dev["alarmEmails"]
    assert dev["alarmEmails"] == dev["imageRegistryMirrors"] != together
    assert len({json.dumps(overrides, sort_keys=True) for overrides in dev.values()}) == 2
