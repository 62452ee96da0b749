"""How preflight of prod scales: 21, 210 and 2,100 services on as many KVM 4 hosts as they need.

Each size is a synthetic prod stack file: the seed catalog copied N/21 times, each copy on
its own host (so every host holds the seed's 21 services, as the single-host seed would),
run through the same mocked program run `python -m preflight --stack prod` does, without the
policy pack (benchmarks/analyzer_throughput.py measures that). Prints seconds per run and per
registered resource; asserts nothing. Aim: 21 services under 2 s on 2 cores, growth linear.

    .venv/bin/python benchmarks/preflight_scale.py [--runs N] [--sizes 21,210,2100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.catalog import DEFAULT_CATALOG
from config.models import SMTP_PASSWORD_KEY
from preflight.runner import run_stack

OWN_IMAGE = "ghcr.io/ziggie-ai/{name}:1.4.2"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"


def synthetic_stack_file(services: int, directory: Path) -> Path:
    """A prod stack file with exactly `services` services, the catalog repeated once per host."""
    copies = -(-services // len(DEFAULT_CATALOG))  # the last host takes what is left
    config: dict[str, Any] = {"ziggie-infra:environment": "prod"}
    hosts: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for copy in range(copies):
        host = f"vps{copy + 1}"
        hosts[host] = {
            # One swarm, as prod: the copies' needs reach across hosts over the overlay network.
            "dockerHost": f"ssh://deploy@10.0.{copy // 250}.{copy % 250 + 1}",
            "swarm": "worker" if copy else "manager",
            "hostKey": HOST_KEY,
            "memory": "32G",
            "cpus": "8",
            "osReserveMemory": "2G",
            "osReserveCpus": "0.5",
            "monthlyPriceUsd": "12",
        }
        for name, entry in list(DEFAULT_CATALOG.items())[: services - copy * len(DEFAULT_CATALOG)]:
            service = f"{name}-{copy}" if copy else name
            # The catalog's everyHost agents already run on every host; a copy is one more service.
            override: dict[str, Any] = {**entry, "host": host, "everyHost": False} if copy else {}
            if copy and entry.get("volumes"):
                # Volume names are unique per host, and the everyHost agents already run on this one.
                override["volumes"] = [{**v, "name": f"{v['name']}-{copy}"} for v in entry["volumes"]]
            if not copy and not entry.get("everyHost"):
                override["host"] = host
            if "image" not in entry:
                override["image"] = OWN_IMAGE.format(name=name)
            overrides[service] = override
    config["ziggie-infra:hosts"] = hosts
    config["ziggie-infra:services"] = overrides
    config["ziggie-infra:include"] = [name for name in DEFAULT_CATALOG if name in overrides]
    deployed = [DEFAULT_CATALOG[name] for name in config["ziggie-infra:include"]]
    secrets = {key for e in deployed for key in e.get("secretEnv", {}).values()}
    if "alertmanager" in config["ziggie-infra:include"]:
        # Alertmanager needs someone to mail and a server to mail through.
        config["ziggie-infra:alerts"] = {"emails": ["ops@bench.example"]}
        config["ziggie-infra:monitoring"] = {
            "smtp": {"smarthost": "smtp.bench.example:587", "from": "alerts@bench.example", "authUsername": "alerts"}
        }
        secrets.add(SMTP_PASSWORD_KEY)
    if any(isinstance(h, dict) and str(h.get("dockerHost", "")).startswith("ssh://") for h in hosts.values()):
        # The host bootstrap logs in over SSH with it.
        secrets.add("deploySshKey")
    for key in sorted(secrets):
        config[f"ziggie-infra:{key}"] = {"secure": "benchmark"}
    path = directory / f"Pulumi.bench-{services}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="21,210,2100")
    args = parser.parse_args()
    print(f"{'services':>8} {'resources':>9} {'best s':>8} {'median s':>8} {'ms/resource':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = synthetic_stack_file(size, Path(tmp))
            times: list[float] = []
            resources = 0
            for _ in range(args.runs):
                start = time.perf_counter()
                plan = run_stack("prod", path)
                times.append(time.perf_counter() - start)
                resources = len(plan.resources)
            best = min(times)
            print(
                f"{size:>8} {resources:>9} {best:>8.3f} {statistics.median(times):>8.3f} "
                f"{best * 1000 / resources:>11.3f}"
            )


if __name__ == "__main__":
    main()
