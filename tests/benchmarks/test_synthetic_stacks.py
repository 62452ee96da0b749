"""The benchmark's synthetic stacks pass every policy, as the stacks users preview do.

A synthetic stack that failed its policies would time a pack reporting hundreds of violations
and a report listing them, not the run of a stack that can deploy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.preflight_scale import PROJECT, _policy_config, synthetic_stack_file
from preflight.analyzer import run_pack
from preflight.cli import POLICY_PACK
from preflight.runner import run_stack


@pytest.mark.parametrize("services", [21, 42])
def test_a_synthetic_stack_passes_every_policy_with_its_policy_config(tmp_path: Path, services: int) -> None:
    # 42 services: two hosts, so the copies of the seed's services and a second host are judged too.
    stack_file = synthetic_stack_file(services, tmp_path)
    plan = run_stack("prod", stack_file)
    pack = run_pack(POLICY_PACK, _policy_config(stack_file, tmp_path), plan.resources, stack="prod", project=PROJECT)
    assert pack.policies and "disabled" not in pack.policies.values()
    assert [(v.policy, v.urn, v.message) for v in pack.violations] == []
