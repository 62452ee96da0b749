"""A stack's monthly GCP billing budget over its project, at the design's thresholds.

Alerts go to the stack's Cloud Monitoring email channels at 50, 75, 90 and 100 % of current
spend and 100 % of forecast spend; the billing account's admins are told too unless the
config turns GCP's default IAM recipients off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pulumi
import pulumi_gcp as gcp

# Named imports load these lazily imported pulumi_gcp modules here, at import: the SDK evaluates a
# component's annotations while registering it, and Python 3.11's LazyLoader is not thread-safe.
from pulumi_gcp.billing import Budget

from config.models import BUDGET_THRESHOLDS

# A GCP budget takes at most 5 Cloud Monitoring channels.
GCP_MAX_CHANNELS = 5
GCP_SPEND_BASIS = {"ACTUAL": "CURRENT_SPEND", "FORECASTED": "FORECASTED_SPEND"}


def _amount(value: Decimal) -> tuple[str, int]:
    """USD as Google's Money: whole units (a string) and nanos."""
    units = int(value)
    return str(units), int((value - units) * 1_000_000_000)


@dataclass(frozen=True)
class GcpBudgetArgs:
    """The stack's GCP budget."""

    stack: str
    billing_account: str
    project_number: pulumi.Input[str]
    monthly_usd: Decimal
    channel_ids: pulumi.Input[Sequence[str]]
    channel_count: int
    default_iam_recipients: bool
    provider: gcp.Provider
    thresholds: Sequence[tuple[Decimal, str]] = BUDGET_THRESHOLDS

    def __post_init__(self) -> None:
        if self.channel_count > GCP_MAX_CHANNELS:
            raise ValueError(f"a GCP budget takes at most {GCP_MAX_CHANNELS} channels, not {self.channel_count}")
        if self.monthly_usd <= 0:
            raise ValueError(f"monthly_usd must be positive, not {self.monthly_usd}")


class GcpBudget(pulumi.ComponentResource):
    """A monthly GCP billing budget over the stack's project."""

    budget: Budget

    def __init__(self, name: str, args: GcpBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:gcp:Budget", name, None, opts)
        units, nanos = _amount(args.monthly_usd)
        self.budget = gcp.billing.Budget(
            f"{name}-budget",
            billing_account=args.billing_account,
            display_name=f"ziggie-{args.stack}",
            # The Billing Budget API names projects by number in a filter.
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                projects=[pulumi.Output.from_input(args.project_number).apply(lambda n: f"projects/{n}")],
                calendar_period="MONTH",
            ),
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                    currency_code="USD", units=units, nanos=nanos or None
                )
            ),
            threshold_rules=[
                gcp.billing.BudgetThresholdRuleArgs(
                    threshold_percent=float(fraction), spend_basis=GCP_SPEND_BASIS[basis]
                )
                for fraction, basis in args.thresholds
            ],
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                monitoring_notification_channels=args.channel_ids,
                disable_default_iam_recipients=not args.default_iam_recipients,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.register_outputs({"budget": self.budget})
