"""Resource-graph tests of DockerHost under Pulumi mocks: what each container really receives."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pulumi
import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.docker_host import DockerHost, DockerHostArgs
from config.models import MIB, Host, Logging, Network, Service
from generated import GeneratedFile
from preflight.mocks import PreflightMocks, RecordingMonitor
from preflight.records import RecordedResource, is_secret

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"
HOST = Host.model_validate(
    {
        "dockerHost": "ssh://deploy@203.0.113.10",
        "hostKey": HOST_KEY,
        "memory": "16G",
        "cpus": "4",
        "osReserveMemory": "2G",
        "osReserveCpus": "0.5",
        "monthlyPriceUsd": "12",
    }
)
POSTGRES = Service.model_validate(
    {
        "tier": "critical",
        "memory": "3G",
        "memoryReservation": "1.5G",
        "cpus": "0.8",
        "cpuReservation": "0.4",
        "healthcheck": {
            "test": ["CMD-SHELL", "pg_isready -U ziggie"],
            "interval": "10s",
            "timeout": "3s",
            "retries": 5,
            "startPeriod": "30s",
        },
        "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
        "env": {"POSTGRES_USER": "ziggie"},
        "secretEnv": {"POSTGRES_PASSWORD": "postgresPassword"},
        "volumes": [
            {
                "name": "postgres-data",
                "target": "/var/lib/postgresql/data",
                "bindPath": "/mnt/nvme/ziggie/postgres",
                "owner": "70:70",
            }
        ],
    }
)
CADVISOR = Service.model_validate(
    {
        "tier": "monitoring",
        "memory": "256M",
        "cpus": "0.2",
        "privileged": True,
        "privilegedReason": "reads every container's cgroup",
        "mounts": [{"source": "/sys", "target": "/sys"}],
    }
)
SECRET_VALUE = "s3cr3t-value-never-plain"
IMAGE = "docker.io/library/postgres:16.10-alpine@sha256:" + "0" * 64


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    """Fresh mocks per test, answering with provider-shaped ids."""
    monitor = RecordingMonitor(PreflightMocks(lambda name: {}))
    pulumi.runtime.settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(monitor.mocks, project="ziggie-infra", stack="prod", preview=True, monitor=monitor)
    return monitor


def run(monitor: RecordingMonitor, build: Callable[[], Any]) -> dict[str, RecordedResource]:
    """Run `build` as a Pulumi program and return its registrations by name."""
    _sync_await(run_pulumi_func(build))
    return {r.name: r for r in monitor.records}


def host_args(**overrides: Any) -> DockerHostArgs:
    values: dict[str, Any] = {
        "host": HOST,
        "network": Network(),
        "logging": Logging(),
        "services": {"postgres": POSTGRES, "cadvisor": CADVISOR},
        "images": {"postgres": IMAGE, "cadvisor": "gcr.io/cadvisor/cadvisor:v0.49.1"},
        "secrets": {"postgresPassword": pulumi.Output.secret(SECRET_VALUE)},
        "protect_data": True,
    }
    values.update(overrides)
    return DockerHostArgs(**values)


def test_container_bounds_equal_config(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args()))
    postgres = records["vps1-postgres"].inputs
    assert postgres["memory"] == 3072, records["vps1-postgres"].urn
    assert postgres["memoryReservation"] == 1536
    assert postgres["cpus"] == "0.8"
    assert postgres["cpuShares"] == 410  # 0.4 vCPU x 1024, rounded
    assert postgres["healthcheck"] == {
        "tests": ["CMD-SHELL", "pg_isready -U ziggie"],
        "interval": "10s",
        "timeout": "3s",
        "retries": 5,
        "startPeriod": "30s",
    }
    assert postgres["ulimits"] == [{"name": "nofile", "soft": 1024, "hard": 2048}]
    assert postgres["restart"] == "unless-stopped"
    assert postgres["logDriver"] == "json-file"
    assert postgres["logOpts"] == {"max-size": "10m", "max-file": "3"}
    assert {(lbl["label"], lbl["value"]) for lbl in postgres["labels"]} == {
        ("ziggie.service", "postgres"),
        ("ziggie.tier", "critical"),
        ("ziggie.host", "vps1"),
    }
    assert postgres["image"] == IMAGE
    assert postgres["networksAdvanced"] == [{"name": "ziggie-network", "aliases": ["postgres"]}]
    assert postgres["volumes"] == [
        {"volumeName": "postgres-data", "containerPath": "/var/lib/postgresql/data", "readOnly": False}
    ]
    cadvisor = records["vps1-cadvisor"].inputs
    assert cadvisor["privileged"] is True
    assert "cpuShares" not in cadvisor
    assert "memoryReservation" not in cadvisor
    assert "privileged" not in postgres


def test_secret_env_stays_secret(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args()))
    envs = records["vps1-postgres"].inputs["envs"]
    assert envs[0] == "POSTGRES_USER=ziggie"
    assert is_secret(envs[1])
    assert envs[1]["value"] == f"POSTGRES_PASSWORD={SECRET_VALUE}"
    for record in records.values():
        plain = json.dumps([v for v in _walk_plain(record.inputs)])
        assert SECRET_VALUE not in plain, f"{record.urn} carries the secret in plain text"


def _walk_plain(value: Any) -> Any:
    if is_secret(value):
        return
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk_plain(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_plain(v)
    else:
        yield value


def test_network_carries_seed_ipam(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args()))
    network = records["vps1-network"].inputs
    assert network["driver"] == "bridge"
    assert network["ipamConfigs"] == [
        {"subnet": "172.28.0.0/16", "ipRange": "172.28.5.0/24", "gateway": "172.28.5.254"}
    ]
    assert network["options"] == {
        "com.docker.network.bridge.name": "br-ziggie",
        "com.docker.network.driver.mtu": "1500",
    }


def test_every_child_uses_the_hosts_provider_and_parent(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args()))
    provider = records["vps1-docker"]
    assert provider.inputs["host"] == "ssh://deploy@203.0.113.10"
    # Provider inputs that are not strings travel JSON-encoded, as the engine hands them to the plugin.
    # Only the configured host key is trusted: no known_hosts file, the key printed by the command.
    assert json.loads(provider.inputs["sshOpts"]) == [
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        f"KnownHostsCommand=/bin/echo %H {HOST_KEY}",
    ]
    component = records["vps1"]
    for name, record in records.items():
        if name in ("vps1", "vps1-docker") or record.type == "pulumi:pulumi:Stack":
            continue
        assert record.parent == component.urn, record.urn
        assert record.provider_urn == provider.urn, record.urn


# A service whose volume Docker manages (no bindPath), as grafana's and prometheus' are.
GRAFANA = Service.model_validate(
    {
        "tier": "monitoring",
        "memory": "256M",
        "cpus": "0.2",
        "volumes": [{"name": "grafana-data", "target": "/var/lib/grafana"}],
    }
)


@pytest.mark.parametrize("protect", [True, False], ids=["prod_protects_every_volume", "dev_can_drop_them"])
def test_every_volume_protected_exactly_when_asked(mocks: RecordingMonitor, protect: bool) -> None:
    records = run(
        mocks,
        lambda: DockerHost(
            "vps1",
            host_args(
                protect_data=protect,
                services={"postgres": POSTGRES, "grafana": GRAFANA},
                images={"postgres": IMAGE, "grafana": "docker.io/grafana/grafana:12.1.1"},
            ),
        ),
    )
    bound, managed = records["vps1-postgres-data"], records["vps1-grafana-data"]
    assert bound.inputs["driverOpts"] == {"type": "none", "o": "bind", "device": "/mnt/nvme/ziggie/postgres"}
    assert "driverOpts" not in managed.inputs, managed.urn
    assert bound.protect is protect, bound.urn
    assert managed.protect is protect, managed.urn
    # Nothing else on the host holds data: containers, images and the network stay replaceable.
    others = [r for r in records.values() if r.type != "docker:index/volume:Volume"]
    assert others
    assert not any(r.protect for r in others), [r.urn for r in others if r.protect]


def test_container_depends_on_its_image_network_and_volume(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args()))
    deps = set(records["vps1-postgres"].dependencies)
    expected = {records[n].urn for n in ("vps1-postgres-image", "vps1-network", "vps1-postgres-data")}
    assert expected <= deps, records["vps1-postgres"].urn


@pytest.mark.parametrize(
    ("reservation", "shares"),
    [("0.5", 512), ("0.01", 10), ("0.001", 2), ("1", 1024)],
    ids=["half_vcpu_is_512", "one_hundredth_rounds_to_10", "below_docker_minimum_clamps_to_2", "one_vcpu_is_1024"],
)
def test_cpu_reservation_maps_to_shares(reservation: str, shares: int) -> None:
    service = POSTGRES.model_copy(update={"cpu_reservation": Decimal(reservation), "cpus": Decimal("1")})
    assert service.cpu_shares == shares


def test_generated_files_are_uploaded_into_their_container_only(mocks: RecordingMonitor) -> None:
    files = {
        "postgres": [
            GeneratedFile("/etc/b.conf", "b = 2\n"),
            GeneratedFile("/etc/a.conf", pulumi.Output.secret(f"password = {SECRET_VALUE}\n")),
        ]
    }
    records = run(mocks, lambda: DockerHost("vps1", host_args(files=files)))
    uploads = records["vps1-postgres"].inputs["uploads"]
    assert [u["file"] for u in uploads] == ["/etc/a.conf", "/etc/b.conf"], records["vps1-postgres"].urn
    assert is_secret(uploads[0]["content"])
    assert uploads[1]["content"] == "b = 2\n"
    assert "uploads" not in records["vps1-cadvisor"].inputs


def test_cpus_and_swap_are_sent_as_the_provider_reads_them_back(mocks: RecordingMonitor) -> None:
    one_cpu = POSTGRES.model_copy(update={"cpus": Decimal("1")})
    records = run(mocks, lambda: DockerHost("vps1", host_args(services={"postgres": one_cpu, "cadvisor": CADVISOR})))
    postgres = records["vps1-postgres"].inputs
    # nanoInt64ToDecimalString(1e9) is "1.0": "1" would differ from state on every `up`.
    assert postgres["cpus"] == "1.0", records["vps1-postgres"].urn
    # Memory plus swap equals the memory limit: no swap.
    assert postgres["memorySwap"] == postgres["memory"] == 3072
    swapping = POSTGRES.model_copy(update={"memory_swap": 4 * 1024 * MIB})
    assert swapping.memory_swap_mib == 4096


def test_needs_order_containers_and_label_them(mocks: RecordingMonitor) -> None:
    api = POSTGRES.model_copy(update={"needs": ("postgres",), "volumes": (), "env": {}, "secret_env": {}})

    def build() -> None:
        db_host = DockerHost("vps1", host_args())
        DockerHost(
            "vps2",
            host_args(
                host=HOST.model_copy(update={"docker_host": "ssh://deploy@203.0.113.11"}),
                services={"ziggie-api": api},
                images={"ziggie-api": IMAGE},
                needs={"ziggie-api": [db_host.containers["postgres"]]},
                connect_env={"ziggie-api": {"DATABASE_HOST": "postgres"}},
                overlay="join",
                overlay_network="ziggie-network",
            ),
        )

    records = run(mocks, build)
    consumer = records["vps2-ziggie-api"]
    assert records["vps1-postgres"].urn in consumer.dependencies, consumer.urn
    assert {"label": "ziggie.needs", "value": "postgres"} in consumer.inputs["labels"]
    assert "DATABASE_HOST=postgres" in consumer.inputs["envs"]
    assert "ziggie.needs" not in {lbl["label"] for lbl in records["vps1-postgres"].inputs["labels"]}


def test_swarm_manager_creates_an_encrypted_attachable_overlay(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args(overlay="create")))
    network = records["vps1-network"]
    assert network.inputs["driver"] == "overlay"
    assert network.inputs["attachable"] is True
    assert network.inputs["options"] == {"encrypted": "true"}
    # The swarm adds its VNI to options, which the provider stores: ignored, or every `up` replaces it.
    assert network.ignore_changes == ("options",), network.urn


def test_swarm_worker_neither_looks_up_nor_creates_the_overlay(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps2", host_args(overlay="join", overlay_network="ziggie-network")))
    assert not [r for r in records.values() if r.type == "docker:index/network:Network"]
    assert records["vps2-postgres"].inputs["networksAdvanced"] == [{"name": "ziggie-network", "aliases": ["postgres"]}]


def test_per_host_copy_is_named_and_aliased_per_host(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DockerHost("vps1", host_args(container_names={"cadvisor": "cadvisor-vps1"})))
    cadvisor = records["vps1-cadvisor"].inputs
    assert cadvisor["name"] == "cadvisor-vps1"
    assert cadvisor["networksAdvanced"] == [{"name": "ziggie-network", "aliases": ["cadvisor-vps1"]}]
