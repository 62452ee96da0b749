"""Grafana provisioning: the Prometheus and Loki data sources and two dashboards.

`hosts` shows, per host, what its containers use (cadvisor) and what the host has in use
(node-exporter) against the same figures preflight's allocation table prints: the pool, the sum
of memory and CPU limits and the sum of reservations of the services placed there. `databases`
shows postgres connections against the catalog's `max_connections` and redis memory against
its `--maxmemory`. The fixed figures are drawn as constant series (`vector(N)`), so one panel
holds the budget and the usage.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from config.models import StackConfig
from generated import GeneratedFile, yaml_text
from generated.loki import PORT as LOKI_PORT
from generated.prometheus_rules import postgres_max_connections, redis_maxmemory
from generated.scrape_targets import Copies, per_host_copies, placements

PROVISIONING = "/etc/grafana/provisioning"
DASHBOARDS_DIR = "/etc/grafana/dashboards/ziggie"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}


def datasources() -> dict[str, Any]:
    """The data sources file: Prometheus (the default) and Loki, neither editable in the UI."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": PROMETHEUS["type"],
                "uid": PROMETHEUS["uid"],
                "access": "proxy",
                "url": "http://prometheus:9090",
                "isDefault": True,
                "editable": False,
            },
            {
                "name": "Loki",
                "type": LOKI["type"],
                "uid": LOKI["uid"],
                "access": "proxy",
                "url": f"http://loki:{LOKI_PORT}",
                "editable": False,
            },
        ],
    }


def dashboard_provider() -> dict[str, Any]:
    """The dashboards provider: the generated JSON files, read-only in the UI."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "ziggie",
                "folder": "ziggie",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": DASHBOARDS_DIR},
            }
        ],
    }


def _target(ref: str, expr: str, legend: str) -> dict[str, Any]:
    return {"refId": ref, "datasource": PROMETHEUS, "expr": expr, "legendFormat": legend}


def _panel(panel_id: int, title: str, unit: str, y: int, x: int, targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": PROMETHEUS,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": targets,
    }


def _dashboard(uid: str, title: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["ziggie"],
        "editable": False,
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "panels": panels,
    }


def _number(value: Decimal | int) -> str:
    return format(Decimal(value).normalize(), "f")


def hosts_dashboard(cfg: StackConfig, copies: Copies = per_host_copies) -> dict[str, Any]:
    """Per host: memory and CPU in use against the pool, the limits and the reservations."""
    panels: list[dict[str, Any]] = []
    where = placements(cfg, copies)
    for row, (name, host) in enumerate(cfg.hosts.items()):
        placed = [cfg.services[n] for n, h in where if h == name]
        mem_limits = sum(s.memory for s in placed)
        mem_reserved = sum(s.memory_reservation or 0 for s in placed)
        cpu_limits = sum((s.cpus for s in placed), Decimal(0))
        cpu_reserved = sum((s.cpu_reservation or Decimal(0) for s in placed), Decimal(0))
        on_host = f'host="{name}",service!="",name!=""'
        y = row * 9
        panels.append(
            {
                "id": 100 + row * 10,
                "type": "row",
                "title": f"{name}: pool {host.pool_memory // (1024**3)} GiB / {_number(host.pool_cpus)} vCPU",
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "collapsed": False,
                "panels": [],
            }
        )
        panels.append(
            _panel(
                101 + row * 10,
                f"{name}: memory",
                "bytes",
                y + 1,
                0,
                [
                    _target("A", f"sum(container_memory_working_set_bytes{{{on_host}}})", "containers' working set"),
                    _target(
                        "B",
                        f'node_memory_MemTotal_bytes{{host="{name}"}} - node_memory_MemAvailable_bytes{{host="{name}"}}',
                        "host in use",
                    ),
                    _target("C", f"vector({host.pool_memory})", "pool"),
                    _target("D", f"vector({mem_limits})", "memory limits"),
                    _target("E", f"vector({mem_reserved})", "memory reservations"),
                ],
            )
        )
        panels.append(
            _panel(
                102 + row * 10,
                f"{name}: CPU",
                "none",
                y + 1,
                12,
                [
                    _target("A", f"sum(rate(container_cpu_usage_seconds_total{{{on_host}}}[5m]))", "containers (vCPU)"),
                    _target("B", f"vector({_number(host.pool_cpus)})", "pool"),
                    _target("C", f"vector({_number(cpu_limits)})", "CPU limits"),
                    _target("D", f"vector({_number(cpu_reserved)})", "CPU reservations"),
                ],
            )
        )
    return _dashboard("ziggie-hosts", "ziggie: hosts against their pools", panels)


def databases_dashboard(cfg: StackConfig) -> dict[str, Any]:
    """postgres connections and redis memory against the catalog's limits; database containers' memory."""
    services = cfg.enabled_services()
    panels: list[dict[str, Any]] = []
    if "postgres" in services:
        limit = postgres_max_connections(services["postgres"])
        panels.append(
            _panel(
                1,
                "postgres: connections",
                "none",
                0,
                0,
                [
                    _target("A", 'sum(pg_stat_activity_count{service="postgres-exporter"})', "connections"),
                    _target("B", f"vector({limit})", "max_connections"),
                ],
            )
        )
    if "redis" in services:
        maxmemory = redis_maxmemory(services["redis"])
        targets = [_target("A", 'redis_memory_used_bytes{service="redis-exporter"}', "used")]
        if maxmemory is not None:
            targets.append(_target("B", f"vector({maxmemory[0]})", f"maxmemory {maxmemory[1]}"))
        panels.append(_panel(2, "redis: memory", "bytes", 0, 12, targets))
    databases = [n for n in ("postgres", "redis", "mongodb") if n in services]
    if databases:
        selector = f'service=~"{"|".join(databases)}",name!=""'
        panels.append(
            _panel(
                3,
                "database containers: memory against limit",
                "bytes",
                8,
                0,
                [
                    _target("A", f"container_memory_working_set_bytes{{{selector}}}", "{{service}} working set"),
                    _target("B", f"container_spec_memory_limit_bytes{{{selector}}}", "{{service}} limit"),
                ],
            )
        )
    return _dashboard("ziggie-databases", "ziggie: databases", panels)


def dashboards(cfg: StackConfig, copies: Copies = per_host_copies) -> dict[str, dict[str, Any]]:
    """Dashboard file name -> dashboard document."""
    return {"hosts.json": hosts_dashboard(cfg, copies), "databases.json": databases_dashboard(cfg)}


def grafana_files(cfg: StackConfig, copies: Copies = per_host_copies) -> list[GeneratedFile]:
    """Provisioning files and dashboards uploaded into the grafana container."""
    files = [
        GeneratedFile(f"{PROVISIONING}/datasources/ziggie.yml", yaml_text(datasources())),
        GeneratedFile(f"{PROVISIONING}/dashboards/ziggie.yml", yaml_text(dashboard_provider())),
    ]
    files += [
        GeneratedFile(f"{DASHBOARDS_DIR}/{name}", json.dumps(board, indent=2, sort_keys=True) + "\n")
        for name, board in dashboards(cfg, copies).items()
    ]
    return files
