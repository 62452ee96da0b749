"""DR readiness: where everything a stack creates or reads lives, against the regions allowed.

dr must deploy while the primary region is down, so nothing on its path may be in that region:
every AWS resource it creates and every AWS data source it reads must name an allowed region
(the DR region, or us-east-1 where Route 53's health-check metrics and so its alarms live), or
belong to a global service (IAM, Route 53, Budgets, Cost Explorer). A regional resource that names no region would
land in the provider's default region, which the plan cannot vouch for, so it is a finding too.
A StackReference reads the state backend, not an AWS region: the README says where that must
not live.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from preflight.runner import PlanResult

# pulumi-aws v7 gives these no `region` argument: their APIs are global (AWS Budgets and Cost
# Explorer answer from one endpoint whatever the region).
GLOBAL_SERVICES = ("aws:iam/", "aws:route53/", "aws:budgets/", "aws:costexplorer/")


@dataclass(frozen=True)
class Placement:
    """One thing on the stack's path: what it is, where it lives, and whether that is allowed."""

    what: str
    """`create aws:s3/bucket:Bucket bucket-assets` or `read aws:secretsmanager/getSecretVersion:...`."""
    region: str
    """The region, `global` for a global service (IAM, Route 53, ...), or `unset`."""
    allowed: bool


def _region_of(token: str, args: dict[str, Any]) -> str:
    if token.startswith(GLOBAL_SERVICES):
        return "global"
    region = args.get("region")
    return region if isinstance(region, str) and region else "unset"


def placements(plan: PlanResult, allowed: Collection[str]) -> list[Placement]:
    """Every AWS resource the plan creates and every AWS data source it reads, with its region."""
    found: list[Placement] = []
    for record in plan.resources:
        if record.type.startswith("aws:") and record.custom:
            region = _region_of(record.type, record.inputs)
            found.append(Placement(f"create {record.type} {record.name}", region, region in allowed))
    for token, args in plan.invokes:
        if token.startswith("aws:"):
            region = _region_of(token, args)
            found.append(Placement(f"read {token}", region, region in allowed))
    return found


def dr_readiness(plan: PlanResult) -> list[Placement] | None:
    """For a dr stack: where everything on its path lives (allowed: its DR region, us-east-1 and
    the global services); None for any other stack."""
    if plan.config.environment != "dr" or plan.config.aws is None:
        return None
    return placements(plan, {plan.config.aws.dr_region, "us-east-1", "global"})
