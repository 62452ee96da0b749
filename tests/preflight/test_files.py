"""Tests for preflight.files: the uploaded files per container, as a preflight of prod records them.

Runs the real program under mocks (run_stack), so the files are the ones that would reach Docker.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from preflight.files import UploadedFile, files_json, render_files, uploaded_files
from preflight.runner import PROJECT_DIR, PlanResult, run_stack
from preflight.stackfile import placeholder


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


@pytest.fixture(scope="module")
def files(prod: PlanResult) -> list[UploadedFile]:
    return uploaded_files(prod.resources)


def test_prod_uploads_the_generated_configs_into_their_containers(files: list[UploadedFile]) -> None:
    where = {(f.host, f.container, f.path) for f in files}
    assert {
        ("vps1", "prometheus", "/etc/prometheus/prometheus.yml"),
        ("vps1", "prometheus", "/etc/prometheus/rules/ziggie.yml"),
        ("vps1", "alertmanager", "/etc/alertmanager/ziggie.yml"),
        ("vps1", "alertmanager", "/etc/alertmanager/smtp_password"),
        ("vps1", "loki", "/etc/loki/ziggie.yml"),
        # Every host's own promtail copy ships that host's container logs.
        ("vps1", "promtail-vps1", "/etc/promtail/ziggie.yml"),
        ("vps2", "promtail-vps2", "/etc/promtail/ziggie.yml"),
        ("vps1", "grafana", "/etc/grafana/provisioning/datasources/ziggie.yml"),
        ("vps1", "grafana", "/etc/grafana/dashboards/ziggie/hosts.json"),
    } <= where


def test_sizes_are_the_recorded_content_and_the_secret_shows_neither(files: list[UploadedFile]) -> None:
    by_path = {f.path: f for f in files}
    rules = by_path["/etc/prometheus/rules/ziggie.yml"]
    assert rules.content is not None and rules.size == len(rules.content.encode()) > 0
    password = by_path["/etc/alertmanager/smtp_password"]
    assert password.secret and password.content is None and password.size is None


def test_text_lists_names_and_sizes_and_content_only_when_asked(files: list[UploadedFile]) -> None:
    plain = render_files(files)
    assert "vps1/alertmanager  /etc/alertmanager/smtp_password  [secret]" in plain
    assert "groups:" not in plain
    shown = render_files(files, show_content=True)
    assert "    | groups:" in shown
    assert placeholder("ziggie-infra:smtpPassword") not in shown  # the stand-in secret value never appears


def test_json_hides_the_secret_content(files: list[UploadedFile]) -> None:
    entries = {e["path"]: e for e in files_json(files, show_content=True)}
    assert entries["/etc/alertmanager/smtp_password"]["size"] == "[secret]"
    assert entries["/etc/alertmanager/smtp_password"]["content"] == "[secret]"
    assert entries["/etc/loki/ziggie.yml"]["content"].startswith("auth_enabled: false")


def test_cli_show_files_prints_content_without_the_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "preflight", "--stack", "prod", "--no-policy", "--json", "--show-files"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_DIR,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    paths = {e["path"]: e for e in document["files"]}
    assert paths["/etc/alertmanager/smtp_password"]["content"] == "[secret]"
    assert "smtp_auth_password_file" in paths["/etc/alertmanager/ziggie.yml"]["content"]
