"""The Google APIs the stack's GCP parts call, enabled in its project before anything uses them.

A fresh project has only a few APIs on; creating a backend bucket, an uptime check or a
budget in it fails until Compute Engine, Cloud Monitoring or the Billing Budget API is
enabled. The program enables them itself, through a provider of their own, and the provider
every other GCP resource uses depends on them, so no GCP resource is created before its API
answers. Destroying the stack leaves the APIs on: other things in the project may use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

# Named imports load the lazily imported pulumi_gcp module here, at import: the SDK evaluates a
# component's annotations while registering it, and Python 3.11's LazyLoader is not thread-safe.
from pulumi_gcp.projects import Service

# What the CDN, its monitoring and the budget call.
APIS = (
    "billingbudgets.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "monitoring.googleapis.com",
    "storage.googleapis.com",
)


@dataclass(frozen=True)
class ProjectApisArgs:
    """Which APIs, in which project."""

    project: str
    provider: gcp.Provider
    """A provider that does not itself wait for these APIs."""
    apis: Sequence[str] = APIS


class ProjectApis(pulumi.ComponentResource):
    """The project's APIs the program needs, enabled and left enabled."""

    services: list[Service]

    def __init__(self, name: str, args: ProjectApisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:gcp:ProjectApis", name, None, opts)
        self.services = [
            gcp.projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=args.project,
                service=api,
                disable_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            )
            for api in args.apis
        ]
        self.register_outputs({"services": self.services})
