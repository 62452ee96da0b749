"""Tests for generated.prometheus_rules and generated.scrape_targets, checked by promtool itself.

Every stack's configuration is rendered into a temporary directory laid out as the prometheus
container sees it (/etc/prometheus/prometheus.yml beside rules/ziggie.yml), then
`promtool check config`, `promtool check rules` and `promtool test rules` run on it. The unit
tests give each alert an input that crosses its threshold (it must fire, with its labels and
summary) and one just below it (it must stay quiet); the thresholds come from the stack's own
config, and the expected summaries are written here from the inputs, not read back from the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_support import STACKS, run_tool, stack_config, write

from config.models import Service, StackConfig
from generated.prometheus_rules import (
    POSTGRES_DEFAULT_MAX_CONNECTIONS,
    CatalogNumberError,
    data_mountpoints,
    postgres_max_connections,
    redis_maxmemory,
    rule_groups,
)
from generated.scrape_targets import (
    PROMETHEUS_CONFIG,
    RULES_PATH,
    Copies,
    per_host_copies,
    placed_copy,
    prometheus_sections,
    scrape_configs,
)

RULES_FILE = Path(RULES_PATH).name


def render(cfg: StackConfig, root: Path) -> Path:
    """prometheus.yml (a minimal one around the generated sections) and the rule file, as in the container."""
    document = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"}, **prometheus_sections(cfg)}
    write(root, RULES_PATH, yaml.safe_dump(rule_groups(cfg), sort_keys=False))
    return write(root, PROMETHEUS_CONFIG, yaml.safe_dump(document, sort_keys=False))


def alert_names(cfg: StackConfig) -> set[str]:
    return {rule["alert"] for group in rule_groups(cfg)["groups"] for rule in group["rules"]}


# --- unit tests for `promtool test rules` ------------------------------------------------------


def case(alert: str, series: list[dict[str, str]], eval_time: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    """One promtool unit test: the input series and the alerts expected at `eval_time`."""
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": expected}],
    }


def fired(labels: dict[str, str], summary: str) -> dict[str, Any]:
    return {"exp_labels": labels, "exp_annotations": {"summary": summary}}


def selector(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def runs(cfg: StackConfig, service: str) -> bool:
    return service in cfg.enabled_services()


def host_cases(cfg: StackConfig) -> list[dict[str, Any]]:
    if not runs(cfg, "node-exporter"):
        return []
    t = cfg.monitoring.thresholds
    host = next(iter(cfg.hosts))
    node = {"host": host, "service": "node-exporter", "job": "node-exporter", "instance": "node-exporter:9100"}
    cases: list[dict[str, Any]] = []

    # Idle seconds per minute on one CPU: busy = 100 - idle/60*100.
    def cpu(busy: int) -> dict[str, str]:
        idle_per_minute = (100 - busy) * 60 // 100
        labels = {**node, "cpu": "0", "mode": "idle"}
        return {"series": selector("node_cpu_seconds_total", labels), "values": f"0+{idle_per_minute}x40"}

    above = t.host_cpu_percent + (100 - t.host_cpu_percent) // 2
    expected = {"host": host, "service": "host", "severity": "warning"}
    summary = f"host {host}: CPU {above}% busy for 15 minutes (threshold {t.host_cpu_percent}%)"
    cases.append(case("HostCpuPressure", [cpu(above)], "25m", [fired(expected, summary)]))
    cases.append(case("HostCpuPressure", [cpu(t.host_cpu_percent - 10)], "25m", []))

    def memory(used: int) -> list[dict[str, str]]:
        return [
            {"series": selector("node_memory_MemTotal_bytes", node), "values": "1000x30"},
            {"series": selector("node_memory_MemAvailable_bytes", node), "values": f"{1000 - used * 10}x30"},
        ]

    above = t.host_memory_percent + (100 - t.host_memory_percent) // 2
    expected = {**node, "service": "host", "severity": "critical"}
    summary = (
        f"host {host}: memory {above}% in use (threshold {t.host_memory_percent}%); the kernel's OOM killer is next"
    )
    cases.append(case("HostMemoryPressure", memory(above), "15m", [fired(expected, summary)]))
    cases.append(case("HostMemoryPressure", memory(t.host_memory_percent - 10), "15m", []))

    hosts, points = data_mountpoints(cfg)
    if points:
        data_host, mountpoint = hosts[0], "/"
        disk = {**node, "host": data_host, "device": "/dev/vda1", "fstype": "ext4"}

        def filesystem(point: str, free: int) -> list[dict[str, str]]:
            labels = {**disk, "mountpoint": point}
            return [
                {"series": selector("node_filesystem_size_bytes", labels), "values": "1000x30"},
                {"series": selector("node_filesystem_avail_bytes", labels), "values": f"{free * 10}x30"},
            ]

        low = t.disk_free_percent // 2
        expected = {**disk, "mountpoint": mountpoint, "service": "host", "severity": "critical"}
        summary = (
            f"host {data_host}: {low}% free on {mountpoint}, which holds the data paths"
            f" (threshold {t.disk_free_percent}%)"
        )
        cases.append(case("DataDiskSpaceLow", filesystem(mountpoint, low), "15m", [fired(expected, summary)]))
        cases.append(case("DataDiskSpaceLow", filesystem(mountpoint, t.disk_free_percent * 2), "15m", []))
        # A full filesystem that holds no data path is not this alert's business.
        cases.append(case("DataDiskSpaceLow", filesystem("/boot", low), "15m", []))
    return cases


def container_cases(cfg: StackConfig) -> list[dict[str, Any]]:
    if not runs(cfg, "cadvisor"):
        return []
    t = cfg.monitoring.thresholds
    name, spec = next(iter(cfg.enabled_services().items()))
    host = cfg.host_of(name)
    cadvisor = {"host": host, "service": name, "name": name, "job": "cadvisor", "instance": "cadvisor:8080"}
    cases: list[dict[str, Any]] = []

    def memory(percent: int) -> list[dict[str, str]]:
        return [
            {"series": selector("container_spec_memory_limit_bytes", cadvisor), "values": "1000x20"},
            {"series": selector("container_memory_working_set_bytes", cadvisor), "values": f"{percent * 10}x20"},
        ]

    above = t.container_memory_percent + (100 - t.container_memory_percent) // 2
    expected = {"host": host, "service": name, "name": name, "severity": "warning"}
    summary = f"{name} on {host}: working set at {above}% of its memory limit (threshold {t.container_memory_percent}%)"
    cases.append(case("ContainerNearMemoryLimit", memory(above), "10m", [fired(expected, summary)]))
    cases.append(case("ContainerNearMemoryLimit", memory(t.container_memory_percent - 10), "10m", []))

    start = selector("container_start_time_seconds", cadvisor)
    expected = {**cadvisor, "severity": "warning"}
    # Three restarts at minutes 10, 11 and 12; by 20m the loop has lasted past `for: 5m`.
    summary = f"{name} on {host}: restarted 3 times in 15 minutes"
    looping = [{"series": start, "values": "0x9 60 120 180 180x20"}]
    cases.append(case("ContainerRestarting", looping, "20m", [fired(expected, summary)]))
    cases.append(case("ContainerRestarting", [{"series": start, "values": "0x9 60 60x20"}], "20m", []))

    # Every container the stack runs: the agents on every host (the rules' default), the rest
    # where they are placed.
    agents = {"node-exporter", "cadvisor", "promtail"}
    placed = [(n, h) for n in cfg.enabled_services() for h in (list(cfg.hosts) if n in agents else [cfg.host_of(n)])]

    def seen(missing: tuple[str, str] | None) -> list[dict[str, str]]:
        return [
            {"series": selector("container_last_seen", {"service": n, "host": h, "name": n}), "values": "1x20"}
            for n, h in placed
            if (n, h) != missing
        ]

    for severity, tiers in (("critical", {"critical"}), ("warning", {"workflow", "monitoring"})):
        group = [(n, h) for n, h in placed if cfg.services[n].tier in tiers]
        if not group:
            continue
        # The last one: on a multi-host stack, an agent's copy on the last host.
        gone, on = group[-1]
        expected = {"service": gone, "host": on, "severity": severity}
        summary = f"{gone} on {on}: no running container for 5 minutes"
        cases.append(case("ContainerMissing", seen((gone, on)), "10m", [fired(expected, summary)]))
    cases.append(case("ContainerMissing", seen(None), "10m", []))
    assert spec is not None
    return cases


def database_cases(cfg: StackConfig) -> list[dict[str, Any]]:
    t = cfg.monitoring.thresholds
    services = cfg.enabled_services()
    cases: list[dict[str, Any]] = []
    if "postgres-exporter" in services:
        host = cfg.host_of("postgres")
        limit = postgres_max_connections(services["postgres"])
        threshold = limit * t.postgres_connections_percent // 100
        exporter = {"service": "postgres-exporter", "host": cfg.host_of("postgres-exporter")}

        def connections(count: int) -> list[dict[str, str]]:
            # Two databases' worth, so the rule must add them up.
            return [
                {
                    "series": selector("pg_stat_activity_count", {**exporter, "datname": db, "state": "active"}),
                    "values": f"{part}x20",
                }
                for db, part in (("ziggie", count - 1), ("postgres", 1))
            ]

        expected = {"service": "postgres", "host": host, "severity": "warning"}
        summary = (
            f"postgres on {host}: {threshold + 1} connections, above {t.postgres_connections_percent}%"
            f" of max_connections={limit}"
        )
        cases.append(case("PostgresConnectionsHigh", connections(threshold + 1), "10m", [fired(expected, summary)]))
        cases.append(case("PostgresConnectionsHigh", connections(threshold), "10m", []))
        up = [{"series": selector("pg_up", exporter), "values": "0x10"}]
        expected = {"service": "postgres", "host": host, "severity": "critical"}
        summary = f"postgres on {host}: the exporter cannot connect to it"
        cases.append(case("PostgresUnreachable", up, "5m", [fired(expected, summary)]))
        cases.append(case("PostgresUnreachable", [{"series": selector("pg_up", exporter), "values": "1x10"}], "5m", []))
    if "redis-exporter" in services:
        host = cfg.host_of("redis")
        exporter = {"service": "redis-exporter", "host": cfg.host_of("redis-exporter")}
        maxmemory = redis_maxmemory(services["redis"])
        if maxmemory is not None:
            limit, written = maxmemory
            threshold = limit * t.redis_memory_percent // 100
            used = selector("redis_memory_used_bytes", exporter)
            expected = {"service": "redis", "host": host, "severity": "warning"}
            summary = (
                f"redis on {host}: memory above {t.redis_memory_percent}% of maxmemory {written};"
                " at the limit redis evicts keys by its maxmemory-policy"
            )
            above = [{"series": used, "values": f"{threshold + 1}x20"}]
            cases.append(case("RedisMemoryHigh", above, "10m", [fired(expected, summary)]))
            cases.append(case("RedisMemoryHigh", [{"series": used, "values": f"{threshold}x20"}], "10m", []))
        up = selector("redis_up", exporter)
        expected = {"service": "redis", "host": host, "severity": "critical"}
        summary = f"redis on {host}: the exporter cannot connect to it"
        cases.append(case("RedisUnreachable", [{"series": up, "values": "0x10"}], "5m", [fired(expected, summary)]))
        cases.append(case("RedisUnreachable", [{"series": up, "values": "1x10"}], "5m", []))
    return cases


def target_cases(cfg: StackConfig) -> list[dict[str, Any]]:
    name = next(iter(cfg.enabled_services()))
    host = cfg.host_of(name)
    target = {"job": name, "instance": f"{name}:9100", "service": name, "host": host}
    series = selector("up", target)
    summary = f"{name} on {host}: Prometheus cannot scrape {name}:9100"
    return [
        case(
            "ScrapeTargetDown",
            [{"series": series, "values": "0x10"}],
            "6m",
            [fired({**target, "severity": "critical"}, summary)],
        ),
        # Down for less than `for: 5m` is a blip, not an alert.
        case("ScrapeTargetDown", [{"series": series, "values": "1x5 0x5"}], "9m", []),
    ]


def unit_tests(cfg: StackConfig) -> list[dict[str, Any]]:
    return host_cases(cfg) + container_cases(cfg) + database_cases(cfg) + target_cases(cfg)


def alerts_under_test(tests: list[dict[str, Any]]) -> set[str]:
    return {check["alertname"] for test in tests for check in test["alert_rule_test"]}


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_check_config_resolves_the_rule_files(stack: str, tmp_path: Path) -> None:
    config = render(stack_config(stack), tmp_path)
    result = run_tool("promtool", "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout + result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_check_rules(stack: str, tmp_path: Path) -> None:
    cfg = stack_config(stack)
    rules = write(tmp_path, RULES_PATH, yaml.safe_dump(rule_groups(cfg), sort_keys=False))
    result = run_tool("promtool", "check", "rules", rules)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(group["rules"]) for group in rule_groups(cfg)["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_unit_tests_fire_above_and_stay_quiet_below(stack: str, tmp_path: Path) -> None:
    cfg = stack_config(stack)
    tests = unit_tests(cfg)
    assert alerts_under_test(tests) == alert_names(cfg), "every generated alert has a unit test"
    rules = write(tmp_path, RULES_PATH, yaml.safe_dump(rule_groups(cfg), sort_keys=False))
    spec = rules.parent / "ziggie_test.yml"
    spec.write_text(
        yaml.safe_dump({"rule_files": [RULES_FILE], "evaluation_interval": "1m", "tests": tests}, sort_keys=False),
        encoding="utf-8",
    )
    result = run_tool("promtool", "test", "rules", spec)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_refuses_a_rule_that_does_not_parse(tmp_path: Path) -> None:
    # The checker is not a no-op: a broken expression is refused.
    broken = {"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "up ==", "for": "1m"}]}]}
    rules = write(tmp_path, RULES_PATH, yaml.safe_dump(broken))
    result = run_tool("promtool", "check", "rules", rules)
    assert result.returncode != 0


def test_rules_need_the_exporter_they_read() -> None:
    # dev runs no node-exporter, cadvisor or database exporters: only the scrape check is left,
    # rather than rules that would find every container "missing".
    assert alert_names(stack_config("dev")) == {"ScrapeTargetDown"}


@pytest.mark.parametrize("stack", ["prod", "dr"])
def test_prod_and_dr_alerts_cover_what_the_seed_asks(stack: str) -> None:
    assert alert_names(stack_config(stack)) == {
        "HostCpuPressure",
        "HostMemoryPressure",
        "DataDiskSpaceLow",
        "ContainerNearMemoryLimit",
        "ContainerRestarting",
        "ContainerMissing",
        "PostgresConnectionsHigh",
        "PostgresUnreachable",
        "RedisMemoryHigh",
        "RedisUnreachable",
        "ScrapeTargetDown",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_rule_has_for_severity_and_a_summary_naming_service_and_host(stack: str) -> None:
    for group in rule_groups(stack_config(stack))["groups"]:
        for rule in group["rules"]:
            assert rule["for"], rule["alert"]
            assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
            summary = rule["annotations"]["summary"]
            host_named = "$labels.host" in summary or rule["labels"].get("host", "") in summary
            service_named = (
                "$labels.service" in summary
                or rule["labels"].get("service", "") in summary
                or rule["labels"].get("service") == "host"
            )
            assert host_named and service_named, f"{rule['alert']}: {summary}"


# --- the catalog's numbers ----------------------------------------------------------------------


def svc(command: list[str]) -> Service:
    return Service.model_validate({"tier": "critical", "memory": "64M", "cpus": "1", "command": command})


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param(["postgres", "-c", "max_connections=100"], 100, id="seed_c_flag"),
        pytest.param(["postgres", "-c", "max_connections=50", "-c", "max_connections=70"], 70, id="last_setting_wins"),
        pytest.param(["postgres", "--max_connections=30"], 30, id="long_option"),
        pytest.param(["postgres", "-c", "work_mem=32MB"], POSTGRES_DEFAULT_MAX_CONNECTIONS, id="unset_is_the_default"),
    ],
)
def test_postgres_max_connections_is_read_from_the_command(command: list[str], expected: int) -> None:
    assert postgres_max_connections(svc(command)) == expected


def test_postgres_max_connections_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(CatalogNumberError, match="'lots' is not a positive whole number"):
        postgres_max_connections(svc(["postgres", "-c", "max_connections=lots"]))


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param("exec redis-server --maxmemory 450mb", (450 * 1024**2, "450mb"), id="mb_is_binary"),
        pytest.param("exec redis-server --maxmemory 450m", (450 * 1000**2, "450m"), id="m_is_decimal"),
        pytest.param("exec redis-server --maxmemory 1GB", (1024**3, "1GB"), id="units_ignore_case"),
        pytest.param("exec redis-server --maxmemory 0", None, id="zero_is_unbounded"),
        pytest.param("exec redis-server --appendonly yes", None, id="unset_is_unbounded"),
    ],
)
def test_redis_maxmemory_follows_redis_conf_units(script: str, expected: tuple[int, str] | None) -> None:
    assert redis_maxmemory(svc(["sh", "-c", script])) == expected


def test_thresholds_come_from_the_stack_catalog() -> None:
    # dev runs postgres with max_connections=50 and redis with 200mb; prod with the seed's 100 and 450mb.
    dev, prod = stack_config("dev"), stack_config("prod")
    assert postgres_max_connections(dev.services["postgres"]) == 50
    assert postgres_max_connections(prod.services["postgres"]) == 100
    assert redis_maxmemory(dev.services["redis"]) == (200 * 1024**2, "200mb")
    rules = {r["alert"]: r for g in rule_groups(prod)["groups"] for r in g["rules"]}
    assert rules["PostgresConnectionsHigh"]["expr"].endswith("> 80")
    assert rules["RedisMemoryHigh"]["expr"].endswith(f"> {450 * 1024**2 * 90 // 100}")


def test_data_disk_rule_watches_every_mount_on_the_way_to_the_data_paths() -> None:
    hosts, points = data_mountpoints(stack_config("prod"))
    assert hosts == ["vps1", "vps2"]
    assert {"/", "/mnt", "/mnt/nvme", "/mnt/nvme/ziggie", "/mnt/nvme/ziggie/postgres"} <= set(points)


# --- scrape targets ------------------------------------------------------------------------------


def targets(jobs: list[dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, str]]]]:
    return {job["job_name"]: [(t, sc["labels"]) for sc in job["static_configs"] for t in sc["targets"]] for job in jobs}


def test_per_host_agents_are_scraped_on_every_host_by_their_per_host_name() -> None:
    jobs = targets(scrape_configs(stack_config("prod"), per_host_copies))
    assert jobs["node-exporter"] == [
        ("node-exporter-vps1:9100", {"service": "node-exporter", "host": "vps1"}),
        ("node-exporter-vps2:9100", {"service": "node-exporter", "host": "vps2"}),
    ]
    assert [t for t, _ in jobs["cadvisor"]] == ["cadvisor-vps1:8080", "cadvisor-vps2:8080"]


def test_placed_copy_scrapes_the_one_agent_container() -> None:
    jobs = targets(scrape_configs(stack_config("prod"), placed_copy))
    assert jobs["node-exporter"] == [("node-exporter:9100", {"service": "node-exporter", "host": "vps1"})]


def test_every_service_with_metrics_is_scraped_where_it_runs() -> None:
    cfg = stack_config("prod")
    jobs = targets(scrape_configs(cfg))
    assert jobs["n8n"] == [("n8n:5678", {"service": "n8n", "host": "vps2"})]
    assert jobs["postgres-exporter"] == [("postgres-exporter:9187", {"service": "postgres-exporter", "host": "vps1"})]
    with_metrics = {n for n, s in cfg.enabled_services().items() if s.metrics is not None}
    assert set(jobs) == with_metrics


def test_alerting_points_at_alertmanager_only_where_it_runs() -> None:
    prod = prometheus_sections(stack_config("prod"))["alerting"]
    assert prod == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}
    assert prometheus_sections(stack_config("dev"))["alerting"] == {"alertmanagers": []}


def test_missing_container_rule_expects_agents_where_their_copies_run() -> None:
    def expects(copies: Copies) -> str:
        rules = rule_groups(stack_config("prod"), copies)["groups"]
        return " ".join(r["expr"] for g in rules for r in g["rules"] if r["alert"] == "ContainerMissing")

    vps2_agent = 'container_last_seen{service="cadvisor",host="vps2"}'
    assert vps2_agent in expects(per_host_copies)
    assert vps2_agent not in expects(placed_copy)
    assert 'container_last_seen{service="cadvisor",host="vps1"}' in expects(placed_copy)
