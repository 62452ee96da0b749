"""cloud-budgets: a stack that runs on a cloud has a budget on that cloud, at the design's thresholds.

A stack with AWS resources needs an AWS budget, one with GCP resources a GCP billing budget;
each must alert at 50, 75, 90 and 100 % of actual spend and 100 % of forecast, so a runaway
bill is noticed in the month it starts. Providers and the budgets themselves do not make a
stack "use" a cloud; a stack with no cloud resources (dev) is not concerned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._support import UNKNOWN, elements, prop, read_config, to_decimal

NAME: Final = "cloud-budgets"
AWS_BUDGET: Final = "aws:budgets/budget:Budget"
GCP_BUDGET: Final = "gcp:billing/budget:Budget"
# Account-level switches that exist for a budget: they alone do not make a stack use a cloud.
_BUDGET_PARTS: Final = frozenset({AWS_BUDGET, GCP_BUDGET, "aws:costexplorer/costAllocationTag:CostAllocationTag"})
# (percent, basis): the design's thresholds.
THRESHOLDS: Final = (
    (Decimal(50), "ACTUAL"),
    (Decimal(75), "ACTUAL"),
    (Decimal(90), "ACTUAL"),
    (Decimal(100), "ACTUAL"),
    (Decimal(100), "FORECASTED"),
)
_GCP_BASIS: Final = {"CURRENT_SPEND": "ACTUAL", "FORECASTED_SPEND": "FORECASTED"}

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "requireThresholds": {
            "type": "boolean",
            "default": True,
            "description": "Demand the design's five thresholds on every budget, not only its presence.",
        },
    }
)


def _label(thresholds: set[tuple[Decimal, str]]) -> str:
    return ", ".join(f"{percent.normalize():f} % {basis.lower()}" for percent, basis in sorted(thresholds))


def _aws_thresholds(props: Mapping[str, Any]) -> set[tuple[Decimal, str]] | None:
    found: set[tuple[Decimal, str]] = set()
    for entry in elements(prop(props, "notifications")):
        if entry is UNKNOWN:
            return None
        if isinstance(entry, Mapping) and prop(entry, "thresholdType") == "PERCENTAGE":
            value = to_decimal(prop(entry, "threshold"))
            if value is not None:
                found.add((value, str(prop(entry, "notificationType"))))
    return found


def _gcp_thresholds(props: Mapping[str, Any]) -> set[tuple[Decimal, str]] | None:
    found: set[tuple[Decimal, str]] = set()
    for entry in elements(prop(props, "thresholdRules")):
        if entry is UNKNOWN:
            return None
        if isinstance(entry, Mapping):
            value = to_decimal(prop(entry, "thresholdPercent"))
            basis = prop(entry, "spendBasis")
            if value is not None:
                found.add((value * 100, _GCP_BASIS.get(basis if isinstance(basis, str) else "CURRENT_SPEND", "?")))
    return found


def budget_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[str]:
    """Why a cloud this stack uses has no budget, or one without the design's thresholds."""
    found: list[str] = []
    for cloud, prefix, budget_type, thresholds in (
        ("AWS", "aws:", AWS_BUDGET, _aws_thresholds),
        ("GCP", "gcp:", GCP_BUDGET, _gcp_thresholds),
    ):
        used = sorted({r.resource_type for r in resources if r.resource_type.startswith(prefix)} - _BUDGET_PARTS)
        budgets = [r for r in resources if r.resource_type == budget_type]
        if used and not budgets:
            found.append(f"stack uses {cloud} ({len(used)} resource kinds, e.g. {used[0]}) but has no {cloud} budget")
        if not config["requireThresholds"]:
            continue
        for budget in budgets:
            have = thresholds(budget.props)
            if have is None:
                continue
            missing = set(THRESHOLDS) - have
            if missing:
                found.append(f"{cloud} budget {budget.name}: no alert at {_label(missing)}")
    return found


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in budget_violations(args.resources, config):
        report_violation(message, None)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires a stack with resources on a cloud to have a budget on that cloud alerting at "
    "50, 75, 90 and 100 % of actual spend and 100 % of forecast.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
