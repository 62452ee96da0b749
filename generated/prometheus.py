"""prometheus.yml: Prometheus scrapes itself and every copy of the per-host exporters.

The data is built from the stack config (which services run, on which hosts, under which
container names) and rendered with `yaml.safe_dump`. Every copy of an everyHost exporter is a
target of its own, labelled with its host, addressed by its container name on the shared
network. The monitoring work extends `scrape_configs` (more jobs, rule files, Alertmanager)
through `prometheus_config`.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from config.models import StackConfig
from generated import GeneratedFile

SERVICE: Final = "prometheus"
CONFIG_PATH: Final = "/etc/prometheus/prometheus.yml"
SCRAPE_INTERVAL: Final = "30s"
# Where each scraped service serves its metrics, as its image listens by default (and as its
# catalog health check probes it): job name and port.
METRICS: Final[dict[str, tuple[str, int]]] = {
    "node-exporter": ("node", 9100),
    "cadvisor": ("cadvisor", 8080),
}
PROMETHEUS_PORT: Final = 9090


def scrape_configs(cfg: StackConfig) -> list[dict[str, Any]]:
    """One job for Prometheus itself and one per exporter, with a target per copy and host."""
    services = cfg.enabled_services()
    jobs: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": [f"localhost:{PROMETHEUS_PORT}"]}]}
    ]
    for service, (job, port) in METRICS.items():
        if service not in services:
            continue
        jobs.append(
            {
                "job_name": job,
                "static_configs": [
                    {"targets": [f"{cfg.container_name(service, host)}:{port}"], "labels": {"host": host}}
                    for host in cfg.hosts_of(service)
                ],
            }
        )
    return jobs


def prometheus_config(cfg: StackConfig) -> dict[str, Any]:
    """The whole prometheus.yml as data."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": scrape_configs(cfg),
    }


def prometheus_files(cfg: StackConfig) -> dict[str, list[GeneratedFile]]:
    """The files uploaded into the prometheus container, by service; none when it is not deployed."""
    if SERVICE not in cfg.enabled_services():
        return {}
    text = yaml.safe_dump(prometheus_config(cfg), sort_keys=False)
    return {SERVICE: [GeneratedFile(CONFIG_PATH, text)]}
