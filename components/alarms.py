"""Alarms: the stack's CloudWatch alarms, each notifying the alerts topic.

Creates (`airflow:index:Alarms`):
- a CloudWatch metric alarm per spec (`lib/observability/alarms.py`: metric, metric math or a Metrics Insights
  query; threshold from config; a description that names the runbook section), named
  `<name>-<spec>`, alarm and OK actions to the topic (a stack asleep has no alarm: program.py);
- a log metric filter per `LogMetric`, counting matching log events into a metric an alarm reads;
- with a database identifier, an RDS event subscription for the instance's failover, failure,
  low storage and maintenance events, to the same topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.parts.outputs import register_public_outputs
from lib.naming import child_name, with_name
from lib.observability.alarms import Alarm

RDS_EVENT_CATEGORIES = ("failover", "failure", "low storage", "maintenance")


@dataclass(frozen=True)
class LogMetric:
    """Log events of a group matching a pattern, counted into a metric (1 per event, 0 without)."""

    name: str
    log_group_name: pulumi.Input[str]
    pattern: pulumi.Input[str]
    namespace: str
    metric: str


@dataclass(frozen=True)
class AlarmsArgs:
    topic_arn: pulumi.Input[str]
    """The topic every alarm notifies."""
    alarms: Sequence[Alarm]
    """The alarms (`lib/observability/alarms.py`)."""
    log_metrics: Sequence[LogMetric] = ()
    """Metrics counted from log events, created before the alarms that read them."""
    db_instance_identifier: str | None = None
    """The RDS instance whose events notify the topic; None: no event subscription."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        names = [a.name for a in self.alarms]
        if len(set(names)) != len(names):
            raise ValueError(f"AlarmsArgs.alarms: repeated names in {names}")


class Alarms(pulumi.ComponentResource):
    alarm_arns: dict[str, pulumi.Output[str]]
    """Spec name -> ARN of its alarm."""
    alarm_names: dict[str, pulumi.Output[str]]
    """Spec name -> name of its alarm (`aws cloudwatch describe-alarms --alarm-names`)."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        filters = [
            aws.cloudwatch.LogMetricFilter(
                child_name(name, m.name),
                log_group_name=m.log_group_name,
                pattern=m.pattern,
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    namespace=m.namespace, name=m.metric, value="1", default_value="0"
                ),
                opts=child,
            )
            for m in args.log_metrics
        ]
        after = pulumi.ResourceOptions(parent=self, depends_on=filters)
        self.alarm_arns, self.alarm_names = {}, {}
        for spec in args.alarms:
            alarm = self._alarm(name, spec, args, after)
            self.alarm_arns[spec.name] = alarm.arn
            self.alarm_names[spec.name] = alarm.name
        if args.db_instance_identifier is not None:
            aws.rds.EventSubscription(
                child_name(name, "db-events"),
                sns_topic=args.topic_arn,
                source_type="db-instance",
                source_ids=[args.db_instance_identifier],
                event_categories=list(RDS_EVENT_CATEGORIES),
                tags=with_name(args.tags, child_name(name, "db-events")),
                opts=child,
            )
        register_public_outputs(self)

    @staticmethod
    def _alarm(name: str, spec: Alarm, args: AlarmsArgs, opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
        resource = child_name(name, spec.name)
        common: dict[str, Any] = {
            "name": resource,
            "alarm_description": spec.description,
            "comparison_operator": spec.comparison,
            "threshold": spec.threshold,
            "evaluation_periods": spec.evaluation_periods,
            "treat_missing_data": spec.missing_data,
            "actions_enabled": True,
            "alarm_actions": [args.topic_arn],
            "ok_actions": [args.topic_arn],
            "tags": with_name(args.tags, resource),
            "opts": opts,
        }
        if spec.metric is not None:
            m = spec.metric
            return aws.cloudwatch.MetricAlarm(
                resource,
                namespace=m.namespace,
                metric_name=m.name,
                dimensions=dict(m.dimensions) or None,
                statistic=m.statistic,
                period=spec.period,
                **common,
            )
        queries = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=m.namespace,
                    metric_name=m.name,
                    dimensions=dict(m.dimensions) or None,
                    stat=m.statistic,
                    period=spec.period,
                ),
                return_data=False,
            )
            for query_id, m in (spec.inputs or {}).items()
        ]
        # A Metrics Insights query (no inputs) carries its own period.
        result = aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="result",
            expression=spec.expression,
            period=None if spec.inputs else spec.period,
            label=spec.name,
            return_data=True,
        )
        return aws.cloudwatch.MetricAlarm(resource, metric_queries=[*queries, result], **common)
