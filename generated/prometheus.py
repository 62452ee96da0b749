"""prometheus.yml: every scrape target of the stack, its alert rule files and its Alertmanager.

The sections come from `generated.scrape_targets` (every service that serves metrics, each
per-host agent once per host under its per-host container name, labelled `service` and `host`);
this module adds the global settings and renders the document with `generated.yaml_text`.
"""

from __future__ import annotations

from typing import Any, Final

from config.models import StackConfig
from generated import GeneratedFile, yaml_text
from generated.scrape_targets import PROMETHEUS_CONFIG, per_host_copies, prometheus_sections

SERVICE: Final = "prometheus"
CONFIG_PATH: Final = PROMETHEUS_CONFIG
SCRAPE_INTERVAL: Final = "30s"


def prometheus_config(cfg: StackConfig) -> dict[str, Any]:
    """The whole prometheus.yml as data."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        **prometheus_sections(cfg, per_host_copies),
    }


def prometheus_files(cfg: StackConfig) -> dict[str, list[GeneratedFile]]:
    """The files uploaded into the prometheus container, by service; none when it is not deployed."""
    if SERVICE not in cfg.enabled_services():
        return {}
    text = yaml_text(prometheus_config(cfg))
    return {SERVICE: [GeneratedFile(CONFIG_PATH, text)]}
