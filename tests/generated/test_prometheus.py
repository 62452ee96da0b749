"""generated.prometheus: every copy of every exporter is a target, and promtool accepts the file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from config.loader import load_stack_config
from config.models import StackConfig
from generated.prometheus import CONFIG_PATH, prometheus_config, prometheus_files
from generated.prometheus_rules import rules_file
from generated.scrape_targets import RULES_PATH
from preflight.runner import run_stack
from preflight.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[2]


def _config(stack: str) -> StackConfig:
    stack_file = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return load_stack_config(stack_file.config, stack_file.secret_keys, source=stack_file.path.name, stack=stack)


def test_prod_scrapes_every_copy_of_each_exporter_by_its_per_host_name() -> None:
    jobs = {job["job_name"]: job["static_configs"] for job in prometheus_config(_config("prod"))["scrape_configs"]}
    for agent, port in (("node-exporter", 9100), ("cadvisor", 8080), ("promtail", 9080)):
        assert jobs[agent] == [
            {"targets": [f"{agent}-{host}:{port}"], "labels": {"service": agent, "host": host}}
            for host in ("vps1", "vps2")
        ], agent
    # A service placed once is one target on its host, e.g. n8n's metrics on vps2.
    assert jobs["n8n"] == [{"targets": ["n8n:5678"], "labels": {"service": "n8n", "host": "vps2"}}]


def test_rule_files_and_alertmanager_are_wired() -> None:
    config = prometheus_config(_config("prod"))
    assert config["rule_files"] == ["rules/ziggie.yml"]
    assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}


def test_no_file_where_prometheus_is_not_deployed() -> None:
    assert prometheus_files(_config("dev")) == {}


def test_the_file_reaches_the_prometheus_container_whole() -> None:
    plan = run_stack("prod")
    prometheus = next(r for r in plan.resources if r.name == "vps1-prometheus")
    uploads = {u["file"]: u["content"] for u in prometheus.inputs["uploads"]}
    assert set(uploads) == {CONFIG_PATH, RULES_PATH}
    assert yaml.safe_load(uploads[CONFIG_PATH]) == prometheus_config(plan.config)


def test_promtool_accepts_the_generated_file(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`): the generated file is not validated")
    cfg = _config("prod")
    (generated,) = prometheus_files(cfg)["prometheus"]
    rules = rules_file(cfg)
    # Laid out as the container sees /etc/prometheus: the rule file beside prometheus.yml.
    path = tmp_path / "prometheus.yml"
    assert isinstance(generated.content, str) and isinstance(rules.content, str)
    path.write_text(generated.content)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "ziggie.yml").write_text(rules.content)
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout + result.stderr
