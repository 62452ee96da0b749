"""The bare-SDK replay registers what preflight's program run registered, so the benchmark's ratio is honest."""

from __future__ import annotations

from typing import get_args

import pulumi
import pulumi_command
import pulumi_docker
import pytest

from benchmarks.preflight_scale import PROJECT, synthetic_stack_file
from benchmarks.replay import Declared, EchoMocks, provider_class, replay
from preflight.mocks import RecordingMonitor
from preflight.records import RecordedResource
from preflight.runner import PlanResult, run_stack


def _identity(record: RecordedResource) -> tuple[object, ...]:
    return (
        record.type,
        record.name,
        record.custom,
        record.parent,
        record.provider_urn,
        frozenset(record.dependencies),
        record.property_dependencies,
        record.protect,
        record.retain_on_delete,
        record.ignore_changes,
        # A provider class adds the outputs it always keeps secret (command's `connection`) to the
        # list it is given, and the replay gives it the recorded list, in which they already are.
        tuple(dict.fromkeys(record.additional_secret_outputs)),
        record.inputs,
    )


def _assert_replayed(plan: PlanResult, declared: Declared) -> None:
    monitor = RecordingMonitor(EchoMocks())
    replay(plan.resources, project=PROJECT, stack=plan.stack, monitor=monitor, declared=declared)

    program = {r.urn: _identity(r) for r in plan.resources}
    replayed = {r.urn: _identity(r) for r in monitor.records}
    assert len(monitor.records) == len(replayed), "a URN registered twice"
    assert sorted(replayed) == sorted(program)
    for urn, expected in program.items():
        assert replayed[urn] == expected, urn


@pytest.fixture(scope="module")
def synthetic_21(tmp_path_factory: pytest.TempPathFactory) -> PlanResult:
    return run_stack("prod", synthetic_stack_file(21, tmp_path_factory.mktemp("bench")))


@pytest.mark.parametrize("declared", get_args(Declared))
def test_replay_registers_the_program_runs_resources_for_21_services(
    synthetic_21: PlanResult, declared: Declared
) -> None:
    _assert_replayed(synthetic_21, declared)
    resources = synthetic_21.resources
    assert any(r.dependencies for r in resources) and any(r.provider for r in resources)
    assert any(r.type.startswith("pulumi:providers:") for r in resources), "a provider's JSON-encoded inputs"
    assert any("4dabf18193072939515e22adb298388d" in repr(r.inputs) for r in resources), "a secret input"


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_the_provider_classes_replay_each_committed_stack(stack: str) -> None:
    """Every kind of resource the program declares (AWS, GCP, a StackReference included) replays through its class."""
    _assert_replayed(run_stack(stack), "classes")


def test_provider_class_follows_the_sdk_generators_naming() -> None:
    assert provider_class("docker:index/container:Container") is pulumi_docker.Container
    assert provider_class("command:remote:Command") is pulumi_command.remote.Command
    assert provider_class("pulumi:providers:docker") is pulumi_docker.Provider
    assert provider_class("pulumi:pulumi:StackReference") is pulumi.StackReference
    with pytest.raises(LookupError, match="docker:index/container:Nothing"):
        provider_class("docker:index/container:Nothing")
