"""DR readiness: dr creates and reads nothing in the primary region, and the check notices when
one of its resources is moved there."""

from __future__ import annotations

import dataclasses

import pytest

from preflight.readiness import dr_readiness
from preflight.runner import PlanResult, run_stack


@pytest.fixture(scope="module")
def dr() -> PlanResult:
    return run_stack("dr")


def test_dr_path_avoids_the_primary_region(dr: PlanResult) -> None:
    found = dr_readiness(dr)
    assert found is not None
    assert [p for p in found if not p.allowed] == []
    regions = {p.region for p in found}
    assert "eu-north-1" not in regions
    assert regions == {"eu-west-1", "us-east-1", "global"}
    # It does read prod's secret replicas - in eu-west-1.
    reads = [p for p in found if p.what.startswith("read ")]
    assert reads and {p.region for p in reads} == {"eu-west-1"}


@pytest.mark.parametrize("kind", ["aws:sns/topic:Topic", "aws:cloudwatch/metricAlarm:MetricAlarm"])
def test_a_dr_resource_moved_to_the_primary_region_is_found(dr: PlanResult, kind: str) -> None:
    moved = [
        dataclasses.replace(r, inputs={**r.inputs, "region": "eu-north-1"}) if r.type == kind else r
        for r in dr.resources
    ]
    found = dr_readiness(dataclasses.replace(dr, resources=moved))
    assert found is not None
    assert [(p.what.split()[1], p.region) for p in found if not p.allowed] == [(kind, "eu-north-1")]


def test_a_secret_read_from_the_primary_region_is_found(dr: PlanResult) -> None:
    invokes = tuple((token, {**args, "region": "eu-north-1"}) for token, args in dr.invokes)
    found = dr_readiness(dataclasses.replace(dr, invokes=invokes))
    assert found is not None
    bad = {p.what for p in found if not p.allowed}
    assert bad == {"read aws:secretsmanager/getSecretVersion:getSecretVersion"}


def test_only_dr_gets_a_readiness_section() -> None:
    assert dr_readiness(run_stack("prod")) is None


def test_dr_json_report_carries_the_readiness_section(dr: PlanResult) -> None:
    from preflight.report import Report, render_json

    section = render_json(Report(dr, None))["drReadiness"]
    assert section and all(entry["allowed"] for entry in section)
    assert {"what", "region", "allowed"} == set(section[0])
    assert "drReadiness" not in render_json(Report(run_stack("prod"), None))
