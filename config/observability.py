"""Observability settings: alarms and their topic, the dashboard, cluster metrics and logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from config.checks import Section, in_range, matches
from lib.observability.alarms import thresholds
from lib.observability.cloudwatch import EMAIL, LOG_RETENTION_DAYS, MIN_IA_DAYS, TOPIC_ARN

MAX_LOG_DAYS = 3650


@dataclass(frozen=True)
class ObservabilitySettings(Section):
    SECTION: ClassVar[str] = "observability"

    alarms: bool
    alarm_emails: tuple[str, ...]
    alarm_topic_arn: str
    alarm_thresholds: Mapping[str, Any]
    dashboard: bool
    cluster_metrics: bool
    log_retention_days: int
    audit_log_retention_days: int
    remote_logs: bool
    remote_logs_transition_days: int
    remote_logs_expiration_days: int

    @property
    def thresholds(self) -> dict[str, float]:
        """Every alarm threshold: the defaults, `alarmThresholds` over them."""
        return thresholds(self.alarm_thresholds)

    def __post_init__(self) -> None:
        for email in self.alarm_emails:
            self.check("alarm_emails", matches, EMAIL, email, "an email address")
        if len(set(self.alarm_emails)) != len(self.alarm_emails):
            raise self.invalid("alarm_emails", "lists an address twice")
        if self.alarm_topic_arn:
            self.check("alarm_topic_arn", matches, TOPIC_ARN, self.alarm_topic_arn, "an SNS topic ARN")
        self.check("alarm_thresholds", thresholds, self.alarm_thresholds)
        accepted = ", ".join(map(str, LOG_RETENTION_DAYS))
        for name in ("log_retention_days", "audit_log_retention_days"):
            days = getattr(self, name)
            if days not in LOG_RETENTION_DAYS:
                raise self.invalid(name, f"{days} is not a retention CloudWatch Logs accepts: {accepted}")
        self.check("remote_logs_transition_days", in_range, self.remote_logs_transition_days, MIN_IA_DAYS, MAX_LOG_DAYS)
        self.check(
            "remote_logs_expiration_days",
            in_range,
            self.remote_logs_expiration_days,
            self.remote_logs_transition_days + 1,
            MAX_LOG_DAYS,
        )
