"""service-reachability: a need on a service that is missing, or on no shared network, is rejected."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_fixtures import (
    HOST_COMPONENT,
    HOSTS,
    STACK,
    UNKNOWN,
    container,
    host,
    on_host,
    provider,
    provider_ref,
    run_direct_located,
)
from ziggie_policies import service_reachability

from preflight.analyzer import PolicyPackSession
from preflight.records import RecordedResource

NETWORK = "docker:index/network:Network"


def network(host_name: str, driver: str, name: str = "ziggie-network") -> RecordedResource:
    """The network a host's component registers (bridge, or the swarm overlay on the manager)."""
    return RecordedResource(
        urn=f"urn:pulumi:{STACK}::ziggie-infra::{HOST_COMPONENT}${NETWORK}::{host_name}-network",
        type=NETWORK,
        name=f"{host_name}-network",
        parent=f"urn:pulumi:{STACK}::ziggie-infra::{HOST_COMPONENT}::{host_name}",
        provider=provider_ref(host_name),
        inputs={"name": name, "driver": driver},
    )


def svc(
    host_name: str, service: str, needs: str | None = None, *, host_label: bool = True, **inputs: Any
) -> RecordedResource:
    """A container of `service` on `host_name` needing `needs`; without `host_label`, placed by its provider."""
    labels = [{"label": "ziggie.service", "value": service}]
    if host_label:
        labels.append({"label": "ziggie.host", "value": host_name})
    if needs is not None:
        labels.append({"label": "ziggie.needs", "value": needs})
    return container(host_name, service, labels=labels, **inputs)


def _urn(host_name: str, service: str) -> str:
    return svc(host_name, service).urn


def two_hosts(driver: str, *containers: RecordedResource) -> list[RecordedResource]:
    """vps1 creates the network with `driver`; vps2 joins by name only (as a swarm worker does)."""
    vps1 = [c for c in containers if c.name.startswith("vps1-")]
    vps2 = [c for c in containers if c.name.startswith("vps2-")]
    return [*on_host("vps1", network("vps1", driver), *vps1), *on_host("vps2", *vps2)]


CASES = [
    pytest.param(
        two_hosts("overlay", svc("vps1", "open-webui", "ollama"), svc("vps2", "ollama")),
        {},
        [],
        id="pass_need_across_hosts_on_the_overlay",
    ),
    pytest.param(
        on_host(
            "vps1",
            network("vps1", "bridge"),
            svc("vps1", "grafana", "prometheus,loki"),
            svc("vps1", "loki"),
            svc("vps1", "prometheus"),
        ),
        {},
        [],
        id="pass_needs_on_one_host_bridge",
    ),
    pytest.param(
        two_hosts("bridge", svc("vps1", "open-webui", "ollama"), svc("vps2", "ollama")),
        {},
        [
            (
                "container open-webui needs ollama, but they share no network (open-webui on vps1 joins "
                "ziggie-network; ollama on vps2 joins ziggie-network); only an overlay network reaches across hosts",
                _urn("vps1", "open-webui"),
            )
        ],
        id="fail_same_bridge_name_on_two_hosts_is_two_networks",
    ),
    pytest.param(
        on_host(
            "vps1", network("vps1", "bridge"), svc("vps1", "ziggie-api", "postgres,mongodb"), svc("vps1", "postgres")
        ),
        {},
        [("container ziggie-api needs mongodb, which this stack does not deploy", _urn("vps1", "ziggie-api"))],
        id="fail_need_on_a_service_not_deployed",
    ),
    pytest.param(
        on_host(
            "vps1",
            network("vps1", "bridge"),
            svc("vps1", "grafana", "loki"),
            svc("vps1", "loki", networksAdvanced=[{"name": "logs", "aliases": ["loki"]}]),
        ),
        {},
        [
            (
                "container grafana needs loki, but they share no network (grafana on vps1 joins ziggie-network; "
                "loki on vps1 joins logs); only an overlay network reaches across hosts",
                _urn("vps1", "grafana"),
            )
        ],
        id="fail_needed_container_on_another_network",
    ),
    pytest.param(
        on_host("vps1", svc("vps1", "ziggie-api", "mongodb")),
        {"external": {"mongodb": "MongoDB Atlas, reached over TLS"}},
        [],
        id="pass_need_met_outside_the_stack",
    ),
    pytest.param(
        two_hosts(
            "overlay",
            svc("vps2", "promtail", "loki", name="promtail-vps2"),
            svc("vps1", "loki", networksAdvanced=[{"name": UNKNOWN}]),
        ),
        {},
        [],
        id="not_applicable_network_unknown_until_the_update",
    ),
    pytest.param(
        two_hosts(
            "bridge",
            svc("vps1", "open-webui", "ollama", host_label=False),
            svc("vps2", "ollama", host_label=False),
        ),
        {},
        [
            (
                f"container open-webui needs ollama, but they share no network (open-webui on {HOSTS['vps1']} joins "
                f"ziggie-network; ollama on {HOSTS['vps2']} joins ziggie-network); only an overlay network reaches "
                "across hosts",
                _urn("vps1", "open-webui"),
            )
        ],
        id="fail_host_named_by_its_provider_without_a_host_label",
    ),
    pytest.param(
        [
            host("vps1"),
            provider("vps1", ""),
            svc("vps1", "grafana", "loki", host_label=False),
            svc("vps1", "loki", host_label=False, networksAdvanced=[{"name": "logs"}]),
        ],
        {},
        [
            (
                "container grafana needs loki, but they share no network (grafana on (default docker provider) joins "
                "ziggie-network; loki on (default docker provider) joins logs); only an overlay network reaches "
                "across hosts",
                _urn("vps1", "grafana"),
            )
        ],
        id="fail_provider_without_a_host_is_the_default_daemon",
    ),
    pytest.param(
        [
            dataclasses.replace(svc("vps1", "grafana", "loki", host_label=False), provider=None),
            dataclasses.replace(
                svc("vps1", "loki", host_label=False, networksAdvanced=[{"name": "logs"}, {"name": "metrics"}]),
                provider=None,
            ),
        ],
        {},
        [
            (
                "container grafana needs loki, but they share no network (grafana on (default docker provider) joins "
                "ziggie-network; loki on (default docker provider) joins logs, metrics); only an overlay network "
                "reaches across hosts",
                _urn("vps1", "grafana"),
            )
        ],
        id="fail_default_provider_and_two_networks_named",
    ),
    pytest.param(
        two_hosts(
            "bridge",
            svc("vps1", "open-webui", "ollama", networksAdvanced=[]),
            svc("vps2", "ollama", name="ollama-a"),
            svc("vps2", "ollama", name="ollama-b"),
        ),
        {},
        [
            (
                "container open-webui needs ollama, but they share no network (open-webui on vps1 joins no network; "
                "ollama-a on vps2 joins ziggie-network; ollama-b on vps2 joins ziggie-network); only an overlay "
                "network reaches across hosts",
                _urn("vps1", "open-webui"),
            )
        ],
        id="fail_no_network_joined_and_every_copy_named",
    ),
    pytest.param(
        two_hosts("overlay", svc("vps1", "open-webui", "ollama"), svc("vps2", "ollama", name="ollama-b")),
        {},
        [],
        id="pass_copy_named_apart_still_runs_the_service",
    ),
    pytest.param(
        on_host("vps1", network("vps1", "bridge"), svc("vps1", "grafana", "loki,,"), svc("vps1", "loki")),
        {},
        [],
        id="pass_empty_items_of_the_needs_label_are_no_need",
    ),
    pytest.param(
        on_host(
            "vps1",
            network("vps1", "bridge"),
            svc("vps1", "grafana", "loki", networksAdvanced=[{"name": UNKNOWN}]),
            svc("vps1", "loki", networksAdvanced=[{"name": "logs"}]),
        ),
        {},
        [],
        id="not_applicable_needing_container_network_unknown",
    ),
    pytest.param(
        on_host(
            "vps1",
            network("vps1", "bridge"),
            svc("vps1", "grafana", "loki", networksAdvanced=["ziggie-network"]),
            svc("vps1", "loki", networksAdvanced=[{"name": "logs"}]),
        ),
        {},
        [],
        id="not_applicable_network_entry_not_an_object",
    ),
    pytest.param(
        on_host("vps1", network("vps1", "bridge"), svc("vps1", "ziggie-api", "mongodb,redis,postgres")),
        {"external": {"mongodb": "MongoDB Atlas, reached over TLS"}},
        [
            ("container ziggie-api needs redis, which this stack does not deploy", _urn("vps1", "ziggie-api")),
            ("container ziggie-api needs postgres, which this stack does not deploy", _urn("vps1", "ziggie-api")),
        ],
        id="fail_each_need_after_an_external_one_and_a_missing_one",
    ),
    pytest.param(
        on_host(
            "vps1",
            network("vps1", "bridge"),
            svc("vps1", "grafana", "loki,prometheus"),
            svc("vps1", "loki", networksAdvanced=[{"name": UNKNOWN}]),
            svc("vps1", "prometheus", networksAdvanced=[{"name": "metrics"}]),
        ),
        {},
        [
            (
                "container grafana needs prometheus, but they share no network (grafana on vps1 joins "
                "ziggie-network; prometheus on vps1 joins metrics); only an overlay network reaches across hosts",
                _urn("vps1", "grafana"),
            )
        ],
        id="fail_need_after_one_not_known_until_the_update",
    ),
    pytest.param(
        on_host(
            "vps1",
            network("vps1", "bridge"),
            svc("vps1", "grafana", "vps1-loki", name=None),
            container("vps1", "loki", name=None, labels=[], networksAdvanced=[{"name": "logs"}]),
        ),
        {},
        [
            (
                "container vps1-grafana needs vps1-loki, but they share no network (vps1-grafana on vps1 joins "
                f"ziggie-network; vps1-loki on {HOSTS['vps1']} joins logs); only an overlay network reaches "
                "across hosts",
                _urn("vps1", "grafana"),
            )
        ],
        id="fail_unnamed_unlabelled_container_is_its_resource_name",
    ),
    pytest.param(on_host("vps1", svc("vps1", "redis")), {}, [], id="not_applicable_without_needs"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_service_reachability(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert run(service_reachability.policy, resources, config) == sorted(message for message, _ in expected)


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_each_violation_is_located_on_the_needing_container(
    resources: list[RecordedResource], config: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert run_direct_located(service_reachability.policy, resources, config) == sorted(expected)


def test_missing_and_unreachable_needs_fail_through_the_analyzer(
    pack_session: PolicyPackSession, tmp_path: Any
) -> None:
    resources = [
        *two_hosts("bridge", svc("vps1", "open-webui", "ollama"), svc("vps2", "ollama")),
        *on_host("vps1", svc("vps1", "grafana", "prometheus")),
    ]
    config = tmp_path / "prod.json"
    config.write_text("{}", encoding="utf-8")
    pack_session.configure(config)
    found = [v for v in pack_session.analyze_stack(resources) if v.policy == "service-reachability"]
    assert sorted((v.urn, v.enforcement, v.message) for v in found) == sorted(
        [
            (
                _urn("vps1", "grafana"),
                "mandatory",
                "container grafana needs prometheus, which this stack does not deploy",
            ),
            (
                _urn("vps1", "open-webui"),
                "mandatory",
                "container open-webui needs ollama, but they share no network (open-webui on vps1 joins "
                "ziggie-network; ollama on vps2 joins ziggie-network); only an overlay network reaches across hosts",
            ),
        ]
    )
