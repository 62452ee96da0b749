"""promtail's configuration: every labelled container's logs on its host, shipped to Loki.

Docker service discovery reads each container's labels and log stream through the Docker
socket; the labels DockerHost sets (`ziggie.service`, `ziggie.tier`, `ziggie.host`) become the
stream labels `service`, `tier` and `host`. The same file serves every host's copy: the host
comes from the container's own label.
"""

from __future__ import annotations

from typing import Any

from config.models import StackConfig
from generated import GeneratedFile, yaml_text
from generated.loki import PORT as LOKI_PORT

CONFIG_PATH = "/etc/promtail/ziggie.yml"
POSITIONS = "/var/lib/promtail/positions.yaml"
PORT = 9080
STREAM_LABELS = ("service", "tier", "host")


def _from_label(label: str) -> dict[str, Any]:
    return {"source_labels": [f"__meta_docker_container_label_ziggie_{label}"], "target_label": label}


def promtail_config(cfg: StackConfig) -> dict[str, Any]:
    """The configuration document."""
    return {
        "server": {"http_listen_port": PORT, "grpc_listen_port": 0, "log_level": "warn"},
        "positions": {"filename": POSITIONS},
        "clients": [{"url": f"http://loki:{LOKI_PORT}/loki/api/v1/push"}],
        "scrape_configs": [
            {
                "job_name": "docker",
                "docker_sd_configs": [{"host": "unix:///var/run/docker.sock", "refresh_interval": "15s"}],
                "relabel_configs": [
                    # Only the stack's own containers: those DockerHost labelled.
                    {
                        "source_labels": ["__meta_docker_container_label_ziggie_service"],
                        "regex": ".+",
                        "action": "keep",
                    },
                    *(_from_label(label) for label in STREAM_LABELS),
                    {
                        "source_labels": ["__meta_docker_container_name"],
                        "regex": "/(.*)",
                        "target_label": "container",
                    },
                ],
            }
        ],
    }


def promtail_files(cfg: StackConfig) -> list[GeneratedFile]:
    """The configuration file uploaded into each host's promtail container."""
    return [GeneratedFile(CONFIG_PATH, yaml_text(promtail_config(cfg)))]
