"""The bare-SDK replay registers what preflight's program run registered, so the benchmark's ratio is honest."""

from __future__ import annotations

from pathlib import Path

from benchmarks.preflight_scale import PROJECT, synthetic_stack_file
from benchmarks.replay import EchoMocks, replay
from preflight.mocks import RecordingMonitor
from preflight.records import RecordedResource
from preflight.runner import run_stack


def _identity(record: RecordedResource) -> tuple[object, ...]:
    return (
        record.type,
        record.name,
        record.custom,
        record.parent,
        record.provider_urn,
        frozenset(record.dependencies),
        record.protect,
        record.retain_on_delete,
        record.ignore_changes,
        record.additional_secret_outputs,
        record.inputs,
    )


def test_replay_registers_the_program_runs_resources_for_21_services(tmp_path: Path) -> None:
    plan = run_stack("prod", synthetic_stack_file(21, tmp_path))
    monitor = RecordingMonitor(EchoMocks())
    replay(plan.resources, project=PROJECT, stack="prod", monitor=monitor)

    program = {r.urn: _identity(r) for r in plan.resources}
    replayed = {r.urn: _identity(r) for r in monitor.records}
    assert len(monitor.records) == len(replayed), "a URN registered twice"
    assert sorted(replayed) == sorted(program)
    assert any(r.dependencies for r in plan.resources) and any(r.provider for r in plan.resources)
    for urn, expected in program.items():
        assert replayed[urn] == expected, urn
