"""Tests for config.reference: the generated configuration reference and its README check."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from config import models
from config.reference import END, START, main, render_reference

ROOT = Path(__file__).resolve().parents[2]

# Every model a stack file can reach, written out so that a model the walk misses fails here.
MODELS: list[type[BaseModel]] = [
    models.StackConfig,
    models.Host,
    models.Service,
    models.HealthCheck,
    models.Ulimit,
    models.Volume,
    models.BindMount,
    models.Port,
    models.MetricsEndpoint,
    models.HostAccess,
    models.Network,
    models.Logging,
    models.Cloud,
    models.Alerts,
    models.Monitoring,
    models.Smtp,
    models.Thresholds,
    models.Edge,
    models.Route,
    models.Primary,
    models.Aws,
    models.BucketSettings,
    models.Dns,
    models.HealthCheckSettings,
    models.Gcp,
    models.Cdn,
    models.CdnBucket,
    models.CorsRule,
    models.CdnCache,
    models.NegativeCachingPolicy,
    models.Budgets,
    models.AwsBudget,
    models.GcpBudget,
]


def sections(text: str) -> dict[str, list[list[str]]]:
    """Section title -> its table rows, each a list of unescaped cells (header rows dropped)."""
    found: dict[str, list[list[str]]] = {}
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("### "):
            rows = found.setdefault(line.removeprefix("### "), [])
        elif line.startswith("| ") and not line.startswith(("| key |", "|---")):
            cells = [c.strip() for c in line.strip("|").replace("\\|", "\0").split(" | ")]
            rows.append([html.unescape(c.replace("\0", "|")).strip() for c in cells])
    return found


def test_every_model_has_a_section_in_order() -> None:
    assert list(sections(render_reference())) == [m.__name__ for m in MODELS]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_appears_with_its_description(model: type[BaseModel]) -> None:
    rows = sections(render_reference())[model.__name__]
    got = {key.strip("`"): description for key, _, _, description in rows}
    want = {field.alias or name: field.description for name, field in model.model_fields.items()}
    assert got == want, f"{model.__name__}: rows (camelCase key -> description) differ from the model's fields"
    assert all(want.values()), f"{model.__name__}: a field lacks a description"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_required_marks_exactly_the_required_fields(model: type[BaseModel]) -> None:
    rows = sections(render_reference())[model.__name__]
    got = {key.strip("`") for key, _, default, _ in rows if default == "required"}
    want = {field.alias or name for name, field in model.model_fields.items() if field.is_required()}
    assert got == want


ROWS = [
    pytest.param("StackConfig", "environment", "one of `dev`, `prod`, `dr`", "required", id="literal_lists_choices"),
    pytest.param("StackConfig", "primary", "[Primary](#primary) or unset", "unset", id="optional_model_links"),
    pytest.param(
        "StackConfig",
        "network",
        "[Network](#network)",
        "each key's default, see [Network](#network)",
        id="model_default_points_to_its_section",
    ),
    pytest.param("StackConfig", "hosts", "map of string to [Host](#host)", "required", id="map_of_models"),
    pytest.param("Service", "memory", "size (`512M`, `1.5G`)", "required", id="memory_is_a_docker_size"),
    pytest.param("Service", "cpuReservation", "vCPUs (`0.5`) or unset", "unset", id="optional_cpus"),
    pytest.param("Service", "image", "image reference or unset", "unset", id="image_reference"),
    pytest.param(
        "Service",
        "restart",
        "one of `no`, `on-failure`, `always`, `unless-stopped`",
        "`unless-stopped`",
        id="string_default_in_code",
    ),
    pytest.param("Service", "volumes", "list of [Volume](#volume)", "`[]`", id="tuple_is_a_list"),
    pytest.param("HealthCheck", "startPeriod", "duration (`30s`, `1m30s`)", "`0s`", id="duration_default_as_go"),
    pytest.param("Network", "mtu", "integer", "`1500`", id="int_default"),
    pytest.param("Network", "subnet", "IPv4 network", "`172.28.0.0/16`", id="network_default_as_text"),
    pytest.param("Port", "ip", "IPv4 address", "`127.0.0.1`", id="address_default_as_text"),
    pytest.param("Logging", "maxSize", "string", "`10m`", id="plain_string_default"),
    pytest.param("Cloud", "awsDr", "boolean", "`false`", id="bool_default_as_json"),
]


@pytest.mark.parametrize(("section", "key", "type_text", "default"), ROWS)
def test_row_type_and_default(section: str, key: str, type_text: str, default: str) -> None:
    rows = {row[0]: row for row in sections(render_reference())[section]}
    assert rows[f"`{key}`"][1:3] == [type_text, default]


def test_angle_brackets_outside_code_are_escaped() -> None:
    text = render_reference()
    assert "FEATURE_&lt;NAME&gt;" in text, "a bare <NAME> would vanish as an HTML tag"
    assert "`ssh://user@host[:port]`" in text, "code spans are left as written"


def readme(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "README.md"
    path.write_text(f"# ziggie-infra\n\nIntro.\n\n{START}{block}{END}\n\nAfter.\n", encoding="utf-8")
    return path


def test_write_then_check_passes_and_keeps_the_rest(tmp_path: Path) -> None:
    path = readme(tmp_path, "\nstale\n")
    assert main(["--write", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text == f"# ziggie-infra\n\nIntro.\n\n{START}\n{render_reference()}{END}\n\nAfter.\n"
    assert main(["--check", str(path)]) == 0


def test_check_fails_when_a_description_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = readme(tmp_path, "")
    assert main(["--write", str(path)]) == 0
    monkeypatch.setattr(models.Service.model_fields["memory"], "description", "Changed.")
    assert "| `memory` | size (`512M`, `1.5G`) | required | Changed. |" in render_reference()
    assert main(["--check", str(path)]) == 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("# no markers\n", id="no_markers"),
        pytest.param(f"{END}\n{START}\n", id="markers_reversed"),
        pytest.param(f"intro\n{START}\nblock\n", id="no_end"),
        pytest.param(f"intro\nblock\n{END}\n", id="no_start"),
    ],
)
def test_check_and_write_fail_without_a_block(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    assert main(["--check", str(path)]) == 1
    assert main(["--write", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == text, "--write must not touch a file it cannot place the block in"
    assert f"{path}: no {START}" in capsys.readouterr().err


def test_print(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out == render_reference()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m config.reference ARGS` from the project root, in `env` (None: this one)."""
    return subprocess.run(
        [sys.executable, "-m", "config.reference", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_module_entry_point(tmp_path: Path) -> None:
    printed = run()
    assert (printed.returncode, printed.stdout) == (0, render_reference()), printed.stderr
    stale = readme(tmp_path, "\nold text\n")
    checked = run("--check", str(stale))
    assert checked.returncode == 1
    assert "out of date" in checked.stderr
    assert run("--write", str(stale)).returncode == 0
    assert run("--check", str(stale)).returncode == 0


@pytest.mark.parametrize(
    ("text", "written"),
    [
        # The block is what lies between the first START and the first END after it.
        pytest.param(f"a{START}x{START}y{END}b", f"a{START}{{block}}{END}b", id="second_start_inside_the_block"),
        pytest.param(f"a{START}x{END}y{END}b", f"a{START}{{block}}{END}y{END}b", id="second_end_after_the_block"),
    ],
)
def test_write_replaces_the_first_block(tmp_path: Path, text: str, written: str) -> None:
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    assert main(["--write", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == written.format(block="\n" + render_reference())


def test_check_names_the_file_and_the_command_that_fixes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = readme(tmp_path, "\nold text\n")
    assert main(["--check", str(path)]) == 1
    assert capsys.readouterr() == (
        "",
        f"{path}: the configuration reference is out of date; run `python -m config.reference --write {path}`\n",
    )


def test_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == (
        "usage: python -m config.reference [-h] [--check FILE | --write FILE]\n"
        "\n"
        "The stack configuration reference, generated from the pydantic models' field descriptions.\n"
        "\n"
        "options:\n"
        "  -h, --help    show this help message and exit\n"
        "  --check FILE  exit 1 if FILE's reference block is stale\n"
        "  --write FILE  rewrite FILE's reference block in place\n"
    )


def test_a_readme_beyond_ascii_is_read_and_written_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    path = readme(tmp_path, "\nold text\n")
    path.write_text(path.read_text(encoding="utf-8").replace("Intro.", "Intro – déjà vu."), encoding="utf-8")
    # The C locale without Python's UTF-8 mode or locale coercion: the locale's encoding is ASCII.
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    for mode in ("--write", "--check"):
        done = run(mode, str(path), env=env)
        assert done.returncode == 0, done.stderr
    assert "Intro – déjà vu." in path.read_text(encoding="utf-8")
