"""A stack's monthly AWS budget over the resources tagged with the stack, at the design's thresholds.

Every AWS resource the program creates carries the `stack` tag; Budgets filters on it once it
is an active cost-allocation tag. Alerts go to `alerts.emails` at 50, 75, 90 and 100 % of
actual spend and 100 % of forecast spend. AWS Budgets is a global service: no region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pulumi
import pulumi_aws as aws

from config.models import BUDGET_THRESHOLDS

# AWS Budgets: at most 10 email subscribers per notification; its docs say 5 or 10
# notifications per budget in different places, so stay within 5.
AWS_MAX_SUBSCRIBERS = 10
AWS_MAX_NOTIFICATIONS = 5
COST_ALLOCATION_TAG = "stack"


def aws_tag_filter(stack: str) -> str:
    """An AWS Budgets TagKeyValue value: `user:` marks a user-defined tag, `$` splits key and value."""
    return f"user:{COST_ALLOCATION_TAG}${stack}"


@dataclass(frozen=True)
class AwsBudgetArgs:
    """The stack's AWS budget."""

    stack: str
    monthly_usd: Decimal
    emails: Sequence[str]
    activate_tag: bool = False
    """Activate the `stack` cost-allocation tag; an account-wide switch, so one stack owns it."""
    thresholds: Sequence[tuple[Decimal, str]] = BUDGET_THRESHOLDS
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= len(self.emails) <= AWS_MAX_SUBSCRIBERS:
            raise ValueError(
                f"an AWS budget notification takes 1 to {AWS_MAX_SUBSCRIBERS} emails, not {len(self.emails)}"
            )
        if len(self.thresholds) > AWS_MAX_NOTIFICATIONS:
            raise ValueError(
                f"{len(self.thresholds)} notifications: stay within {AWS_MAX_NOTIFICATIONS} per AWS budget"
            )
        if self.monthly_usd <= 0:
            raise ValueError(f"monthly_usd must be positive, not {self.monthly_usd}")


class AwsBudget(pulumi.ComponentResource):
    """A monthly AWS cost budget over the stack's tagged resources."""

    budget: aws.budgets.Budget
    tag: aws.costexplorer.CostAllocationTag | None

    def __init__(self, name: str, args: AwsBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:Budget", name, None, opts)
        self.tag = None
        depends: list[pulumi.Resource] = []
        if args.activate_tag:
            # Without activation Cost Explorer ignores the tag and the filter matches nothing.
            self.tag = aws.costexplorer.CostAllocationTag(
                f"{name}-stack-tag",
                tag_key=COST_ALLOCATION_TAG,
                status="Active",
                opts=pulumi.ResourceOptions(parent=self),
            )
            depends.append(self.tag)
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            name=f"ziggie-{args.stack}",
            budget_type="COST",
            time_unit="MONTHLY",
            # AWS reads "30" back as "30.0"; the provider compares amounts as numbers
            # (hashicorp/terraform-provider-aws, internal/service/budgets/budget.go,
            # suppressEquivalentBudgetLimitAmount), so the second `up` shows no diff.
            limit_amount=str(args.monthly_usd),
            limit_unit="USD",
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[aws_tag_filter(args.stack)])],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    threshold=float(fraction * 100),
                    threshold_type="PERCENTAGE",
                    notification_type=basis,
                    subscriber_email_addresses=list(args.emails),
                )
                for fraction, basis in args.thresholds
            ],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.register_outputs({"budget": self.budget, "tag": self.tag})
