"""Throughput of the policy pack through the Analyzer protocol: per-resource and stack analysis.

Builds synthetic stacks of 21 and 2,100 containers (21 per host, each host with its component,
provider and remote images, as the program registers them), starts the ziggie-guardrails pack
once, and times - through gRPC, as preflight and the CLI call it - the per-resource pass
(Remediate + Analyze for every registration) and one AnalyzeStack. Prints seconds per run and
per resource; it asserts nothing about timings.

    .venv/bin/python benchmarks/analyzer_throughput.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from preflight.analyzer import PolicyPackSession
from preflight.records import SECRET_SIG_KEY, SECRET_SIG_VALUE, RecordedResource

PACK_DIR = ROOT / "policies"
PER_HOST = 21
DIGEST = "sha256:" + "ab" * 32


def _urn(qualified_type: str, name: str) -> str:
    return f"urn:pulumi:bench::ziggie-infra::{qualified_type}::{name}"


def synthetic_stack(containers: int) -> tuple[list[RecordedResource], dict[str, object]]:
    """Records for ``containers`` containers, 21 per host, and a policy config listing the hosts."""
    records: list[RecordedResource] = []
    hosts: dict[str, object] = {}
    for h in range((containers + PER_HOST - 1) // PER_HOST):
        name = f"bench{h:03d}"
        url = f"ssh://deploy@10.{h // 250}.{h % 250}.1"
        hosts[name] = {"dockerHost": url, "memoryGiB": 32, "cpus": 16, "reserveMemoryGiB": 2, "reserveCpus": 0.5}
        host_urn = _urn("ziggie:docker:Host", name)
        provider_urn = _urn("ziggie:docker:Host$pulumi:providers:docker", f"{name}-docker")
        records.append(
            RecordedResource(
                urn=host_urn,
                type="ziggie:docker:Host",
                name=name,
                custom=False,
            )
        )
        records.append(
            RecordedResource(
                urn=provider_urn,
                type="pulumi:providers:docker",
                name=f"{name}-docker",
                parent=host_urn,
                inputs={"host": url},
            )
        )
        for i in range(min(PER_HOST, containers - h * PER_HOST)):
            svc = f"svc{i:02d}"
            image = f"registry.example.com/ziggie/{svc}:1.{i}.0@{DIGEST}"
            image_urn = _urn("ziggie:docker:Host$docker:index/remoteImage:RemoteImage", f"{name}-{svc}-image")
            ref = f"{provider_urn}::{name}-provider-id"
            records.append(
                RecordedResource(
                    urn=image_urn,
                    type="docker:index/remoteImage:RemoteImage",
                    name=f"{name}-{svc}-image",
                    parent=host_urn,
                    provider=ref,
                    inputs={"name": image, "keepLocally": True},
                )
            )
            records.append(
                RecordedResource(
                    urn=_urn("ziggie:docker:Host$docker:index/container:Container", f"{name}-{svc}"),
                    type="docker:index/container:Container",
                    name=f"{name}-{svc}",
                    parent=host_urn,
                    provider=ref,
                    dependencies=(image_urn,),
                    property_dependencies={"image": (image_urn,)},
                    inputs={
                        "name": svc,
                        "image": image,
                        "memory": 512,
                        "memoryReservation": 256,
                        "memorySwap": 512,
                        "cpus": "0.5",
                        "cpuShares": 256,
                        "healthcheck": {"tests": ["CMD", "true"], "interval": "10s", "timeout": "3s", "retries": 3},
                        "restart": "unless-stopped",
                        "logDriver": "json-file",
                        "logOpts": {"max-size": "10m", "max-file": "3"},
                        "labels": [{"label": "ziggie.service", "value": svc}],
                        "envs": [f"SERVICE={svc}", {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "DB_PASSWORD=x"}],
                        "networksAdvanced": [{"name": "ziggie-network", "aliases": [svc]}],
                    },
                )
            )
    return records, {"host-allocation": {"hosts": hosts}}


def _time(action: Callable[[], object], runs: int) -> float:
    """Median seconds of ``runs`` calls (after one warm-up)."""
    action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (median shown)")
    args = parser.parse_args(argv)
    with PolicyPackSession(PACK_DIR, timeout=600) as session, tempfile.TemporaryDirectory() as tmp:
        print(f"pack {session.info.name}: {len(session.info.policies)} policies, one process for every run")
        print(f"{'containers':>10} {'records':>8} {'phase':<22} {'s/run':>9} {'ms/record':>10} {'ms/container':>13}")
        for containers in (21, 2100):
            records, config = synthetic_stack(containers)
            config_path = Path(tmp) / f"bench-{containers}.json"
            config_path.write_text(json.dumps(config), encoding="utf-8")
            session.configure(config_path)
            violations = session.run(records)
            assert not violations, violations[:3]  # the synthetic stack is compliant; timing a failure is moot
            for phase, action in (
                ("Remediate+Analyze all", lambda records=records: session.analyze_resources(records)),
                ("AnalyzeStack", lambda records=records: session.analyze_stack(records)),
            ):
                seconds = _time(action, args.runs)
                print(
                    f"{containers:>10} {len(records):>8} {phase:<22} {seconds:>9.4f} "
                    f"{seconds / len(records) * 1000:>10.4f} {seconds / containers * 1000:>13.4f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
