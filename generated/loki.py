"""Loki's configuration: single-process, filesystem storage, retention and limits sized to its container.

Retention is the compactor's job: it deletes chunks older than `monitoring.logRetentionDays`.
The results cache and ingestion limits scale with the memory limit the catalog gives Loki, so a
stack that shrinks Loki's container shrinks what Loki tries to hold.
"""

from __future__ import annotations

from typing import Any

from config.models import MIB, StackConfig
from generated import GeneratedFile, yaml_text

CONFIG_PATH = "/etc/loki/ziggie.yml"
DATA_DIR = "/loki"
PORT = 3100
# The tsdb index is written in 24 h tables; Loki requires the retention period to be a
# multiple of the index period.
INDEX_PERIOD_HOURS = 24


def loki_config(cfg: StackConfig) -> dict[str, Any]:
    """The configuration document."""
    memory_mib = cfg.services["loki"].memory // MIB
    retention_hours = cfg.monitoring.log_retention_days * INDEX_PERIOD_HOURS
    return {
        "auth_enabled": False,
        "server": {"http_listen_port": PORT, "grpc_listen_port": 9096, "log_level": "warn"},
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": DATA_DIR,
            "storage": {
                "filesystem": {"chunks_directory": f"{DATA_DIR}/chunks", "rules_directory": f"{DATA_DIR}/rules"}
            },
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2024-01-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": f"{INDEX_PERIOD_HOURS}h"},
                }
            ]
        },
        "compactor": {
            "working_directory": f"{DATA_DIR}/compactor",
            "compaction_interval": "10m",
            "retention_enabled": True,
            "retention_delete_delay": "2h",
            # Loki 3 refuses retention without a store for delete requests.
            "delete_request_store": "filesystem",
        },
        "limits_config": {
            "retention_period": f"{retention_hours}h",
            "reject_old_samples": True,
            "reject_old_samples_max_age": "168h",
            # About 1 MB/s of logs per 128 MiB of container memory, bursting to twice that.
            "ingestion_rate_mb": max(1, memory_mib // 128),
            "ingestion_burst_size_mb": max(2, memory_mib // 64),
            "max_query_parallelism": 2,
        },
        "query_range": {
            # A sixteenth of the container's memory for cached query results.
            "results_cache": {"cache": {"embedded_cache": {"enabled": True, "max_size_mb": max(8, memory_mib // 16)}}}
        },
        "analytics": {"reporting_enabled": False},
    }


def loki_files(cfg: StackConfig) -> list[GeneratedFile]:
    """The configuration file uploaded into the loki container."""
    return [GeneratedFile(CONFIG_PATH, yaml_text(loki_config(cfg)))]
