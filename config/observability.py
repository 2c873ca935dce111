"""Observability settings: alarms and their topic, the dashboard, cluster metrics and logs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from config.checks import Section, in_range, matches
from config.errors import ConfigError
from config.keys import as_tuple, key, key_of, str_map
from lib.observability.alarms import thresholds
from lib.observability.cloudwatch import EMAIL, LOG_RETENTION_DAYS, MIN_IA_DAYS, TOPIC_ARN

MAX_LOG_DAYS = 3650
KMS_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}")


@dataclass(frozen=True)
class ObservabilitySettings(Section):
    SECTION: ClassVar[str] = "observability"
    TITLE: ClassVar[str] = "Observability"

    alarms: bool = key(
        "alarms",
        True,
        "The alerts topic, CloudWatch alarms on the database, file system, load balancer, NAT gateways, "
        "workers group and (with clusterMetrics) Airflow, notifying it, and the RDS event subscription "
        "(docs/observability.md, Alarms and dashboard).",
    )
    alarm_emails: tuple[str, ...] = key(
        "alarmEmails",
        [],
        "Email addresses subscribed to the alerts topic (each confirms AWS's mail). Only when the stack "
        "creates the topic.",
        convert=as_tuple,
        only_with="alarms",
        only_without="alarmTopicArn",
    )
    alarm_topic_arn: str = key(
        "alarmTopicArn",
        "",
        "An existing SNS topic the alarms notify instead of one the stack creates; it must let CloudWatch "
        "(cloudwatch.amazonaws.com) and RDS events (events.rds.amazonaws.com) publish (and use its key).",
        only_with="alarms",
    )
    alarm_thresholds: Mapping[str, Any] = key(
        "alarmThresholds",
        {},
        "Alarm threshold name -> number, over the defaults; an unknown name or a value out of range is an "
        "error (docs/observability.md, Alarms and dashboard, lists every name, its unit and its "
        "default).",
        only_with="alarms",
    )
    dashboard: bool = key(
        "dashboard",
        True,
        "A CloudWatch dashboard of the stack (its URL is the output cloudwatch_dashboard_url).",
    )
    cluster_metrics: bool = key(
        "clusterMetrics",
        True,
        "The amazon-cloudwatch-observability EKS add-on: Container Insights, Airflow's StatsD metrics "
        "(and their alarms) and control-plane container logs in CloudWatch.",
    )
    log_retention_days: int = key(
        "logRetentionDays",
        30,
        "Days CloudWatch keeps the container and Container Insights logs (1, 3, 5, 7, 14, 30, 60, 90, "
        "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653).",
        only_with="clusterMetrics",
    )
    audit_log_retention_days: int = key(
        "auditLogRetentionDays",
        365,
        "Days CloudWatch keeps the audit trail, the VPC flow logs and the EKS control-plane logs (1, 3, "
        "5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, "
        "3653; docs/security.md, Audit trail).",
    )
    adopt_kept_audit_logs: Mapping[str, str] = key(
        "adoptKeptAuditLogs",
        {},
        "For a stack re-created under the name of a destroyed one: kept audit log group -> the ID of its "
        "kept KMS key (`aws logs describe-log-groups --log-group-name-prefix <group> --query "
        "'logGroups[0].kmsKeyId'`, the part after `key/`). A destroy keeps the flow logs' group "
        "/aws/vpc/airflow-<stack>/flow-logs and the control-plane group /aws/eks/airflow-<stack>/cluster with "
        "their keys, which a new stack of the same name would collide with; listed, each group and its key "
        "are imported and the trail goes on (docs/runbook.md, Re-creating a destroyed stack). Leave it "
        "empty otherwise; once imported, it may stay or go.",
        convert=str_map,
    )
    remote_logs: bool = key(
        "remoteLogs",
        False,
        "Also keep task logs in an S3 bucket (Airflow remote logging) beside the EFS logs volume "
        "(docs/observability.md, Long-term logs).",
    )
    remote_logs_transition_days: int = key(
        "remoteLogsTransitionDays",
        30,
        "Days before a task log in S3 moves to Standard-IA (30 or more).",
        only_with="remoteLogs",
    )
    remote_logs_expiration_days: int = key(
        "remoteLogsExpirationDays",
        365,
        "Days before a task log in S3 is deleted (after the transition).",
        only_with="remoteLogs",
    )

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
        for group, key_id in self.adopt_kept_audit_logs.items():
            if not KMS_KEY_ID.fullmatch(key_id):
                raise ConfigError(
                    f"{key_of(self, 'adopt_kept_audit_logs')}.{group}",
                    f"'{key_id}' is not a KMS key ID (1234abcd-12ab-34cd-56ef-1234567890ab, or mrk-... for a "
                    "multi-Region key): the part of the key's ARN after key/",
                )
        self.check("remote_logs_transition_days", in_range, self.remote_logs_transition_days, MIN_IA_DAYS, MAX_LOG_DAYS)
        self.check(
            "remote_logs_expiration_days",
            in_range,
            self.remote_logs_expiration_days,
            self.remote_logs_transition_days + 1,
            MAX_LOG_DAYS,
        )
