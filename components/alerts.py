"""Alerts: the SNS topic every alarm and database event of the stack notifies.

Creates (`airflow:index:Alerts`), unless an existing topic is given:
- a KMS key (yearly rotation) whose policy lets CloudWatch alarms and RDS events of this account
  use it, and nothing else beyond the account's own administration through IAM;
- the topic, encrypted with that key, and its policy: only this account's CloudWatch alarms and
  RDS event subscriptions may publish;
- an email subscription per address (each recipient confirms it from the mail AWS sends).
With an existing topic (`existing_topic_arn`), nothing: its owner grants the same publishers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.parts.kms import encryption_key
from components.parts.outputs import register_public_outputs
from lib.naming import child_name, slug, with_name
from lib.observability.cloudwatch import EMAIL, TOPIC_ARN
from lib.security.iam_documents import alerts_key_policy, alerts_topic_policy


@dataclass(frozen=True)
class AlertsArgs:
    account_id: pulumi.Input[str]
    """The AWS account of the stack (the key policy and the topic policy name it)."""
    region: str = ""
    """The stack's region (the key policy names the alarms and DB instances there); required with
    a topic this component creates."""
    emails: tuple[str, ...] = ()
    """Addresses subscribed to the topic."""
    existing_topic_arn: str = ""
    """A topic to publish to instead of creating one."""
    protect: bool = True
    """Pulumi `protect` on the topic's key."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        if self.existing_topic_arn and not TOPIC_ARN.match(self.existing_topic_arn):
            raise ValueError(f"AlertsArgs.existing_topic_arn '{self.existing_topic_arn}' is not an SNS topic ARN")
        if not self.existing_topic_arn and not self.region:
            raise ValueError("AlertsArgs.region is required with a topic this component creates")
        if self.existing_topic_arn and self.emails:
            raise ValueError("AlertsArgs: emails subscribe to a topic this component creates, not to an existing one")
        bad = [e for e in self.emails if not EMAIL.match(e)]
        if bad or len(set(self.emails)) != len(self.emails):
            raise ValueError(f"AlertsArgs.emails: {bad or 'a repeated address'} is not a list of distinct addresses")


class Alerts(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    """ARN of the topic the alarms notify."""
    kms_key_arn: pulumi.Output[str] | None
    """The topic's key, or None with an existing topic."""

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Alerts", name, None, opts)
        self.kms_key_arn = None
        if args.existing_topic_arn:
            self.topic_arn = pulumi.Output.from_input(args.existing_topic_arn)
            register_public_outputs(self)
            return
        child = pulumi.ResourceOptions(parent=self)
        key = encryption_key(
            self,
            child_name(name, "key"),
            f"{name}-alerts",
            f"Alerts topic of {name}",
            args.protect,
            args.tags,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda a: json.dumps(alerts_key_policy(a, args.region))
            ),
        )
        topic = aws.sns.Topic(
            child_name(name, "topic"),
            kms_master_key_id=key.arn,
            tags=with_name(args.tags, child_name(name, "topic")),
            opts=child,
        )
        aws.sns.TopicPolicy(
            child_name(name, "topic-policy"),
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                lambda v: json.dumps(alerts_topic_policy(v[0], v[1]))
            ),
            opts=child,
        )
        for email in args.emails:
            aws.sns.TopicSubscription(
                child_name(name, "email", slug(email)), topic=topic.arn, protocol="email", endpoint=email, opts=child
            )
        self.topic_arn = topic.arn
        self.kms_key_arn = key.arn
        register_public_outputs(self)
