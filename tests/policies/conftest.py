"""Fixtures of the policy tests: the pack importable, and one running pack per test module.

``python -m pulumi.policy`` runs the pack with its directory as ``sys.path[0]``; tests append
that directory (last, so the program's own packages keep precedence) to import the policies.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.append(str(PACK_DIR))

from policy_fixtures import run_direct, run_protocol
from pulumi_policy import Policy

from preflight.analyzer import PolicyPackSession
from preflight.records import RecordedResource


@pytest.fixture(scope="module")
def pack_session() -> Iterator[PolicyPackSession]:
    """The pack, started once per test module exactly as the CLI starts it."""
    with PolicyPackSession(PACK_DIR, timeout=60.0) as session:
        yield session


@pytest.fixture(params=["direct", "protocol"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Run one policy on records: by a direct SDK call, or through the analyzer protocol."""

    def direct(policy: Policy, resources: Sequence[RecordedResource], config: Mapping[str, Any]) -> list[str]:
        return run_direct(policy, resources, config)

    def protocol(policy: Policy, resources: Sequence[RecordedResource], config: Mapping[str, Any]) -> list[str]:
        session = request.getfixturevalue("pack_session")
        return run_protocol(session, tmp_path, policy.name, resources, config)

    return direct if request.param == "direct" else protocol
