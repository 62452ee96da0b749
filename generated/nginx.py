"""nginx's configuration, built as data from the stack config and rendered by crossplane.

The edge: port 80 redirects to HTTPS except the ACME challenge path; port 443 serves the
stack's routes (`edge.routes`) and `location = /health`, proxied to the API's health endpoint,
which is what Route 53 probes. TLS 1.2 and 1.3 only (Route 53's HTTPS checkers speak 1.2),
HSTS where the stack says. Upstreams are named through Docker's embedded DNS at request time
(`resolver 127.0.0.11` and a variable in `proxy_pass`): nginx resolves a literal upstream name
once, at start, and refuses to start while that container is down; with a variable it starts
regardless and answers 502 for a backend that is not up yet.

The certificate pair lives in `CERT_DIR` on the shared /etc/letsencrypt bind mount: certbot's
container writes a self-signed pair there before the first real certificate exists, and its
deploy hook replaces it on every issue and renewal (generated/certbot.py). nginx waits for the
pair at start and reloads itself every `edge.reloadHours` to pick up a renewed one, so certbot
needs no Docker socket.

`nginx_payload` is crossplane's parsed-config structure (a list of `{"directive", "args",
"block"}`); `crossplane.build` renders it, quoting arguments as nginx reads them.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import Any

import crossplane

from config.models import StackConfig
from generated import GeneratedFile

CONF_PATH = "/etc/nginx/nginx.conf"
CERT_DIR = "/etc/letsencrypt/ziggie"
ACME_ROOT = "/var/www/acme"
# Docker's embedded DNS server, in every container on a user-defined network.
DOCKER_DNS = "127.0.0.11"
# The official image's entrypoint runs executable *.sh files of this directory before nginx.
ENTRYPOINT_DIR = "/docker-entrypoint.d"
# Mozilla's "intermediate" TLS 1.2 suites (forward secret, AEAD only); TLS 1.3 picks its own.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
HSTS_SECONDS = 63072000  # two years
CERT_WAIT_SECONDS = 300

Directive = dict[str, Any]


@dataclass(frozen=True)
class Layout:
    """Where nginx finds its files: the container's own paths, or the same tree under a test root."""

    root: str = "/"
    user: str = "nginx"

    def path(self, container_path: str) -> str:
        return posixpath.join(self.root, container_path.lstrip("/")) if self.root != "/" else container_path


def _d(directive: str, *args: object, block: list[Directive] | None = None) -> Directive:
    entry: Directive = {"directive": directive, "args": [str(a) for a in args]}
    if block is not None:
        entry["block"] = block
    return entry


def _variable(service: str) -> str:
    return "$upstream_" + service.replace("-", "_")


def _proxy(service: str, port: int, uri: str = "") -> list[Directive]:
    """Proxy to `service:port` named at request time: the variable makes nginx ask Docker's DNS
    per request instead of once at start."""
    variable = _variable(service)
    return [
        _d("set", variable, f"{service}:{port}"),
        _d("proxy_pass", f"http://{variable}{uri}"),
        _d("proxy_set_header", "Host", "$host"),
        _d("proxy_set_header", "X-Real-IP", "$remote_addr"),
        _d("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        _d("proxy_set_header", "X-Forwarded-Proto", "$scheme"),
    ]


def nginx_payload(cfg: StackConfig, layout: Layout = Layout()) -> list[Directive]:
    """nginx.conf as crossplane's parsed-config structure."""
    edge = cfg.edge
    names = cfg.edge_names()
    https: list[Directive] = [
        _d("listen", 443, "ssl", "default_server"),
        _d("server_name", *names),
        _d("ssl_certificate", layout.path(f"{CERT_DIR}/fullchain.pem")),
        _d("ssl_certificate_key", layout.path(f"{CERT_DIR}/privkey.pem")),
        _d("ssl_protocols", "TLSv1.2", "TLSv1.3"),
        _d("ssl_ciphers", TLS12_CIPHERS),
        _d("ssl_prefer_server_ciphers", "off"),
        _d("ssl_session_cache", "shared:TLS:10m"),
        _d("ssl_session_timeout", "1d"),
        _d("ssl_session_tickets", "off"),
    ]
    if cfg.hsts():
        https.append(_d("add_header", "Strict-Transport-Security", f"max-age={HSTS_SECONDS}", "always"))
    # Exact match: Route 53's check and the container's own health check land here.
    https.append(_d("location", "=", "/health", block=_proxy(edge.health_service, edge.health_port, edge.health_path)))
    for route in sorted(edge.routes, key=lambda r: r.path):
        https.append(_d("location", route.path, block=_proxy(route.service, route.port)))

    http_redirect = [
        _d("listen", 80, "default_server"),
        _d("server_name", "_"),
        # HTTP-01 challenges (if ever used) are answered here; everything else goes to HTTPS.
        _d("location", "/.well-known/acme-challenge/", block=[_d("root", layout.path(ACME_ROOT))]),
        _d("location", "/", block=[_d("return", 301, "https://$host$request_uri")]),
    ]
    return [
        _d("user", layout.user),
        _d("worker_processes", "auto"),
        _d("pid", layout.path("/var/run/nginx.pid")),
        _d("error_log", layout.path("/var/log/nginx/error.log"), "notice"),
        _d("events", block=[_d("worker_connections", 1024)]),
        _d(
            "http",
            block=[
                _d("default_type", "application/octet-stream"),
                _d("access_log", layout.path("/var/log/nginx/access.log")),
                _d("sendfile", "on"),
                _d("keepalive_timeout", 65),
                _d("server_tokens", "off"),
                _d("client_max_body_size", "25m"),
                # Docker's DNS, asked per request; its answers are kept 10 s.
                _d("resolver", DOCKER_DNS, "valid=10s", "ipv6=off"),
                _d("resolver_timeout", "5s"),
                _d("server", block=http_redirect),
                _d("server", block=https),
            ],
        ),
    ]


def nginx_conf(cfg: StackConfig, layout: Layout = Layout()) -> str:
    """nginx.conf as text."""
    rendered: str = crossplane.build(nginx_payload(cfg, layout), indent=4)
    return rendered + "\n"


def startup_script(cfg: StackConfig) -> str:
    """Run by the image's entrypoint before nginx starts: wait for the certificate pair (certbot
    writes a self-signed one at once on a fresh host), then reload nginx periodically in the
    background so a renewed certificate is served without anyone touching the container."""
    cert, key = f"{CERT_DIR}/fullchain.pem", f"{CERT_DIR}/privkey.pem"
    seconds = cfg.edge.reload_hours * 3600
    lines = [
        "#!/bin/sh",
        "# Generated by ziggie-infra (generated/nginx.py); replaced on every deploy.",
        "set -eu",
        f"waited=0; while [ ! -s {shlex.quote(cert)} ] || [ ! -s {shlex.quote(key)} ]; do",
        f"  if [ $waited -ge {CERT_WAIT_SECONDS} ]; then",
        f'    echo "ziggie: no certificate in {CERT_DIR} after {CERT_WAIT_SECONDS}s; is certbot running?" >&2',
        "    exit 1",
        "  fi",
        "  sleep 2; waited=$((waited + 2))",
        "done",
        f"mkdir -p {shlex.quote(ACME_ROOT)}",
        f"(while sleep {seconds}; do nginx -s reload; done) &",
        "",
    ]
    return "\n".join(lines)


def nginx_files(cfg: StackConfig) -> list[GeneratedFile]:
    """What the nginx container gets: its configuration and the startup step."""
    return [
        GeneratedFile(path=CONF_PATH, content=nginx_conf(cfg)),
        GeneratedFile(path=f"{ENTRYPOINT_DIR}/40-ziggie-certificate.sh", content=startup_script(cfg), executable=True),
    ]
