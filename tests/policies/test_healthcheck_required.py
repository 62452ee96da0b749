"""healthcheck-required: every container has a real health check unless exempt with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import UNKNOWN, container, on_host, remote_image
from ziggie_policies import healthcheck_required

from preflight.records import RecordedResource

SEED_EXEMPT = {"exempt": {"watchtower": "nothing to probe", "certbot": "a renewal loop"}}


def _svc(service: str, **inputs: Any) -> list[RecordedResource]:
    return on_host("vps1", container("vps1", service, **inputs))


CASES = [
    pytest.param(_svc("postgres"), {}, [], id="checked_container_passes"),
    pytest.param(
        _svc("postgres", healthcheck=None),
        {},
        ["container postgres: no healthcheck; add one or exempt the container with a reason"],
        id="missing_healthcheck",
    ),
    pytest.param(
        _svc("postgres", healthcheck={"tests": [], "interval": "10s"}),
        {},
        ["container postgres: healthcheck has no tests"],
        id="empty_tests",
    ),
    pytest.param(
        _svc("postgres", healthcheck={"interval": "10s"}),
        {},
        ["container postgres: healthcheck has no tests"],
        id="tests_missing",
    ),
    pytest.param(
        _svc("postgres", healthcheck={"tests": ["NONE"]}),
        {},
        ['container postgres: healthcheck is disabled (tests ["NONE"])'],
        id="none_disables_the_image_check",
    ),
    pytest.param(_svc("watchtower", healthcheck=None), SEED_EXEMPT, [], id="seed_exempts_watchtower"),
    pytest.param(_svc("certbot", healthcheck=None), SEED_EXEMPT, [], id="seed_exempts_certbot"),
    pytest.param(
        _svc("watchtower", healthcheck=None),
        {},
        ["container watchtower: no healthcheck; add one or exempt the container with a reason"],
        id="exemption_comes_only_from_config",
    ),
    pytest.param(
        _svc("postgres", healthcheck=["CMD", "true"]),
        {},
        ["container postgres: healthcheck has no tests"],
        id="healthcheck_not_an_object_has_no_tests",
    ),
    pytest.param(
        _svc("postgres", name=None, healthcheck=None),
        {},
        ["container vps1-postgres: no healthcheck; add one or exempt the container with a reason"],
        id="unnamed_container_is_named_by_its_resource",
    ),
    pytest.param(
        _svc("watchtower", name=None, healthcheck=None),
        {"exempt": {"vps1-watchtower": "nothing to probe"}},
        [],
        id="unnamed_container_exempted_by_its_resource_name",
    ),
    pytest.param(_svc("postgres", healthcheck=UNKNOWN), {}, [], id="unknown_during_preview_is_skipped"),
    pytest.param(
        _svc("postgres", healthcheck={"tests": UNKNOWN}), {}, [], id="tests_unknown_during_preview_are_skipped"
    ),
    pytest.param(on_host("vps1", remote_image("vps1", "app", "app:1")), {}, [], id="not_applicable_to_images"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_healthcheck_required(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(healthcheck_required.policy, resources, config) == sorted(expected)
