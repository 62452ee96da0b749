"""config.readback: the docker provider's read-back rules, and every stack sends what it reads back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from config.readback import (
    container_readback,
    cpus_readback,
    cpus_round_trips,
    nano_int64_to_decimal_string,
    nearest_round_tripping,
    readback_differences,
)
from config.units import parse_cpus
from preflight.runner import PlanResult, run_stack

CONTAINER = "docker:index/container:Container"


@pytest.mark.parametrize(
    ("nano", "expected"),
    [
        # The provider's own cases (internal/provider/helpers_test.go, TestNanoInt64ToDecimalString).
        (0, "0"),
        (1_000_000_000, "1.0"),
        (1_500_000_000, "1.5"),
        (2_000_000_000, "2.0"),
        (2_250_000_000, "2.25"),
        # Nine "0" characters in FloatString(9) switch to FloatString(1), which rounds.
        (50_000_000, "0.1"),
        (40_000_000, "0.0"),
        (500_000_000, "0.5"),
        # Eight or ten zeros: trailing zeros are trimmed, down to the bare point.
        (250_000_000, "0.25"),
        (45_000_000, "0.045"),
        (10_000_000_000, "10."),
        (11_000_000_000, "11.0"),
    ],
    ids=[
        "zero",
        "one_cpu",
        "one_and_a_half",
        "two_cpus",
        "two_and_a_quarter",
        "five_hundredths_rounds_up_to_0_1",
        "four_hundredths_rounds_down_to_0_0",
        "half",
        "quarter_keeps_two_places",
        "three_places_kept",
        "ten_has_ten_zeros_and_keeps_the_point",
        "eleven_has_nine_zeros",
    ],
)
def test_nano_int64_to_decimal_string(nano: int, expected: str) -> None:
    assert nano_int64_to_decimal_string(nano) == expected


@pytest.mark.parametrize(
    ("cpus", "sent", "round_trips"),
    [("1", "1.0", True), ("0.8", "0.8", True), ("0.05", "0.1", False), ("0.045", "0.045", True)],
    ids=["whole_cpu_is_sent_as_1_0", "tenths_unchanged", "0_05_reads_back_as_0_1", "0_045_round_trips"],
)
def test_cpus_form(cpus: str, sent: str, round_trips: bool) -> None:
    assert cpus_readback(Decimal(cpus)) == sent
    assert cpus_round_trips(Decimal(cpus)) is round_trips


@pytest.mark.parametrize(
    ("cpus", "below", "above"),
    [
        pytest.param("0.05", "0.049", "0.051", id="hundredths_offer_thousandths"),
        pytest.param("0.04", "0.039", "0.041", id="reads_back_as_0_0"),
        pytest.param("2", "1.9", "2.1", id="whole_cpus_offer_tenths"),
        pytest.param("20", "19.9", "20.1", id="trailing_zero_is_no_decimal"),
        pytest.param("0.1", None, "0.11", id="nothing_below_round_trips_above_zero"),
        # 10.09 .. 10.01 read back as "10.1" (nine zeros in FloatString(9)): the search goes on to 10.
        pytest.param("10.1", "10", "10.11", id="below_searched_down_to_a_whole_cpu"),
        # 100.11 .. 100.19 read back as "100.1" or "100.2": the search goes up to 100.2.
        pytest.param("100.1", "100.09", "100.2", id="above_searched_up_to_the_next_tenth"),
        # One NanoCPU reads back as "0": the step stays a whole NanoCPU rather than a tenth of one.
        pytest.param("0.000000001", None, "0.000000011", id="nine_decimals_step_by_one_nanocpu"),
    ],
)
def test_nearest_values_are_one_digit_finer_and_round_trip(cpus: str, below: str | None, above: str) -> None:
    found = nearest_round_tripping(Decimal(cpus))
    assert found == (None if below is None else Decimal(below), Decimal(above))
    assert all(value is None or cpus_round_trips(value) for value in found)


def test_every_round_tripping_form_parses_back_to_the_same_cpus() -> None:
    # What is sent must also be what docker's ParseCPUs reads as the same amount.
    for thousandths in range(1, 4001):
        cpus = Decimal(thousandths) / 1000
        if cpus_round_trips(cpus):
            assert parse_cpus(cpus_readback(cpus)) == cpus, cpus


def test_readback_shows_the_diffs_the_provider_would_see() -> None:
    sent: dict[str, Any] = {
        "cpus": "1",
        "memory": 512,
        "memorySwap": 512,
        "healthcheck": {"tests": ["CMD", "true"], "interval": "60s", "timeout": "3s", "retries": 3},
        "labels": [{"label": "ziggie.service", "value": "app"}],
    }
    assert readback_differences(sent) == [
        "cpus: '1' -> '1.0'",
        "healthcheck: {'tests': ['CMD', 'true'], 'interval': '60s', 'timeout': '3s', 'retries': 3} -> "
        "{'tests': ['CMD', 'true'], 'interval': '1m0s', 'timeout': '3s', 'retries': 3}",
    ]


def test_swap_reported_as_minus_one_reads_back_unchanged() -> None:
    # A host without swap accounting: Docker stores -1, and the provider keeps it as it is.
    assert container_readback({"memorySwap": -1})["memorySwap"] == -1


@pytest.fixture(scope="module")
def plans() -> dict[str, PlanResult]:
    return {stack: run_stack(stack) for stack in ("dev", "prod", "dr")}


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_every_container_input_reads_back_unchanged(plans: dict[str, PlanResult], stack: str) -> None:
    containers = [r for r in plans[stack].resources if r.type == CONTAINER]
    assert containers, stack
    differences = {r.urn: readback_differences(r.inputs) for r in containers}
    assert {urn: d for urn, d in differences.items() if d} == {}


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_unchanged_config_sends_identical_inputs(plans: dict[str, PlanResult], stack: str) -> None:
    again = run_stack(stack)
    first = {r.urn: (r.inputs, r.dependencies) for r in plans[stack].resources}
    second = {r.urn: (r.inputs, r.dependencies) for r in again.resources}
    assert first == second


READBACKS = [
    # No NanoCPUs (0) is not read back: the sent value stays.
    pytest.param({"cpus": "0.0"}, {"cpus": "0.0"}, id="zero_cpus_kept"),
    # One NanoCPU, the smallest amount there is, is read back, in the provider's one-decimal form.
    pytest.param({"cpus": "0.0000000010"}, {"cpus": "0.0"}, id="one_nano_cpu"),
    pytest.param(
        {"healthcheck": {"interval": "60s", "timeout": "60s", "startPeriod": "60s", "startInterval": "60s"}},
        {"healthcheck": {"interval": "1m0s", "timeout": "1m0s", "startPeriod": "1m0s", "startInterval": "1m0s"}},
        id="every_healthcheck_duration",
    ),
    pytest.param(
        {"memory": 512, "memoryReservation": 256, "memorySwap": 1024, "healthcheck": {"retries": 3}},
        {"memory": 512, "memoryReservation": 256, "memorySwap": 1024, "healthcheck": {"retries": 3}},
        id="memory_in_mb_and_a_check_without_durations",
    ),
]


@pytest.mark.parametrize(("sent", "state"), READBACKS)
def test_container_readback(sent: dict[str, Any], state: dict[str, Any]) -> None:
    assert container_readback(sent) == state
