"""The SNS topic that tells a person when a health-check alarm fires or clears.

It lives in us-east-1 because the alarms it serves do: Route 53 publishes health-check metrics
to CloudWatch there only, and an alarm can notify a topic of its own region only. Each stack
has its own topic, so dr's alarm reaches someone even when prod's state or region is gone.

Email subscriptions stay "pending confirmation" until their recipient follows the link AWS
mails them; until then nothing is delivered to them, and the provider cannot delete a pending
subscription (AWS removes it after three days). The README says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.dns_failover import HEALTH_METRICS_REGION

# SNS's own rule for a topic name: 1-256 letters, digits, hyphens and underscores.
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class AlarmTopicArgs:
    """The topic's name and who it mails."""

    topic_name: str
    emails: Sequence[str]
    """Addresses subscribed by email; each must confirm its subscription."""
    region: str = HEALTH_METRICS_REGION
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _TOPIC_NAME.match(self.topic_name):
            raise ValueError(f"topic_name {self.topic_name!r} must be 1-256 letters, digits, - or _")
        if not self.emails:
            raise ValueError("emails is empty: an alarm topic nobody subscribes to tells nobody")
        if len({e.lower() for e in self.emails}) != len(self.emails):
            raise ValueError("emails lists an address twice")


class AlarmTopic(pulumi.ComponentResource):
    """An SNS topic in the alarms' region with one email subscription per address."""

    topic: aws.sns.Topic
    subscriptions: dict[str, aws.sns.TopicSubscription]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.topic_name,
            display_name="ziggie alarms",
            region=args.region,
            tags=dict(args.tags),
            opts=child,
        )
        self.subscriptions = {
            email: aws.sns.TopicSubscription(
                # Named by the address, not its position: reordering the list replaces nothing.
                f"{name}-email-{re.sub(r'[^a-z0-9]+', '-', email.lower())}",
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                region=args.region,
                opts=child,
            )
            for email in args.emails
        }
        self.arn = self.topic.arn
        self.register_outputs({"topic": self.topic, "subscriptions": self.subscriptions, "arn": self.arn})
