"""pytest plugin for `python -m pipeline.mutation recheck`: the policy tests less their direct cases.

Each table-driven policy test runs twice through the `run` fixture (tests/policies/conftest.py):
`direct`, a call of the validator in the test's own process, which mutmut has already run
against every mutant whose function it reached, and `protocol`, the same case through the pack
started as the CLI starts it. Every other test of tests/policies stays: those that start the pack
themselves (test_pack.py, test_policy_config.py, the `pack_session` ones) cannot be told apart
from the others by their signature, and the rest cost little beside the pack's start-up.
"""

from __future__ import annotations

import pytest


def is_direct_case(item: pytest.Item) -> bool:
    """A case run by calling the validator in pytest's own process."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("run") == "direct"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    direct = [item for item in items if is_direct_case(item)]
    if direct:
        config.hook.pytest_deselected(items=direct)
        items[:] = [item for item in items if not is_direct_case(item)]
