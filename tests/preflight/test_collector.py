"""The program runs without full garbage collections, and leaves the collector as it found it."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from preflight.mocks import PreflightMocks
from preflight.runner import run_stack


def test_run_has_no_full_collections_and_restores_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[tuple[int, int, int], int]] = []
    new_resource = PreflightMocks.new_resource

    def spy(self: PreflightMocks, args: Any) -> Any:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return new_resource(self, args)

    monkeypatch.setattr(PreflightMocks, "new_resource", spy)
    before = gc.get_threshold()
    run_stack("dev")
    assert seen
    # Young generations are still collected; the oldest never while the run goes on.
    assert {threshold[:2] for threshold, _ in seen} == {before[:2]}
    assert all(threshold[2] >= 1_000_000_000 for threshold, _ in seen)
    assert gc.get_threshold() == before
    assert gc.isenabled()
    # The run's objects are left out of later collections (frozen) ...
    assert gc.get_freeze_count() > 0
    seen.clear()
    run_stack("dev")
    # ... until the next run, which hands them back to the collector before it starts.
    assert seen
    assert all(frozen == 0 for _, frozen in seen), "a later run kept an earlier run's objects frozen"
