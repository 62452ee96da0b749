"""Tests for config.loader: a bad stack file is one ConfigError that names file, key path and problem.

These are config-validation tests only: no Pulumi mocks, no resources. Config maps are built the
way the Pulumi CLI hands them to a program (`PULUMI_CONFIG`): full key -> string, objects and
lists JSON-encoded, plus the list of keys that were set with `--secret`.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from config.catalog import DEFAULT_CATALOG
from config.loader import (
    STRING_KEYS,
    STRUCTURED_KEYS,
    ConfigError,
    Problem,
    _pydantic_problems,
    deep_merge,
    load_stack_config,
)
from config.models import SMTP_PASSWORD_KEY, StackConfig
from preflight.stackfile import StackFileError, read_stack_file

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "Pulumi.prod.yaml"
NS = "ziggie-infra:"

# Every secret the full catalog reads, as the CLI lists them once set with --secret.
SECRETS = (
    "postgresPassword",
    "redisPassword",
    "mongoPassword",
    "n8nEncryptionKey",
    "grafanaAdminPassword",
    "githubRunnerToken",
    "smtpPassword",
    "deploySshKey",
)

VPS1 = {
    "dockerHost": "ssh://deploy@203.0.113.10",
    "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
    "memory": "16G",
    "cpus": "4",
    "osReserveMemory": "2G",
    "osReserveCpus": "0.5",
    "monthlyPriceUsd": "12",
}


def good_stack() -> dict[str, Any]:
    """A valid one-host prod stack running the whole catalog, as stack-file values."""
    return {
        "environment": "prod",
        "hosts": {"vps1": dict(VPS1)},
        "services": {
            "ziggie-api": {"image": "ghcr.io/ziggie-ai/ziggie-api:1.4.2"},
            "mcp-gateway": {"image": "ghcr.io/ziggie-ai/mcp-gateway:1.4.2"},
            "sim-studio": {"image": "ghcr.io/ziggie-ai/sim-studio:1.4.2"},
        },
        "alerts": {"emails": ["ops@ziggie.example"]},
        "monitoring": {
            "smtp": {"smarthost": "smtp.ziggie.example:587", "from": "alerts@ziggie.example", "authUsername": "alerts"}
        },
    }


def cli_config(
    stack: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    plain: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The CLI's view of a stack: (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS).

    `secrets` are keys set with --secret (all of SECRETS unless given), `plain` extra keys set
    in plain text; structured values are json.dumps'ed, strings pass through.
    """
    secrets = {key: "s3cret" for key in SECRETS} if secrets is None else secrets
    config = {f"{NS}{key}": v if isinstance(v, str) else json.dumps(v) for key, v in stack.items()}
    config.update({f"{NS}{key}": value for key, value in secrets.items()})
    config.update({f"{NS}{key}": value for key, value in (plain or {}).items()})
    return config, [f"{NS}{key}" for key in secrets]


def load(
    stack: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
    plain: Mapping[str, str] | None = None,
    raw: Mapping[str, str] | None = None,
) -> StackConfig:
    """load_stack_config on the CLI's map; `raw` overrides full keys with literal text."""
    config, secret_keys = cli_config(stack, secrets, plain)
    config.update(raw or {})
    return load_stack_config(config, secret_keys, source=SOURCE, stack="prod")


def problem_lines(error: ConfigError) -> list[str]:
    """The message's problem lines, after its header."""
    header, *lines = str(error).splitlines()
    count = len(error.problems)
    assert header == f"{SOURCE}: {count} problem{'s' if count != 1 else ''} in the stack configuration:", header
    return lines


def line(path: str, message: str) -> str:
    return f"  {SOURCE}: {NS}{path}: {message}"


def with_service(name: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(stack: dict[str, Any]) -> None:
        stack["services"].setdefault(name, {}).update(fields)

    return edit


def with_host(name: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(stack: dict[str, Any]) -> None:
        stack["hosts"].setdefault(name, dict(VPS1)).update(fields)

    return edit


def with_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(stack: dict[str, Any]) -> None:
        stack[key] = value

    return edit


def chain(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(stack: dict[str, Any]) -> None:
        for one in edits:
            one(stack)

    return edit


SIZE_HINT = "expected a number with an optional unit b, k, m, g, t or p (binary: 1.5G = 1.5 GiB)"
ALL_SERVICES = sorted(DEFAULT_CATALOG)

# (edit of the good stack, extra CLI keys {key: (value, is_secret)}, removed secrets, expected lines)
BAD_INPUTS = [
    # --- stable inputs, bounded swap ---------------------------------------------------------
    pytest.param(
        with_service("promtail", cpus="0.05"),
        {},
        (),
        [
            line(
                "services.promtail.cpus",
                "0.05 cannot be sent as the docker provider reads it back (NanoCPUs read back as '0.1', so every "
                "`pulumi up` would replace the container); nearest values that round-trip: 0.049 or 0.051",
            )
        ],
        id="cpus_that_cannot_round_trip_names_the_nearest_that_do",
    ),
    pytest.param(
        with_service("redis", memorySwap="256M"),
        {},
        (),
        [line("services.redis.memorySwap", "256M is below the memory limit 512M (it counts memory plus swap)")],
        id="swap_limit_below_memory_limit",
    ),
    # --- who needs whom ----------------------------------------------------------------------
    pytest.param(
        with_service("grafana", needs=["prometheus", "lokki"]),
        {},
        (),
        [line("services.grafana.needs[1]", "'lokki' is not a service of this stack")],
        id="need_on_unknown_service",
    ),
    pytest.param(
        with_service("loki", needs=["loki"]),
        {},
        (),
        [line("services.loki.needs[0]", "loki cannot need itself")],
        id="need_on_itself",
    ),
    pytest.param(
        with_service("grafana", needs=["prometheus", "watchtower"]),
        {},
        (),
        [
            line(
                "services.grafana.needs[1]",
                "watchtower has no health check, so grafana cannot wait until it is healthy",
            )
        ],
        id="need_on_a_service_without_health_check",
    ),
    pytest.param(
        chain(with_service("postgres", needs=["redis"]), with_service("redis", needs=["ziggie-api"])),
        {},
        (),
        [line("services.postgres.needs", "cycle: postgres -> redis -> ziggie-api -> postgres")],
        id="needs_cycle_through_three_services",
    ),
    pytest.param(
        with_service("open-webui", connectEnv={"OLLAMA_BASE_URL": "http://{ollama}:11434", "PG": "{postgres}"}),
        {},
        (),
        [line("services.open-webui.connectEnv.PG", "{postgres} is not one of needs")],
        id="connect_env_names_a_service_not_needed",
    ),
    # --- placement and hosts -----------------------------------------------------------------
    pytest.param(
        with_service("cadvisor", host="vps1"),
        {},
        (),
        [line("services.cadvisor.host", "cannot be set with everyHost: the service runs on every host")],
        id="every_host_service_pinned_to_one_host",
    ),
    pytest.param(
        with_host("vps1", hostKey=None),
        {},
        (),
        [line("hosts.vps1.hostKey", "is required for an ssh:// dockerHost: the host key is pinned")],
        id="ssh_host_without_pinned_host_key",
    ),
    pytest.param(
        with_host("vps1", swarm="worker"),
        {},
        (),
        [line("hosts", "a swarm needs exactly one manager host (found: none)")],
        id="swarm_worker_without_manager",
    ),
    pytest.param(
        with_service("postgres", volumes=[{"name": "pg", "target": "/var/lib/postgresql/data", "bindPath": "/srv/pg"}]),
        {},
        (),
        [
            line(
                "services.postgres.volumes[0].owner",
                "is required with bindPath: the host bootstrap creates the directory",
            )
        ],
        id="bind_path_without_owner",
    ),
    pytest.param(
        with_key("hosts", {"vps1": {k: v for k, v in VPS1.items()}}),
        {},
        ("deploySshKey",),
        [
            line(
                "hosts.vps1.sshKeySecret",
                "secret ziggie-infra:deploySshKey is not set: run `pulumi config set --secret deploySshKey -s prod`",
            )
        ],
        id="ssh_key_secret_not_set",
    ),
    pytest.param(
        with_key("monitoring", {}),
        {},
        ("smtpPassword",),
        [line("monitoring.smtp", "is required: alertmanager runs and mails alerts through it")],
        id="alertmanager_runs_without_smtp",
    ),
    pytest.param(
        with_key("alerts", {"emails": []}),
        {},
        (),
        [line("alerts.emails", "must name at least one address: alertmanager mails them")],
        id="alertmanager_runs_with_no_address",
    ),
    pytest.param(
        lambda stack: None,
        {},
        ("smtpPassword",),
        [
            line(
                "monitoring.smtp",
                "secret ziggie-infra:smtpPassword is not set: run `pulumi config set --secret smtpPassword -s prod`",
            )
        ],
        id="smtp_password_missing",
    ),
    pytest.param(
        lambda stack: None,
        {"smtpPassword": ("hunter2", False)},
        ("smtpPassword",),
        [
            line(
                "monitoring.smtp",
                "ziggie-infra:smtpPassword is stored in plain text: set it again with `pulumi config set --secret`",
            )
        ],
        id="smtp_password_in_plain_text",
    ),
    pytest.param(
        with_service("alertmanager", enabled=False),
        {},
        (),
        [line("smtpPassword", "is not read: it needs alertmanager enabled and monitoring.smtp set")],
        id="smtp_password_set_but_alertmanager_off",
    ),
    pytest.param(
        with_key("monitoring", {"smtp": {"smarthost": "smtp.ziggie.example", "from": "a@b.io", "authUsername": "a"}}),
        {},
        (),
        [
            line(
                "monitoring.smtp.smarthost",
                "String should match pattern '^[A-Za-z0-9.-]+:[0-9]{1,5}$' (got \"smtp.ziggie.example\")",
            )
        ],
        id="smarthost_without_port",
    ),
    pytest.param(
        with_key("colud", {"cdn": True}),
        {},
        (),
        [line("colud", "unknown key")],
        id="top_level_typo_is_unknown_key",
    ),
    pytest.param(
        with_host("vps1", memroy="16G"),
        {},
        (),
        [line("hosts.vps1.memroy", "unknown key")],
        id="nested_host_typo_is_unknown_key",
    ),
    pytest.param(
        with_service("postgres", healthcheck={"intervall": "5s"}),
        {},
        (),
        [line("services.postgres.healthcheck.intervall", "unknown key")],
        id="typo_two_levels_down_is_unknown_key",
    ),
    pytest.param(
        with_key("network", {"mtuu": 1400}),
        {},
        (),
        [line("network.mtuu", "unknown key")],
        id="network_typo_is_unknown_key",
    ),
    pytest.param(
        with_service("postgres", memory="32bm"),
        {},
        (),
        [line("services.postgres.memory", f"invalid size '32bm': {SIZE_HINT}")],
        id="unit_32bm_is_not_a_docker_size",
    ),
    pytest.param(
        with_service("redis", memoryReservation="-256M"),
        {},
        (),
        [line("services.redis.memoryReservation", "invalid size '-256M': must not be negative")],
        id="negative_size_string",
    ),
    pytest.param(
        with_host("vps1", memory=-5),
        {},
        (),
        [line("hosts.vps1.memory", "invalid size -5: must not be negative")],
        id="negative_byte_count",
    ),
    pytest.param(
        with_service("postgres", memoryReservation="4G"),
        {},
        (),
        [line("services.postgres.memoryReservation", "4G exceeds the memory limit 3G")],
        id="memory_reservation_above_limit",
    ),
    pytest.param(
        with_service("postgres", cpuReservation="1"),
        {},
        (),
        [line("services.postgres.cpuReservation", "1 exceeds the cpus limit 0.8")],
        id="cpu_reservation_above_limit",
    ),
    pytest.param(
        chain(
            with_host("vps2", publicAddress="vps2.example"),
            with_key("defaultHost", "vps1"),
        ),
        {},
        (),
        [line("hosts.vps2.dockerHost", "is the same Docker host as hosts.vps1")],
        id="two_hosts_share_one_docker_host",
    ),
    pytest.param(
        with_service("postgres", host="vps9"),
        {},
        (),
        [line("services.postgres.host", "'vps9' is not one of the hosts (vps1)")],
        id="service_placed_on_missing_host",
    ),
    pytest.param(
        with_key("defaultHost", "vps9"),
        {},
        (),
        [line("defaultHost", "'vps9' is not one of the hosts (vps1)")],
        id="default_host_is_missing",
    ),
    pytest.param(
        with_host("vps2", dockerHost="ssh://deploy@203.0.113.11"),
        {},
        (),
        [
            line(f"services.{name}.host", "is required: there are several hosts and no defaultHost")
            for name in ALL_SERVICES
            # An everyHost service runs on each of them.
            if not DEFAULT_CATALOG[name].get("everyHost")
        ],
        id="several_hosts_and_no_default_host",
    ),
    pytest.param(
        with_service("ziggie-api", image="ghcr.io/ziggie-ai/Ziggie-API:1.4.2"),
        {},
        (),
        [
            line(
                "services.ziggie-api.image",
                "invalid image reference 'ghcr.io/ziggie-ai/Ziggie-API:1.4.2': repository name must be lowercase",
            )
        ],
        id="image_path_is_uppercase",
    ),
    pytest.param(
        with_service("postgres", image="postgres:16@sha256:" + "ab" * 20),
        {},
        (),
        [
            line(
                "services.postgres.image",
                f"invalid image reference 'postgres:16@sha256:{'ab' * 20}': invalid checksum digest length",
            )
        ],
        id="sha256_digest_of_40_hex_digits",
    ),
    pytest.param(
        with_service("sim-studio", image=None),
        {},
        (),
        [line("services.sim-studio.image", "is required: set the release tag or digest for this stack")],
        id="own_registry_image_left_unset",
    ),
    pytest.param(
        lambda stack: None,
        {},
        ("redisPassword",),
        [
            line(
                "services.redis.secretEnv.REDIS_PASSWORD",
                "secret ziggie-infra:redisPassword is not set: run `pulumi config set --secret redisPassword -s prod`",
            )
        ],
        id="secret_missing",
    ),
    pytest.param(
        lambda stack: None,
        {"redisPassword": ("hunter2", False)},
        ("redisPassword",),
        [
            line(
                "services.redis.secretEnv.REDIS_PASSWORD",
                "ziggie-infra:redisPassword is stored in plain text: set it again with `pulumi config set --secret`",
            )
        ],
        id="secret_set_in_plain_text",
    ),
    pytest.param(
        with_key("include", [*ALL_SERVICES, "postgress"]),
        {},
        (),
        [line(f"include[{len(ALL_SERVICES)}]", "'postgress' is not a catalog service")],
        id="include_names_unknown_service",
    ),
    pytest.param(
        with_key("include", "postgres"),
        {},
        (),
        [line("include", "is a plain string; it must be a mapping or a list")],
        id="include_is_a_plain_string",
    ),
    pytest.param(
        with_key("include", {"postgres": True}),
        {},
        (),
        [line("include", "must be a list of catalog service names")],
        id="include_is_a_mapping",
    ),
    pytest.param(
        with_key("services", ["postgres"]),
        {},
        (),
        # The own-registry services lose their image with the overrides.
        [line("services", "must be a mapping of service name to settings")]
        + [
            line(f"services.{name}.image", "is required: set the release tag or digest for this stack")
            for name in ("mcp-gateway", "sim-studio", "ziggie-api")
        ],
        id="services_is_a_list",
    ),
    pytest.param(
        with_service("postgres", tier="critcal"),
        {},
        (),
        [
            line(
                "services.postgres.tier",
                "Input should be 'critical', 'workflow' or 'monitoring' (got \"critcal\")",
            )
        ],
        id="tier_is_not_a_choice",
    ),
    pytest.param(
        with_key("alerts", {"emails": ["ops@ziggie.example", "OPS@ziggie.example"]}),
        {},
        (),
        [line("alerts.emails[1]", "OPS@ziggie.example is listed twice")],
        id="alert_email_listed_twice_in_another_case",
    ),
    pytest.param(
        with_key("alerts", {"emails": ["ops at ziggie.example"]}),
        {},
        (),
        [
            line(
                "alerts.emails[0]",
                "String should match pattern '^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$'"
                ' (got "ops at ziggie.example")',
            )
        ],
        id="alert_email_without_at_sign",
    ),
]


@pytest.mark.parametrize(("edit", "extra", "unset", "expected"), BAD_INPUTS)
def test_bad_input_is_one_config_error_with_exact_lines(
    edit: Callable[[dict[str, Any]], None],
    extra: Mapping[str, tuple[str, bool]],
    unset: tuple[str, ...],
    expected: list[str],
) -> None:
    stack = good_stack()
    edit(stack)
    secrets = {key: "s3cret" for key in SECRETS if key not in unset}
    secrets.update({key: value for key, (value, secret) in extra.items() if secret})
    plain = {key: value for key, (value, secret) in extra.items() if not secret}
    # pytest.raises(ConfigError) lets any other exception through, and so fails the test.
    with pytest.raises(ConfigError) as caught:
        load(stack, secrets, plain)
    assert caught.value.source == SOURCE
    assert sorted(problem_lines(caught.value)) == sorted(expected), str(caught.value)


@pytest.mark.parametrize("text", ["{mtu: 1400", "  \n {mtu: 1400"], ids=["bare", "after_blank_space"])
def test_bad_json_names_the_key(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(good_stack(), raw={f"{NS}network": text})
    assert problem_lines(caught.value) == [
        line("network", "is not valid structured config: Expecting property name enclosed in double quotes")
    ]


def test_every_problem_is_listed_in_one_error() -> None:
    stack = good_stack()
    with_key("colud", {})(stack)
    with_host("vps1", memroy="1G")(stack)
    with_service("postgres", memory="32bm")(stack)
    with_service("redis", memoryReservation="1G")(stack)
    with_service("mongodb", cpuReservation="0.5")(stack)
    with_service("ziggie-api", image="ghcr.io/Ziggie/api:1")(stack)
    with_key("include", [*ALL_SERVICES, "nope"])(stack)
    secrets = {key: "s3cret" for key in SECRETS if key not in ("mongoPassword", "githubRunnerToken")}
    with pytest.raises(ConfigError) as caught:
        load(stack, secrets, plain={"githubRunnerToken": "ghp_plain"}, raw={f"{NS}logging": "[1,"})
    expected = [
        line("colud", "unknown key"),
        line("hosts.vps1.memroy", "unknown key"),
        line(f"include[{len(ALL_SERVICES)}]", "'nope' is not a catalog service"),
        line("logging", "is not valid structured config: Expecting value"),
        line(
            "services.github-runner.secretEnv.ACCESS_TOKEN",
            "ziggie-infra:githubRunnerToken is stored in plain text: set it again with `pulumi config set --secret`",
        ),
        line("services.mongodb.cpuReservation", "0.5 exceeds the cpus limit 0.3"),
        line(
            "services.mongodb.secretEnv.MONGO_INITDB_ROOT_PASSWORD",
            "secret ziggie-infra:mongoPassword is not set: run `pulumi config set --secret mongoPassword -s prod`",
        ),
        line("services.postgres.memory", f"invalid size '32bm': {SIZE_HINT}"),
        line("services.redis.memoryReservation", "1G exceeds the memory limit 512M"),
        line(
            "services.ziggie-api.image",
            "invalid image reference 'ghcr.io/Ziggie/api:1': repository name must be lowercase",
        ),
    ]
    assert sorted(problem_lines(caught.value)) == sorted(expected), str(caught.value)
    assert len(caught.value.problems) == len(expected)


# Rules across fields (placement, image required, shared Docker host) still report when some
# field elsewhere is invalid; before the loader's second pass, only the field errors showed.
CROSS_FIELD_WITH_FIELD_ERRORS = [
    pytest.param(
        chain(with_service("postgres", memory="32bm"), with_service("redis", host="vps9")),
        [
            line("services.postgres.memory", f"invalid size '32bm': {SIZE_HINT}"),
            line("services.redis.host", "'vps9' is not one of the hosts (vps1)"),
        ],
        id="bad_unit_and_missing_host_on_another_service",
    ),
    pytest.param(
        with_service("postgres", memory="32bm", host="vps9"),
        [
            line("services.postgres.memory", f"invalid size '32bm': {SIZE_HINT}"),
            line("services.postgres.host", "'vps9' is not one of the hosts (vps1)"),
        ],
        id="bad_unit_and_missing_host_on_the_same_service",
    ),
    pytest.param(
        chain(with_service("mcp-gateway", image=None, cpus="lots"), with_service("nginx", memoryReservation="1G")),
        [
            line(
                "services.mcp-gateway.cpus",
                "invalid cpus 'lots': expected a non-negative decimal number of CPUs such as 0.5 or 2",
            ),
            line("services.mcp-gateway.image", "is required: set the release tag or digest for this stack"),
            line("services.nginx.memoryReservation", "1G exceeds the memory limit 256M"),
        ],
        id="missing_image_beside_bad_cpus_and_reservation",
    ),
    pytest.param(
        chain(
            with_host("vps1", memory="lots"),
            with_host("vps2", dockerHost=VPS1["dockerHost"]),
            with_key("defaultHost", "vps1"),
        ),
        [
            line("hosts.vps1.memory", f"invalid size 'lots': {SIZE_HINT}"),
            line("hosts.vps2.dockerHost", "is the same Docker host as hosts.vps1"),
        ],
        id="shared_docker_host_beside_bad_host_memory",
    ),
    pytest.param(
        chain(with_service("ziggie-api", image="BAD:1", host="vps9")),
        [
            line("services.ziggie-api.host", "'vps9' is not one of the hosts (vps1)"),
            line("services.ziggie-api.image", "invalid image reference 'BAD:1': repository name must be lowercase"),
        ],
        id="invalid_image_is_not_also_reported_missing",
    ),
    pytest.param(
        chain(with_key("network", {"mtu": 1}), with_service("redis", host="vps9")),
        [
            line("network.mtu", "Input should be greater than or equal to 576 (got 1)"),
            line("services.redis.host", "'vps9' is not one of the hosts (vps1)"),
        ],
        id="missing_host_beside_bad_network",
    ),
    # Each top-level section no rule across entries reads is left out of the second pass.
    *[
        pytest.param(
            chain(with_key(section, {"nope": 1}), with_service("redis", host="vps9")),
            [
                line(f"{section}.nope", "unknown key"),
                line("services.redis.host", "'vps9' is not one of the hosts (vps1)"),
            ],
            id=f"missing_host_beside_bad_{section}",
        )
        for section in ("logging", "cloud")
    ],
    pytest.param(
        chain(with_key("features", {"nope": True}), with_service("redis", host="vps9")),
        [
            line("features.nope.[key]", "String should match pattern '^[A-Z][A-Z0-9_]*$' (got \"nope\")"),
            line("services.redis.host", "'vps9' is not one of the hosts (vps1)"),
        ],
        id="missing_host_beside_bad_features",
    ),
    pytest.param(
        chain(
            with_service(
                "redis", volumes=[{"name": "redis-data", "target": "/data"}, {"name": "redis-b", "target": "/data"}]
            ),
            with_service("nginx", host="vps9"),
        ),
        [
            line("services.nginx.host", "'vps9' is not one of the hosts (vps1)"),
            line("services.redis.volumes", "mount target /data is used twice"),
        ],
        id="service_rule_failing_on_volumes_keeps_them_out_of_the_stand_in",
    ),
    pytest.param(
        chain(
            with_host("vps2", dockerHost="ftp://nope"),
            with_key("defaultHost", "vps1"),
            with_service("redis", host="vps9"),
        ),
        [
            line(
                "hosts.vps2.dockerHost",
                "String should match pattern '^(ssh://[^/\\s]+|unix:///\\S+)$' (got \"ftp://nope\")",
            ),
            line("services.redis.host", "'vps9' is not one of the hosts (vps1, vps2)"),
        ],
        id="host_with_a_bad_docker_host_stands_in_with_a_local_one",
    ),
    pytest.param(
        with_service("redis", host="BAD HOST", needs=["nope"], volumes=[{"name": "n8n-data", "target": "/data"}]),
        [
            line(
                "services.redis.host",
                "String should match pattern '^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$' (got \"BAD HOST\")",
            ),
            # ziggie-api needs redis: it is still a service of the stack, though placed nowhere.
            line("services.redis.needs[0]", "'nope' is not a service of this stack"),
        ],
        id="service_with_a_bad_host_is_placed_nowhere_but_still_needed_and_needing",
    ),
    pytest.param(
        with_service("redis", enabled="maybe", host="vps9"),
        [line("services.redis.enabled", 'Input should be a valid boolean, unable to interpret input (got "maybe")')],
        id="service_with_a_bad_enabled_is_placed_nowhere",
    ),
    pytest.param(
        with_service("redis", memory="lots", enabled=False, host="vps9"),
        [line("services.redis.memory", f"invalid size 'lots': {SIZE_HINT}")],
        id="disabled_service_with_a_bad_field_stays_disabled",
    ),
    pytest.param(
        with_service("redis", memory="lots", volumes=[{"name": "n8n-data", "target": "/data"}]),
        [
            line("services.redis.memory", f"invalid size 'lots': {SIZE_HINT}"),
            line("services.redis.volumes", "volume 'n8n-data' is already used by n8n"),
        ],
        id="volume_clash_beside_a_bad_field_of_the_same_service",
    ),
    pytest.param(
        with_service("redis", memory="lots", needs=["nope"]),
        [
            line("services.redis.memory", f"invalid size 'lots': {SIZE_HINT}"),
            line("services.redis.needs[0]", "'nope' is not a service of this stack"),
        ],
        id="unknown_need_beside_a_bad_field_of_the_same_service",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), CROSS_FIELD_WITH_FIELD_ERRORS)
def test_cross_field_problems_are_listed_beside_field_errors(
    edit: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    stack = good_stack()
    edit(stack)
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert sorted(problem_lines(caught.value)) == sorted(expected), str(caught.value)


def test_cross_field_pass_is_skipped_when_a_key_it_reads_is_invalid() -> None:
    # With environment unreadable the dr/primary rule cannot be judged: report the field only.
    stack = good_stack()
    with_key("environment", "qa")(stack)
    with_service("redis", host="vps9")(stack)
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == [line("environment", "Input should be 'dev', 'prod' or 'dr' (got \"qa\")")]


VALID_EDGES = [
    pytest.param(with_service("sim-studio", image="localhost:5000/app"), id="localhost_registry_unpinned_is_valid"),
    pytest.param(with_key("cloud", {"cdn": False, "budgets": False}), id="cloud_switches_off"),
    # flowise, which nothing needs: a needed service must keep a health check to be waited for.
    pytest.param(with_service("flowise", healthcheck=None), id="null_resets_healthcheck"),
]


def test_a_service_override_that_is_not_a_mapping_is_named_and_the_catalog_entry_kept() -> None:
    stack = good_stack()
    # First, so the overrides after it (the release images) are shown to be read all the same.
    stack["services"] = {"redis": 5, **stack["services"]}
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == [line("services.redis", "must be a mapping of settings")]


def test_a_stack_without_services_runs_the_catalog_and_asks_only_for_the_release_images() -> None:
    stack = good_stack()
    del stack["services"]
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == [
        line(f"services.{name}.image", "is required: set the release tag or digest for this stack")
        for name in ("mcp-gateway", "sim-studio", "ziggie-api")
    ]


def test_a_value_json_cannot_write_is_quoted_as_text() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque thing"

    with pytest.raises(ValidationError) as caught:
        TypeAdapter(int).validate_python(Opaque())
    problems = _pydantic_problems(caught.value, ("services", "redis", "memory"))
    assert problems == [
        Problem(f"{NS}services.redis.memory", 'Input should be a valid integer (got "opaque thing")'),
    ]


def test_an_every_host_service_with_a_bad_field_still_needs_no_host_among_several() -> None:
    stack = good_stack()
    stack["hosts"]["vps2"] = {**VPS1, "dockerHost": "ssh://deploy@203.0.113.11"}
    # Only node-exporter and redis run; node-exporter on every host, redis with a bad unit.
    stack["include"] = ["node-exporter", "redis"]
    stack["services"] = {"redis": {"host": "vps1", "memory": "lots", "everyHost": False}}
    stack["services"]["node-exporter"] = {"memory": "lots"}
    with pytest.raises(ConfigError) as caught:
        load(stack, secrets={"redisPassword": "s3cret", "deploySshKey": "k"})
    assert sorted(problem_lines(caught.value)) == [
        line("services.node-exporter.memory", f"invalid size 'lots': {SIZE_HINT}"),
        line("services.redis.memory", f"invalid size 'lots': {SIZE_HINT}"),
    ], str(caught.value)


@pytest.mark.parametrize("edit", VALID_EDGES)
def test_valid_edges_load(edit: Callable[[dict[str, Any]], None]) -> None:
    stack = good_stack()
    edit(stack)
    load(stack)


def test_localhost_registry_reference_is_valid_but_not_pinned() -> None:
    stack = good_stack()
    with_service("sim-studio", image="localhost:5000/app")(stack)
    image = load(stack).services["sim-studio"].image
    assert image is not None
    assert (image.domain, image.path, image.tag, image.digest) == ("localhost:5000", "app", None, None)
    assert not image.is_pinned(), "no tag means latest: valid, but not pinned"


def test_provider_keys_are_not_ours() -> None:
    loaded = load(good_stack(), raw={"docker:host": "unix:///var/run/docker.sock", "aws:region": "eu-north-1"})
    assert loaded.environment == "prod"
    # Wherever they come in the map, the project's own keys after them are still read.
    config, secret_keys = cli_config(good_stack())
    first = {"aws:region": "eu-north-1", **config, f"{NS}colour": "blue"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config(first, secret_keys, source=SOURCE, stack="prod")
    assert problem_lines(caught.value) == [line("colour", "unknown key")]


def test_a_key_with_two_colons_is_ours_and_unknown() -> None:
    # Its namespace is what comes before the first colon, as the CLI reads `namespace:name`.
    with pytest.raises(ConfigError) as caught:
        load(good_stack(), raw={f"{NS}docker:host": "unix:///var/run/docker.sock"})
    assert problem_lines(caught.value) == [line("docker:host", "unknown key")]


def test_config_error_sorts_by_path_and_counts() -> None:
    error = ConfigError("Pulumi.x.yaml", [Problem("b", "two"), Problem("a", "one")])
    assert (
        str(error)
        == "Pulumi.x.yaml: 2 problems in the stack configuration:\n  Pulumi.x.yaml: a: one\n  Pulumi.x.yaml: b: two"
    )
    assert str(ConfigError("Pulumi.x.yaml", [Problem("a", "one")])).startswith(
        "Pulumi.x.yaml: 1 problem in the stack configuration:"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from([*sorted(STRUCTURED_KEYS | STRING_KEYS), "services.postgres", "hosts.vps1", "services.new"]),
    value=json_values,
)
def test_any_json_anywhere_is_loaded_or_a_config_error(key: str, value: Any) -> None:
    stack = good_stack()
    top, _, name = key.partition(".")
    if name:
        stack[top][name] = value
    else:
        stack[top] = value if top not in STRING_KEYS or isinstance(value, str) else json.dumps(value)
    # Any exception but ConfigError fails the test; a ConfigError must carry its problems.
    problems = None
    try:
        load(stack)
    except ConfigError as exc:
        problems = exc.problems
    assert problems is None or problems, "a ConfigError must carry at least one problem"


# --- preflight.stackfile: the YAML layer ------------------------------------------------------

DUPLICATE_KEYS = [
    pytest.param(
        """\
        config:
          ziggie-infra:services:
            postgres:
              memory: 2G
            postgres:
              memory: 3G
        """,
        "line 5: key 'postgres' is given twice",
        id="duplicate_service",
    ),
    pytest.param(
        """\
        config:
          ziggie-infra:environment: prod
          ziggie-infra:environment: dev
        """,
        "line 3: key 'ziggie-infra:environment' is given twice",
        id="duplicate_config_key",
    ),
    pytest.param(
        """\
        config:
          ziggie-infra:hosts:
            vps1: {memory: 16G, memory: 8G}
        """,
        "line 3: key 'memory' is given twice",
        id="duplicate_key_in_flow_mapping",
    ),
]


@pytest.mark.parametrize(("text", "problem"), DUPLICATE_KEYS)
def test_duplicate_yaml_key_is_a_stack_file_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(StackFileError) as caught:
        read_stack_file(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_stack_file_objects_reach_the_loader_as_json(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            config:
              ziggie-infra:environment: prod
              ziggie-infra:hosts:
                vps1: {dockerHost: "ssh://deploy@203.0.113.10", memory: 16G, cpus: "4",
                       osReserveMemory: 2G, osReserveCpus: "0.5", monthlyPriceUsd: "12"}
              ziggie-infra:services:
                postgres: {memory: 32bm}
              ziggie-infra:redisPassword: hunter2
            """
        ),
        encoding="utf-8",
    )
    stack_file = read_stack_file(path)
    assert json.loads(stack_file.config["ziggie-infra:hosts"])["vps1"]["memory"] == "16G"
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack_file.config, stack_file.secret_keys, source=path.name, stack="prod")
    lines = str(caught.value).splitlines()[1:]
    assert line("services.postgres.memory", f"invalid size '32bm': {SIZE_HINT}") in lines
    assert (
        line(
            "services.redis.secretEnv.REDIS_PASSWORD",
            "ziggie-infra:redisPassword is stored in plain text: set it again with `pulumi config set --secret`",
        )
        in lines
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_committed_stack_file_loads_clean(stack: str) -> None:
    stack_file = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    loaded = load_stack_config(stack_file.config, stack_file.secret_keys, source=stack_file.path.name, stack=stack)
    assert loaded.environment == stack
    assert loaded.secrets_from_config() == {key.removeprefix(NS) for key in stack_file.secret_keys}, (
        "every secret in the stack file is read by the stack, and every one it reads from config is set"
    )


# --- deep_merge -------------------------------------------------------------------------------

MERGES = [
    pytest.param({"a": 1, "b": 2}, {"b": None}, {"a": 1}, id="null_removes_key"),
    pytest.param({"a": 1}, {"z": None}, {"a": 1}, id="null_on_absent_key_is_no_op"),
    pytest.param(
        {"hc": {"interval": "10s", "retries": 3}},
        {"hc": {"retries": 5}},
        {"hc": {"interval": "10s", "retries": 5}},
        id="mappings_merge",
    ),
    pytest.param(
        {"hc": {"interval": "10s", "startPeriod": "20s"}},
        {"hc": {"startPeriod": None}},
        {"hc": {"interval": "10s"}},
        id="nested_null_removes_nested_key",
    ),
    pytest.param({"cmd": ["a", "b", "c"]}, {"cmd": ["x"]}, {"cmd": ["x"]}, id="lists_replace"),
    pytest.param({"env": {"A": "1"}}, {"env": "text"}, {"env": "text"}, id="scalar_replaces_mapping"),
    pytest.param({"env": "text"}, {"env": {"A": "1"}}, {"env": {"A": "1"}}, id="mapping_replaces_scalar"),
    pytest.param({"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="new_key_added"),
    pytest.param({"v": [{"x": 1}]}, {"v": []}, {"v": []}, id="empty_list_replaces"),
]


@pytest.mark.parametrize(("base", "override", "expected"), MERGES)
def test_deep_merge(base: dict[str, Any], override: dict[str, Any], expected: dict[str, Any]) -> None:
    frozen = copy.deepcopy(base)
    assert deep_merge(base, override) == expected
    assert base == frozen, "deep_merge must not modify the catalog entry it starts from"


def test_secret_of_a_disabled_service_is_named_as_unused() -> None:
    stack = good_stack()
    stack["services"]["grafana"] = {"enabled": False}
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == [
        line("grafanaAdminPassword", "is not read by any enabled service (grafana is disabled)")
    ]


def test_standby_reading_replicas_refuses_its_own_copy_of_a_secret() -> None:
    # Not declared in Pulumi.yaml (dr sets none), so only the program can say it is not read.
    root = Path(__file__).resolve().parents[2]
    stack_file = read_stack_file(root / "Pulumi.dr.yaml")
    config = {**stack_file.config, f"{NS}postgresPassword": "x", f"{NS}colour": "blue"}
    secret_keys = [*stack_file.secret_keys, f"{NS}postgresPassword"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(config, secret_keys, source="Pulumi.dr.yaml", stack="dr")
    # A key that is no secret of the stack is unknown there as anywhere.
    assert [f"{p.path}: {p.message}" for p in caught.value.problems] == [
        f"{NS}colour: unknown key",
        f"{NS}postgresPassword: is not read: primary.secretsFromReplicas reads it from the primary's replicas",
    ]


def test_structured_key_set_as_secret_is_refused_without_echoing_it() -> None:
    config, secret_keys = cli_config(good_stack())
    config[f"{NS}network"] = json.dumps({"mtu": "sensitive-looking-value"})
    secret_keys.append(f"{NS}network")
    with pytest.raises(ConfigError) as caught:
        load_stack_config(config, secret_keys, source=SOURCE, stack="prod")
    assert problem_lines(caught.value) == [line("network", "is set with --secret; set it as plain config")]
    assert "sensitive-looking-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ({"awsDr": True}, [line("aws", "is required when cloud.awsDr is true")]),
    ],
    ids=["aws_dr_needs_aws_settings"],
)
def test_cloud_switches_that_cannot_be_honoured_are_errors(cloud: dict[str, bool], expected: list[str]) -> None:
    stack = good_stack()
    stack["cloud"] = cloud
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == expected


def dns_stack(**dns: Any) -> dict[str, Any]:
    """good_stack with the AWS DR parts on and vps1 serving app.ziggie.example."""
    stack = good_stack()
    stack["hosts"]["vps1"].update(publicAddress="vps1.ziggie.example", ipv4="203.0.113.10")
    stack["cloud"] = {"awsDr": True}
    stack["alerts"] = {"emails": ["ops@ziggie.example"]}
    stack["aws"] = {"dns": {"zoneName": "ziggie.example", "recordName": "app.ziggie.example", "host": "vps1", **dns}}
    return stack


def test_failover_stack_loads_with_its_address_records() -> None:
    loaded = load(dns_stack())
    assert loaded.aws is not None and loaded.aws.dns is not None
    assert loaded.aws.dns.host == "vps1"
    assert {name: str(h.ipv4) for name, h in loaded.address_records().items()} == {"vps1": "203.0.113.10"}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            with_key("alerts", {"emails": []}),
            [
                line(
                    "alerts.emails",
                    "is empty, but aws.dns.healthCheck.alarm is on: list who is told when the primary fails",
                ),
                line("alerts.emails", "is empty, but certbot needs an address to register with Let's Encrypt"),
                line("alerts.emails", "must name at least one address: alertmanager mails them"),
            ],
        ),
        (
            with_host("vps1", ipv4=None),
            [
                line(
                    "aws.dns.host",
                    "host vps1 needs publicAddress and ipv4: the failover record answers with its address record "
                    "and the health check probes its IP",
                )
            ],
        ),
        (
            with_host("vps1", publicAddress="203.0.113.10"),
            [
                # The rules across entries see the host without its invalid name, and say so too.
                line(
                    "aws.dns.host",
                    "host vps1 needs publicAddress and ipv4: the failover record answers with its address record "
                    "and the health check probes its IP",
                ),
                line(
                    "hosts.vps1.publicAddress",
                    "must be a DNS name (`vps1.ziggie.example`) when ipv4 or ipv6 is set: it names the address records",
                ),
            ],
        ),
        (
            with_host("vps1", publicAddress="vps1.other.example"),
            [
                line(
                    "hosts.vps1.publicAddress",
                    "vps1.other.example is not inside the zone ziggie.example, so it gets no address record",
                )
            ],
        ),
        (
            lambda stack: stack["aws"]["dns"].update(host="vps9"),
            [line("aws.dns.host", "'vps9' is not one of the hosts (vps1)")],
        ),
        (
            lambda stack: stack["aws"].update(buckets=["assets"], bucketSettings={"backups": {"twoWay": False}}),
            [line("aws.bucketSettings.backups", "is not one of the buckets (assets)")],
        ),
    ],
    ids=[
        "prod_alarm_with_no_subscriber",
        "serving_host_without_ip",
        "ip_as_public_address",
        "address_outside_the_zone",
        "serving_host_unknown",
        "settings_for_an_unknown_bucket",
    ],
)
def test_failover_config_errors(edit: Callable[[dict[str, Any]], None], expected: list[str]) -> None:
    stack = dns_stack()
    edit(stack)
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == expected


def test_alarm_without_subscriber_is_allowed_off_prod() -> None:
    # certbot registers with Let's Encrypt by email and Alertmanager mails: neither runs here.
    stack = chain(with_service("certbot", enabled=False), with_service("alertmanager", enabled=False))
    loaded = dns_stack()
    stack(loaded)
    loaded.update(environment="dev", alerts={"emails": []})
    secrets = {key: "s3cret" for key in SECRETS if key != SMTP_PASSWORD_KEY}
    assert load(loaded, secrets).alerts.emails == ()


def test_every_host_services_need_no_host_among_several_hosts() -> None:
    stack = good_stack()
    stack["hosts"]["vps2"] = {**VPS1, "dockerHost": "ssh://deploy@203.0.113.11"}
    for name, entry in DEFAULT_CATALOG.items():
        if not entry.get("everyHost"):
            stack["services"].setdefault(name, {})["host"] = "vps1"
    loaded = load(stack)
    assert loaded.hosts_of("cadvisor") == ["vps1", "vps2"]
    assert [loaded.container_name("cadvisor", h) for h in ("vps1", "vps2")] == ["cadvisor-vps1", "cadvisor-vps2"]
    assert loaded.address_of("promtail", "vps2") == "promtail-vps2"
    assert loaded.address_of("loki", "vps2") == "loki"


def test_the_same_map_is_validated_once_and_any_change_validates_again() -> None:
    # preflight validates the map before the program runs and the program loads it again.
    config, secret_keys = cli_config(good_stack())
    first = load_stack_config(config, secret_keys, source=SOURCE, stack="prod")
    assert load_stack_config(dict(config), list(secret_keys), source=SOURCE, stack="prod") is first
    # The same values with a secret key now set in plain text: refused, every time it comes.
    plain_keys = [key for key in secret_keys if not key.endswith("deploySshKey")]
    for _ in range(2):
        with pytest.raises(ConfigError, match="deploySshKey is stored in plain text"):
            load_stack_config(config, plain_keys, source=SOURCE, stack="prod")
    changed = good_stack()
    changed["hosts"]["vps1"]["memory"] = "32G"
    other = load(changed)
    assert other is not first
    assert str(other.hosts["vps1"].memory) != str(first.hosts["vps1"].memory)


def _replicating(*keys: str) -> dict[str, Any]:
    stack = dns_stack()
    stack["aws"]["replicatedSecrets"] = list(keys)
    return stack


def test_a_replicated_secret_no_service_reads_must_still_be_set_as_a_secret() -> None:
    # stripeKey is read by nothing on the host: it is replicated for the DR region's own use.
    loaded = load(
        _replicating("postgresPassword", "stripeKey"), secrets={**dict.fromkeys(SECRETS, "s"), "stripeKey": "s"}
    )
    assert loaded.aws is not None and loaded.aws.replicated_secrets == ("postgresPassword", "stripeKey")
    for secrets, plain, problem in (
        ({}, {}, "secret ziggie-infra:stripeKey is not set: run `pulumi config set --secret stripeKey -s prod`"),
        (
            {},
            {"stripeKey": "s"},
            "ziggie-infra:stripeKey is stored in plain text: set it again with `pulumi config set --secret`",
        ),
    ):
        with pytest.raises(ConfigError) as caught:
            load(
                _replicating("postgresPassword", "stripeKey"),
                secrets={**dict.fromkeys(SECRETS, "s"), **secrets},
                plain=plain,
            )
        assert problem_lines(caught.value) == [line("aws.replicatedSecrets[1]", problem)]


def test_a_host_reads_its_ssh_key_from_the_secret_it_names() -> None:
    stack = good_stack()
    stack["hosts"]["vps1"]["sshKeySecret"] = "vps1SshKey"
    secrets = {**{k: "s" for k in SECRETS if k != "deploySshKey"}, "vps1SshKey": "k"}
    assert load(stack, secrets=secrets).hosts["vps1"].ssh_key_secret == "vps1SshKey"
    with pytest.raises(ConfigError) as caught:
        load(stack, secrets={k: "s" for k in SECRETS if k != "deploySshKey"})
    assert problem_lines(caught.value) == [
        line(
            "hosts.vps1.sshKeySecret",
            "secret ziggie-infra:vps1SshKey is not set: run `pulumi config set --secret vps1SshKey -s prod`",
        )
    ]


def test_the_keys_after_a_structured_key_set_as_secret_are_still_read() -> None:
    config, secret_keys = cli_config(good_stack())
    config = {f"{NS}network": json.dumps({"mtu": 1400}), **config, f"{NS}colour": "blue"}
    secret_keys.append(f"{NS}network")
    with pytest.raises(ConfigError) as caught:
        load_stack_config(config, secret_keys, source=SOURCE, stack="prod")
    assert problem_lines(caught.value) == [
        line("colour", "unknown key"),
        line("network", "is set with --secret; set it as plain config"),
    ]
