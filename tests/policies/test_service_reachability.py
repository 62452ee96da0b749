"""service-reachability: a need on a service that is missing, or on no shared network, is rejected."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import HOST_COMPONENT, STACK, UNKNOWN, container, on_host, provider_ref
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


def svc(host_name: str, service: str, needs: str | None = None, **inputs: Any) -> RecordedResource:
    labels = [{"label": "ziggie.service", "value": service}, {"label": "ziggie.host", "value": host_name}]
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
    pytest.param(on_host("vps1", svc("vps1", "redis")), {}, [], id="not_applicable_without_needs"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_service_reachability(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert run(service_reachability.policy, resources, config) == sorted(message for message, _ in expected)


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
