"""Tests for config.catalog: the default catalog carries every number and flag of the seed.

The expected values are written out from DESIGN.md's seed table and "Seed details" paragraph,
never derived from the catalog; the catalog goes through `load_stack_config` exactly as a stack
file would. Memory is in Docker's binary units: 1.5G = 1.5 GiB. Config validation only: no
Pulumi mocks, no resources.
"""

from __future__ import annotations

import json
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from config.catalog import DEFAULT_CATALOG
from config.loader import load_stack_config
from config.models import Service, StackConfig
from preflight.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
GIB = 1024 * MIB


def g(n: float) -> int:
    return int(n * GIB)


def m(n: int) -> int:
    return n * MIB


# The seed's 0.05 vCPU cannot be sent as the docker provider reads it back (50000000 NanoCPUs
# read back as "0.1", config.readback): the catalog takes the nearest value below that does.
ROUND_TRIP_0_05 = "0.045"

# DESIGN.md, "The seed's Docker stack": service -> (tier, mem limit, mem reserve, cpus,
# cpu reserve, health check (interval s, timeout s, retries, start period s) or None).
# A start period the table leaves out is Docker's default, 0 s.
SEED = {
    "ziggie-api": ("critical", g(2), g(1), "1.0", "0.5", (10, 3, 3, 20)),
    "mcp-gateway": ("critical", g(1.5), m(768), "0.8", "0.4", (10, 3, 3, 15)),
    "postgres": ("critical", g(3), g(1.5), "0.8", "0.4", (10, 3, 5, 30)),
    "redis": ("critical", m(512), m(256), "0.3", "0.1", (10, 2, 5, 10)),
    "nginx": ("critical", m(256), m(128), "0.2", "0.1", (30, 3, 3, 10)),
    "n8n": ("workflow", g(1.5), m(768), "0.5", "0.25", (15, 5, 3, 30)),
    "ollama": ("workflow", g(4), g(2), "0.8", "0.2", (30, 10, 3, 60)),
    "flowise": ("workflow", m(512), m(256), "0.2", "0.1", (30, 5, 3, 0)),
    "mongodb": ("workflow", g(1.5), m(768), "0.3", "0.15", (15, 5, 5, 40)),
    "sim-studio": ("workflow", m(512), m(256), "0.2", "0.1", (30, 5, 3, 0)),
    "prometheus": ("monitoring", g(1), m(512), "0.2", "0.1", (30, 5, 3, 20)),
    "grafana": ("monitoring", m(512), m(256), "0.1", "0.05", (30, 5, 3, 20)),
    "loki": ("monitoring", m(512), m(256), "0.1", "0.05", (30, 5, 3, 20)),
    "promtail": ("monitoring", m(128), m(64), ROUND_TRIP_0_05, "0.02", (60, 5, 2, 15)),
    "portainer": ("monitoring", m(256), m(128), "0.1", "0.05", (60, 5, 2, 15)),
    "open-webui": ("monitoring", m(256), m(128), "0.1", "0.05", (30, 5, 3, 0)),
    "watchtower": ("monitoring", m(128), m(64), ROUND_TRIP_0_05, "0.02", None),
    "github-runner": ("monitoring", g(1), m(256), "0.3", "0.1", None),
    "certbot": ("monitoring", m(128), m(32), ROUND_TRIP_0_05, "0.01", None),
    "cadvisor": ("monitoring", m(256), None, "0.2", None, None),
    "node-exporter": ("monitoring", m(128), None, "0.1", None, None),
}

# Services the catalog adds to the seed for monitoring (issue 13): the exporters the alert rules
# read and Alertmanager that mails them. redis_exporter's image is scratch: nothing to probe with.
ADDED = {
    "postgres-exporter": ("monitoring", m(64), m(32), "0.045", "0.02", (30, 5, 3, 15)),
    "redis-exporter": ("monitoring", m(64), m(32), "0.045", "0.02", None),
    "alertmanager": ("monitoring", m(128), m(64), "0.045", "0.02", (30, 5, 3, 15)),
}
CATALOG = {**SEED, **ADDED}

# Where the catalog knowingly goes past the seed: health checks the seed lacks, because the
# healthcheck-required policy exempts only watchtower and certbot.
ADDED_HEALTHCHECKS = {
    "github-runner": (60, 5, 3, 60),
    "cadvisor": (30, 5, 3, 15),
    "node-exporter": (30, 5, 3, 10),
}

# DESIGN.md's probe commands. Exact where the catalog runs them as written; otherwise the
# URL the seed probes must still be the one probed.
PROBES_AS_WRITTEN = {
    "ziggie-api": ["CMD", "curl", "-f", "http://localhost:8000/health"],
    "mcp-gateway": ["CMD", "curl", "-f", "http://localhost:8080/health"],
    "postgres": ["CMD-SHELL", "pg_isready -U ziggie"],
    # nginx: the seed's `nginx -t` only says the config parses; the catalog probes /health over
    # TLS instead, what Route 53 probes (tests/generated/test_certbot.py asserts it).
    "sim-studio": ["CMD", "curl", "-f", "http://localhost:8001/health"],
    "open-webui": ["CMD", "curl", "-f", "http://localhost:8080/health"],
}
PROBES_ADAPTED = [
    pytest.param("n8n", "http://localhost:5678/healthz", id="n8n_wget_since_alpine_has_no_curl"),
    pytest.param("flowise", "http://localhost:3000/api/v1/ping", id="flowise_wget_since_alpine_has_no_curl"),
    pytest.param("redis", "ping", id="redis_cli_ping"),
    pytest.param("redis", "$REDIS_PASSWORD", id="redis_ping_with_the_password"),
    pytest.param("mongodb", 'db.runCommand("ping").ok', id="mongosh_ping"),
]

POSTGRES_COMMAND = [
    "postgres",
    "-c", "shared_buffers=768MB",
    "-c", "effective_cache_size=2.25GB",
    "-c", "work_mem=32MB",
    "-c", "maintenance_work_mem=256MB",
    "-c", "max_connections=100",
    "-c", "checkpoint_completion_target=0.9",
    "-c", "random_page_cost=1.1",
    "-c", "effective_io_concurrency=200",
]  # fmt: skip

NVME_BINDS = {
    "postgres": "/mnt/nvme/ziggie/postgres",
    "mongodb": "/mnt/nvme/ziggie/mongodb",
    "redis": "/mnt/nvme/ziggie/redis",
    "ollama": "/mnt/nvme/ziggie/ollama",
    "n8n": "/mnt/nvme/ziggie/n8n",
    "loki": "/var/log/ziggie/loki",
}

SECRETS = (
    "postgresPassword",
    "redisPassword",
    "mongoPassword",
    "n8nEncryptionKey",
    "grafanaAdminPassword",
    "githubRunnerToken",
    "smtpPassword",
)


@pytest.fixture(scope="module")
def catalog() -> StackConfig:
    """The catalog as a stack with nothing overridden but the own-registry images."""
    stack = {
        "environment": "prod",
        "hosts": {
            "big": {
                "dockerHost": "unix:///var/run/docker.sock",
                "memory": "64G",
                "cpus": "16",
                "osReserveMemory": "2G",
                "osReserveCpus": "0.5",
                "monthlyPriceUsd": "0",
            }
        },
        "services": {
            name: {"image": f"ghcr.io/ziggie-ai/{name}:1.0.0"} for name in ("ziggie-api", "mcp-gateway", "sim-studio")
        },
        "alerts": {"emails": ["ops@ziggie.example"]},
        "monitoring": {
            "smtp": {"smarthost": "smtp.ziggie.example:587", "from": "a@ziggie.example", "authUsername": "a"}
        },
    }
    config = {f"ziggie-infra:{key}": v if isinstance(v, str) else json.dumps(v) for key, v in stack.items()}
    config.update({f"ziggie-infra:{key}": "s3cret" for key in SECRETS})
    return load_stack_config(config, [f"ziggie-infra:{key}" for key in SECRETS], source="catalog", stack="catalog")


def service(catalog: StackConfig, name: str) -> Service:
    return catalog.services[name]


def test_catalog_holds_exactly_the_seed_services_and_the_monitoring_additions(catalog: StackConfig) -> None:
    assert sorted(DEFAULT_CATALOG) == sorted(CATALOG)
    assert sorted(catalog.enabled_services()) == sorted(CATALOG), "every catalog service is on by default"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_seed_bounds(catalog: StackConfig, name: str) -> None:
    tier, memory, reservation, cpus, cpu_reservation, _ = CATALOG[name]
    s = service(catalog, name)
    got = (s.tier, s.memory, s.memory_reservation, s.cpus, s.cpu_reservation)
    want = (
        tier,
        memory,
        reservation,
        Decimal(cpus),
        None if cpu_reservation is None else Decimal(cpu_reservation),
    )
    assert got == want, f"{name}: (tier, memory, memoryReservation, cpus, cpuReservation)"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_seed_healthcheck_timings(catalog: StackConfig, name: str) -> None:
    expected = ADDED_HEALTHCHECKS.get(name, CATALOG[name][5])
    check = service(catalog, name).healthcheck
    got = None if check is None else (check.interval, check.timeout, check.retries, check.start_period)
    assert got == expected, f"{name}: health check (interval, timeout, retries, startPeriod)"


@pytest.mark.parametrize("name", sorted(PROBES_AS_WRITTEN))
def test_seed_probe_runs_as_written(catalog: StackConfig, name: str) -> None:
    check = service(catalog, name).healthcheck
    assert check is not None
    assert list(check.test) == PROBES_AS_WRITTEN[name]


@pytest.mark.parametrize(("name", "fragment"), PROBES_ADAPTED)
def test_adapted_probe_keeps_what_the_seed_checks(catalog: StackConfig, name: str, fragment: str) -> None:
    check = service(catalog, name).healthcheck
    assert check is not None
    assert any(fragment in word for word in check.test), f"{name}: {fragment!r} not in {check.test}"


def test_ollama_probe_needs_no_curl(catalog: StackConfig) -> None:
    # The ollama image has neither curl nor wget; `ollama list` asks the server on 11434.
    check = service(catalog, "ollama").healthcheck
    assert check is not None
    assert list(check.test) == ["CMD", "ollama", "list"]


TUNING = [
    pytest.param("postgres", "command", POSTGRES_COMMAND, id="postgres_c_flags"),
    pytest.param("mongodb", "command", ["mongod", "--wiredTigerCacheSizeGB", "1.0"], id="mongod_cache_1gb"),
    pytest.param(
        "ollama",
        "env",
        {"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_MAX_LOADED_MODELS": "1", "OLLAMA_FLASH_ATTENTION": "1"},
        id="ollama_env",
    ),
    pytest.param("mcp-gateway", "env", {"NODE_OPTIONS": "--max-old-space-size=1280"}, id="mcp_gateway_heap"),
    pytest.param("flowise", "env", {"NODE_OPTIONS": "--max-old-space-size=440"}, id="flowise_heap"),
    pytest.param(
        "n8n",
        "env",
        {"EXECUTIONS_DATA_PRUNE": "true", "EXECUTIONS_DATA_MAX_AGE": "168", "N8N_METRICS": "true"},
        id="n8n_prune_168h_and_metrics",
    ),
    pytest.param(
        "watchtower",
        "env",
        {"WATCHTOWER_POLL_INTERVAL": "600", "WATCHTOWER_MONITOR_ONLY": "true"},
        id="watchtower_polls_600s_monitor_only",
    ),
    pytest.param("redis", "secret_env", {"REDIS_PASSWORD": "redisPassword"}, id="redis_password_is_a_secret"),
    pytest.param("ziggie-api", "feature_flags", True, id="api_takes_feature_flags"),
]


@pytest.mark.parametrize(("name", "attribute", "expected"), TUNING)
def test_seed_tuning(catalog: StackConfig, name: str, attribute: str, expected: object) -> None:
    value = getattr(service(catalog, name), attribute)
    if isinstance(expected, dict):
        got = {key: value.get(key) for key in expected}
    elif isinstance(expected, list):
        got = list(value)
    else:
        got = value
    assert got == expected, f"{name}.{attribute} = {value!r}"


@pytest.mark.parametrize(
    "flag",
    [
        '--requirepass "$REDIS_PASSWORD"',
        "--appendonly yes",
        "--maxmemory 450mb",
        "--maxmemory-policy allkeys-lru",
    ],
)
def test_redis_server_flags(catalog: StackConfig, flag: str) -> None:
    command = service(catalog, "redis").command
    assert command is not None
    assert flag in " ".join(command), f"redis command {command} lacks {flag}"


@pytest.mark.parametrize("flag", ["--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=900MB"])
def test_prometheus_retention(catalog: StackConfig, flag: str) -> None:
    command = service(catalog, "prometheus").command
    assert command is not None
    assert flag in command, f"prometheus command {command} lacks {flag}"


ULIMITS = [
    pytest.param("postgres", "nofile", 1024, 2048, id="postgres_nofile"),
    pytest.param("ollama", "memlock", -1, -1, id="ollama_memlock_unlimited"),
    pytest.param("ollama", "stack", 67108864, 67108864, id="ollama_stack_64mib"),
]


@pytest.mark.parametrize(("name", "ulimit", "soft", "hard"), ULIMITS)
def test_seed_ulimits(catalog: StackConfig, name: str, ulimit: str, soft: int, hard: int) -> None:
    limits = service(catalog, name).ulimits
    assert ulimit in limits, f"{name} has ulimits {sorted(limits)}"
    assert (limits[ulimit].soft, limits[ulimit].hard) == (soft, hard)


@pytest.mark.parametrize(("name", "path"), sorted(NVME_BINDS.items()))
def test_data_volume_binds(catalog: StackConfig, name: str, path: str) -> None:
    binds = [v.bind_path for v in service(catalog, name).volumes]
    assert binds == [path], f"{name} volumes bind to {binds}"


def test_only_cadvisor_is_privileged_and_says_why(catalog: StackConfig) -> None:
    privileged = {name: s.privileged_reason for name, s in catalog.services.items() if s.privileged}
    assert list(privileged) == ["cadvisor"]
    assert privileged["cadvisor"], "the exception must be explained"


def test_network_defaults(catalog: StackConfig) -> None:
    net = catalog.network
    assert (net.name, net.bridge_name, net.subnet, net.ip_range, net.gateway, net.mtu) == (
        "ziggie-network",
        "br-ziggie",
        IPv4Network("172.28.0.0/16"),
        IPv4Network("172.28.5.0/24"),
        IPv4Address("172.28.5.254"),
        1500,
    )


def test_seed_asks_for_19_5_gib_and_6_45_vcpu_of_limits(catalog: StackConfig) -> None:
    services = [s for name, s in catalog.enabled_services().items() if name in SEED]
    assert len(services) == 21
    assert sum(s.memory for s in services) == g(19.5)
    # 6.45 in the seed, less 0.005 for each of the three 0.05 values that cannot round-trip.
    assert sum(s.cpus for s in services) == Decimal("6.45") - 3 * Decimal("0.005")


# --- prod: the seed's own answer, a second VPS -------------------------------------------------

# open-webui, ollama's front end, moves beside it to vps2: vps1's CPU limits then hold the
# exporters and Alertmanager within prod's 1.3 overcommit (4.50 of 4.55 vCPU).
VPS2 = {"ollama", "n8n", "flowise", "sim-studio", "github-runner", "open-webui"}
VPS1 = {
    # databases
    "postgres", "redis", "mongodb",
    # API, gateway, nginx
    "ziggie-api", "mcp-gateway", "nginx",
    # monitoring
    "prometheus", "grafana", "loki", "promtail", "portainer",
    "watchtower", "certbot", "cadvisor", "node-exporter",
    "postgres-exporter", "redis-exporter", "alertmanager",
}  # fmt: skip
POOL_MEMORY = g(14)
POOL_CPUS = Decimal("3.5")


@pytest.fixture(scope="module")
def prod() -> StackConfig:
    stack_file = read_stack_file(ROOT / "Pulumi.prod.yaml")
    return load_stack_config(stack_file.config, stack_file.secret_keys, source="Pulumi.prod.yaml", stack="prod")


def test_prod_split_follows_the_seed(prod: StackConfig) -> None:
    placed: dict[str, set[str]] = {}
    for name in prod.enabled_services():
        placed.setdefault(prod.host_of(name), set()).add(name)
    assert placed == {"vps1": VPS1, "vps2": VPS2}


@pytest.mark.parametrize("host", ["vps1", "vps2"])
def test_prod_host_pool_is_14_gib_and_3_5_vcpu(prod: StackConfig, host: str) -> None:
    assert (prod.hosts[host].pool_memory, prod.hosts[host].pool_cpus) == (POOL_MEMORY, POOL_CPUS)


@pytest.mark.parametrize(
    ("host", "what"),
    [
        (host, what)
        for host in ("vps1", "vps2")
        for what in ("memory limits", "memory reservations", "cpu reservations")
    ],
)
def test_prod_host_fits_its_pool(prod: StackConfig, host: str, what: str) -> None:
    on_host = [s for name, s in prod.enabled_services().items() if prod.host_of(name) == host]
    if what == "memory limits":
        used, pool = sum(s.memory for s in on_host), POOL_MEMORY
    elif what == "memory reservations":
        used, pool = sum(s.memory_reservation or 0 for s in on_host), POOL_MEMORY
    else:
        used, pool = sum((s.cpu_reservation or Decimal(0) for s in on_host), Decimal(0)), POOL_CPUS
    assert used <= pool, f"{host}: {what} {used} exceed the pool {pool}"
