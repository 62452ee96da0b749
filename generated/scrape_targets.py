"""What Prometheus scrapes and where it sends alerts, as data for prometheus.yml.

`prometheus_sections(cfg)` returns the `scrape_configs`, `rule_files` and `alerting` sections;
the prometheus.yml renderer places them in its document. Every target carries the labels the
alert rules and their summaries read: `service` and `host`.

Per-host agents (the catalog's `everyHost` services: node-exporter, cadvisor, promtail) run once
on every host of a stack; where the copies run and how each is named is one parameter,
`copies(cfg, service) -> {host: container}`: `per_host_copies` follows the stack config (a copy
per host, named by `StackConfig.container_name`, `node-exporter-vps2`); `placed_copy` is one
container on the service's placed host, for comparison in tests.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from config.models import StackConfig

ALERTMANAGER_PORT = 9093
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
"""Where the catalog's prometheus command reads its configuration."""
RULES_PATH = "/etc/prometheus/rules/ziggie.yml"
"""The alert rule file inside the prometheus container (generated.prometheus_rules writes it)."""

Copies = Callable[[StackConfig, str], dict[str, str]]
"""Where a per-host agent runs: host -> the container name of the copy on that host."""


def per_host_copies(cfg: StackConfig, service: str) -> dict[str, str]:
    """Where the stack config runs the service: every host for an everyHost one, each copy by its name."""
    spec = cfg.services.get(service)
    if spec is None or not spec.enabled:
        return {}
    return {host: cfg.container_name(service, host) for host in cfg.hosts_of(service)}


def placed_copy(cfg: StackConfig, service: str) -> dict[str, str]:
    """One copy on the host the service is placed on, named by the service (one container per service)."""
    spec = cfg.services.get(service)
    if spec is None or not spec.enabled:
        return {}
    return {cfg.host_of(service): service}


def placements(cfg: StackConfig, copies: Copies = per_host_copies) -> list[tuple[str, str]]:
    """(service, host) for every container the stack runs: an agent once per copy, the rest where placed."""
    placed: list[tuple[str, str]] = []
    for name in cfg.enabled_services():
        hosts = list(copies(cfg, name)) if cfg.services[name].every_host else [cfg.host_of(name)]
        placed += [(name, host) for host in hosts]
    return placed


def _static(target: str, service: str, host: str) -> dict[str, Any]:
    return {"targets": [target], "labels": {"service": service, "host": host}}


def scrape_configs(cfg: StackConfig, copies: Copies = per_host_copies) -> list[dict[str, Any]]:
    """One scrape job per service that serves metrics; an agent's job lists every host's copy."""
    jobs: list[dict[str, Any]] = []
    for name, service in cfg.enabled_services().items():
        if service.metrics is None:
            continue
        port = service.metrics.port
        if service.every_host:
            targets = [_static(f"{container}:{port}", name, host) for host, container in copies(cfg, name).items()]
        else:
            targets = [_static(f"{name}:{port}", name, cfg.host_of(name))]
        job: dict[str, Any] = {"job_name": name, "static_configs": targets}
        if service.metrics.path != "/metrics":
            job["metrics_path"] = service.metrics.path
        if name == "cadvisor":
            # cadvisor names a container's metrics by its Docker labels (`ziggie.service` becomes
            # `container_label_ziggie_service`); the rules read the service as `service`, the same
            # label every other target carries. `host` stays the scraped copy's host.
            job["metric_relabel_configs"] = [
                {
                    "source_labels": ["container_label_ziggie_service"],
                    "regex": "(.+)",
                    "target_label": "service",
                    "replacement": "$1",
                }
            ]
        jobs.append(job)
    return jobs


def rule_files() -> list[str]:
    """The rule files Prometheus loads, relative to prometheus.yml's directory as Prometheus resolves them.

    Relative, so the same text resolves inside the container and in a test's copy of its layout.
    """
    return [posixpath.relpath(RULES_PATH, posixpath.dirname(PROMETHEUS_CONFIG))]


def alerting(cfg: StackConfig) -> dict[str, Any]:
    """Where Prometheus sends firing alerts: the stack's Alertmanager, when it runs one."""
    alertmanager = cfg.services.get("alertmanager")
    if alertmanager is None or not alertmanager.enabled:
        return {"alertmanagers": []}
    return {"alertmanagers": [{"static_configs": [{"targets": [f"alertmanager:{ALERTMANAGER_PORT}"]}]}]}


def prometheus_sections(cfg: StackConfig, copies: Copies = per_host_copies) -> dict[str, Any]:
    """The `scrape_configs`, `rule_files` and `alerting` sections of the stack's prometheus.yml."""
    return {"scrape_configs": scrape_configs(cfg, copies), "rule_files": rule_files(), "alerting": alerting(cfg)}
