"""The generated nginx.conf: its structure read back with crossplane, and the real `nginx -t`
on it, with the certificate pair made by certbot's own bootstrap script, in a temp tree laid out
as the container sees it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import crossplane
import pytest

from config.models import Edge, StackConfig
from generated.certbot import self_signed_source
from generated.nginx import CERT_DIR, Layout, nginx_conf, nginx_files
from preflight.runner import run_stack

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


@pytest.fixture(scope="module")
def prod() -> StackConfig:
    return run_stack("prod").config


@pytest.fixture(scope="module")
def dev() -> StackConfig:
    return run_stack("dev").config


def parsed(cfg: StackConfig, tmp_path: Path) -> list[dict[str, Any]]:
    """The rendered file parsed back by crossplane: what nginx will read."""
    path = tmp_path / "nginx.conf"
    path.write_text(nginx_conf(cfg))
    result = crossplane.parse(str(path), single=True, comments=False)
    assert result["status"] == "ok", result["errors"]
    config: list[dict[str, Any]] = result["config"][0]["parsed"]
    return config


def find(block: list[dict[str, Any]], directive: str, *args: str) -> list[dict[str, Any]]:
    return [d for d in block if d["directive"] == directive and (not args or d["args"][: len(args)] == list(args))]


def servers(cfg: StackConfig, tmp_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    (http,) = find(parsed(cfg, tmp_path), "http")
    plain, tls = (s["block"] for s in find(http["block"], "server"))
    return plain, tls


def test_http_redirects_to_https_except_acme(prod: StackConfig, tmp_path: Path) -> None:
    plain, _ = servers(prod, tmp_path)
    assert [d["args"] for d in find(plain, "listen")] == [["80", "default_server"]]
    (acme,) = find(plain, "location", "/.well-known/acme-challenge/")
    assert [d["directive"] for d in acme["block"]] == ["root"]
    (rest,) = find(plain, "location", "/")
    assert [d["args"] for d in rest["block"]] == [["301", "https://$host$request_uri"]]


def test_https_serves_health_and_the_routes_with_tls12_and_13(prod: StackConfig, tmp_path: Path) -> None:
    _, tls = servers(prod, tmp_path)
    assert [d["args"] for d in find(tls, "listen")] == [["443", "ssl", "default_server"]]
    assert find(tls, "server_name")[0]["args"] == ["app.ziggie.example"]
    assert find(tls, "ssl_protocols")[0]["args"] == ["TLSv1.2", "TLSv1.3"]
    (health,) = find(tls, "location", "=", "/health")
    assert [d["args"] for d in find(health["block"], "proxy_pass")] == [["http://$upstream_ziggie_api/health"]]
    assert [d["args"] for d in find(health["block"], "set")] == [["$upstream_ziggie_api", "ziggie-api:8000"]]
    routes = {tuple(d["args"]): d["block"] for d in find(tls, "location") if d["args"][0] != "="}
    assert set(routes) == {("/",), ("/mcp/",)}
    assert find(routes[("/mcp/",)], "set")[0]["args"] == ["$upstream_mcp_gateway", "mcp-gateway:8080"]
    assert find(routes[("/mcp/",)], "proxy_pass")[0]["args"] == ["http://$upstream_mcp_gateway"]


def test_upstreams_resolve_through_docker_dns_at_request_time(prod: StackConfig, tmp_path: Path) -> None:
    (http,) = find(parsed(prod, tmp_path), "http")
    assert find(http["block"], "resolver")[0]["args"] == ["127.0.0.11", "valid=10s", "ipv6=off"]
    _, tls = servers(prod, tmp_path)
    # Every proxy_pass names its upstream by a variable: no name is resolved at start.
    passes = [p["args"][0] for loc in find(tls, "location") for p in find(loc["block"], "proxy_pass")]
    assert passes and all(p.startswith("http://$") for p in passes), passes


@pytest.mark.parametrize(("stack", "hsts"), [("prod", True), ("dev", False)])
def test_hsts_in_prod_not_in_dev(stack: str, hsts: bool, tmp_path: Path) -> None:
    cfg = run_stack(stack).config
    _, tls = servers(cfg, tmp_path)
    headers = [d["args"] for d in find(tls, "add_header", "Strict-Transport-Security")]
    assert headers == ([["Strict-Transport-Security", "max-age=63072000", "always"]] if hsts else [])


def test_routes_come_from_stack_config(prod: StackConfig, tmp_path: Path) -> None:
    edge = Edge.model_validate({"routes": [{"path": "/", "service": "ziggie-api", "port": 9000}]})
    cfg = prod.model_copy(update={"edge": edge})
    _, tls = servers(cfg, tmp_path)
    (root,) = find(tls, "location", "/")
    assert find(root["block"], "set")[0]["args"] == ["$upstream_ziggie_api", "ziggie-api:9000"]
    assert not find(tls, "location", "/mcp/")


def test_files_reach_the_nginx_container(prod: StackConfig) -> None:
    files = {f.path: f for f in nginx_files(prod)}
    assert set(files) == {"/etc/nginx/nginx.conf", "/docker-entrypoint.d/40-ziggie-certificate.sh"}
    assert files["/docker-entrypoint.d/40-ziggie-certificate.sh"].executable
    assert f"{CERT_DIR}/fullchain.pem" in str(files["/docker-entrypoint.d/40-ziggie-certificate.sh"].content)


@pytest.mark.parametrize("stack", ["prod", "dr", "dev"])
def test_real_nginx_accepts_the_config(stack: str, tmp_path: Path) -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed here (Debian package `nginx`; .ci/run installs it): nginx -t not run")
    cfg = run_stack(stack).config
    # The container's tree under tmp_path; the pair made by certbot's bootstrap script as in its container.
    layout = Layout(root=str(tmp_path), user="root")
    for directory in ("etc/nginx", "var/run", "var/log/nginx", "var/www/acme"):
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
    script = tmp_path / "self-signed.py"
    script.write_text(self_signed_source())
    cert_dir = tmp_path / CERT_DIR.lstrip("/")
    subprocess.run([sys.executable, str(script), str(cert_dir), *cfg.edge_names()], check=True)
    conf = tmp_path / "etc/nginx/nginx.conf"
    conf.write_text(nginx_conf(cfg, layout))
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr, result.stderr


def test_real_nginx_refuses_a_missing_certificate(prod: StackConfig, tmp_path: Path) -> None:
    """The check can fail: without the pair nginx -t says so."""
    if NGINX is None:
        pytest.skip("nginx is not installed here (Debian package `nginx`; .ci/run installs it): nginx -t not run")
    for directory in ("etc/nginx", "var/run", "var/log/nginx"):
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "etc/nginx/nginx.conf"
    conf.write_text(nginx_conf(prod, Layout(root=str(tmp_path), user="root")))
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "fullchain.pem" in result.stderr
