"""container-limits: memory and CPU limits set and above zero, reservations within them."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import UNKNOWN, container, on_host, remote_image
from ziggie_policies import container_limits

from preflight.records import RecordedResource


def _app(**inputs: Any) -> list[RecordedResource]:
    return on_host("vps1", container("vps1", "app", **inputs))


CASES = [
    pytest.param(_app(), [], id="bounded_container_passes"),
    pytest.param(_app(memoryReservation=None, cpuShares=None), [], id="reservations_are_optional"),
    pytest.param(_app(memoryReservation=512, cpuShares=205), [], id="reservation_equal_to_limit_passes_share_rounding"),
    pytest.param(
        _app(cpus="0.2", cpuShares=206),
        ["container app: cpuShares 206 reserve more than the 0.2 vCPU limit (205 shares)"],
        id="one_whole_share_over_the_limit",
    ),
    pytest.param(_app(cpus="0.1", cpuShares=103), [], id="reservation_equal_to_limit_rounds_up_below_half_a_share"),
    pytest.param(
        _app(cpus="0.1", cpuShares=104),
        ["container app: cpuShares 104 reserve more than the 0.1 vCPU limit (103 shares)"],
        id="one_whole_share_over_a_limit_rounded_up",
    ),
    pytest.param(_app(memory=None), ["container app: no memory limit; set memory (MiB) > 0"], id="memory_missing"),
    pytest.param(
        _app(memory="lots"),
        ["container app: memory limit 'lots' is not a number of MiB > 0"],
        id="memory_not_a_number",
    ),
    pytest.param(
        _app(memory=-512, memoryReservation=256),
        ["container app: memory limit -512 is not a number of MiB > 0"],
        id="memory_negative_is_not_a_limit_and_bounds_nothing",
    ),
    pytest.param(
        _app(name=None, memory=None),
        ["container vps1-app: no memory limit; set memory (MiB) > 0"],
        id="unnamed_container_is_named_by_its_resource",
    ),
    pytest.param(
        _app(memory=0), ["container app: memory limit 0 is not a number of MiB > 0"], id="memory_zero_is_unbounded"
    ),
    pytest.param(_app(cpus=None), ["container app: no CPU limit; set cpus > 0"], id="cpus_missing"),
    pytest.param(
        _app(cpus="0"), ["container app: CPU limit 0 is not a number of vCPU > 0"], id="cpus_zero_is_unbounded"
    ),
    pytest.param(
        _app(cpus="fast"), ["container app: CPU limit 'fast' is not a number of vCPU > 0"], id="cpus_not_a_decimal"
    ),
    pytest.param(
        _app(memory=1000, memoryReservation=2000),
        ["container app: memory reservation 2000 MiB exceeds the 1000 MiB limit"],
        id="round_numbers_in_plain_notation",
    ),
    pytest.param(
        _app(memory=1, memoryReservation=None),
        [],
        id="any_positive_memory_is_a_limit_dockers_minimum_is_configs_rule",
    ),
    pytest.param(
        _app(memory=512, memoryReservation=1024),
        ["container app: memory reservation 1024 MiB exceeds the 512 MiB limit"],
        id="memory_reservation_above_limit",
    ),
    pytest.param(
        _app(cpus="0.2", cpuShares=512),
        ["container app: cpuShares 512 reserve more than the 0.2 vCPU limit (205 shares)"],
        id="cpu_shares_above_cpu_limit",
    ),
    pytest.param(
        _app(memory=None, cpus=None, memoryReservation=1024),
        ["container app: no CPU limit; set cpus > 0", "container app: no memory limit; set memory (MiB) > 0"],
        id="nothing_bounded_reports_each_limit",
    ),
    pytest.param(_app(memory=UNKNOWN, cpus=UNKNOWN), [], id="unknown_during_preview_is_skipped"),
    pytest.param(on_host("vps1", remote_image("vps1", "app", "app:1")), [], id="not_applicable_to_images"),
    pytest.param(_app(memory=512, memorySwap=512), [], id="swap_equal_to_memory_means_no_swap"),
    pytest.param(
        _app(memory=512, memorySwap=None),
        [
            "container app: no memorySwap; Docker then allows 512 MiB of swap on top of the 512 MiB limit; set memorySwap 512"
        ],
        id="swap_unset_doubles_the_limit",
    ),
    pytest.param(
        _app(memory=512, memorySwap=-1),
        ["container app: memorySwap -1 leaves swap unbounded; set memorySwap 512"],
        id="swap_minus_one_is_unbounded",
    ),
    pytest.param(
        _app(memory=512, memorySwap=1024),
        [
            "container app: memorySwap 1024 MiB lets it swap 512 MiB beyond the 512 MiB limit; "
            "allow it in allowSwap or set memorySwap 512"
        ],
        id="swap_above_limit_not_allowed",
    ),
    pytest.param(
        _app(memory=512, memorySwap=0),
        [
            "container app: memorySwap 0 is not sent; Docker then allows 512 MiB of swap on top of the 512 MiB limit; "
            "set memorySwap 512"
        ],
        id="swap_zero_is_the_providers_unset",
    ),
    pytest.param(
        _app(memory=512, memorySwap="none"),
        ["container app: memorySwap 'none' leaves swap unbounded; set memorySwap 512"],
        id="swap_not_a_number_bounds_nothing",
    ),
    pytest.param(_app(memory=512, memorySwap=UNKNOWN), [], id="swap_unknown_during_preview_is_skipped"),
    pytest.param(
        _app(memory=UNKNOWN, memorySwap=None, memoryReservation=8192), [], id="memory_unknown_skips_what_it_bounds"
    ),
    pytest.param(_app(cpus=UNKNOWN, cpuShares=8192), [], id="cpus_unknown_skips_the_share_check"),
]


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_container_limits(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(container_limits.policy, resources, {}) == sorted(expected)


ALLOWED = {"allowSwap": {"app": "a batch job that may page out its cold heap"}}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(_app(memory=512, memorySwap=1024), [], id="swap_allowed_by_name"),
        pytest.param(
            on_host("vps1", container("vps1", "other", memory=512, memorySwap=1024)),
            [
                "container other: memorySwap 1024 MiB lets it swap 512 MiB beyond the 512 MiB limit; "
                "allow it in allowSwap or set memorySwap 512"
            ],
            id="allowance_is_per_container",
        ),
        pytest.param(
            on_host(
                "vps1",
                container(
                    "vps1",
                    "app",
                    memory=512,
                    memorySwap=1024,
                    labels=[{"label": "ziggie.service", "value": "batch"}],
                ),
            ),
            [],
            id="allowance_by_docker_name_whatever_the_service",
        ),
        pytest.param(
            on_host(
                "vps1",
                container(
                    "vps1",
                    "app-vps1",
                    memory=512,
                    memorySwap=1024,
                    labels=[{"label": "ziggie.service", "value": "app"}],
                ),
            ),
            [],
            id="allowance_by_service_covers_per_host_copies",
        ),
    ],
)
def test_container_limits_allow_swap(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(container_limits.policy, resources, ALLOWED) == sorted(expected)
