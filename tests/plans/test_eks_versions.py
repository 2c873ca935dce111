"""Kubernetes kept in EKS standard support: the version table, its pins, the upgrade policy and the
plan's warning (lib/cluster/versions.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from config.cluster import SUPPORTED_KUBERNETES_VERSIONS
from config.errors import ConfigError
from config.project import read_declarations
from config.settings import load_settings
from lib.cluster.helm_addons import CLUSTER_AUTOSCALER_IMAGE_TAGS
from lib.cluster.managed_addons import COREDNS, KUBE_PROXY, MANAGED_ADDONS
from lib.cluster.versions import (
    ACCEPTED_VERSIONS,
    DEFAULT_VERSION,
    EKS_VERSIONS,
    RETIRED_VERSIONS,
    WARNING_DAYS,
    SupportType,
    in_extended_support,
    next_version,
    support_warning,
    utc_today,
    window_start,
)
from offline.mocks import ProgramError, run_program
from offline.stack_config import resolve_stack_config
from tests.support.plans import plan_once

EKS = "eks:index:Cluster"


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def test_the_table_follows_eks_rules() -> None:
    """14 months of standard support from the EKS release (the calendar rounds to a day or two), then
    exactly 12 of extended; one minor after the other, no gap."""
    assert ACCEPTED_VERSIONS == ("1.32", "1.33", "1.34", "1.35", "1.36")
    assert SUPPORTED_KUBERNETES_VERSIONS == ACCEPTED_VERSIONS
    for minor, version in EKS_VERSIONS.items():
        assert version.minor == minor
        assert abs((version.end_of_standard - _months_later(version.released, 14)).days) <= 5, minor
        assert version.end_of_extended == version.end_of_standard.replace(year=version.end_of_standard.year + 1)
    minors = [int(m.split(".")[1]) for m in ACCEPTED_VERSIONS]
    assert minors == list(range(minors[0], minors[0] + len(minors)))
    assert sorted(EKS_VERSIONS.values(), key=lambda v: v.released) == list(EKS_VERSIONS.values())
    # The figures: 1.33 left standard support 2026-07-29, 1.34 on 2026-12-02, 1.35 leaves 2027-03-27.
    ends = {m: EKS_VERSIONS[m].end_of_standard for m in ("1.33", "1.34", "1.35")}
    assert ends == {"1.33": date(2026, 7, 29), "1.34": date(2026, 12, 2), "1.35": date(2027, 3, 27)}
    assert not set(RETIRED_VERSIONS) & set(ACCEPTED_VERSIONS)


def test_every_accepted_version_pins_its_addons_ami_and_autoscaler() -> None:
    assert set(ACCEPTED_VERSIONS) == set(CLUSTER_AUTOSCALER_IMAGE_TAGS)
    for addon in MANAGED_ADDONS.values():
        assert set(addon.versions) == set(ACCEPTED_VERSIONS), addon.name
    for minor, version in EKS_VERSIONS.items():
        assert re.fullmatch(rf"{re.escape(minor)}\.[0-9]+-[0-9]{{8}}", version.ami_release), minor
        assert MANAGED_ADDONS[KUBE_PROXY].versions[minor].startswith(f"v{minor}."), minor
        assert CLUSTER_AUTOSCALER_IMAGE_TAGS[minor].startswith(f"v{minor}."), minor
    # CoreDNS never moves down a minor on the way up (EKS does not downgrade an add-on).
    coredns = [
        tuple(int(p) for p in MANAGED_ADDONS[COREDNS].versions[m][1:].split("-")[0].split("."))
        for m in ACCEPTED_VERSIONS
    ]
    assert coredns == sorted(coredns)


def test_the_default_is_the_newest_pinned_version_and_is_in_standard_support_today() -> None:
    """The tripwire that keeps Kubernetes in standard support: it fails from 60 days before the default
    version's standard support ends, until a newer one is pinned here and made the default."""
    _, decls = read_declarations()
    assert decls["kubernetesVersion"].default == DEFAULT_VERSION == ACCEPTED_VERSIONS[-1] == "1.36"
    today = utc_today()
    assert EKS_VERSIONS[DEFAULT_VERSION].released <= today
    assert support_warning(DEFAULT_VERSION, SupportType.EXTENDED, today) is None, (
        f"Kubernetes {DEFAULT_VERSION} nears the end of its EKS standard support: pin the next version"
    )


def test_extended_support_starts_on_the_day_standard_support_ends() -> None:
    end = EKS_VERSIONS["1.33"].end_of_standard
    assert not in_extended_support("1.33", end - timedelta(days=1))
    assert in_extended_support("1.33", end)
    assert in_extended_support("1.33", date(2026, 12, 6))
    assert in_extended_support("1.34", date(2026, 12, 6))  # ended four days before
    assert not in_extended_support("1.35", date(2026, 12, 6))
    assert not in_extended_support("1.36", date(2026, 12, 6))


def test_next_version_is_one_minor_up() -> None:
    assert [next_version(m) for m in ACCEPTED_VERSIONS] == ["1.33", "1.34", "1.35", "1.36", None]


@pytest.mark.parametrize("minor", ACCEPTED_VERSIONS)
def test_the_warning_starts_exactly_sixty_days_before_the_end_of_standard_support(minor: str) -> None:
    start = window_start(minor)
    assert (EKS_VERSIONS[minor].end_of_standard - start).days == WARNING_DAYS == 60
    assert support_warning(minor, SupportType.EXTENDED, start - timedelta(days=1)) is None
    warning = support_warning(minor, SupportType.EXTENDED, start)
    assert warning is not None
    assert warning.startswith(f"kubernetesVersion: {minor} leaves EKS standard support in 60 days")
    following = next_version(minor)
    assert (f"step kubernetesVersion to {following}" if following else "no newer version is pinned") in warning
    last = support_warning(minor, SupportType.EXTENDED, EKS_VERSIONS[minor].end_of_standard - timedelta(days=1))
    assert last is not None and " in 1 day " in last


def test_the_warning_past_the_end_of_standard_support() -> None:
    today = date(2026, 12, 6)
    extended = support_warning("1.33", SupportType.EXTENDED, today)
    assert extended == (
        "kubernetesVersion: 1.33 is past EKS standard support (2026-07-29): the cluster pays for extended support "
        "(make cost); step kubernetesVersion to 1.34 (one minor at a time, UPGRADING.md)"
    )
    on_the_day = support_warning("1.34", SupportType.EXTENDED, date(2026, 12, 2))
    assert on_the_day is not None and on_the_day.startswith("kubernetesVersion: 1.34 is past EKS standard support")
    assert "step kubernetesVersion to 1.35" in on_the_day
    # STANDARD cannot be set on a cluster that is in extended support already.
    standard = support_warning("1.33", SupportType.STANDARD, today)
    assert (
        standard is not None
        and "EKS refuses clusterUpgradePolicy STANDARD on a cluster in extended support" in standard
    )
    ahead = support_warning("1.35", SupportType.STANDARD, date(2027, 3, 1))
    assert ahead is not None and "EKS will upgrade the control plane itself then" in ahead
    gone = support_warning("1.33", SupportType.EXTENDED, date(2027, 7, 30))
    assert gone is not None and gone.startswith("kubernetesVersion: 1.33 is past EKS extended support too (2027-07-29)")
    assert support_warning("1.35", SupportType.EXTENDED, today) is None


def test_settings_warn_on_the_injected_day() -> None:
    config, region = resolve_stack_config("prod")
    at_133 = load_settings({**config, "kubernetesVersion": "1.33"}, "prod", region)
    assert [w for w in at_133.warnings(date(2026, 12, 6)) if w.startswith("kubernetesVersion")] == [
        support_warning("1.33", SupportType.EXTENDED, date(2026, 12, 6))
    ]
    current = load_settings(config, "prod", region)
    assert not [w for w in current.warnings(date(2026, 12, 6)) if w.startswith("kubernetesVersion")]
    near = window_start(DEFAULT_VERSION)
    assert [w for w in current.warnings(near) if w.startswith("kubernetesVersion")] == [
        support_warning(DEFAULT_VERSION, SupportType.EXTENDED, near)
    ]


def test_a_stack_at_133_is_warned_in_the_plan() -> None:
    """1.33 left standard support on 2026-07-29: from any day the program runs, the plan says so."""
    plan = plan_once("prod", {"kubernetesVersion": "1.33"})
    (warning,) = [w for w in plan.warnings if w.startswith("kubernetesVersion")]
    assert "1.33 is past EKS standard support (2026-07-29)" in warning
    assert "step kubernetesVersion to 1.34" in warning
    assert plan.one(EKS).inputs["version"] == "1.33"


@pytest.mark.parametrize(("stack", "policy"), [("dev", "STANDARD"), ("prod", "EXTENDED")])
def test_the_upgrade_policy_is_stated_per_stack_and_reaches_the_cluster(stack: str, policy: str) -> None:
    config, region = resolve_stack_config(stack)
    assert config["clusterUpgradePolicy"] == policy  # stated in the stack file, not defaulted
    assert load_settings(config, stack, region).cluster.upgrade_policy is SupportType(policy)
    other = "EXTENDED" if policy == "STANDARD" else "STANDARD"
    plan = plan_once(stack, {"clusterUpgradePolicy": other})
    assert plan.one(EKS).inputs["upgradePolicy"] == {"supportType": other}


DOCKER_HUB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub"


def test_the_project_default_is_eks_own_default() -> None:
    """Left out, the policy is EXTENDED, what EKS gives a cluster: no live stack changes by itself."""
    _, decls = read_declarations()
    assert decls["clusterUpgradePolicy"].default == "EXTENDED"
    reached = '["10.99.0.0/24"]'
    settings = load_settings(
        {
            "clusterPrivateAccessCidrs": reached,
            "nlbAllowedCidrs": reached,
            "imagePullThroughCacheCredentialArn": DOCKER_HUB_SECRET,
        },
        "new",
        "us-east-1",
    )
    assert settings.cluster.upgrade_policy is SupportType.EXTENDED


@pytest.mark.parametrize("value", ["standard", "AUTO", ""])
def test_a_bad_upgrade_policy_names_the_key_and_the_accepted_values(value: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"clusterUpgradePolicy": value})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "clusterUpgradePolicy"
    assert str(cause) == f"config key 'clusterUpgradePolicy': '{value}' is not one of: STANDARD, EXTENDED"
    assert failure.value.registrations == []


def test_a_retired_version_says_when_it_left_and_how_to_check_the_live_cluster() -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"kubernetesVersion": "1.31"})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "kubernetesVersion"
    assert str(cause).startswith("config key 'kubernetesVersion': '1.31' is not one of: 1.32, 1.33, 1.34, 1.35, 1.36")
    assert "extended support ended 2026-11-26" in str(cause)
    assert "aws eks describe-cluster --name <cluster> --query cluster.version" in str(cause)
    assert failure.value.registrations == []


def test_an_ami_release_of_another_minor_names_the_pinned_one() -> None:
    config, region = resolve_stack_config("dev")
    with pytest.raises(ConfigError) as failure:
        load_settings({**config, "nodeAmiReleaseVersion": "1.33.13-20260714"}, "dev", region)
    assert failure.value.key == "nodeAmiReleaseVersion"
    assert f"({EKS_VERSIONS[DEFAULT_VERSION].ami_release}, say)" in str(failure.value)
