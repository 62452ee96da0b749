"""AwsBudget and GcpBudget under Pulumi mocks: the design's five thresholds on each cloud, the
scope (the stack's tag, the stack's project), the recipients and the limits both APIs set."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pulumi_gcp as gcp
import pytest
from aws_mocks import install, run

from components.aws_budget import AwsBudget, AwsBudgetArgs, aws_tag_filter
from components.gcp_budget import GcpBudget, GcpBudgetArgs
from preflight.mocks import RecordingMonitor
from preflight.records import RecordedResource

EMAILS = ["ops@ziggie.example", "cto@ziggie.example"]
CHANNELS = ["projects/p/notificationChannels/1", "projects/p/notificationChannels/2"]


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def aws_budget(mocks: RecordingMonitor, **overrides: Any) -> dict[str, RecordedResource]:
    values: dict[str, Any] = {"stack": "prod", "monthly_usd": Decimal("60"), "emails": EMAILS, "activate_tag": True}
    values.update(overrides)
    return run(mocks, lambda: AwsBudget("budget-aws", AwsBudgetArgs(**values)))


def gcp_budget(mocks: RecordingMonitor, **overrides: Any) -> dict[str, RecordedResource]:
    def program() -> None:
        values: dict[str, Any] = {
            "stack": "prod",
            "billing_account": "000000-000000-000000",
            "project_number": "123456789012",
            "monthly_usd": Decimal("40.50"),
            "channel_ids": CHANNELS,
            "channel_count": len(CHANNELS),
            "default_iam_recipients": False,
            "provider": gcp.Provider("gcp", project="ziggie-prod-placeholder"),
        }
        values.update(overrides)
        GcpBudget("budget-gcp", GcpBudgetArgs(**values))

    return run(mocks, program)


def test_aws_budget_is_monthly_cost_of_the_stacks_tagged_resources(mocks: RecordingMonitor) -> None:
    budget = aws_budget(mocks)["budget-aws-budget"]
    inputs = budget.inputs
    assert {k: inputs[k] for k in ("name", "budgetType", "timeUnit", "limitAmount", "limitUnit")} == {
        "name": "ziggie-prod",
        "budgetType": "COST",
        "timeUnit": "MONTHLY",
        "limitAmount": "60",
        "limitUnit": "USD",
    }, budget.urn
    assert inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:stack$prod"]}], budget.urn
    assert aws_tag_filter("dr") == "user:stack$dr"
    # AWS Budgets is global: the v7 resource takes no region.
    assert "region" not in inputs, budget.urn


def test_aws_budget_notifies_at_the_five_thresholds(mocks: RecordingMonitor) -> None:
    budget = aws_budget(mocks)["budget-aws-budget"]
    assert [
        (n["notificationType"], n["threshold"], n["thresholdType"], n["comparisonOperator"])
        for n in budget.inputs["notifications"]
    ] == [
        ("ACTUAL", 50, "PERCENTAGE", "GREATER_THAN"),
        ("ACTUAL", 75, "PERCENTAGE", "GREATER_THAN"),
        ("ACTUAL", 90, "PERCENTAGE", "GREATER_THAN"),
        ("ACTUAL", 100, "PERCENTAGE", "GREATER_THAN"),
        ("FORECASTED", 100, "PERCENTAGE", "GREATER_THAN"),
    ], budget.urn
    assert all(n["subscriberEmailAddresses"] == EMAILS for n in budget.inputs["notifications"]), budget.urn


def test_stack_tag_is_activated_before_the_budget_filters_on_it(mocks: RecordingMonitor) -> None:
    graph = aws_budget(mocks)
    tag = graph["budget-aws-stack-tag"]
    assert tag.inputs == {"tagKey": "stack", "status": "Active"}, tag.urn
    assert tag.urn in graph["budget-aws-budget"].dependencies


def test_a_stack_that_does_not_own_the_tag_leaves_it_alone(mocks: RecordingMonitor) -> None:
    graph = aws_budget(mocks, stack="dr", activate_tag=False)
    assert "budget-aws-stack-tag" not in graph
    assert graph["budget-aws-budget"].inputs["costFilters"][0]["values"] == ["user:stack$dr"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"emails": [f"o{i}@ziggie.example" for i in range(11)]},
            "an AWS budget notification takes 1 to 10 emails, not 11",
            id="eleven_subscribers",
        ),
        pytest.param({"emails": []}, "an AWS budget notification takes 1 to 10 emails, not 0", id="no_subscriber"),
        pytest.param(
            {"thresholds": [(Decimal("0.1") * i, "ACTUAL") for i in range(1, 7)]},
            "6 notifications: stay within 5 per AWS budget",
            id="six_notifications",
        ),
    ],
)
def test_aws_limits_are_refused_before_registration(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"stack": "prod", "monthly_usd": Decimal("60"), "emails": EMAILS, **overrides}
    with pytest.raises(ValueError, match=f"^{message}$"):
        AwsBudgetArgs(**values)


def test_gcp_budget_covers_the_stacks_project_at_the_five_thresholds(mocks: RecordingMonitor) -> None:
    budget = gcp_budget(mocks)["budget-gcp-budget"]
    inputs = budget.inputs
    assert inputs["billingAccount"] == "000000-000000-000000", budget.urn
    assert inputs["budgetFilter"] == {"projects": ["projects/123456789012"], "calendarPeriod": "MONTH"}, budget.urn
    assert inputs["amount"] == {"specifiedAmount": {"currencyCode": "USD", "units": "40", "nanos": 500_000_000}}, (
        budget.urn
    )
    assert inputs["thresholdRules"] == [
        {"thresholdPercent": 0.5, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 0.75, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 0.9, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 1, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 1, "spendBasis": "FORECASTED_SPEND"},
    ], budget.urn
    assert inputs["allUpdatesRule"] == {
        "monitoringNotificationChannels": CHANNELS,
        "disableDefaultIamRecipients": True,
    }, budget.urn
    assert budget.provider_urn is not None and budget.provider_urn.endswith("pulumi:providers:gcp::gcp"), budget.urn


def test_gcp_budget_keeps_default_recipients_when_configured(mocks: RecordingMonitor) -> None:
    budget = gcp_budget(mocks, default_iam_recipients=True)["budget-gcp-budget"]
    assert budget.inputs["allUpdatesRule"]["disableDefaultIamRecipients"] is False, budget.urn


def test_gcp_budget_takes_at_most_five_channels() -> None:
    with pytest.raises(ValueError, match=r"^a GCP budget takes at most 5 channels, not 6$"):
        GcpBudgetArgs(
            stack="prod",
            billing_account="000000-000000-000000",
            project_number="1",
            monthly_usd=Decimal(1),
            channel_ids=[],
            channel_count=6,
            default_iam_recipients=True,
            provider=None,  # type: ignore[arg-type]
        )
