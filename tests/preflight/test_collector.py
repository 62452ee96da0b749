"""The program runs with only the youngest generation collected, and leaves the collector as it found it."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from preflight.mocks import PreflightMocks
from preflight.runner import run_stack


def test_run_collects_only_the_youngest_generation_and_restores_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[tuple[int, int, int], int, list[dict[str, int]]]] = []
    new_resource = PreflightMocks.new_resource

    def spy(self: PreflightMocks, args: Any) -> Any:
        seen.append((gc.get_threshold(), gc.get_freeze_count(), gc.get_stats()))
        return new_resource(self, args)

    monkeypatch.setattr(PreflightMocks, "new_resource", spy)
    before = gc.get_threshold()
    run_stack("dev")
    assert len(seen) > 2
    assert {threshold[0] for threshold, _, _ in seen} == {before[0]}
    assert all(min(threshold[1:]) >= 1_000_000_000 for threshold, _, _ in seen)
    first, last = seen[0][2], seen[-1][2]
    # The youngest generation is collected as the run goes, and frees the SDK's cyclic garbage ...
    assert last[0]["collections"] > first[0]["collections"]
    assert last[0]["collected"] > first[0]["collected"]
    # ... the older ones never are.
    assert [s["collections"] for s in last[1:]] == [s["collections"] for s in first[1:]]
    assert gc.get_threshold() == before
    assert gc.isenabled()
    # The run's objects are left out of later collections (frozen) ...
    assert gc.get_freeze_count() > 0
    seen.clear()
    run_stack("dev")
    # ... until the next run, which hands them back to the collector before it starts.
    assert seen
    assert all(frozen == 0 for _, frozen, _ in seen), "a later run kept an earlier run's objects frozen"
