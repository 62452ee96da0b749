"""Prometheus alert rules, generated from the stack's catalog numbers and thresholds.

The limits an alert compares against are read from the catalog, never retyped: postgres's
`max_connections` from its command, redis's `--maxmemory` from its command, the data paths from
the volumes bound to host directories, which services run where (and their tier) from placement.
Every rule has a `for:`, a `severity` label (critical or warning) and a summary naming the
service and the host.

Not measurable from the hosts: whether the `backups` bucket was written in the last day. That
needs S3's own metrics (CloudWatch) or an exporter holding AWS credentials; neither runs on the
Docker hosts, so no rule claims it.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from typing import Any

from config.models import Service, StackConfig
from generated import GeneratedFile, yaml_text
from generated.scrape_targets import RULES_PATH, Copies, per_host_copies, placements

# PostgreSQL's own default when the server is started without `max_connections`
# ("The default is typically 100 connections", PostgreSQL docs, runtime-config-connection).
POSTGRES_DEFAULT_MAX_CONNECTIONS = 100

# redis.conf's unit rules: k/m/g are powers of 1000, kb/mb/gb powers of 1024, case-insensitive
# (the header comment of redis.conf in redis/redis).
_REDIS_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_REDIS_MEMORY = re.compile(r"^([0-9]+)([kmg]b?)?$", re.IGNORECASE)


class CatalogNumberError(ValueError):
    """A number an alert needs cannot be read from the service's command."""


def _words(command: Sequence[str] | None) -> list[str]:
    """The command's words, with a `sh -c` script split the way the shell would."""
    words = list(command or ())
    if len(words) >= 3 and words[0] in ("sh", "/bin/sh", "bash") and words[1] == "-c":
        return words[:2] + shlex.split(words[2])
    return words


def postgres_max_connections(service: Service) -> int:
    """`max_connections` as the postgres command sets it (`-c max_connections=N`), or the server default."""
    words = _words(service.command)
    found: list[str] = []
    for i, word in enumerate(words):
        setting = None
        if word == "-c" and i + 1 < len(words):
            setting = words[i + 1]
        elif word.startswith("--max_connections=") or word.startswith("--max-connections="):
            setting = word[2:].replace("-", "_", 1)
        if setting is not None and setting.partition("=")[0].strip() == "max_connections":
            found.append(setting.partition("=")[2].strip())
    if not found:
        return POSTGRES_DEFAULT_MAX_CONNECTIONS
    value = found[-1]  # postgres takes the last setting given
    if not value.isdigit() or int(value) < 1:
        raise CatalogNumberError(f"postgres max_connections {value!r} is not a positive whole number")
    return int(value)


def redis_maxmemory(service: Service) -> tuple[int, str] | None:
    """`--maxmemory` from the redis command as (bytes, as written); None when redis runs unbounded."""
    words = _words(service.command)
    found = None
    for i, word in enumerate(words):
        if word == "--maxmemory" and i + 1 < len(words):
            found = words[i + 1]
    if found is None:
        return None
    match = _REDIS_MEMORY.match(found)
    if match is None:
        raise CatalogNumberError(f"redis --maxmemory {found!r} is not a redis memory size")
    value = int(match.group(1)) * _REDIS_UNITS[(match.group(2) or "").lower()]
    return (value, found) if value > 0 else None


def data_mountpoints(cfg: StackConfig) -> tuple[list[str], list[str]]:
    """(hosts, mountpoints) that can hold a bound data path: each path and every directory above it.

    Prometheus cannot tell which filesystem a directory lives on, so the rule watches every
    mount point on the way to it: whichever is mounted there holds the data.
    """
    hosts: set[str] = set()
    points: set[str] = set()
    for name, service in cfg.enabled_services().items():
        for volume in service.volumes:
            if volume.bind_path is None:
                continue
            hosts.add(cfg.host_of(name))
            path = posixpath.normpath(volume.bind_path)
            while True:
                points.add(path)
                if path == "/":
                    break
                path = posixpath.dirname(path)
    return sorted(hosts), sorted(points)


def _alert(
    name: str, expr: str, for_: str, severity: str, summary: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, **(labels or {})},
        "annotations": {"summary": summary},
    }


def _regex(values: Sequence[str]) -> str:
    return "|".join(re.escape(v) for v in values)


def _runs(cfg: StackConfig, service: str) -> bool:
    spec = cfg.services.get(service)
    return spec is not None and spec.enabled


def host_rules(cfg: StackConfig) -> list[dict[str, Any]]:
    """CPU, memory and data-disk pressure of each host, from node-exporter (none without it)."""
    if not _runs(cfg, "node-exporter"):
        return []
    t = cfg.monitoring.thresholds
    rules = [
        _alert(
            "HostCpuPressure",
            f'(1 - avg by (host) (rate(node_cpu_seconds_total{{mode="idle"}}[5m]))) * 100 > {t.host_cpu_percent}',
            "15m",
            "warning",
            'host {{ $labels.host }}: CPU {{ $value | printf "%.0f" }}% busy for 15 minutes'
            f" (threshold {t.host_cpu_percent}%)",
            {"service": "host"},
        ),
        _alert(
            "HostMemoryPressure",
            f"(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100 > {t.host_memory_percent}",
            "10m",
            "critical",
            'host {{ $labels.host }}: memory {{ $value | printf "%.0f" }}% in use'
            f" (threshold {t.host_memory_percent}%); the kernel's OOM killer is next",
            {"service": "host"},
        ),
    ]
    hosts, points = data_mountpoints(cfg)
    if points:
        selector = f'host=~"{_regex(hosts)}",mountpoint=~"{_regex(points)}",fstype!~"tmpfs|overlay"'
        rules.append(
            _alert(
                "DataDiskSpaceLow",
                f"node_filesystem_avail_bytes{{{selector}}} / node_filesystem_size_bytes{{{selector}}} * 100"
                f" < {t.disk_free_percent}",
                "10m",
                "critical",
                'host {{ $labels.host }}: {{ $value | printf "%.0f" }}% free on {{ $labels.mountpoint }},'
                f" which holds the data paths (threshold {t.disk_free_percent}%)",
                {"service": "host"},
            )
        )
    return rules


def container_rules(cfg: StackConfig, copies: Copies = per_host_copies) -> list[dict[str, Any]]:
    """Containers near their memory limit, restarting, or gone, from cadvisor (none without it).

    Without cadvisor every container would look missing, so these rules need it running.
    """
    if not _runs(cfg, "cadvisor"):
        return []
    t = cfg.monitoring.thresholds
    rules = [
        _alert(
            "ContainerNearMemoryLimit",
            'container_memory_working_set_bytes{service!="",name!=""} / on (host, service, name)'
            ' (container_spec_memory_limit_bytes{service!="",name!=""} > 0) * 100'
            f" > {t.container_memory_percent}",
            "5m",
            "warning",
            '{{ $labels.service }} on {{ $labels.host }}: working set at {{ $value | printf "%.0f" }}%'
            f" of its memory limit (threshold {t.container_memory_percent}%)",
        ),
        _alert(
            "ContainerRestarting",
            'changes(container_start_time_seconds{service!="",name!=""}[15m]) > 2',
            "5m",
            "warning",
            "{{ $labels.service }} on {{ $labels.host }}: restarted {{ $value }} times in 15 minutes",
        ),
    ]
    # A container that stopped (crashed without restarting, or removed) leaves cadvisor's
    # listing; each placed service is expected on its host. Docker's health status itself is
    # exported by neither cadvisor nor node-exporter, so "unhealthy but running" is not seen here.
    for severity, tiers in (("critical", {"critical"}), ("warning", {"workflow", "monitoring"})):
        expected = [(name, host) for name, host in placements(cfg, copies) if cfg.services[name].tier in tiers]
        if not expected:
            continue
        expr = " or ".join(f'absent(container_last_seen{{service="{n}",host="{h}"}})' for n, h in expected)
        rules.append(
            _alert(
                "ContainerMissing",
                expr,
                "5m",
                severity,
                "{{ $labels.service }} on {{ $labels.host }}: no running container for 5 minutes",
            )
        )
    return rules


def database_rules(cfg: StackConfig) -> list[dict[str, Any]]:
    """postgres connections and redis memory against the catalog's own limits."""
    t = cfg.monitoring.thresholds
    services = cfg.enabled_services()
    rules: list[dict[str, Any]] = []
    if "postgres" in services and "postgres-exporter" in services:
        host = cfg.host_of("postgres")
        limit = postgres_max_connections(services["postgres"])
        threshold = limit * t.postgres_connections_percent / 100
        where = {"service": "postgres", "host": host}
        rules += [
            _alert(
                "PostgresConnectionsHigh",
                f'sum(pg_stat_activity_count{{service="postgres-exporter"}}) > {threshold:g}',
                "5m",
                "warning",
                f"postgres on {host}: {{{{ $value }}}} connections, above {t.postgres_connections_percent}%"
                f" of max_connections={limit}",
                where,
            ),
            _alert(
                "PostgresUnreachable",
                'pg_up{service="postgres-exporter"} == 0',
                "2m",
                "critical",
                f"postgres on {host}: the exporter cannot connect to it",
                where,
            ),
        ]
    if "redis" in services and "redis-exporter" in services:
        host = cfg.host_of("redis")
        where = {"service": "redis", "host": host}
        maxmemory = redis_maxmemory(services["redis"])
        if maxmemory is not None:
            limit, written = maxmemory
            threshold = limit * t.redis_memory_percent // 100
            rules.append(
                _alert(
                    "RedisMemoryHigh",
                    f'redis_memory_used_bytes{{service="redis-exporter"}} > {threshold}',
                    "5m",
                    "warning",
                    f"redis on {host}: memory above {t.redis_memory_percent}% of maxmemory {written};"
                    " at the limit redis evicts keys by its maxmemory-policy",
                    where,
                )
            )
        rules.append(
            _alert(
                "RedisUnreachable",
                'redis_up{service="redis-exporter"} == 0',
                "2m",
                "critical",
                f"redis on {host}: the exporter cannot connect to it",
                where,
            )
        )
    return rules


def target_rules() -> list[dict[str, Any]]:
    """A scrape target Prometheus cannot reach."""
    return [
        _alert(
            "ScrapeTargetDown",
            "up == 0",
            "5m",
            "critical",
            "{{ $labels.service }} on {{ $labels.host }}: Prometheus cannot scrape {{ $labels.instance }}",
        )
    ]


def rule_groups(cfg: StackConfig, copies: Copies = per_host_copies) -> dict[str, Any]:
    """The rule file's document: one group per family; `copies` says where the per-host agents run."""
    groups = [
        ("ziggie-hosts", host_rules(cfg)),
        ("ziggie-containers", container_rules(cfg, copies)),
        ("ziggie-databases", database_rules(cfg)),
        ("ziggie-targets", target_rules()),
    ]
    return {"groups": [{"name": name, "rules": rules} for name, rules in groups if rules]}


def rules_file(cfg: StackConfig, copies: Copies = per_host_copies) -> GeneratedFile:
    """The alert rule file, as uploaded into the prometheus container."""
    return GeneratedFile(RULES_PATH, yaml_text(rule_groups(cfg, copies)))
