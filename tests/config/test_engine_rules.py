"""What the Docker daemon, the kernel and the host's safety refuse, refused at config time.

Each case is one rule, with the exact problem line the loader prints; the passing cases sit at
the boundary the rule draws (6M, 1ms, a full environment string, another address or protocol).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_loader import SOURCE, chain, good_stack, line, load, problem_lines, with_host, with_key, with_service

from config.images import ImageRef
from config.loader import ConfigError
from config.models import MAX_ENV_STRING, ULIMIT_NAMES, host_access_of

PG_VOLUME = {
    "name": "postgres-data",
    "target": "/var/lib/postgresql/data",
    "bindPath": "/mnt/nvme/ziggie/postgres",
    "owner": "70:70",
}
NGINX_PORTS = [
    {"internal": 80, "external": 80, "ip": "0.0.0.0"},
    {"internal": 443, "external": 443, "ip": "0.0.0.0"},
]
NGINX_MOUNT = {"source": "/etc/letsencrypt", "target": "/etc/letsencrypt", "owner": "0:0"}
SOCKET_HINT = "binds the Docker socket; only a service with hostAccess.dockerSocket may"
# NAME=value plus the terminating NUL, exactly Linux's MAX_ARG_STRLEN.
FULL_VALUE = "x" * (MAX_ENV_STRING - len("NODE_OPTIONS=") - 1)


def _grafana_mount(source: str) -> Callable[[dict[str, Any]], None]:
    return with_service("grafana", mounts=[{"source": source, "target": "/host"}])


ENGINE_REFUSES = [
    # --- Docker's minimums (moby daemon/daemon_unix.go, daemon/container.go) -----------------
    pytest.param(
        with_service("redis", memoryReservation="5M"),
        [line("services.redis.memoryReservation", "5M is below Docker's 6M minimum")],
        id="memory_reservation_under_6M",
    ),
    pytest.param(
        with_service(
            "redis", healthcheck={"test": ["CMD", "true"], "interval": "999us", "timeout": "999us", "retries": 1}
        ),
        [
            line("services.redis.healthcheck.interval", "999µs is below Docker's 1ms minimum"),
            line("services.redis.healthcheck.timeout", "999µs is below Docker's 1ms minimum"),
        ],
        id="healthcheck_interval_and_timeout_under_1ms",
    ),
    pytest.param(
        with_service(
            "redis",
            healthcheck={
                "test": ["CMD", "true"],
                "interval": "1s",
                "timeout": "1s",
                "retries": 1,
                "startPeriod": "1ns",
            },
        ),
        [line("services.redis.healthcheck.startPeriod", "1ns is below Docker's 1ms minimum")],
        id="healthcheck_start_period_under_1ms",
    ),
    # --- ulimit names (docker/go-units ulimit.go) --------------------------------------------
    pytest.param(
        with_service("postgres", ulimits={"foo": {"soft": 1, "hard": 1}, "as": {"soft": 1, "hard": 1}}),
        [
            line("services.postgres.ulimits.as", f"is not a ulimit Docker knows ({', '.join(sorted(ULIMIT_NAMES))})"),
            line("services.postgres.ulimits.foo", f"is not a ulimit Docker knows ({', '.join(sorted(ULIMIT_NAMES))})"),
        ],
        id="ulimit_names_docker_does_not_know_including_disabled_as",
    ),
    # --- environment strings ------------------------------------------------------------------
    pytest.param(
        with_service("mcp-gateway", env={"NODE_OPTIONS": "--max-old-space-size=1280\x00--inspect"}),
        [
            line(
                "services.mcp-gateway.env.NODE_OPTIONS",
                "contains a NUL character, which no process environment can hold",
            )
        ],
        id="env_value_with_nul",
    ),
    pytest.param(
        with_service("mcp-gateway", env={"NODE_OPTIONS": FULL_VALUE + "x"}),
        [
            line(
                "services.mcp-gateway.env.NODE_OPTIONS",
                f"`NODE_OPTIONS=...` is {MAX_ENV_STRING + 1} bytes; one environment string must fit Linux's "
                f"{MAX_ENV_STRING}-byte MAX_ARG_STRLEN or the container cannot start",
            )
        ],
        id="env_string_one_byte_over_max_arg_strlen",
    ),
    # --- what a host gives only once ----------------------------------------------------------
    pytest.param(
        with_service("grafana", ports=[{"internal": 3000, "external": 443}]),
        [
            line(
                "services.nginx.ports[1]",
                "0.0.0.0:443/tcp on host vps1 collides with services.grafana.ports[0] (127.0.0.1:443)",
            )
        ],
        id="any_address_collides_with_loopback_on_same_port",
    ),
    pytest.param(
        chain(
            with_service("grafana", ports=[{"internal": 3000, "external": 3000}]),
            with_service("n8n", ports=[{"internal": 5678, "external": 3000, "ip": "127.0.0.1"}]),
        ),
        [
            line(
                "services.n8n.ports[0]",
                "127.0.0.1:3000/tcp on host vps1 collides with services.grafana.ports[0] (127.0.0.1:3000)",
            )
        ],
        id="same_address_and_port_on_one_host",
    ),
    pytest.param(
        with_service("n8n", volumes=[{**PG_VOLUME, "name": "n8n-data", "bindPath": "//mnt/nvme/ziggie/./postgres/"}]),
        [
            line(
                "services.postgres.volumes[0].bindPath",
                "host directory /mnt/nvme/ziggie/postgres on host vps1 overlaps /mnt/nvme/ziggie/postgres, "
                "which n8n writes",
            )
        ],
        id="data_path_written_by_two_services_under_another_spelling",
    ),
    pytest.param(
        with_service(
            "mongodb",
            volumes=[
                {"name": "mongodb-data", "target": "/data/db", "bindPath": "/mnt/nvme/ziggie", "owner": "999:999"}
            ],
        ),
        [
            line(
                f"services.{name}.volumes[0].bindPath",
                f"host directory /mnt/nvme/ziggie/{name} on host vps1 overlaps /mnt/nvme/ziggie, which mongodb writes",
            )
            for name in ("n8n", "ollama", "postgres", "redis")
        ],
        id="data_path_inside_another_services_data_path",
    ),
    pytest.param(
        with_service("ollama", cpus="5"),
        [line("services.ollama.cpus", "5 exceeds the 4 CPUs of host vps1")],
        id="cpu_limit_above_the_hosts_cpus",
    ),
    pytest.param(
        chain(
            with_host("vps2", dockerHost="ssh://deploy@203.0.113.11", cpus="2", osReserveCpus="0.5"),
            with_key("defaultHost", "vps1"),
            with_service("node-exporter", cpus="3"),
        ),
        [line("services.node-exporter.cpus", "3 exceeds the 2 CPUs of host vps2")],
        id="every_host_copy_checked_against_each_hosts_cpus",
    ),
    # --- repeated list entries (command is exempt: `-c` repeats in postgres') ----------------
    pytest.param(
        with_service("grafana", needs=["prometheus", "loki", "prometheus"]),
        [line("services.grafana.needs[2]", "repeats needs[0]")],
        id="need_listed_twice",
    ),
    pytest.param(
        with_service("nginx", ports=[*NGINX_PORTS, NGINX_PORTS[0]]),
        [line("services.nginx.ports[2]", "repeats ports[0]")],
        id="port_listed_twice_is_not_also_a_collision",
    ),
    pytest.param(
        with_service("nginx", mounts=[NGINX_MOUNT, NGINX_MOUNT]),
        [line("services.nginx.mounts[1]", "repeats mounts[0]")],
        id="mount_listed_twice_is_not_also_a_reused_target",
    ),
    pytest.param(
        with_service("postgres", volumes=[PG_VOLUME, PG_VOLUME]),
        [line("services.postgres.volumes[1]", "repeats volumes[0]")],
        id="volume_listed_twice_is_not_also_a_reused_name",
    ),
    # --- the host's / and the Docker socket ---------------------------------------------------
    *[
        pytest.param(
            _grafana_mount(source),
            [line("services.grafana.mounts[0].source", f"{source} {SOCKET_HINT}")],
            id=f"socket_as_{label}",
        )
        for source, label in (
            ("/var/run/docker.sock", "var_run_docker_sock"),
            ("/run/docker.sock", "run_docker_sock"),
            ("/var/run", "var_run"),
            ("/run", "run"),
            ("/var", "var"),
            ("//var/run/docker.sock", "double_slash"),
            ("/var/run/./docker.sock", "dot_segment"),
            ("/var/lib/../run/docker.sock", "dot_dot_segment"),
        )
    ],
    pytest.param(
        with_service(
            "grafana", volumes=[{"name": "grafana-data", "target": "/host", "bindPath": "/run/", "owner": "0:0"}]
        ),
        [line("services.grafana.volumes[0].bindPath", f"/run/ {SOCKET_HINT}")],
        id="socket_as_volume_bind_path",
    ),
    pytest.param(
        _grafana_mount("/."),
        [line("services.grafana.mounts[0].source", "/. binds the host's /; only a service with hostAccess.root may")],
        id="root_mounted_without_grant",
    ),
    pytest.param(
        with_service("node-exporter", mounts=[{"source": "/", "target": "/host"}, {"source": "/run", "target": "/r"}]),
        [line("services.node-exporter.mounts[1].source", f"/run {SOCKET_HINT}")],
        id="grant_for_root_does_not_cover_the_socket",
    ),
    pytest.param(
        with_service("portainer", image="docker.io/someone/portainer-ce:2.23.0"),
        [
            line(
                "services.portainer.hostAccess.image",
                "the grant is for docker.io/portainer/portainer-ce, but the service runs docker.io/someone/portainer-ce",
            )
        ],
        id="grant_by_service_name_does_not_follow_another_image",
    ),
    pytest.param(
        with_service("node-exporter", mounts=[{"source": "/proc", "target": "/host/proc"}]),
        [line("services.node-exporter.hostAccess.root", "is granted but nothing binds it")],
        id="grant_nothing_uses",
    ),
    pytest.param(
        with_service("watchtower", hostAccess={"dockerSocket": None}),
        [
            line("services.watchtower.hostAccess", "grants nothing: set root or dockerSocket"),
        ],
        id="grant_of_nothing",
    ),
    pytest.param(
        with_service(
            "watchtower",
            hostAccess={"image": "containrrr/watchtower:1.7.1", "dockerSocket": True, "reason": "watches the images"},
        ),
        [
            line(
                "services.watchtower.hostAccess.image",
                "'containrrr/watchtower:1.7.1' is not an image repository (no tag or digest)",
            )
        ],
        id="grant_names_a_tag_not_a_repository",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), ENGINE_REFUSES)
def test_engine_rule_is_one_exact_problem(edit: Callable[[dict[str, Any]], None], expected: list[str]) -> None:
    stack = good_stack()
    edit(stack)
    # pytest.raises(ConfigError) lets any other exception through, and so fails the test.
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert caught.value.source == SOURCE
    assert sorted(problem_lines(caught.value)) == sorted(expected), str(caught.value)


ENGINE_ACCEPTS = [
    pytest.param(with_service("redis", memoryReservation="6M"), id="memory_reservation_exactly_6M"),
    pytest.param(
        with_service(
            "redis",
            healthcheck={
                "test": ["CMD", "true"],
                "interval": "1ms",
                "timeout": "1ms",
                "retries": 1,
                "startPeriod": "1ms",
            },
        ),
        id="healthcheck_durations_exactly_1ms",
    ),
    pytest.param(
        with_service("postgres", ulimits={name: {"soft": 1, "hard": 1} for name in ULIMIT_NAMES}),
        id="every_ulimit_name_docker_knows",
    ),
    pytest.param(with_service("mcp-gateway", env={"NODE_OPTIONS": FULL_VALUE}), id="env_string_exactly_max_arg_strlen"),
    pytest.param(
        chain(
            with_service("grafana", ports=[{"internal": 3000, "external": 3000}]),
            with_service("n8n", ports=[{"internal": 5678, "external": 3000, "ip": "127.0.0.2"}]),
            with_service("loki", ports=[{"internal": 3100, "external": 443, "protocol": "udp"}]),
        ),
        id="same_port_on_another_address_or_protocol",
    ),
    pytest.param(
        with_service("n8n", volumes=[{**PG_VOLUME, "name": "n8n-data", "bindPath": "/mnt/nvme/ziggie/postgres-old"}]),
        id="data_path_that_only_shares_a_name_prefix",
    ),
    pytest.param(with_service("ollama", cpus="4"), id="cpu_limit_equal_to_the_hosts_cpus"),
    pytest.param(
        with_service(
            "grafana",
            image="grafana:11.3.0",
            mounts=[{"source": "/run", "target": "/host/run"}],
            hostAccess={"image": "docker.io/library/grafana", "dockerSocket": True, "reason": "a test of the name"},
        ),
        id="grant_for_an_official_image_under_its_full_name",
    ),
    pytest.param(
        with_service("watchtower", image="docker.io/containrrr/watchtower:1.7.1"),
        id="grant_matches_the_image_as_docker_normalises_it",
    ),
    pytest.param(
        with_service("grafana", mounts=[{"source": "/var/lib/docker/../dockerd", "target": "/d"}]),
        id="path_that_only_looks_like_the_socket_dir",
    ),
]


@pytest.mark.parametrize("edit", ENGINE_ACCEPTS)
def test_engine_accepts_the_boundary(edit: Callable[[dict[str, Any]], None]) -> None:
    stack = good_stack()
    edit(stack)
    load(stack)


def test_the_catalogs_grants_are_exactly_the_binds_it_makes() -> None:
    """Every service that binds / or the socket in the catalog carries its grant, and only those."""
    config = load(good_stack())
    granted = {
        name: (s.host_access.root, s.host_access.docker_socket)
        for name, s in config.services.items()
        if s.host_access is not None
    }
    assert granted == {
        "cadvisor": (True, True),
        "node-exporter": (True, False),
        "portainer": (False, True),
        "promtail": (False, True),
        "watchtower": (False, True),
    }


@pytest.mark.parametrize(
    ("path", "access"),
    [
        ("/", "root"),
        ("//", "root"),
        ("/./", "root"),
        ("/var/..", "root"),
        ("/run/docker.sock", "dockerSocket"),
        ("/var/run/docker.sock/", "dockerSocket"),
        ("/var/log", None),
        ("/var/run-other", None),
        ("/run/docker.sockets", None),
        ("/ru", None),
        ("/var/r", None),
    ],
)
def test_host_access_of_a_path(path: str, access: str | None) -> None:
    assert host_access_of(path) == access


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("nginx:1.27", "docker.io/library/nginx"),
        ("library/nginx", "docker.io/library/nginx"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx"),
        ("Docker.IO/containrrr/watchtower", "docker.io/containrrr/watchtower"),
        ("gcr.io/cadvisor/cadvisor:v0.49.1", "gcr.io/cadvisor/cadvisor"),
        ("localhost:5000/nginx", "localhost:5000/nginx"),
    ],
)
def test_repository_is_the_name_docker_normalises_to(reference: str, repository: str) -> None:
    # distribution/reference normalize.go: docker.io default domain, index.docker.io legacy, library/ prefix.
    assert ImageRef.parse(reference).repository == repository
