"""The estimated monthly cost of a previewed stack, priced by the policy pack's own estimator.

preflight imports the pack's pure estimator (``ziggie_policies._cost``) rather than pricing the
plan twice, with the stack's ``cost-budget`` policy config (budget, hosts, usage), so what it
prints is what the ``cost-budget`` policy judges. A separate piece of data on the report: the
text report appends its lines, ``--json`` carries it as ``costEstimate``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from preflight.documents import load_json
from preflight.records import RecordedResource
from preflight.runner import PROJECT_DIR

POLICY_PACK = PROJECT_DIR / "policies"


def _estimator() -> Any:
    # The pack is self-contained and runs with its own directory on sys.path, as here.
    if str(POLICY_PACK) not in sys.path:
        sys.path.append(str(POLICY_PACK))
    return importlib.import_module("ziggie_policies._cost")


def cost_estimate(resources: Sequence[RecordedResource], policy_config: Path | None) -> dict[str, Any] | None:
    """The stack's estimate as data (lines, totals, budget), or None without a cost-budget config."""
    if policy_config is None:
        return None
    document = load_json(policy_config)
    settings = document.get("cost-budget") if isinstance(document, dict) else None
    if not isinstance(settings, dict):
        return None
    cost = _estimator()
    estimate = cost.estimate_monthly_cost(
        [(r.type, {**r.inputs, **r.outputs}) for r in resources if r.custom],
        cost.load_prices(),
        settings.get("usage", {}),
        settings.get("hosts", {}),
    )
    budget = Decimal(str(settings["monthlyBudgetUsd"])) if "monthlyBudgetUsd" in settings else None
    return {
        "lines": [
            {
                "kind": line.kind,
                "count": str(line.count.normalize()),
                "unit": line.unit,
                "monthlyUsd": str(line.monthly_usd),
                "fixed": line.fixed,
                "detail": line.detail,
            }
            for line in estimate.lines
        ],
        "fixedUsd": str(estimate.fixed),
        "usageUsd": str(estimate.usage),
        "totalUsd": str(estimate.total),
        "budgetUsd": None if budget is None else str(budget),
        "unpriced": list(estimate.unpriced),
        "text": cost.render_lines(estimate, budget),
    }


def render_cost(estimate: dict[str, Any] | None) -> list[str]:
    """The estimate's lines for the text report."""
    if estimate is None:
        return []
    return ["", "estimated monthly cost", *(f"  {line}" for line in estimate["text"])]
