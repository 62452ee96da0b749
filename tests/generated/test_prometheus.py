"""generated.prometheus: every exporter copy is a target, and promtool accepts the file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from config.loader import load_stack_config
from config.models import StackConfig
from generated.prometheus import CONFIG_PATH, prometheus_config, prometheus_files
from preflight.runner import run_stack
from preflight.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[2]


def _config(stack: str) -> StackConfig:
    stack_file = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return load_stack_config(stack_file.config, stack_file.secret_keys, source=stack_file.path.name, stack=stack)


def test_prod_scrapes_every_copy_of_each_exporter_by_its_per_host_name() -> None:
    jobs = {job["job_name"]: job["static_configs"] for job in prometheus_config(_config("prod"))["scrape_configs"]}
    assert jobs == {
        "prometheus": [{"targets": ["localhost:9090"]}],
        "node": [
            {"targets": ["node-exporter-vps1:9100"], "labels": {"host": "vps1"}},
            {"targets": ["node-exporter-vps2:9100"], "labels": {"host": "vps2"}},
        ],
        "cadvisor": [
            {"targets": ["cadvisor-vps1:8080"], "labels": {"host": "vps1"}},
            {"targets": ["cadvisor-vps2:8080"], "labels": {"host": "vps2"}},
        ],
    }


def test_no_file_where_prometheus_is_not_deployed() -> None:
    assert prometheus_files(_config("dev")) == {}


def test_the_file_reaches_the_prometheus_container_whole() -> None:
    plan = run_stack("prod")
    prometheus = next(r for r in plan.resources if r.name == "vps1-prometheus")
    (upload,) = prometheus.inputs["uploads"]
    assert upload["file"] == CONFIG_PATH
    assert yaml.safe_load(upload["content"]) == prometheus_config(plan.config)


def test_promtool_accepts_the_generated_file(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`): the generated file is not validated")
    (generated,) = prometheus_files(_config("prod"))["prometheus"]
    path = tmp_path / "prometheus.yml"
    assert isinstance(generated.content, str)
    path.write_text(generated.content)
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
