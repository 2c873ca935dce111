"""The EKS Kubernetes versions the program accepts, and each one's support calendar.

EKS's rules (user guide, "Understand the Kubernetes version lifecycle on EKS", kubernetes-versions
page, and "Cluster upgrade policy" / "Disable extended support", read 2026-12):
- a minor version has standard support for 14 months from its EKS release, then extended support
  for 12 more, billed per cluster-hour at a higher rate from the start (UTC) of the day standard
  support ends; after extended support EKS upgrades the control plane itself;
- a cluster moves one minor version at a time; node groups and add-ons do not follow by themselves;
- the upgrade policy (`upgradePolicy.supportType`): EXTENDED (EKS's default) lets a cluster enter
  extended support; STANDARD has EKS upgrade it at the end of standard support instead. A cluster
  already in extended support cannot be switched to STANDARD.

Sources of the dates (all UTC):
- 1.32 to 1.34: the EKS user guide's release calendar (awsdocs/amazon-eks-user-guide
  latest/ug/versioning/kubernetes-versions.adoc at 013856044148d6eeed4723027a45aa2180536bcb),
  https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar;
- 1.35 and 1.36: endoflife.date/amazon-eks (endoflife-date/endoflife.date products/amazon-eks.md at
  a70eca337600e7d721dc48112c271f98661d208b, 2026-08-22; its end dates come from the user guide's
  calendar), which agrees with the user guide for 1.32 to 1.34. Its release dates are EKS Distro's
  and differ from the user guide's by a day or four (1.33: 2025-05-28 there, 2025-05-29 here).

The EKS-optimized AMI release of each version is the Amazon Linux 2023 release v20260714 (amazon-eks-ami
CHANGELOG.md at 15822511, "AMI Release v20260714", one release version for every AL2023 AMI type of a
minor), the newest readable from here. It is what `nodeAmiReleaseVersion` takes when a stack pins its
nodes (UPGRADING.md); the program does not apply it by default: without the key a node group keeps the
release it got at creation, which for a group created after July 2026 is newer than this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

WARNING_DAYS = 60
"""The plan warns this many days before a version's standard support ends (EKS announces an end of
standard support at least 60 days ahead, in the AWS Health Dashboard)."""


class SupportType(StrEnum):
    """EKS's `upgradePolicy.supportType` (UpdateClusterConfig)."""

    STANDARD = "STANDARD"
    EXTENDED = "EXTENDED"


@dataclass(frozen=True)
class EksVersion:
    minor: str
    released: date
    """First available on EKS."""
    end_of_standard: date
    """Extended support (and its price) starts at the beginning of this day, UTC."""
    end_of_extended: date
    """After this day EKS upgrades the control plane to the next version itself."""
    ami_release: str
    """An EKS-optimized AL2023 AMI release of this minor (`nodeAmiReleaseVersion`)."""

    def days_of_standard_support(self, today: date) -> int:
        """Days from `today` to the end of standard support (0 or less: extended support)."""
        return (self.end_of_standard - today).days

    def in_standard_support(self, today: date) -> bool:
        return today < self.end_of_standard


_VERSIONS = (
    EksVersion("1.32", date(2025, 1, 23), date(2026, 3, 23), date(2027, 3, 23), "1.32.13-20260714"),
    EksVersion("1.33", date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29), "1.33.13-20260714"),
    EksVersion("1.34", date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2), "1.34.9-20260714"),
    EksVersion("1.35", date(2026, 1, 28), date(2027, 3, 27), date(2028, 3, 27), "1.35.6-20260714"),
    EksVersion("1.36", date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2), "1.36.2-20260714"),
)
EKS_VERSIONS: dict[str, EksVersion] = {v.minor: v for v in _VERSIONS}
"""Every version the program accepts, oldest first. 1.32 stays while EKS still runs it (extended
support until 2027-03-23): a stack pinned there must step through 1.33. 1.31 left: its extended
support ended 2026-11-26 and EKS has upgraded its clusters to 1.32."""
ACCEPTED_VERSIONS = tuple(EKS_VERSIONS)
DEFAULT_VERSION = ACCEPTED_VERSIONS[-1]
"""The newest version whose add-ons, AMI and autoscaler this program pins (`kubernetesVersion`'s
default in Pulumi.yaml, held to it by the tests)."""
RETIRED_VERSIONS = {"1.31": date(2026, 11, 26), "1.30": date(2026, 7, 23)}
"""Versions no longer accepted -> the day their extended support ended (same sources)."""


def utc_today() -> date:
    """Today in UTC, the time zone of EKS's calendar."""
    return datetime.now(UTC).date()


def next_version(minor: str) -> str | None:
    """The version an upgrade of `minor` goes to (one minor up), if the program pins it."""
    index = ACCEPTED_VERSIONS.index(minor)
    return ACCEPTED_VERSIONS[index + 1] if index + 1 < len(ACCEPTED_VERSIONS) else None


def in_extended_support(minor: str, today: date) -> bool:
    """Whether a cluster at `minor` is billed for extended support on `today`."""
    return not EKS_VERSIONS[minor].in_standard_support(today)


def support_warning(minor: str, policy: SupportType, today: date) -> str | None:
    """What the plan says when `minor` is past, or within `WARNING_DAYS` of, the end of its standard
    support on `today`, naming the version to step to; None otherwise."""
    version = EKS_VERSIONS[minor]
    days = version.days_of_standard_support(today)
    if days > WARNING_DAYS:
        return None
    following = next_version(minor)
    step = (
        f"step kubernetesVersion to {following} (one minor at a time, UPGRADING.md)"
        if following
        else "no newer version is pinned yet: add the next one to lib/cluster/versions.py with its add-ons"
    )
    end = version.end_of_standard.isoformat()
    if days > 0:
        what = (
            "EKS will upgrade the control plane itself then (clusterUpgradePolicy STANDARD)"
            if policy is SupportType.STANDARD
            else "the cluster then pays for extended support"
        )
        when = f"{days} day{'' if days == 1 else 's'}"
        return f"kubernetesVersion: {minor} leaves EKS standard support in {when} ({end}); {what}; {step}"
    if today > version.end_of_extended:
        return (
            f"kubernetesVersion: {minor} is past EKS extended support too ({version.end_of_extended.isoformat()}): "
            f"EKS upgrades such clusters itself; {step}"
        )
    policy_note = (
        "; EKS refuses clusterUpgradePolicy STANDARD on a cluster in extended support: keep EXTENDED until the "
        "cluster runs a version in standard support"
        if policy is SupportType.STANDARD
        else ""
    )
    return (
        f"kubernetesVersion: {minor} is past EKS standard support ({end}): the cluster pays for extended support "
        f"(make cost){policy_note}; {step}"
    )


def window_start(minor: str) -> date:
    """The first day the plan warns about `minor`."""
    return EKS_VERSIONS[minor].end_of_standard - timedelta(days=WARNING_DAYS)
