"""cloud-budgets: each cloud a stack uses has a budget with the design's five thresholds."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import aws, bucket, container, gcp, on_host
from ziggie_policies import cloud_budgets

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
        [*on_host("workstation", container("workstation", "redis"))], [], id="not_applicable_without_cloud_parts"
    ),
]


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_cloud_budgets(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(cloud_budgets.policy, resources, {}) == sorted(expected)


def test_presence_only_when_thresholds_are_not_demanded(run: Any) -> None:
    resources = [bucket("ziggie-prod-assets"), aws_budget(DESIGN[:1])]
    assert run(cloud_budgets.policy, resources, {"requireThresholds": False}) == []
