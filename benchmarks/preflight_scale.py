"""preflight against the bare Pulumi SDK: 21, 210 and 2,100 services on as many KVM 4 hosts as they need.

Each size is a synthetic prod stack file: the seed catalog copied N/21 times, each copy on
its own host (so every host holds the seed's 21 services, as the single-host seed would).
Every measurement runs in a fresh subprocess, sizes and kinds interleaved, medians shown (a
column of fewer than 1,000 resources three times as often):

- program: `preflight.runner.run_stack` (read and validate the stack, run `__main__.py` under
  preflight's mocks, record every registration), after the imports it needs (timed apart);
- replay: the bare-SDK replay of exactly the resources that run recorded (benchmarks/replay.py:
  same types, names, inputs, parents, providers, dependencies and options, under mocks that
  echo the inputs, everything at the SDK's defaults); ratio = program / replay;
- the policy pack over the program's records through preflight's analyzer client (start,
  Remediate+Analyze of every resource, AnalyzeStack), then the text report;
- peak memory: ru_maxrss of the program's subprocess after its run, and of the replay's.

The last column is prod's own stack file (Pulumi.prod.yaml, its AWS and GCP parts included)
measured the same way. Then `python -m preflight --stack prod` end to end (policy pack
included) and its floor: a fresh interpreter importing only pulumi and the provider modules
prod's resources come from, and exiting as preflight exits; and the largest synthetic stack end
to end. Each synthetic stack passes every policy: its policy config is prod's, written for its
hosts and copies (`_policy_config`). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/preflight_scale.py [--runs N] [--sizes 21,210,2100]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROJECT = "ziggie-infra"
OWN_IMAGE = "ghcr.io/ziggie-ai/{name}:1.4.2@sha256:" + "4" * 64  # by digest, as prod pins its own
END_TO_END_RUNS = 5
SMALL = 1000
"""A column of fewer resources is measured `SMALL_ROUNDS` times as often: its runs take a tenth
of a second, where scheduling noise moves a median of three by a tenth, and cost little to repeat."""
SMALL_ROUNDS = 3
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"


def _service_name(name: str, copy: int) -> str:
    """The name of the catalog service `name` on synthetic host `copy` (0 is the seed's own)."""
    return f"{name}-{copy}" if copy else name


def synthetic_stack_file(services: int, directory: Path) -> Path:
    """A prod stack file with exactly `services` services, the catalog repeated once per host."""
    import yaml

    from config.catalog import DEFAULT_CATALOG
    from config.models import SMTP_PASSWORD_KEY

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
            service = _service_name(name, copy)
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


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _policy_config(stack_file: Path, directory: Path) -> Path:
    """prod's policy config as an operator would write it for a synthetic stack, so that the stack
    passes: its hosts in host-allocation and in cost-budget (priced as prod's, the budget prod's
    per host), each copy of a service exempted or allowed as the service itself is, and no DR
    asked of a stack that has no AWS part."""
    from config.catalog import DEFAULT_CATALOG
    from preflight.documents import load_yaml

    config = json.loads((ROOT / "policies" / "config" / "prod.json").read_text(encoding="utf-8"))
    document = load_yaml(stack_file)["config"]["ziggie-infra:hosts"]
    config["host-allocation"]["hosts"] = {
        name: {"dockerHost": host["dockerHost"], "memoryGiB": 32, "cpus": 8, "reserveMemoryGiB": 2, "reserveCpus": 0.5}
        for name, host in document.items()
    }
    budget = config["cost-budget"]
    offers = list(budget["hosts"].values())  # synthetic host i priced as prod's host i mod len
    per_host = budget["monthlyBudgetUsd"] / len(offers)
    budget.update(
        hosts={host["dockerHost"]: offers[i % len(offers)] for i, host in enumerate(document.values())},
        monthlyBudgetUsd=per_host * len(document),
    )
    for policy, key in (
        ("healthcheck-required", "exempt"),
        ("no-privileged", "allowed"),
        ("container-limits", "allowSwap"),
    ):
        by_name = config[policy][key]
        copies = {
            _service_name(name, copy): by_name[name]
            for name in DEFAULT_CATALOG
            if name in by_name
            for copy in range(1, len(document))
        }
        by_name.update(copies)
    config["stack-environment"]["requireDr"] = False
    path = directory / f"{stack_file.stem}.policy.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _force(modules: list[str]) -> None:
    """Import `modules` in order; a lazily loaded one (pulumi_aws.s3, ...) is loaded for real."""
    for name in modules:
        try:
            module = importlib.import_module(name)
            getattr(module, "__name__", None)  # a LazyLoader module executes on first attribute access
        except Exception:  # noqa: BLE001 - a module the run imported under another name
            continue


def _sdk_modules(modules: list[str]) -> list[str]:
    """What of a run's modules belongs to pulumi and its providers: all a bare-SDK process imports."""
    return [m for m in modules if m.split(".")[0].startswith("pulumi")]


def _worker_record(stack_file: Path, out: Path) -> dict[str, Any]:
    from preflight.runner import run_stack

    plan = run_stack("prod", stack_file)
    out.write_bytes(pickle.dumps(plan.resources))
    modules = [m for m in sys.modules if m not in ("__main__", "__mp_main__") and not m.startswith("benchmarks")]
    return {"resources": len(plan.resources), "modules": modules}


def _worker_program(stack_file: Path, modules: list[str], policy_config: Path) -> dict[str, Any]:
    start = time.perf_counter()
    _force(modules)
    from preflight.runner import run_stack

    imports = time.perf_counter() - start
    start = time.perf_counter()
    plan = run_stack("prod", stack_file)
    program = time.perf_counter() - start
    peak = _peak_mb()

    from preflight.analyzer import PackRun, PolicyPackSession
    from preflight.cost import cost_estimate
    from preflight.report import Report, render

    python = os.environ.get("PREFLIGHT_POLICY_PYTHON") or sys.executable
    start = time.perf_counter()
    with PolicyPackSession(ROOT / "policies", timeout=600, stack="prod", project=PROJECT, python=python) as session:
        pack_start = time.perf_counter() - start
        settings = session.configure(policy_config)
        start = time.perf_counter()
        violations = session.analyze_resources(plan.resources)
        analyze = time.perf_counter() - start
        start = time.perf_counter()
        violations += session.analyze_stack(plan.resources)
        analyze_stack = time.perf_counter() - start
        pack = PackRun(
            name=session.info.name,
            version=session.info.version,
            interpreter=python,
            policies={name: entry.enforcement or "advisory" for name, entry in settings.items()},
            violations=violations,
        )
    start = time.perf_counter()
    report = Report(plan=plan, pack=pack, cost=cost_estimate(plan.resources, policy_config))
    render(report, "text")
    rendered = time.perf_counter() - start
    return {
        "imports": imports,
        "program": program,
        "peak_mb": peak,
        "pack start": pack_start,
        "Remediate+Analyze": analyze,
        "AnalyzeStack": analyze_stack,
        "report": rendered,
    }


def _worker_replay(records: Path, modules: list[str], declared: str) -> dict[str, Any]:
    from benchmarks.replay import prepare, replay

    resources = pickle.loads(records.read_bytes())  # a file this script wrote itself
    # As the program's run: the modules it imported are imported first, and not timed.
    _force(_sdk_modules(modules))
    prepare(resources, declared)
    start = time.perf_counter()
    replay(resources, project=PROJECT, stack="prod", declared=declared)
    return {"replay": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _worker_floor(modules: list[str]) -> dict[str, Any]:
    start = time.perf_counter()
    _force(_sdk_modules(modules))
    # The process then exits as preflight's does: preflight's mocked run ends with its objects
    # frozen (preflight/runner.py, `_Collector`), so the collection at interpreter exit walks none
    # of them. Left to that collection, these modules' ~1,700 module objects and everything they
    # hold take about 0.45 s more to exit, which no preflight run spends.
    gc.freeze()
    return {"floor imports": time.perf_counter() - start}


def _run_worker(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _wall(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of `command`; a run that fails is an error, not a figure."""
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr.strip()}")
    return elapsed


def _warm_end_to_end(directory: Path) -> list[float]:
    """`python -m preflight --stack prod` served by a warm server of its own: one run to learn, then timed."""
    env = {**os.environ, "PREFLIGHT_WARM_DIR": str(directory)}
    env.pop("PREFLIGHT_WARM", None)
    log = directory.with_suffix(".log")
    with log.open("w", encoding="utf-8") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "preflight.warm", "--idle-minutes", "5"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 60
        while "serving" not in log.read_text(encoding="utf-8"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the warm server did not start:\n{log.read_text(encoding='utf-8')}")
            time.sleep(0.05)
        command = [sys.executable, "-m", "preflight", "--stack", "prod"]
        _wall(command, env=env)
        # The server imports what the first run loaded and then writes it down; a run that came
        # meanwhile would wait for those imports and time them too.
        deadline = time.monotonic() + 120
        while not list(directory.glob("*.modules.json")):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the warm server never learned the first run:\n{log.read_text(encoding='utf-8')}")
            time.sleep(0.05)
        times = [_wall(command, env=env) for _ in range(END_TO_END_RUNS)]
        served = log.read_text(encoding="utf-8").count("ran --stack prod")
        if served != END_TO_END_RUNS + 1:
            raise SystemExit(f"the warm server served {served} of {END_TO_END_RUNS + 1} runs:\n{log.read_text()}")
        return times
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help=f"interleaved runs per measurement, {SMALL_ROUNDS} times as many below {SMALL} resources (medians shown)",
    )
    parser.add_argument("--sizes", default="21,210,2100", help="services per synthetic stack, comma-separated")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "record":
            result = _worker_record(Path(rest[0]), Path(rest[1]))
        elif kind == "program":
            result = _worker_program(Path(rest[0]), json.loads(Path(rest[1]).read_text()), Path(rest[2]))
        elif kind == "replay":
            result = _worker_replay(Path(rest[0]), json.loads(Path(rest[1]).read_text()), rest[2])
        else:
            result = _worker_floor(json.loads(Path(rest[0]).read_text()))
        print(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    # A column per synthetic size, and prod's own stack file (AWS and GCP parts included) last.
    columns = [*(str(size) for size in sizes), "prod"]
    samples: dict[str, dict[str, list[float]]] = {column: {} for column in columns}
    resources: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        files: dict[str, tuple[Path, Path, Path, Path]] = {}
        for column in columns:
            if column == "prod":
                stack_file, policy_config = ROOT / "Pulumi.prod.yaml", ROOT / "policies" / "config" / "prod.json"
            else:
                stack_file = synthetic_stack_file(int(column), directory)
                policy_config = _policy_config(stack_file, directory)
            records, modules = directory / f"records-{column}.pickle", directory / f"modules-{column}.json"
            recorded = _run_worker("record", str(stack_file), str(records))
            resources[column] = recorded["resources"]
            modules.write_text(json.dumps(recorded["modules"]))
            files[column] = (stack_file, records, modules, policy_config)
        # The floor imports what prod itself (cloud parts included) loads, not a synthetic stack.
        prod_modules = files["prod"][2]
        end_to_end: list[float] = []
        floor: list[float] = []
        python = [sys.executable]
        cold = {**os.environ, "PREFLIGHT_WARM": "0"}
        rounds = {column: args.runs * (SMALL_ROUNDS if resources[column] < SMALL else 1) for column in columns}
        for round_ in range(max(rounds.values())):
            for column in (c for c in columns if round_ < rounds[c]):
                stack_file, records, modules, policy_config = files[column]
                for kind, result in (
                    ("program", _run_worker("program", str(stack_file), str(modules), str(policy_config))),
                    ("replay", _run_worker("replay", str(records), str(modules), "classes")),
                    ("untyped replay", _run_worker("replay", str(records), str(modules), "untyped")),
                ):
                    for key, value in result.items():
                        name = f"{kind} peak MB" if key == "peak_mb" else kind if key == "replay" else key
                        samples[column].setdefault(name, []).append(value)
        for _ in range(END_TO_END_RUNS):
            end_to_end.append(_wall([*python, "-m", "preflight", "--stack", "prod"], env=cold))
            floor.append(_wall([*python, str(Path(__file__).resolve()), "--worker", "floor", str(prod_modules)]))
        warm = _warm_end_to_end(directory / "warm")
        # The largest synthetic stack end to end, as a user previews it: it passes every policy.
        largest = str(max(sizes))
        stack_file, _, _, policy_config = files[largest]
        command = [*python, "-m", "preflight", "--stack", "prod", "--config-file", str(stack_file)]
        largest_end_to_end = [
            _wall([*command, "--policy-config", str(policy_config)], env=cold) for _ in range(args.runs)
        ]

    median = {column: {key: statistics.median(values) for key, values in s.items()} for column, s in samples.items()}
    counts = ", ".join(f"{rounds[column]} at {column}" for column in columns)
    print(f"medians of interleaved runs ({counts}), each in a fresh subprocess (seconds unless stated)")
    print(f"{'':<22}" + "".join(f"{f'{column} ({resources[column]})':>16}" for column in columns))
    rows = ["imports", "program", "replay", "ratio", "untyped replay", "untyped ratio"]
    rows += ["pack start", "Remediate+Analyze", "AnalyzeStack", "report"]
    for row in [*rows, "program peak MB", "replay peak MB", "untyped replay peak MB"]:
        cells = []
        for column in columns:
            m = median[column]
            value = m["program"] / m[row.replace("ratio", "replay")] if row.endswith("ratio") else m[row]
            cells.append(f"{value:>16.0f}" if row.endswith("MB") else f"{value:>16.3f}")
        print(f"{row:<22}" + "".join(cells))
    print(f"medians of {END_TO_END_RUNS}:")
    print(f"prod end to end (python -m preflight --stack prod, pack included): {statistics.median(end_to_end):.3f} s")
    print(f"floor (python importing pulumi and prod's providers, then exiting): {statistics.median(floor):.3f} s")
    print(f"prod end to end served by python -m preflight.warm (after one run):  {statistics.median(warm):.3f} s")
    print(
        f"{largest} services end to end (python -m preflight --stack prod --config-file ..., pack included), "
        f"median of {args.runs}: {statistics.median(largest_end_to_end):.3f} s"
    )


if __name__ == "__main__":
    main()
