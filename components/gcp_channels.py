"""Cloud Monitoring email channels: how GCP budgets and alert policies reach a person.

One channel per address of `alerts.emails`, the list every alerting part reads. A GCP budget
takes at most 5 channels (the config refuses more before anything is registered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

# Named imports load these lazily imported pulumi_gcp modules here, at import: the SDK evaluates a
# component's annotations while registering it, and Python 3.11's LazyLoader is not thread-safe.
from pulumi_gcp.monitoring import NotificationChannel


@dataclass(frozen=True)
class EmailChannelsArgs:
    """Who is told, in which project."""

    project: str
    emails: Sequence[str]
    provider: gcp.Provider
    labels: Mapping[str, str] = field(default_factory=dict)


class EmailChannels(pulumi.ComponentResource):
    """One email notification channel per address."""

    channels: list[NotificationChannel]
    ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: EmailChannelsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:gcp:EmailChannels", name, None, opts)
        self.channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-{index}",
                project=args.project,
                type="email",
                display_name=f"ziggie alerts: {email}",
                labels={"email_address": email},
                user_labels=dict(args.labels),
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            )
            for index, email in enumerate(args.emails)
        ]
        # A channel's id is its full name, projects/P/notificationChannels/N: what budgets and
        # alert policies take.
        self.ids = pulumi.Output.all(*[c.id for c in self.channels])
        self.register_outputs({"channels": self.channels, "ids": self.ids})
