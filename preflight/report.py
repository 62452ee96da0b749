"""Renders a preflight run as text, JSON or Markdown, in the order a reader needs it.

Every format starts with the verdict (stack, resources, whether and how the policy pack ran,
violations by level), then the violations, the per-host allocation tables, the resources
grouped by component, and the outputs as YAML with long values cut. The per-host tables are
computed from the recorded container inputs (what would reach Docker), not from the config,
so they show what the program really asks for.

Markdown is for a pull-request comment, which GitHub caps at 65,536 characters: the verdict,
the violations and the host tables come first and whole (violations capped at
`MAX_VIOLATION_ROWS`), then the resource listing and the outputs get what is left of the
budget; whatever does not fit is counted in a line that says so.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import yaml

from config.models import CPU_SHARES_PER_VCPU, MIB
from config.units import format_gib
from preflight.analyzer import PackRun, Violation
from preflight.cost import render_cost
from preflight.files import UploadedFile, files_json, render_files, size_text, uploaded_files
from preflight.readiness import dr_readiness
from preflight.records import RecordedResource, redact
from preflight.runner import PlanResult

CONTAINER = "docker:index/container:Container"
DOCKER_PROVIDER = "pulumi:providers:docker"
# Reading order inside a component: what a container needs comes before the container.
_RANK = {
    DOCKER_PROVIDER: 0,
    "docker:index/network:Network": 1,
    "docker:index/volume:Volume": 2,
    "docker:index/remoteImage:RemoteImage": 3,
    CONTAINER: 4,
}


@dataclass(frozen=True)
class Allocation:
    """One container's bounds as registered."""

    service: str
    tier: str
    memory: int
    memory_reservation: int
    cpus: Decimal
    cpu_reservation: Decimal


@dataclass(frozen=True)
class HostAllocation:
    """A host's containers and their sums against its pool."""

    host: str
    docker_host: str
    pool_memory: int
    pool_cpus: Decimal
    containers: tuple[Allocation, ...]

    @property
    def memory(self) -> int:
        return sum(c.memory for c in self.containers)

    @property
    def memory_reservation(self) -> int:
        return sum(c.memory_reservation for c in self.containers)

    @property
    def cpus(self) -> Decimal:
        return sum((c.cpus for c in self.containers), Decimal(0))

    @property
    def cpu_reservation(self) -> Decimal:
        return sum((c.cpu_reservation for c in self.containers), Decimal(0))


def _label(inputs: dict[str, Any], name: str) -> str:
    for label in inputs.get("labels", []):
        if isinstance(label, dict) and label.get("label") == name:
            return str(label.get("value", ""))
    return ""


def allocations(plan: PlanResult) -> list[HostAllocation]:
    """Per host, the containers registered on it, with the host's pool from the config."""
    providers = {r.urn: r for r in plan.resources if r.type == DOCKER_PROVIDER}
    by_url: dict[str, list[Allocation]] = defaultdict(list)
    for r in plan.resources:
        if r.type != CONTAINER or r.provider_urn not in providers:
            continue
        inputs = r.inputs
        by_url[str(providers[r.provider_urn].inputs.get("host"))].append(
            Allocation(
                service=str(inputs.get("name", r.name)),
                tier=_label(inputs, "ziggie.tier"),
                memory=int(inputs.get("memory", 0)) * MIB,
                memory_reservation=int(inputs.get("memoryReservation", 0)) * MIB,
                cpus=Decimal(str(inputs.get("cpus", "0"))),
                cpu_reservation=Decimal(int(inputs.get("cpuShares", 0))) / CPU_SHARES_PER_VCPU
                if inputs.get("cpuShares")
                else Decimal(0),
            )
        )
    result = []
    for name, host in plan.config.hosts.items():
        result.append(
            HostAllocation(
                host=name,
                docker_host=host.docker_host,
                pool_memory=host.pool_memory,
                pool_cpus=host.pool_cpus,
                containers=tuple(sorted(by_url.get(host.docker_host, []), key=lambda a: a.service)),
            )
        )
    return result


REMOTE_COMMAND = "command:remote:Command"
NETWORK = "docker:index/network:Network"


@dataclass(frozen=True)
class HostPreparation:
    """What a host gets before its containers, and which networks its containers join."""

    host: str
    swarm: str | None
    commands: tuple[tuple[str, str], ...]
    """(resource name, command) of each bootstrap step, in dependency order; never the key."""
    networks: tuple[tuple[str, str], ...]
    """(name, driver) of each network this host creates."""
    container_networks: tuple[tuple[str, tuple[str, ...]], ...]
    """(container, network names) of each container on the host."""


def host_preparation(plan: PlanResult) -> list[HostPreparation]:
    """Per host: bootstrap commands (their text only: the connection with the key stays out),
    swarm role, the networks it creates and each container's networks."""
    providers = {r.urn: r for r in plan.resources if r.type == DOCKER_PROVIDER}
    result = []
    for name, host in plan.config.hosts.items():
        commands = [r for r in plan.resources if r.type == REMOTE_COMMAND and r.name.startswith(f"{name}-bootstrap-")]
        ordered = sorted(commands, key=lambda r: (len(r.dependencies), r.name))
        on_host = [
            r
            for r in plan.resources
            if r.provider_urn in providers and providers[r.provider_urn].inputs.get("host") == host.docker_host
        ]
        result.append(
            HostPreparation(
                host=name,
                swarm=host.swarm,
                commands=tuple((r.name, str(r.inputs.get("create", ""))) for r in ordered),
                networks=tuple(
                    (str(r.inputs.get("name")), str(r.inputs.get("driver"))) for r in on_host if r.type == NETWORK
                ),
                container_networks=tuple(
                    sorted(
                        (
                            str(r.inputs.get("name", r.name)),
                            tuple(str(n.get("name")) for n in r.inputs.get("networksAdvanced", [])),
                        )
                        for r in on_host
                        if r.type == CONTAINER
                    )
                ),
            )
        )
    return result


def _preparation_lines(plan: PlanResult) -> list[str]:
    lines: list[str] = []
    for prep in host_preparation(plan):
        role = f"swarm {prep.swarm}" if prep.swarm else "standalone"
        lines += ["", f"host {prep.host} ({role}): before its containers"]
        if not prep.commands:
            lines.append("  no bootstrap (the local daemon)")
        for name, command in prep.commands:
            lines.append(f"  {name}:")
            lines += [f"    {line}" for line in command.splitlines()]
        for network, driver in prep.networks:
            lines.append(f"  network {network} ({driver})")
        joined = sorted({n for _, names in prep.container_networks for n in names})
        lines.append(f"  {len(prep.container_networks)} containers join: {', '.join(joined) or 'no network'}")
    return lines


def _gib(n: int) -> str:
    return format_gib(n).removesuffix(" GiB")


def _pct(part: Decimal | int, whole: Decimal | int) -> str:
    return f"{Decimal(part) * 100 / Decimal(whole):.0f}%" if whole else "-"


def _table(rows: Sequence[Sequence[str]], left: int = 2) -> list[str]:
    """Rows as aligned text: the first `left` columns flush left, the rest (figures) flush right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


GITHUB_COMMENT_LIMIT: Final = 65_536
"""Characters GitHub accepts in one issue or pull-request comment."""
MARKDOWN_LIMIT: Final = 60_000
"""The Markdown report's default budget: under the comment limit with room for a heading and a
preview summary posted in the same comment."""
MAX_VIOLATION_ROWS: Final = 100
OUTPUT_VALUE_CHARS: Final = 120
"""Longer output strings are cut (an image reference with its digest is about 110)."""


@dataclass(frozen=True)
class Report:
    """One preflight run, as every format reports it."""

    plan: PlanResult
    pack: PackRun | None
    """None when the pack was not run (`--no-policy`)."""
    cost: dict[str, Any] | None = None
    """The cost guard's estimate (`preflight.cost.cost_estimate`): lines, totals and the budget."""
    show_files: bool = False
    """Print the content of uploaded files (`--show-files`); secret ones never."""

    @property
    def estimated_monthly_cost_usd(self) -> Decimal | None:
        """The plan's estimated monthly cost, for the verdict line."""
        return None if self.cost is None else Decimal(self.cost["totalUsd"])

    @property
    def files(self) -> list[UploadedFile]:
        """Every file the plan uploads into a container."""
        return uploaded_files(self.plan.resources)

    @property
    def violations(self) -> list[Violation]:
        """Mandatory first, then advisory; each group in the pack's order."""
        found = self.pack.violations if self.pack else []
        return sorted(found, key=lambda v: v.enforcement != "mandatory")

    def count(self, level: str) -> int:
        """Violations at enforcement `level`."""
        return sum(1 for v in self.violations if v.enforcement == level)

    @property
    def status(self) -> str:
        """FAIL (a mandatory violation), PASS (the pack ran, nothing mandatory) or UNCHECKED (no pack)."""
        if self.pack is None:
            return "UNCHECKED"
        return "FAIL" if self.count("mandatory") else "PASS"


def verdict(report: Report) -> str:
    """The one line a reader needs first."""
    parts = [f"preflight {report.plan.stack}: {report.status}", f"{len(report.plan.resources)} resources"]
    if report.pack is None:
        parts.append("policy pack not run (--no-policy)")
    else:
        pack = report.pack
        parts.append(
            f"policy pack {pack.name} {pack.version}: {pack.policies_run} of {len(pack.policies)} policies run"
        )
        parts.append(f"{report.count('mandatory')} mandatory, {report.count('advisory')} advisory violations")
    if report.estimated_monthly_cost_usd is not None:
        parts.append(f"estimated ${report.estimated_monthly_cost_usd:,.2f}/month")
    return " · ".join(parts)


# --- the pieces every format shares -----------------------------------------------------------


def _vcpus(value: Decimal) -> str:
    """CPU limits to two places, or three where the value has them (0.045 must not read as 0.04)."""
    return f"{value:.3f}" if value != round(value, 2) else f"{value:.2f}"


def _host_rows(host: HostAllocation) -> list[list[str]]:
    rows = [["service", "tier", "mem limit", "mem reserve", "cpus", "cpu reserve"]]
    rows += [
        [c.service, c.tier, _gib(c.memory), _gib(c.memory_reservation), _vcpus(c.cpus), f"{c.cpu_reservation:.2f}"]
        for c in host.containers
    ]
    rows.append(
        [
            "total",
            "",
            _gib(host.memory),
            _gib(host.memory_reservation),
            _vcpus(host.cpus),
            # Reservations are read back from cpu_shares (1024 per vCPU): two places are honest.
            f"{host.cpu_reservation:.2f}",
        ]
    )
    rows.append(
        [
            "of pool",
            "",
            _pct(host.memory, host.pool_memory),
            _pct(host.memory_reservation, host.pool_memory),
            _pct(host.cpus, host.pool_cpus),
            _pct(host.cpu_reservation, host.pool_cpus),
        ]
    )
    return rows


def _host_title(host: HostAllocation) -> str:
    return f"host {host.host} ({host.docker_host}): pool {_gib(host.pool_memory)} GiB / {host.pool_cpus:.2f} vCPU"


def _groups(plan: PlanResult) -> list[tuple[str, list[RecordedResource]]]:
    """Resources by component (`"<type> <name>"`), then the stack-level ones; each in reading order."""
    children: dict[str | None, list[RecordedResource]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent].append(r)
    groups = []
    for component in (r for r in plan.resources if not r.custom and r.type != "pulumi:pulumi:Stack"):
        kids = sorted(children.get(component.urn, []), key=lambda r: (_RANK.get(r.type, 9), r.name))
        groups.append((f"{component.type} {component.name}", kids))
    top = [
        r
        for r in plan.resources
        if r.custom
        and (r.parent is None or r.parent.endswith(f"::{plan.stack}") or "pulumi:pulumi:Stack::" in r.parent)
    ]
    if top:
        groups.append(("stack-level resources", top))
    return groups


def _resource_row(r: RecordedResource) -> list[str]:
    return [r.type, r.name, "protected" if r.protect else ""]


def _short(value: Any) -> Any:
    """An output as plain data for YAML: secrets and unknowns named, long strings cut."""
    value = redact(value)
    if isinstance(value, dict):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_short(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = "[unknown]" if type(value).__name__ == "Unknown" else str(value)
    if len(text) > OUTPUT_VALUE_CHARS:
        cut = len(text) - OUTPUT_VALUE_CHARS + 1
        text = f"{text[: OUTPUT_VALUE_CHARS - 1]}… ({cut} more characters)"
    return text


def outputs_yaml(plan: PlanResult) -> list[str]:
    """The stack outputs as YAML lines; secrets as "[secret]", long strings cut."""
    if not plan.outputs:
        return []
    shown = {
        name: "[secret]" if name in plan.secret_outputs else _short(value)
        for name, value in sorted(plan.outputs.items())
    }
    text = yaml.safe_dump(shown, sort_keys=True, allow_unicode=True, default_flow_style=False, width=10_000)
    return text.splitlines()


def _violation_rows(report: Report) -> list[list[str]]:
    return [[v.enforcement, v.policy, v.urn.rsplit("::", 1)[-1], v.message] for v in report.violations]


# --- text ---------------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    """The whole report for a terminal: nothing is cut but long output values."""
    plan = report.plan
    lines = [verdict(report)]
    lines.append(f"  stack file {plan.stack_file.name}; no credentials used")
    if report.pack is not None:
        lines.append(f"  policy pack ran with {report.pack.interpreter}")
    if report.violations:
        lines += ["", "violations", *_table([["level", "policy", "resource", "message"], *_violation_rows(report)], 4)]
    lines += render_cost(report.cost)
    if plan.warnings:
        lines += ["", "warnings", *[f"  {w}" for w in plan.warnings]]
    for host in allocations(plan):
        lines += ["", _host_title(host), *_table(_host_rows(host))]
    lines += _preparation_lines(plan)
    for title, resources in _groups(plan):
        lines += ["", f"{title} ({len(resources)} resources)", *_table([_resource_row(r) for r in resources])]
    body = outputs_yaml(plan)
    if body:
        lines += ["", "outputs", *[f"  {line}" for line in body]]
    lines += ["", render_files(report.files, report.show_files)]
    return "\n".join(lines)


# --- JSON ---------------------------------------------------------------------------------------


def render_json(report: Report) -> dict[str, Any]:
    """The `--format json` document: the verdict first, then everything whole; secrets as "[secret]"."""
    plan = report.plan
    pack = report.pack
    document: dict[str, Any] = {
        "verdict": {
            "line": verdict(report),
            "status": report.status,
            "resources": len(plan.resources),
            "policyPack": None
            if pack is None
            else {
                "name": pack.name,
                "version": pack.version,
                "interpreter": pack.interpreter,
                "policiesRun": pack.policies_run,
                "policies": dict(pack.policies),
            },
            "violations": None
            if pack is None
            else {"mandatory": report.count("mandatory"), "advisory": report.count("advisory")},
            "estimatedMonthlyCostUsd": None
            if report.estimated_monthly_cost_usd is None
            else str(report.estimated_monthly_cost_usd),
        },
        "stack": plan.stack,
    }
    if pack is not None:
        document["violations"] = [
            {"policy": v.policy, "enforcement": v.enforcement, "urn": v.urn, "message": v.message}
            for v in report.violations
        ]
    document["warnings"] = list(plan.warnings)
    document["resources"] = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "provider": r.provider,
            "dependencies": list(r.dependencies),
            "protect": r.protect,
            "inputs": redact(r.inputs),
        }
        for r in plan.resources
    ]
    document["outputs"] = {
        k: "[secret]" if k in plan.secret_outputs else redact(v) for k, v in sorted(plan.outputs.items())
    }
    document["hosts"] = [
        {
            "host": prep.host,
            "swarm": prep.swarm,
            "bootstrap": [{"name": name, "command": command} for name, command in prep.commands],
            "networks": [{"name": name, "driver": driver} for name, driver in prep.networks],
            "containerNetworks": {container: list(names) for container, names in prep.container_networks},
        }
        for prep in host_preparation(plan)
    ]
    document["costEstimate"] = report.cost
    document["files"] = files_json(report.files, report.show_files)
    readiness = dr_readiness(plan)
    if readiness is not None:
        # dr's path: everything it creates or reads, and whether its region survives the primary's loss.
        document["drReadiness"] = [dataclasses.asdict(p) for p in readiness]
    return document


# --- Markdown -----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(rows: Sequence[Sequence[str]], right_from: int | None = None) -> list[str]:
    header, *body = rows
    align = ["---:" if right_from is not None and i >= right_from else "---" for i in range(len(header))]
    return [
        "| " + " | ".join(_cell(c) for c in header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in body),
    ]


def _fit(blocks: Sequence[list[str]], budget: int, cut_note: Callable[[int], str]) -> tuple[list[str], int]:
    """As many whole blocks as fit in `budget` characters, then `cut_note(blocks left out)`; and the size used."""
    out: list[str] = []
    for i, block in enumerate(blocks):
        rest = len(blocks) - i - 1
        note = _size(["", cut_note(rest)]) if rest else 0
        if _size(out) + _size(block) + note > budget:
            out += ["", cut_note(len(blocks) - i)]
            return out, _size(out)
        out += block
    return out, _size(out)


def _size(lines: Sequence[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def render_markdown(report: Report, limit: int = MARKDOWN_LIMIT) -> str:
    """The report for a pull-request comment or job summary, at most `limit` characters."""
    plan = report.plan
    lines = [f"### {verdict(report)}", ""]
    facts = [f"stack file `{plan.stack_file.name}`", "no credentials used"]
    if report.pack is not None:
        facts.append(f"policy pack ran with `{report.pack.interpreter}`")
    lines += ["; ".join(facts), ""]

    if report.violations:
        rows = _violation_rows(report)
        lines += ["#### Violations", ""]
        lines += _md_table([["level", "policy", "resource", "message"], *rows[:MAX_VIOLATION_ROWS]])
        if len(rows) > MAX_VIOLATION_ROWS:
            lines += ["", f"… and {len(rows) - MAX_VIOLATION_ROWS} more violations: `--format json` lists them all."]
        lines.append("")
    if report.cost is not None:
        lines += ["#### Estimated monthly cost", "", "```text", *report.cost["text"], "```", ""]
    if plan.warnings:
        lines += ["#### Warnings", "", *[f"- {_cell(w)}" for w in plan.warnings], ""]

    hosts = allocations(plan)
    if hosts:
        lines += ["#### Hosts", ""]
        for host in hosts:
            lines += [f"**{_host_title(host)}**", "", *_md_table(_host_rows(host), right_from=2), ""]
        for prep in host_preparation(plan):
            role = f"swarm {prep.swarm}" if prep.swarm else "standalone"
            networks = sorted({n for _, names in prep.container_networks for n in names})
            lines.append(
                f"- {prep.host} ({role}): {len(prep.commands)} bootstrap commands before its containers; "
                f"{len(prep.container_networks)} containers on {', '.join(networks) or 'no network'}"
            )
        lines.append("")
    files = report.files
    if files:
        rows = [["container", "path", "size"], *([f"{f.host}/{f.container}", f.path, size_text(f)] for f in files)]
        lines += ["#### Uploaded files", "", f"<details><summary>{len(files)} files</summary>", ""]
        lines += [*_md_table(rows), "", "</details>", ""]

    # What is left goes to the resource listing, keeping up to a third (or all it needs) for
    # the outputs; the outputs then get whatever the listing did not use.
    groups = _groups(plan)
    output_lines = outputs_yaml(plan)
    closing = ["", f"_`python -m preflight --stack {plan.stack}` prints the whole plan._"]
    lines += ["#### Resources by component", ""]
    outputs_head = ["#### Outputs", "", "<details><summary>outputs</summary>", "", "```yaml"]
    outputs_tail = ["```", "", "</details>"]
    outputs_frame = _size(outputs_head) + _size(outputs_tail) if output_lines else 0
    left = limit - _size(lines) - _size(closing) - outputs_frame
    outputs_reserve = min(_size(output_lines), left // 3)

    def resources_cut(components: int) -> str:
        count = sum(len(resources) for _, resources in groups[len(groups) - components :])
        return f"… {count} more resources in {components} more components, not listed to stay under the comment size limit."

    resource_blocks = [
        [
            f"<details><summary>{_cell(title)} ({len(resources)} resources)</summary>",
            "",
            *_md_table([["type", "name", ""], *(_resource_row(r) for r in resources)]),
            "",
            "</details>",
            "",
        ]
        for title, resources in groups
    ]
    listed, used = _fit(resource_blocks, left - outputs_reserve, resources_cut)
    lines += listed
    left -= used

    if output_lines:
        kept: list[str] = []
        for i, line in enumerate(output_lines):
            note = f"# … {len(output_lines) - i} more lines, cut to stay under the comment size limit"
            if _size(kept) + len(line) + 1 + len(note) + 1 > left:
                kept.append(note)
                break
            kept.append(line)
        lines += ["", *outputs_head, *kept, *outputs_tail]
    text = "\n".join([*lines, *closing]) + "\n"
    if len(text) > limit:
        # Even the verdict, violations and host tables are too long: keep what fits, and say so.
        text = text[: max(limit - 200, 0)].rsplit("\n", 1)[0]
        text += "\n\n_… the rest of this report does not fit in one comment; run preflight for the whole plan._\n"
    return text


def render(report: Report, fmt: str, limit: int = MARKDOWN_LIMIT) -> str:
    """The report in `fmt`: `text`, `json` or `markdown`."""
    if fmt == "json":
        return json.dumps(render_json(report), indent=2, default=str)
    if fmt == "markdown":
        return render_markdown(report, limit)
    return render_text(report)
