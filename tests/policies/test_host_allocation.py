"""host-allocation: per-host sums of limits and reservations against the configured pools."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_fixtures import (
    HOSTS,
    UNKNOWN,
    container,
    host,
    on_host,
    provider,
    run_direct,
    run_direct_located,
    seed_containers,
)
from ziggie_policies import host_allocation
from ziggie_policies._support import PolicyConfigError

from preflight.analyzer import PolicyPackSession
from preflight.records import RecordedResource

KVM4 = {"memoryGiB": 16, "cpus": 4, "reserveMemoryGiB": 2, "reserveCpus": 0.5}
VPS1 = f"host vps1 ({HOSTS['vps1']})"
MEMORY_POOL = "the 14.00 GiB pool (16.00 GiB - 2.00 GiB reserve)"
CPU_POOL = "the 3.50 vCPU pool (4.00 vCPU - 0.50 vCPU reserve)"
SEED_MEMORY = (
    f"memory limits 16.25 GiB exceed {MEMORY_POOL}; largest: ollama 4.00 GiB, postgres 3.00 GiB, ziggie-api 2.00 GiB"
)
SEED_CPU = (
    f"CPU limits 5.20 vCPU exceed 3.50 vCPU, {CPU_POOL} x 1.00 overcommit; "
    "largest: ziggie-api 1.00 vCPU, mcp-gateway 0.80 vCPU, ollama 0.80 vCPU"
)
PROD_CONFIG = {"hosts": {"vps1": {"dockerHost": HOSTS["vps1"], **KVM4}, "vps2": {"dockerHost": HOSTS["vps2"], **KVM4}}}

# The seed's own answer: ollama, n8n and flowise move to a second host.
SECOND_HOST = {"ollama", "n8n", "flowise"}


def _split_seed() -> list[RecordedResource]:
    seed1 = [c for c in seed_containers("vps1") if c.inputs["name"] not in SECOND_HOST]
    seed2 = [c for c in seed_containers("vps2") if c.inputs["name"] in SECOND_HOST]
    return [*on_host("vps1", *seed1), *on_host("vps2", *seed2)]


def _default_provider(resource: RecordedResource) -> RecordedResource:
    return dataclasses.replace(resource, provider=None)


# Half the seed on each of two providers that reach one daemon: 8.50 + 7.75 GiB of limits.
ALIASED_MEMORY = (
    f"memory limits 16.25 GiB exceed {MEMORY_POOL}; largest: ollama 4.00 GiB, postgres 3.00 GiB, ziggie-api 2.00 GiB"
)
ALIASED_CPU = SEED_CPU


def _aliased(first: tuple[str, str], second: tuple[str, str]) -> list[RecordedResource]:
    """The seed split over two providers with the given host addresses."""
    (name1, url1), (name2, url2) = first, second
    seed1 = [c for c in seed_containers(name1) if c.inputs["name"] not in SECOND_HOST]
    seed2 = [c for c in seed_containers(name2) if c.inputs["name"] in SECOND_HOST]
    return [host(name1), provider(name1, url1), *seed1, host(name2), provider(name2, url2), *seed2]


CASES = [
    pytest.param(
        on_host("vps1", *seed_containers("vps1")),
        PROD_CONFIG,
        [f"{VPS1}: {SEED_MEMORY}", f"{VPS1}: {SEED_CPU}"],
        id="seed_11_services_overflow_one_kvm4",
    ),
    pytest.param(
        [host("vps9"), provider("vps9", "ssh://root@192.0.2.9"), *seed_containers("vps9")],
        {},
        [f"host ssh://root@192.0.2.9: {SEED_MEMORY}", f"host ssh://root@192.0.2.9: {SEED_CPU}"],
        id="unlisted_host_gets_default_pool_named_by_url",
    ),
    pytest.param(
        _split_seed(),
        PROD_CONFIG,
        [
            (
                f"{VPS1}: CPU limits 3.70 vCPU exceed 3.50 vCPU, {CPU_POOL} x 1.00 overcommit; "
                "largest: ziggie-api 1.00 vCPU, mcp-gateway 0.80 vCPU, postgres 0.80 vCPU"
            )
        ],
        id="split_seed_cpu_limits_over_pool_without_overcommit",
    ),
    pytest.param(
        _split_seed(), {**PROD_CONFIG, "cpuOvercommit": 1.3}, [], id="cpu_overcommit_admits_limits_as_ceilings"
    ),
    pytest.param(
        _split_seed(),
        {**PROD_CONFIG, "cpuOvercommit": 1.05},
        [
            (
                f"{VPS1}: CPU limits 3.70 vCPU exceed 3.68 vCPU, {CPU_POOL} x 1.05 overcommit; "
                "largest: ziggie-api 1.00 vCPU, mcp-gateway 0.80 vCPU, postgres 0.80 vCPU"
            )
        ],
        id="cpu_limits_over_the_overcommitted_pool",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "a", memory=512, memoryReservation=15360)),
        PROD_CONFIG,
        [f"{VPS1}: memory reservations 15.00 GiB exceed {MEMORY_POOL}; largest: a 15.00 GiB"],
        id="memory_reservations_over_pool",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "a", cpus="0.5", cpuShares=4096), container("vps1", "b", cpuShares=103)),
        PROD_CONFIG,
        [f"{VPS1}: CPU reservations 4.11 vCPU exceed {CPU_POOL}; largest: a 4.00 vCPU, b 0.10 vCPU"],
        id="cpu_reservations_from_shares_over_pool_sum_rounded_up",
    ),
    pytest.param(
        [*on_host("vps1"), *(_default_provider(c) for c in seed_containers("vps1"))],
        {},
        [f"host (default docker provider): {SEED_MEMORY}", f"host (default docker provider): {SEED_CPU}"],
        id="default_provider_gets_default_pool",
    ),
    pytest.param(
        [host("vps1"), provider("vps1", UNKNOWN), *seed_containers("vps1")],
        PROD_CONFIG,
        [],
        id="host_unknown_during_preview_is_skipped",
    ),
    pytest.param(on_host("vps1", *seed_containers("vps1")[:3]), PROD_CONFIG, [], id="three_services_fit"),
    pytest.param(
        [
            *on_host("vps1", container("vps1", "agent-vps1", memory=8192, memoryReservation=None, cpuShares=None)),
            *on_host("vps2", container("vps2", "agent-vps2", memory=8192, memoryReservation=None, cpuShares=None)),
        ],
        PROD_CONFIG,
        [],
        id="per_host_copies_count_once_on_each_host",
    ),
    pytest.param(
        on_host(
            "vps1",
            container("vps1", "agent-vps1", memory=8192, memoryReservation=None, cpuShares=None),
            container("vps1", "agent-vps2", memory=8192, memoryReservation=None, cpuShares=None),
        ),
        PROD_CONFIG,
        [f"{VPS1}: memory limits 16.00 GiB exceed {MEMORY_POOL}; largest: agent-vps1 8.00 GiB, agent-vps2 8.00 GiB"],
        id="two_copies_on_one_host_both_count_there",
    ),
    pytest.param(
        _aliased(("vps1", "ssh://deploy@203.0.113.10:22"), ("vps1b", "ssh://DEPLOY@203.0.113.10")),
        PROD_CONFIG,
        [
            f"{VPS1}, also written ssh://deploy@203.0.113.10:22, ssh://DEPLOY@203.0.113.10: {ALIASED_MEMORY}",
            f"{VPS1}, also written ssh://deploy@203.0.113.10:22, ssh://DEPLOY@203.0.113.10: {ALIASED_CPU}",
        ],
        id="one_daemon_by_port_and_user_case_is_one_host",
    ),
    pytest.param(
        _aliased(("vps1", "SSH://root@203.0.113.10/"), ("vps1b", "ssh://deploy@203.0.113.10")),
        PROD_CONFIG,
        [
            f"{VPS1}, also written SSH://root@203.0.113.10/: {ALIASED_MEMORY}",
            f"{VPS1}, also written SSH://root@203.0.113.10/: {ALIASED_CPU}",
        ],
        id="scheme_case_user_and_trailing_slash_are_one_host",
    ),
    pytest.param(
        _aliased(("vps1", "ssh://deploy@203.0.113.10:2222"), ("vps1b", "ssh://deploy@203.0.113.10")),
        {**PROD_CONFIG, "cpuOvercommit": 1.3},
        [],
        id="another_port_is_another_daemon",
    ),
    pytest.param(
        _aliased(("vps9", "ssh://root@192.0.2.9"), ("vps9b", "ssh://root@192.0.2.9:22")),
        {},
        [
            f"host ssh://root@192.0.2.9, also written ssh://root@192.0.2.9:22: {ALIASED_MEMORY}",
            f"host ssh://root@192.0.2.9, also written ssh://root@192.0.2.9:22: {ALIASED_CPU}",
        ],
        id="unlisted_aliases_share_the_default_pool",
    ),
    pytest.param(
        on_host(
            "vps1",
            container("vps1", "a", memory=14336, memoryReservation=14336, cpus="3.5", cpuShares=3584),
            container("vps1", "b", memory=None, memoryReservation=None, cpus=None, cpuShares=None),
            container("vps1", "c", memory=0, memoryReservation=0, cpus="0", cpuShares=0),
            container("vps1", "d", memory=-512, memoryReservation=-256, cpus="-1", cpuShares=-2, memorySwap=512),
            container("vps1", "e", memory="lots", memoryReservation="some", cpus="fast", cpuShares="many"),
        ),
        PROD_CONFIG,
        [],
        id="exactly_the_pool_fits_and_missing_zero_negative_or_bad_amounts_claim_nothing",
    ),
    pytest.param(
        [host("vps1"), provider("vps1", UNKNOWN), *seed_containers("vps1"), *on_host("vps2", *seed_containers("vps2"))],
        PROD_CONFIG,
        [f"host vps2 ({HOSTS['vps2']}): {SEED_MEMORY}", f"host vps2 ({HOSTS['vps2']}): {SEED_CPU}"],
        id="hosts_after_one_unknown_during_preview_are_checked",
    ),
    pytest.param(
        on_host(
            "vps1",
            container("vps1", "a", memory=512, memoryReservation=15360),
            container("vps1", "b", name=None, memoryReservation=1024),
            container("vps1", "c", memoryReservation=None),
        ),
        PROD_CONFIG,
        [f"{VPS1}: memory reservations 16.00 GiB exceed {MEMORY_POOL}; largest: a 15.00 GiB, vps1-b 1.00 GiB"],
        id="largest_names_unnamed_containers_by_resource_and_leaves_out_those_claiming_nothing",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "a", memory=512, memoryReservation=256, cpus="0.5", cpuShares=512)),
        {
            "hosts": {
                "vps1": {
                    "dockerHost": HOSTS["vps1"],
                    "memoryGiB": 1,
                    "cpus": 1,
                    "reserveMemoryGiB": 0.5,
                    "reserveCpus": 0.5,
                }
            }
        },
        [],
        id="pool_under_one_gib_and_one_vcpu_still_a_pool",
    ),
    pytest.param(on_host("vps1"), PROD_CONFIG, [], id="not_applicable_without_containers"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_host_allocation(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(host_allocation.policy, resources, config) == sorted(expected)


def test_seed_violation_is_located_on_the_host_provider(pack_session: PolicyPackSession, tmp_path: Any) -> None:
    config = tmp_path / "prod.json"
    config.write_text('{"host-allocation": {"cpuOvercommit": 1.0}}', encoding="utf-8")
    pack_session.configure(config)
    violations = [
        v
        for v in pack_session.analyze_stack(on_host("vps1", *seed_containers("vps1")))
        if v.policy == "host-allocation"
    ]
    assert {(v.urn, v.enforcement) for v in violations} == {(provider("vps1").urn, "mandatory")}, violations
    # Not listed in this config, vps1 is named by its URL and gets the KVM 4 default pool.
    assert sorted(v.message for v in violations) == [
        f"host {HOSTS['vps1']}: {SEED_CPU}",
        f"host {HOSTS['vps1']}: {SEED_MEMORY}",
    ]


@pytest.mark.parametrize(
    ("written", "daemon"),
    [
        pytest.param("ssh://deploy@203.0.113.10", "ssh://203.0.113.10:22", id="ssh_port_defaults_to_22"),
        pytest.param("SSH://Deploy@VPS1.Example:22/", "ssh://vps1.example:22", id="case_user_and_slash_dropped"),
        pytest.param("ssh://deploy@[2001:DB8::1]:2222", "ssh://[2001:db8::1]:2222", id="ipv6_keeps_brackets"),
        pytest.param("tcp://10.0.0.5:2376", "tcp://10.0.0.5:2376", id="tcp_keeps_its_port"),
        pytest.param("tcp://10.0.0.5", "tcp://10.0.0.5", id="tcp_port_not_guessed"),
        pytest.param("unix:////var/run/./docker.sock", "unix:///var/run/docker.sock", id="unix_path_normalised"),
        pytest.param(" unix:///var/run/docker.sock/ ", "unix:///var/run/docker.sock", id="unix_trailing_slash"),
        pytest.param("ssh://host:port", "ssh://host:port", id="unparseable_port_compared_as_written"),
        pytest.param("vps1", "vps1", id="no_scheme_compared_as_written"),
        pytest.param("//203.0.113.10", "//203.0.113.10", id="host_without_scheme_compared_as_written"),
        pytest.param("ssh://", "ssh://", id="scheme_without_host_compared_as_written"),
        pytest.param("unix://", "unix:///", id="unix_without_path_is_the_root"),
    ],
)
def test_daemon_address(written: str, daemon: str) -> None:
    assert host_allocation.daemon_address(written) == daemon


def test_two_config_hosts_on_one_daemon_are_refused() -> None:
    config = {
        "hosts": {
            "vps1": {"dockerHost": "ssh://deploy@203.0.113.10", **KVM4},
            "vps1b": {"dockerHost": "ssh://root@203.0.113.10:22", **KVM4},
        }
    }
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(host_allocation.policy, on_host("vps1", *seed_containers("vps1")), config)
    assert str(caught.value) == (
        "policy host-allocation: hosts vps1 and vps1b have the same daemon ssh://203.0.113.10:22 "
        "(dockerHost ssh://root@203.0.113.10:22)"
    )


def test_violations_are_located_on_the_host_provider_or_the_first_container() -> None:
    resources = [
        *on_host("vps1", *seed_containers("vps1")),
        *(_default_provider(c) for c in seed_containers("vps2")),
    ]
    located = run_direct_located(host_allocation.policy, resources, PROD_CONFIG)
    first_on_default = min(c.urn for c in seed_containers("vps2"))
    assert sorted((message.partition(": ")[0], urn) for message, urn in located) == [
        ("host (default docker provider)", first_on_default),
        ("host (default docker provider)", first_on_default),
        (VPS1, provider("vps1").urn),
        (VPS1, provider("vps1").urn),
    ]


POOL_CASES = [
    pytest.param(
        {**KVM4, "reserveMemoryGiB": 16},
        "policy host-allocation: host vps1 (ssh://deploy@203.0.113.10): the OS reserve leaves no pool",
        id="memory_reserve_equal_to_memory",
    ),
    pytest.param(
        {**KVM4, "reserveCpus": 4},
        "policy host-allocation: host vps1 (ssh://deploy@203.0.113.10): the OS reserve leaves no pool",
        id="cpu_reserve_equal_to_cpus",
    ),
    *(
        pytest.param(
            {**KVM4, key: "big"},
            f"policy host-allocation: host vps1 (ssh://deploy@203.0.113.10): {key} 'big' is not a number",
            id=f"{key}_not_a_number",
        )
        for key in ("memoryGiB", "reserveMemoryGiB", "cpus", "reserveCpus")
    ),
]


@pytest.mark.parametrize(("capacity", "error"), POOL_CASES)
def test_a_host_without_a_pool_is_a_config_error(capacity: dict[str, Any], error: str) -> None:
    config = {"hosts": {"vps1": {"dockerHost": HOSTS["vps1"], **capacity}}}
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(host_allocation.policy, on_host("vps1", *seed_containers("vps1")), config)
    assert str(caught.value) == error


def test_overcommit_not_a_number_is_a_config_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(host_allocation.policy, on_host("vps1", *seed_containers("vps1")), {"cpuOvercommit": "lots"})
    assert str(caught.value) == "policy host-allocation: cpuOvercommit 'lots' is not a number"
