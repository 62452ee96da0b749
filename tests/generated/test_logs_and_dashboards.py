"""Tests for generated.loki, generated.promtail and generated.grafana.

No Loki or promtail binary is installable here (Debian's `loki` package is an unrelated
genetics tool; neither PyPI nor npm ships them), so their files are checked against the rules
Loki itself enforces at start-up and against the catalog the containers run with: the paths
must be where the volumes and mounts are, the ports where the other side listens. Grafana's
dashboards are checked by promtool: every query is written as a recording rule and must parse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from monitoring_support import STACKS, run_tool, stack_config, write

from config.models import MIB
from generated.grafana import DASHBOARDS_DIR, PROMETHEUS, dashboard_provider, dashboards, datasources, grafana_files
from generated.loki import PORT as LOKI_PORT
from generated.loki import loki_config
from generated.monitoring import monitoring_files
from generated.promtail import promtail_config
from generated.scrape_targets import Copies, per_host_copies, placed_copy

HOURS = re.compile(r"^([0-9]+)h$")


def hours(value: str) -> int:
    match = HOURS.match(value)
    assert match, f"{value!r} is not a whole number of hours"
    return int(match.group(1))


# --- Loki -----------------------------------------------------------------------------------------


def test_loki_retention_is_a_whole_number_of_index_periods() -> None:
    # Loki deletes whole index tables: retention must be a multiple of the 24 h index period.
    config = loki_config(stack_config("prod"))
    period = hours(config["schema_config"]["configs"][0]["index"]["period"])
    retention = hours(config["limits_config"]["retention_period"])
    assert retention % period == 0 and retention >= period
    assert retention == 14 * 24


def test_loki_retention_has_what_loki_3_requires() -> None:
    # Loki 3 refuses to start with retention enabled and no delete-request store, and stores
    # structured metadata only with the tsdb store on schema v13.
    config = loki_config(stack_config("prod"))
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    schema = config["schema_config"]["configs"][0]
    assert (schema["store"], schema["schema"], schema["object_store"]) == ("tsdb", "v13", "filesystem")


def test_loki_keeps_its_data_on_the_bound_volume() -> None:
    cfg = stack_config("prod")
    config = loki_config(cfg)
    (volume,) = cfg.services["loki"].volumes
    paths = [
        config["common"]["path_prefix"],
        *config["common"]["storage"]["filesystem"].values(),
        config["compactor"]["working_directory"],
    ]
    assert all(p == volume.target or p.startswith(volume.target + "/") for p in paths), paths


def test_loki_caches_are_sized_to_its_container() -> None:
    cfg = stack_config("prod")
    memory_mib = cfg.services["loki"].memory // MIB
    config = loki_config(cfg)
    cache = config["query_range"]["results_cache"]["cache"]["embedded_cache"]["max_size_mb"]
    assert cache * 8 <= memory_mib, "the results cache takes at most an eighth of the container"
    assert config["limits_config"]["ingestion_burst_size_mb"] * 8 <= memory_mib


def test_loki_serves_on_the_port_its_health_check_and_clients_use() -> None:
    cfg = stack_config("prod")
    assert loki_config(cfg)["server"]["http_listen_port"] == LOKI_PORT
    check = cfg.services["loki"].healthcheck
    assert check is not None and f"localhost:{LOKI_PORT}/ready" in " ".join(check.test)
    assert cfg.services["loki"].command == ("-config.file=/etc/loki/ziggie.yml",)


# --- promtail -------------------------------------------------------------------------------------


def relabelled(config: dict[str, Any]) -> dict[str, str]:
    (job,) = config["scrape_configs"]
    return {rule["target_label"]: rule["source_labels"][0] for rule in job["relabel_configs"] if "target_label" in rule}


def test_promtail_labels_streams_with_service_tier_and_host() -> None:
    labels = relabelled(promtail_config(stack_config("prod")))
    assert labels["service"] == "__meta_docker_container_label_ziggie_service"
    assert labels["tier"] == "__meta_docker_container_label_ziggie_tier"
    assert labels["host"] == "__meta_docker_container_label_ziggie_host"


def test_promtail_reads_the_socket_the_catalog_mounts_and_keeps_positions_on_its_volume() -> None:
    cfg = stack_config("prod")
    config = promtail_config(cfg)
    promtail = cfg.services["promtail"]
    socket = config["scrape_configs"][0]["docker_sd_configs"][0]["host"].removeprefix("unix://")
    assert socket in {m.target for m in promtail.mounts}
    (volume,) = promtail.volumes
    assert config["positions"]["filename"].startswith(volume.target + "/")


def test_promtail_ships_to_the_port_loki_listens_on() -> None:
    cfg = stack_config("prod")
    assert promtail_config(cfg)["clients"] == [
        {"url": f"http://loki:{loki_config(cfg)['server']['http_listen_port']}/loki/api/v1/push"}
    ]


# --- Grafana --------------------------------------------------------------------------------------


def queries(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]


def panel_queries(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel.get("targets", [])]


@pytest.mark.parametrize("stack", STACKS)
def test_every_dashboard_query_parses_in_promtool(stack: str, tmp_path: Path) -> None:
    exprs = [e for board in dashboards(stack_config(stack)).values() for e in queries(board)]
    assert exprs
    rules = {
        "groups": [{"name": "dashboards", "rules": [{"record": f"q:{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    path = write(tmp_path, "/dashboards.yml", yaml.safe_dump(rules))
    result = run_tool("promtool", "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_panel_reads_a_provisioned_data_source() -> None:
    uids = {d["uid"] for d in datasources()["datasources"]}
    for board in dashboards(stack_config("prod")).values():
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] in uids, panel["title"]
                assert all(t["datasource"] == PROMETHEUS for t in panel["targets"])


def test_hosts_dashboard_draws_the_allocation_preflight_prints() -> None:
    # prod's preflight table: vps1 limits 12.00 GiB / 4.47 vCPU, reservations 2.01 vCPU, pool 14 GiB / 3.5.
    board = dashboards(stack_config("prod"))["hosts.json"]
    vps1 = [e for p in board["panels"] if p["title"].startswith("vps1:") for e in panel_queries(p)]
    assert f"vector({12 * 1024**3})" in vps1
    assert f"vector({14 * 1024**3})" in vps1
    assert "vector(4.47)" in vps1
    assert "vector(3.5)" in vps1
    assert "vector(2.01)" in vps1


def test_hosts_dashboard_counts_each_hosts_agent_copies() -> None:
    # With a copy of node-exporter (128M), cadvisor (256M) and promtail (128M) on every host,
    # vps2's limits grow by 512 MiB over the one-copy placement preflight prints today.
    def vps2(copies: Copies) -> list[str]:
        board = dashboards(stack_config("prod"), copies)["hosts.json"]
        return [e for p in board["panels"] if p["title"] == "vps2: memory" for e in panel_queries(p)]

    assert f"vector({int(7.75 * 1024**3)})" in vps2(placed_copy)
    assert f"vector({int(8.25 * 1024**3)})" in vps2(per_host_copies)


def test_databases_dashboard_draws_the_catalog_limits() -> None:
    board = dashboards(stack_config("prod"))["databases.json"]
    exprs = queries(board)
    assert "vector(100)" in exprs
    assert f"vector({450 * 1024**2})" in exprs


def test_dashboards_are_provisioned_from_where_they_are_uploaded() -> None:
    paths = {f.path for f in grafana_files(stack_config("prod"))}
    assert dashboard_provider()["providers"][0]["options"]["path"] == DASHBOARDS_DIR
    assert {f"{DASHBOARDS_DIR}/hosts.json", f"{DASHBOARDS_DIR}/databases.json"} <= paths
    for f in grafana_files(stack_config("prod")):
        assert isinstance(f.content, str)
        if f.path.endswith(".json"):
            json.loads(f.content)
        else:
            yaml.safe_load(f.content)


# --- wiring -------------------------------------------------------------------------------------


def test_prod_uploads_into_each_monitoring_container() -> None:
    files = monitoring_files(stack_config("prod"), {"smtpPassword": pulumi_secret()}, placed_copy)
    assert set(files) == {"prometheus", "alertmanager", "loki", "grafana", "promtail"}


def test_files_are_keyed_by_service_so_every_copy_gets_them() -> None:
    # DockerHost uploads a service's files into its container on every host it runs on
    # (tests/preflight/test_files.py shows promtail-vps1 and promtail-vps2 receiving theirs).
    files = monitoring_files(stack_config("prod"), {"smtpPassword": pulumi_secret()}, per_host_copies)
    assert set(files) == {"prometheus", "alertmanager", "loki", "grafana", "promtail"}


def test_dr_watches_itself_and_dev_uploads_nothing() -> None:
    dr = monitoring_files(stack_config("dr"), {"smtpPassword": pulumi_secret()}, placed_copy)
    assert set(dr) == {"prometheus", "alertmanager"}
    assert monitoring_files(stack_config("dev"), {}, placed_copy) == {}


def pulumi_secret() -> pulumi.Output[str]:
    return pulumi.Output.secret("s3cret")
