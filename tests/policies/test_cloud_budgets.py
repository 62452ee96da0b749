"""cloud-budgets: each cloud a stack uses has a budget with the design's five thresholds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_fixtures import UNKNOWN, aws, bucket, container, gcp, on_host, run_direct
from ziggie_policies import cloud_budgets
from ziggie_policies._support import PolicyConfigError

from preflight.records import RecordedResource

AWS_BUDGET = "aws:budgets/budget:Budget"
GCP_BUDGET = "gcp:billing/budget:Budget"
DESIGN = [(50, "ACTUAL"), (75, "ACTUAL"), (90, "ACTUAL"), (100, "ACTUAL"), (100, "FORECASTED")]


def aws_budget(thresholds: list[tuple[int, str]] = DESIGN) -> RecordedResource:
    notifications = [
        {"comparisonOperator": "GREATER_THAN", "threshold": t, "thresholdType": "PERCENTAGE", "notificationType": b}
        for t, b in thresholds
    ]
    return aws(AWS_BUDGET, "budget-aws-budget", {"budgetType": "COST", "notifications": notifications})


def gcp_budget(thresholds: list[tuple[int, str]] = DESIGN) -> RecordedResource:
    basis = {"ACTUAL": "CURRENT_SPEND", "FORECASTED": "FORECASTED_SPEND"}
    rules = [{"thresholdPercent": t / 100, "spendBasis": basis[b]} for t, b in thresholds]
    return gcp(GCP_BUDGET, "budget-gcp-budget", {"thresholdRules": rules})


def _absolute(budget: RecordedResource, index: int) -> RecordedResource:
    """The budget with its ``index``th notification at an absolute amount instead of a percentage."""
    notifications = [dict(n) for n in budget.inputs["notifications"]]
    notifications[index]["thresholdType"] = "ABSOLUTE_VALUE"
    return dataclasses.replace(budget, inputs={**budget.inputs, "notifications": notifications})


def _without_basis(budget: RecordedResource) -> RecordedResource:
    """The budget with no spendBasis on its actual-spend rules: GCP's default is CURRENT_SPEND."""
    rules = [
        {k: v for k, v in rule.items() if (k, v) != ("spendBasis", "CURRENT_SPEND")}
        for rule in budget.inputs["thresholdRules"]
    ]
    return dataclasses.replace(budget, inputs={**budget.inputs, "thresholdRules": rules})


def _renamed(budget: RecordedResource, suffix: str) -> RecordedResource:
    name = f"{budget.name}-{suffix}"
    return dataclasses.replace(budget, name=name, urn=budget.urn.replace(budget.name, name))


def _unknown_notification(budget: RecordedResource) -> RecordedResource:
    notifications = [UNKNOWN, *budget.inputs["notifications"][1:]]
    return dataclasses.replace(budget, inputs={**budget.inputs, "notifications": notifications})


FORWARDING = gcp("gcp:compute/globalForwardingRule:GlobalForwardingRule", "cdn-https", {"portRange": "443"})
CASES = [
    pytest.param([bucket("ziggie-prod-assets"), FORWARDING, aws_budget(), gcp_budget()], [], id="both_clouds_budgeted"),
    pytest.param(
        [bucket("ziggie-prod-assets"), FORWARDING, aws_budget()],
        [
            "stack uses GCP (1 resource kinds, e.g. gcp:compute/globalForwardingRule:GlobalForwardingRule) but has no GCP budget"
        ],
        id="gcp_used_without_budget",
    ),
    pytest.param(
        [bucket("ziggie-prod-assets")],
        ["stack uses AWS (1 resource kinds, e.g. aws:s3/bucket:Bucket) but has no AWS budget"],
        id="aws_used_without_budget",
    ),
    pytest.param(
        [bucket("ziggie-prod-assets"), aws_budget(DESIGN[:3])],
        ["AWS budget budget-aws-budget: no alert at 100 % actual, 100 % forecasted"],
        id="aws_budget_missing_thresholds",
    ),
    pytest.param(
        [FORWARDING, gcp_budget([(50, "ACTUAL"), (75, "ACTUAL"), (90, "ACTUAL"), (100, "ACTUAL"), (100, "ACTUAL")])],
        ["GCP budget budget-gcp-budget: no alert at 100 % forecasted"],
        id="gcp_budget_without_forecast",
    ),
    pytest.param(
        [bucket("ziggie-prod-assets"), _absolute(aws_budget(), 4)],
        ["AWS budget budget-aws-budget: no alert at 100 % forecasted"],
        id="aws_alert_at_an_absolute_amount_is_no_percentage",
    ),
    pytest.param(
        [FORWARDING, _without_basis(gcp_budget())], [], id="gcp_rule_without_spend_basis_alerts_on_actual_spend"
    ),
    pytest.param(
        [bucket("ziggie-prod-assets"), FORWARDING, _unknown_notification(aws_budget()), gcp_budget(DESIGN[:4])],
        ["GCP budget budget-gcp-budget: no alert at 100 % forecasted"],
        id="aws_notifications_unknown_at_preview_are_skipped_and_gcp_still_judged",
    ),
    pytest.param(
        [bucket("ziggie-prod-assets"), _unknown_notification(aws_budget()), _renamed(aws_budget(DESIGN[1:]), "b")],
        ["AWS budget budget-aws-budget-b: no alert at 50 % actual"],
        id="a_budget_unknown_at_preview_does_not_excuse_the_next",
    ),
    pytest.param(
        [*on_host("workstation", container("workstation", "redis"))], [], id="not_applicable_without_cloud_parts"
    ),
]


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_cloud_budgets(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(cloud_budgets.policy, resources, {}) == sorted(expected)


def test_presence_only_when_thresholds_are_not_demanded(run: Any) -> None:
    resources = [bucket("ziggie-prod-assets"), aws_budget(DESIGN[:1])]
    assert run(cloud_budgets.policy, resources, {"requireThresholds": False}) == []


def test_presence_is_still_demanded_of_every_cloud_without_thresholds(run: Any) -> None:
    resources = [bucket("ziggie-prod-assets"), aws_budget(DESIGN[:1]), FORWARDING]
    assert run(cloud_budgets.policy, resources, {"requireThresholds": False}) == [
        "stack uses GCP (1 resource kinds, e.g. gcp:compute/globalForwardingRule:GlobalForwardingRule) but has no "
        "GCP budget"
    ]


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(cloud_budgets.policy, [bucket("ziggie-prod-assets")], {"thresholds": False})
    assert str(caught.value) == "policy cloud-budgets: unknown config key 'thresholds' (known: requireThresholds)"
