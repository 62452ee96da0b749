"""no-privileged: privileged mode, host networking and the Docker socket only where allowed."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import UNKNOWN, container, on_host, remote_image
from ziggie_policies import no_privileged

from preflight.records import RecordedResource

ALLOWED = {"allowed": {"cadvisor": "reads cgroups", "portainer": "manages containers", "watchtower": "updates"}}
SOCKET_MOUNT = {"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock", "readOnly": True}
TAIL = "; only containers allowed by name with a reason may"


def _svc(service: str, **inputs: Any) -> list[RecordedResource]:
    return on_host("vps1", container("vps1", service, **inputs))


CASES = [
    pytest.param(_svc("api"), {}, [], id="plain_container_passes"),
    pytest.param(
        _svc("api", mounts=[{"type": "bind", "source": "/var/log", "target": "/var/log"}]),
        {},
        [],
        id="other_bind_mounts_pass",
    ),
    pytest.param(_svc("api", privileged=True), {}, [f"container api: runs privileged{TAIL}"], id="privileged"),
    pytest.param(_svc("api", privileged=False), {}, [], id="privileged_false_passes"),
    pytest.param(
        _svc("api", networkMode="host"), {}, [f'container api: uses networkMode "host"{TAIL}'], id="host_network"
    ),
    pytest.param(_svc("api", networkMode="bridge"), {}, [], id="bridge_network_passes"),
    pytest.param(
        _svc("api", mounts=[{"type": "bind", "source": "/tmp", "target": "/t"}, SOCKET_MOUNT]),
        {},
        [f"container api: mounts the Docker socket /var/run/docker.sock (mounts[1]){TAIL}"],
        id="socket_bind_mount",
    ),
    pytest.param(
        _svc("api", mounts=[UNKNOWN, SOCKET_MOUNT]),
        {},
        [f"container api: mounts the Docker socket /var/run/docker.sock (mounts[1]){TAIL}"],
        id="socket_bind_mount_after_one_unknown_during_preview",
    ),
    pytest.param(
        _svc("api", volumes=[{"hostPath": "/run/docker.sock", "containerPath": "/var/run/docker.sock"}]),
        {},
        [f"container api: mounts the Docker socket /run/docker.sock (volumes[0]){TAIL}"],
        id="socket_host_path_volume",
    ),
    pytest.param(
        _svc("cadvisor", privileged=True, mounts=[SOCKET_MOUNT]),
        ALLOWED,
        [],
        id="seed_allows_cadvisor",
    ),
    pytest.param(_svc("portainer", mounts=[SOCKET_MOUNT]), ALLOWED, [], id="portainer_allowed_the_socket"),
    pytest.param(
        _svc("grafana", privileged=True, mounts=[SOCKET_MOUNT]),
        ALLOWED,
        [
            f"container grafana: mounts the Docker socket /var/run/docker.sock (mounts[0]){TAIL}",
            f"container grafana: runs privileged{TAIL}",
        ],
        id="allowance_is_by_name_only",
    ),
    pytest.param(
        _svc("api", volumes=[{"hostPath": "/mnt/nvme/ziggie/api", "containerPath": "/data"}]),
        {},
        [],
        id="other_host_path_volumes_pass",
    ),
    pytest.param(
        _svc("api", volumes=["/var/run/docker.sock:/var/run/docker.sock"], mounts=["/run/docker.sock"]),
        {},
        [],
        id="entries_that_are_not_objects_mount_nothing",
    ),
    pytest.param(
        _svc("api", name=None, privileged=True),
        {},
        [f"container vps1-api: runs privileged{TAIL}"],
        id="unnamed_container_is_named_by_its_resource",
    ),
    pytest.param(
        _svc("cadvisor", labels=[{"label": "ziggie.service", "value": "metrics"}], privileged=True),
        ALLOWED,
        [],
        id="allowed_by_docker_name_whatever_the_service",
    ),
    pytest.param(
        _svc("cadvisor-vps2", labels=[{"label": "ziggie.service", "value": "cadvisor"}], privileged=True),
        ALLOWED,
        [],
        id="allowed_by_service_for_a_per_host_copy",
    ),
    pytest.param(on_host("vps1", remote_image("vps1", "app", "app:1")), {}, [], id="not_applicable_to_images"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_no_privileged(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(no_privileged.policy, resources, config) == sorted(expected)
