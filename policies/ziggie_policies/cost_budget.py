"""cost-budget: the stack's estimated monthly cost fits its budget.

No tool prices a Pulumi plan before it is deployed (pulumi/pulumi#13004 and
infracost/infracost#187 are open requests), so the pack does it: the estimator in ``_cost``
prices the stack's resources from the pack's own price table (``policies/prices.json``, a source
and a date for every price) and the usage assumptions in this policy's config. The plan is
refused when the estimate exceeds ``monthlyBudgetUsd``, or when its fixed part (billed whatever
the traffic) exceeds ``fixedCostShare`` of it. The budget is the whole stack's, hosts included,
and owned here, apart from the program's own budget settings.
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

from ziggie_policies._cost import Estimate, PriceTable, estimate_monthly_cost, load_prices
from ziggie_policies._support import DOCKER_PROVIDER, read_config, two_places

NAME: Final = "cost-budget"
LARGEST: Final = 3

_GB_BY_BUCKET: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": {"type": "number", "minimum": 0},
}

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "monthlyBudgetUsd": {
            "type": "number",
            "minimum": 0,
            "description": "The stack's whole monthly budget in USD, hosts and clouds together; "
            "unset, the plan is not judged.",
        },
        "fixedCostShare": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": 1.0,
            "description": "Share of the budget that costs billed whatever the traffic may take.",
        },
        "hosts": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "default": {},
            "description": "Docker host URL (the docker provider's host) -> price key in prices.json.",
        },
        "usage": {
            "type": "object",
            "properties": {
                "s3GbStored": {**_GB_BY_BUCKET, "description": "GB stored per S3 bucket name; '*' for the rest."},
                "s3GbReplicatedPerMonth": {
                    **_GB_BY_BUCKET,
                    "description": "GB written a month to each replicated source bucket; '*' for the rest.",
                },
                "gcsGbStored": {**_GB_BY_BUCKET, "description": "GB stored per GCS bucket name; '*' for the rest."},
                "cdnGbServed": {"type": "number", "minimum": 0, "description": "GiB the CDN serves a month."},
                "cdnCacheHitRatio": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "description": "Share of CDN traffic served from cache; the rest is filled from the bucket.",
                },
            },
            "additionalProperties": False,
            "default": {},
            "description": "Usage assumptions the usage-based prices are multiplied by.",
        },
    },
)


def stack_resources(resources: Sequence[PolicyResource]) -> list[tuple[str, Mapping[str, Any]]]:
    """(type, props) of every resource, with the docker providers the containers name.

    The pack converts each of a stack resource's props when it is first read
    (ziggie_policies/_shared_views.py), so the estimate converts only what it prices by: most
    resources of a stack are containers, images and volumes, priced by their host.
    """
    found: list[tuple[str, Mapping[str, Any]]] = [(r.resource_type, r.props) for r in resources]
    seen = {r.urn for r in resources}
    for resource in resources:
        provider = resource.provider
        if provider is not None and provider.resource_type == DOCKER_PROVIDER and provider.urn not in seen:
            seen.add(provider.urn)
            found.append((provider.resource_type, provider.props))
    return found


def _largest(estimate: Estimate) -> str:
    ranked = sorted((line for line in estimate.lines if line.fixed), key=lambda line: (-line.monthly_usd, line.kind))
    named = ", ".join(f"{line.kind} {two_places(line.monthly_usd)}" for line in ranked[:LARGEST] if line.monthly_usd)
    return f"; largest fixed: {named}" if named else ""


def budget_violations(estimate: Estimate, config: Mapping[str, Any], stack: str) -> list[str]:
    """Why the estimate does not fit the budget, with the figures."""
    # Numbers in policy config arrive as JSON numbers (doubles); the schema makes both >= 0.
    budget = Decimal(str(config["monthlyBudgetUsd"]))
    share = Decimal(str(config["fixedCostShare"]))
    found = []
    if estimate.total > budget:
        found.append(
            f"stack {stack}: estimated monthly cost {two_places(estimate.total)} USD exceeds its budget of "
            f"{two_places(budget)} USD (fixed {two_places(estimate.fixed)}, usage {two_places(estimate.usage)})"
            + _largest(estimate)
        )
    allowed = budget * share
    if share < 1 and estimate.fixed > allowed:
        found.append(
            f"stack {stack}: fixed monthly costs {two_places(estimate.fixed)} USD exceed "
            f"{two_places(share * 100)} % of the {two_places(budget)} USD budget ({two_places(allowed)} USD)"
            + _largest(estimate)
        )
    return found


_PRICES: PriceTable | None = None


def prices() -> PriceTable:
    """The pack's price table, read once."""
    global _PRICES
    if _PRICES is None:
        _PRICES = load_prices()
    return _PRICES


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    if "monthlyBudgetUsd" not in config:
        return
    estimate = estimate_monthly_cost(stack_resources(args.resources), prices(), config["usage"], config["hosts"])
    stack = next((r.urn.split("::")[0].removeprefix("urn:pulumi:") for r in args.resources), "")
    for message in budget_violations(estimate, config, stack):
        report_violation(message, None)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires the stack's estimated monthly cost, priced from the pack's price table, to fit "
    "its budget and its fixed costs to fit the configured share of it.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
