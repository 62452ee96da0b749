"""The default service catalog: the seed's 21 services with every number and tuning flag.

Entries are raw stack-file data (camelCase keys, Docker units) so that the catalog goes
through exactly the validation a stack file does, and a stack's override is a deep merge of
the same shape. A stack changes only what differs: `services: {postgres: {host: vps1}}`.

Images: the public ones carry the published `tag@sha256:` pins from shared/image-pins.md;
ziggie-api, mcp-gateway and sim-studio are built from the product's own repositories, so each
stack sets their reference (an immutable release tag or a digest).
"""

from __future__ import annotations

from typing import Any

NVME = "/mnt/nvme/ziggie"

# Who each image runs as, so the host bootstrap creates its bind-mount directory with that owner
# (`uid:gid`). Read from each image's own Dockerfile:
# docker-library/postgres 16/alpine*/Dockerfile: `addgroup -g 70 -S postgres; adduser -u 70 ...`.
POSTGRES_ALPINE = "70:70"
# docker-library/redis 7.4/alpine/Dockerfile: `addgroup -S -g 1000 redis; adduser -S -G redis -u 999 redis`.
REDIS_ALPINE = "999:1000"
# docker-library/mongo 7.0/Dockerfile: `groupadd --gid 999 --system mongodb; useradd --uid 999 ...`.
MONGO = "999:999"
# grafana/loki cmd/loki/Dockerfile: `addgroup -g 10001 -S loki && adduser -u 10001 -S loki -G loki`, `USER 10001`.
LOKI = "10001:10001"
# n8n-io/n8n docker/images/n8n/Dockerfile runs `USER node`: uid/gid 1000 in the node base image.
N8N_NODE = "1000:1000"
# ollama/ollama and certbot/certbot set no USER; nginx reads the certificates as root.
ROOT = "0:0"


def _curl(url: str) -> list[str]:
    return ["CMD", "curl", "-f", url]


def _wget(url: str) -> list[str]:
    # Busybox/alpine images ship wget but not curl.
    return ["CMD", "wget", "-q", "--spider", url]


def _check(test: list[str], interval: str, timeout: str, retries: int, start: str | None = None) -> dict[str, Any]:
    check: dict[str, Any] = {"test": test, "interval": interval, "timeout": timeout, "retries": retries}
    if start is not None:
        check["startPeriod"] = start
    return check


DEFAULT_CATALOG: dict[str, dict[str, Any]] = {
    # --- critical tier -------------------------------------------------------------------
    "ziggie-api": {
        "tier": "critical",
        "memory": "2G",
        "memoryReservation": "1G",
        "cpus": "1.0",
        "cpuReservation": "0.5",
        "healthcheck": _check(_curl("http://localhost:8000/health"), "10s", "3s", 3, "20s"),
        "featureFlags": True,
        "needs": ["postgres", "redis", "mongodb", "ollama"],
        "connectEnv": {
            "DATABASE_HOST": "{postgres}",
            "REDIS_HOST": "{redis}",
            "MONGODB_HOST": "{mongodb}",
            "OLLAMA_BASE_URL": "http://{ollama}:11434",
        },
        "secretEnv": {"DATABASE_PASSWORD": "postgresPassword", "REDIS_PASSWORD": "redisPassword"},
    },
    "mcp-gateway": {
        "tier": "critical",
        "memory": "1.5G",
        "memoryReservation": "768M",
        "cpus": "0.8",
        "cpuReservation": "0.4",
        "healthcheck": _check(_curl("http://localhost:8080/health"), "10s", "3s", 3, "15s"),
        # V8's heap stays under the 1.5G container limit with room for native memory.
        "env": {"NODE_OPTIONS": "--max-old-space-size=1280"},
    },
    "postgres": {
        "tier": "critical",
        "image": "docker.io/library/postgres:16.10-alpine"
        "@sha256:029660641a0cfc575b14f336ba448fb8a75fd595d42e1fa316b9fb4378742297",
        "memory": "3G",
        "memoryReservation": "1.5G",
        "cpus": "0.8",
        "cpuReservation": "0.4",
        "healthcheck": _check(["CMD-SHELL", "pg_isready -U ziggie"], "10s", "3s", 5, "30s"),
        "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
        "command": [
            "postgres",
            "-c",
            "shared_buffers=768MB",
            "-c",
            "effective_cache_size=2.25GB",
            "-c",
            "work_mem=32MB",
            "-c",
            "maintenance_work_mem=256MB",
            "-c",
            "max_connections=100",
            "-c",
            "checkpoint_completion_target=0.9",
            "-c",
            "random_page_cost=1.1",
            "-c",
            "effective_io_concurrency=200",
        ],
        "env": {"POSTGRES_USER": "ziggie", "POSTGRES_DB": "ziggie"},
        "secretEnv": {"POSTGRES_PASSWORD": "postgresPassword"},
        "volumes": [
            {
                "name": "postgres-data",
                "target": "/var/lib/postgresql/data",
                "bindPath": f"{NVME}/postgres",
                "owner": POSTGRES_ALPINE,
            }
        ],
    },
    "redis": {
        "tier": "critical",
        "image": "redis:7.4.7-alpine@sha256:ee64a64eaab618d88051c3ade8f6352d11531fcf79d9a4818b9b183d8c1d18ba",
        "memory": "512M",
        "memoryReservation": "256M",
        "cpus": "0.3",
        "cpuReservation": "0.1",
        # The password comes from the environment, so it never appears in the command line
        # that `docker inspect` and the health check show.
        "healthcheck": _check(
            ["CMD-SHELL", 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping'], "10s", "2s", 5, "10s"
        ),
        "command": [
            "sh",
            "-c",
            'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes'
            " --maxmemory 450mb --maxmemory-policy allkeys-lru",
        ],
        "secretEnv": {"REDIS_PASSWORD": "redisPassword"},
        "volumes": [{"name": "redis-data", "target": "/data", "bindPath": f"{NVME}/redis", "owner": REDIS_ALPINE}],
    },
    "nginx": {
        "tier": "critical",
        "image": "nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591",
        "memory": "256M",
        "memoryReservation": "128M",
        "cpus": "0.2",
        "cpuReservation": "0.1",
        # What Route 53 probes, from inside: TLS on 443 and /health proxied to the API (the image
        # ships curl; -k because the first certificate is self-signed). `nginx -t` only said the
        # config parsed.
        "healthcheck": _check(["CMD", "curl", "-fsk", "https://127.0.0.1/health"], "30s", "3s", 3, "10s"),
        "ports": [
            {"internal": 80, "external": 80, "ip": "0.0.0.0"},
            {"internal": 443, "external": 443, "ip": "0.0.0.0"},
        ],
        "mounts": [{"source": "/etc/letsencrypt", "target": "/etc/letsencrypt", "owner": ROOT}],
        # nginx proxies /health to the API.
        "needs": ["ziggie-api"],
    },
    # --- workflow tier -------------------------------------------------------------------
    "n8n": {
        "tier": "workflow",
        "image": "n8nio/n8n:1.123.5@sha256:c8ea89d97e420858c61d39ead4f310284dba3a4462521ec169e54a0254f213c2",
        "memory": "1.5G",
        "memoryReservation": "768M",
        "cpus": "0.5",
        "cpuReservation": "0.25",
        "healthcheck": _check(_wget("http://localhost:5678/healthz"), "15s", "5s", 3, "30s"),
        "env": {
            "EXECUTIONS_DATA_PRUNE": "true",
            "EXECUTIONS_DATA_MAX_AGE": "168",
            "N8N_METRICS": "true",
        },
        "metrics": {"port": 5678},
        "secretEnv": {"N8N_ENCRYPTION_KEY": "n8nEncryptionKey"},
        "volumes": [{"name": "n8n-data", "target": "/home/node/.n8n", "bindPath": f"{NVME}/n8n", "owner": N8N_NODE}],
    },
    "ollama": {
        "tier": "workflow",
        "image": "ollama/ollama:0.13.1@sha256:8850b8b33936b9fb246e7b3e02849941f1151ea847e5fb15511f17de9589aea1",
        "memory": "4G",
        "memoryReservation": "2G",
        "cpus": "0.8",
        "cpuReservation": "0.2",
        # The image has no curl or wget; the CLI itself asks the server for its models.
        "healthcheck": _check(["CMD", "ollama", "list"], "30s", "10s", 3, "60s"),
        "env": {"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_MAX_LOADED_MODELS": "1", "OLLAMA_FLASH_ATTENTION": "1"},
        "ulimits": {"memlock": {"soft": -1, "hard": -1}, "stack": {"soft": 67108864, "hard": 67108864}},
        "volumes": [{"name": "ollama-data", "target": "/root/.ollama", "bindPath": f"{NVME}/ollama", "owner": ROOT}],
    },
    "flowise": {
        "tier": "workflow",
        "image": "docker.io/flowiseai/flowise:3.0.8@sha256:c437a0e5967b1841069d3b78478108fc0fa8c86f3474cf31c13218a0fcb9d7d0",
        "memory": "512M",
        "memoryReservation": "256M",
        "cpus": "0.2",
        "cpuReservation": "0.1",
        "healthcheck": _check(_wget("http://localhost:3000/api/v1/ping"), "30s", "5s", 3),
        "env": {"NODE_OPTIONS": "--max-old-space-size=440"},
    },
    "mongodb": {
        "tier": "workflow",
        "image": "mongo:7.0.21@sha256:3d715950d83061ff2fbc910d12d3703212538cacf6b3003e3736fa5c7f51a2e1",
        "memory": "1.5G",
        "memoryReservation": "768M",
        "cpus": "0.3",
        "cpuReservation": "0.15",
        "healthcheck": _check(
            ["CMD", "mongosh", "--quiet", "--eval", 'db.runCommand("ping").ok'], "15s", "5s", 5, "40s"
        ),
        "command": ["mongod", "--wiredTigerCacheSizeGB", "1.0"],
        "env": {"MONGO_INITDB_ROOT_USERNAME": "ziggie"},
        "secretEnv": {"MONGO_INITDB_ROOT_PASSWORD": "mongoPassword"},
        "volumes": [{"name": "mongodb-data", "target": "/data/db", "bindPath": f"{NVME}/mongodb", "owner": MONGO}],
    },
    "sim-studio": {
        "tier": "workflow",
        "memory": "512M",
        "memoryReservation": "256M",
        "cpus": "0.2",
        "cpuReservation": "0.1",
        "healthcheck": _check(_curl("http://localhost:8001/health"), "30s", "5s", 3),
    },
    # --- monitoring tier -----------------------------------------------------------------
    "prometheus": {
        "tier": "monitoring",
        "image": "prom/prometheus:v2.55.1@sha256:2659f4c2ebb718e7695cb9b25ffa7d6be64db013daba13e05c875451cf51b0d3",
        "memory": "1G",
        "memoryReservation": "512M",
        "cpus": "0.2",
        "cpuReservation": "0.1",
        "healthcheck": _check(_wget("http://localhost:9090/-/healthy"), "30s", "5s", 3, "20s"),
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=30d",
            "--storage.tsdb.retention.size=900MB",
        ],
        "metrics": {"port": 9090},
        "volumes": [{"name": "prometheus-data", "target": "/prometheus"}],
    },
    "grafana": {
        "tier": "monitoring",
        "image": "grafana/grafana:11.3.0@sha256:a0f881232a6fb71a0554a47d0fe2203b6888fe77f4cefb7ea62bed7eb54e13c3",
        "memory": "512M",
        "memoryReservation": "256M",
        "cpus": "0.1",
        "cpuReservation": "0.05",
        "healthcheck": _check(_wget("http://localhost:3000/api/health"), "30s", "5s", 3, "20s"),
        "secretEnv": {"GF_SECURITY_ADMIN_PASSWORD": "grafanaAdminPassword"},
        "metrics": {"port": 3000},
        "needs": ["prometheus", "loki"],
        "volumes": [{"name": "grafana-data", "target": "/var/lib/grafana"}],
    },
    "loki": {
        "tier": "monitoring",
        "image": "grafana/loki:3.2.1@sha256:09a53b4a4ff81ffcd8f13886df19d33fac7a8d3aaf952e3c7e66cbade5b2fc31",
        "memory": "512M",
        "memoryReservation": "256M",
        "cpus": "0.1",
        "cpuReservation": "0.05",
        "healthcheck": _check(_wget("http://localhost:3100/ready"), "30s", "5s", 3, "20s"),
        "command": ["-config.file=/etc/loki/ziggie.yml"],
        "metrics": {"port": 3100},
        "volumes": [{"name": "loki-data", "target": "/loki", "bindPath": "/var/log/ziggie/loki", "owner": LOKI}],
    },
    "promtail": {
        "tier": "monitoring",
        "image": "grafana/promtail:3.2.1@sha256:bf617e9d67e80247a59f717f9c1ad388d7d32dc0a1d29abd5799516d15e0a9b5",
        "memory": "128M",
        "memoryReservation": "64M",
        # 0.05 cannot round-trip: the provider reads 50000000 NanoCPUs back as "0.1".
        "cpus": "0.045",
        "cpuReservation": "0.02",
        "everyHost": True,
        # The image's default config pushes to http://loki:3100.
        "needs": ["loki"],
        "healthcheck": _check(["CMD-SHELL", "promtail -version >/dev/null"], "60s", "5s", 2, "15s"),
        "command": ["-config.file=/etc/promtail/ziggie.yml"],
        "metrics": {"port": 9080},
        # Docker service discovery gives each container's labels (service, tier, host) and its
        # log stream; the socket is read-only here, but the no-privileged policy names it.
        "mounts": [
            {"source": "/var/log", "target": "/var/log"},
            {"source": "/var/run/docker.sock", "target": "/var/run/docker.sock"},
        ],
        "hostAccess": {
            "image": "grafana/promtail",
            "dockerSocket": True,
            "reason": "discovers containers and reads their log streams through the Docker API",
        },
        "volumes": [{"name": "promtail-positions", "target": "/var/lib/promtail"}],
    },
    "portainer": {
        "tier": "monitoring",
        "image": "portainer/portainer-ce:2.23.0-alpine@sha256:97342cf8a821d64d59880bdede8f45ea9c869fea702dd56128a67d552dc632ab",
        "memory": "256M",
        "memoryReservation": "128M",
        "cpus": "0.1",
        "cpuReservation": "0.05",
        "healthcheck": _check(_wget("http://localhost:9000/api/system/status"), "60s", "5s", 2, "15s"),
        "mounts": [{"source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}],
        "hostAccess": {
            "image": "portainer/portainer-ce",
            "dockerSocket": True,
            "reason": "manages the host's containers through the Docker API",
        },
        "volumes": [{"name": "portainer-data", "target": "/data"}],
    },
    "open-webui": {
        "tier": "monitoring",
        "image": "ghcr.io/open-webui/open-webui:v0.8.10@sha256:ee057955040ce91e3e787e4b7978c9c23e828972c68d01d787ed40f9a307df9f",
        "memory": "256M",
        "memoryReservation": "128M",
        "cpus": "0.1",
        "cpuReservation": "0.05",
        "healthcheck": _check(_curl("http://localhost:8080/health"), "30s", "5s", 3),
        "needs": ["ollama"],
        "connectEnv": {"OLLAMA_BASE_URL": "http://{ollama}:11434"},
    },
    "watchtower": {
        "tier": "monitoring",
        "image": "containrrr/watchtower:1.7.1@sha256:6dd50763bbd632a83cb154d5451700530d1e44200b268a4e9488fefdfcf2b038",
        "memory": "128M",
        "memoryReservation": "64M",
        "cpus": "0.045",
        "cpuReservation": "0.02",
        # Monitor only: pulling a newer image behind a pinned tag would silently undo the pin,
        # so watchtower reports updates and the pin moves through a reviewed change.
        "env": {"WATCHTOWER_POLL_INTERVAL": "600", "WATCHTOWER_MONITOR_ONLY": "true"},
        "mounts": [{"source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}],
        "hostAccess": {
            "image": "containrrr/watchtower",
            "dockerSocket": True,
            "reason": "compares the host's running images with the registry through the Docker API",
        },
    },
    "github-runner": {
        "tier": "monitoring",
        "image": "myoung34/github-runner:2.334.0",
        "memory": "1G",
        "memoryReservation": "256M",
        "cpus": "0.3",
        "cpuReservation": "0.1",
        "healthcheck": _check(["CMD-SHELL", "pgrep -f Runner.Listener >/dev/null"], "60s", "5s", 3, "60s"),
        "env": {"RUNNER_SCOPE": "repo", "EPHEMERAL": "true"},
        "secretEnv": {"ACCESS_TOKEN": "githubRunnerToken"},
    },
    "certbot": {
        "tier": "monitoring",
        # The certbot image with the certbot-dns-route53 plugin, for DNS-01 through Route 53.
        # Pin published in kdaweb/certbotbot's Dockerfile (a Renovate-managed version after
        # commit ba14111, which pinned v4.0.0 by tag).
        "image": "certbot/dns-route53:v5.7.0@sha256:b066c7c499bf028800562b0b5d963bf6ad23efdf4e395ab7415b53d44c0b1133",
        "memory": "128M",
        "memoryReservation": "32M",
        "cpus": "0.045",
        "cpuReservation": "0.01",
        "mounts": [{"source": "/etc/letsencrypt", "target": "/etc/letsencrypt", "readOnly": False, "owner": ROOT}],
        # generated/certbot.py: a self-signed pair at once if none exists, then certonly twice a
        # day (obtains, or renews within 30 days of expiry). The image's entrypoint is certbot.
        "entrypoint": ["/bin/sh", "/usr/local/bin/ziggie-certbot"],
    },
    "cadvisor": {
        "tier": "monitoring",
        "image": "gcr.io/cadvisor/cadvisor:v0.49.1@sha256:3cde6faf0791ebf7b41d6f8ae7145466fed712ea6f252c935294d2608b1af388",
        "memory": "256M",
        "cpus": "0.2",
        "healthcheck": _check(_wget("http://localhost:8080/healthz"), "30s", "5s", 3, "15s"),
        "everyHost": True,
        "privileged": True,
        "privilegedReason": "reads every container's cgroup and /dev/kmsg for per-container metrics",
        "metrics": {"port": 8080},
        "mounts": [
            {"source": "/", "target": "/rootfs"},
            {"source": "/var/run", "target": "/var/run"},
            {"source": "/sys", "target": "/sys"},
            {"source": "/var/lib/docker", "target": "/var/lib/docker"},
        ],
        # cAdvisor's documented `docker run`: the host's / for filesystem usage, /var/run for the
        # Docker socket it names containers by.
        "hostAccess": {
            "image": "gcr.io/cadvisor/cadvisor",
            "root": True,
            "dockerSocket": True,
            "reason": "reads filesystem usage under the host's / and names containers through the Docker API",
        },
    },
    "node-exporter": {
        "tier": "monitoring",
        "image": "prom/node-exporter:v1.8.2@sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706",
        "memory": "128M",
        "cpus": "0.1",
        "healthcheck": _check(_wget("http://localhost:9100/metrics"), "30s", "5s", 3, "10s"),
        "everyHost": True,
        "command": ["--path.rootfs=/host"],
        "metrics": {"port": 9100},
        "mounts": [{"source": "/", "target": "/host"}],
        "hostAccess": {
            "image": "prom/node-exporter",
            "root": True,
            "reason": "reports the host's filesystems and processes from its / (--path.rootfs=/host)",
        },
    },
    # --- exporters and alert delivery (monitoring tier) -----------------------------------
    "postgres-exporter": {
        "tier": "monitoring",
        "image": "quay.io/prometheuscommunity/postgres-exporter:v0.17.1"
        "@sha256:38606faa38c54787525fb0ff2fd6b41b4cfb75d455c1df294927c5f611699b17",
        # postgres_exporter's own RSS is ~20 MiB; the limit leaves room for a slow scrape.
        "memory": "64M",
        "memoryReservation": "32M",
        "cpus": "0.045",
        "cpuReservation": "0.02",
        "healthcheck": _check(_wget("http://localhost:9187/metrics"), "30s", "5s", 3, "15s"),
        # The DSN carries no password: postgres_exporter reads DATA_SOURCE_URI, DATA_SOURCE_USER
        # and DATA_SOURCE_PASS separately (prometheus-community/postgres_exporter README).
        "env": {"DATA_SOURCE_URI": "postgres:5432/ziggie?sslmode=disable", "DATA_SOURCE_USER": "ziggie"},
        "secretEnv": {"DATA_SOURCE_PASS": "postgresPassword"},
        "metrics": {"port": 9187},
    },
    "redis-exporter": {
        "tier": "monitoring",
        "image": "oliver006/redis_exporter:v1.66.0"
        "@sha256:d98e6db8094f491b95791e9f776b0ba30a20aeacb90e18334935d5e51bf2e6a1",
        "memory": "64M",
        "memoryReservation": "32M",
        "cpus": "0.045",
        "cpuReservation": "0.02",
        # A scratch image: no shell, no HTTP client, so no Docker health check can run inside it.
        # Prometheus's `up` for its target (the ScrapeTargetDown alert) is its health signal; the
        # healthcheck-required policy config names it as exempt with that reason.
        "env": {"REDIS_ADDR": "redis://redis:6379"},
        "secretEnv": {"REDIS_PASSWORD": "redisPassword"},
        "metrics": {"port": 9121},
    },
    "alertmanager": {
        "tier": "monitoring",
        "image": "prom/alertmanager:v0.27.0@sha256:e13b6ed5cb929eeaee733479dce55e10eb3bc2e9c4586c705a4e8da41e5eacf5",
        "memory": "128M",
        "memoryReservation": "64M",
        "cpus": "0.045",
        "cpuReservation": "0.02",
        "healthcheck": _check(_wget("http://localhost:9093/-/healthy"), "30s", "5s", 3, "15s"),
        "command": ["--config.file=/etc/alertmanager/ziggie.yml", "--storage.path=/alertmanager"],
        "volumes": [{"name": "alertmanager-data", "target": "/alertmanager"}],
        "metrics": {"port": 9093},
    },
}
