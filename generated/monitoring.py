"""Every monitoring file the stack generates, by the container it is uploaded into.

One call for the composition root: `monitoring_files(cfg, secrets)` is passed to each
DockerHost as `files`; a host uploads only the files of its own containers.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from config.models import SMTP_PASSWORD_KEY, StackConfig
from generated import GeneratedFile
from generated.alertmanager import alertmanager_files
from generated.grafana import grafana_files
from generated.loki import loki_files
from generated.prometheus_rules import rules_file
from generated.promtail import promtail_files
from generated.scrape_targets import Copies, per_host_copies


def monitoring_files(
    cfg: StackConfig, secrets: Mapping[str, pulumi.Output[str]], copies: Copies = per_host_copies
) -> dict[str, list[GeneratedFile]]:
    """Service -> the generated files each of its containers receives (every host's copy alike)."""
    services = cfg.enabled_services()
    files: dict[str, list[GeneratedFile]] = {}
    if "prometheus" in services:
        files["prometheus"] = [rules_file(cfg, copies)]
    if cfg.sends_alert_mail():
        files["alertmanager"] = alertmanager_files(cfg, secrets[SMTP_PASSWORD_KEY])
    if "loki" in services:
        files["loki"] = loki_files(cfg)
    if "grafana" in services:
        files["grafana"] = grafana_files(cfg, copies)
    if "promtail" in services:
        files["promtail"] = promtail_files(cfg)
    return files
