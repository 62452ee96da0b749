"""Every input YAML or JSON can express but config cannot mean ends in exit 2 with file, key path and cause.

Each case goes through preflight's entry point as a user would run it (`--config-file` or
`--policy-config`), so the test covers the reader, the error path and the exit code together.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from preflight import cli
from preflight.documents import MAX_DEPTH, MAX_NODES, DocumentError, load_json, load_yaml
from preflight.runner import PROJECT_DIR

DEV = (PROJECT_DIR / "Pulumi.dev.yaml").read_text(encoding="utf-8")


def _bomb() -> str:
    # Nine levels of nine aliases each: 9**9 strings once expanded, 81 aliases written.
    lines = ['    l0: &l0 ["lol"]']
    for level in range(1, 10):
        items = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"    l{level}: &l{level} [{items}]")
    return "config:\n  ziggie-infra:features:\n" + "\n".join(lines) + "\n"


def _mostly_aliases() -> str:
    # 100 values written once, 200 aliases of them: 99.5 % of what the program reads is aliased.
    values = ", ".join(str(i) for i in range(100))
    uses = ", ".join(["*a"] * 200)
    return f"config:\n  ziggie-infra:features:\n    a: &a [{values}]\n    b: [{uses}]\n"


# (id, file content, the message's tail): the stack file is given as --config-file.
STACK_FILES: list[tuple[str, bytes, str]] = [
    ("non_utf8", DEV.replace("dev", "d\xe9v", 1).encode("latin-1"), "line 1: is not UTF-8 (byte 0xe9)"),
    ("utf16", DEV.encode("utf-16"), "is UTF-16 or UTF-32 encoded; save it as UTF-8"),
    (
        "timestamp",
        b"config:\n  ziggie-infra:environment: 2026-11-24\n",
        "line 2: config.ziggie-infra:environment: is a YAML timestamp; quote it if the text is meant",
    ),
    (
        "binary",
        b"config:\n  ziggie-infra:environment: !!binary ZGV2\n",
        "line 2: config.ziggie-infra:environment: is !!binary data, which config cannot hold",
    ),
    (
        "set",
        b"config:\n  ziggie-infra:include: !!set {postgres, redis}\n",
        "line 2: config.ziggie-infra:include: is a !!set; write a list",
    ),
    (
        "custom_tag",
        b"config:\n  ziggie-infra:environment: !env dev\n",
        "line 2: config.ziggie-infra:environment: tag !env is not config",
    ),
    (
        "list_as_key",
        b"config:\n  ziggie-infra:hosts:\n    ? [vps1, vps2]\n    : {memory: 16G}\n",
        "line 3: config.ziggie-infra:hosts: a list cannot be a key",
    ),
    (
        "integer_key",
        b"config:\n  ziggie-infra:hosts:\n    1: {memory: 16G}\n",
        "line 3: config.ziggie-infra:hosts: key '1' is not a string; quote it",
    ),
    (
        "recursive_alias",
        b"config:\n  ziggie-infra:features: &loop\n    again: *loop\n",
        "line 2: config.ziggie-infra:features.again: an alias refers to a node that contains it",
    ),
    (
        "lone_surrogate",
        b'config:\n  ziggie-infra:environment: "\\uD800"\n',
        # libyaml's scanner refuses it, in the words of yaml.v3 (a port of libyaml) and so of the CLI.
        "line 2 column 32: while parsing a quoted scalar; found invalid Unicode character escape code",
    ),
    (
        "unclosed_quote",
        b"config:\n  ziggie-infra:environment: 'dev\n",
        "line 3 column 1: while scanning a quoted scalar; found unexpected end of stream",
    ),
    ("alias_bomb", _bomb().encode(), f"more than {MAX_NODES} values once aliases are expanded"),
    (
        "aliases_beyond_yaml_v3_ratio",
        _mostly_aliases().encode(),
        "line 1: aliases make up 20200 of its 20309 values, more than 99% (yaml.v3 refuses it)",
    ),
    (
        "nesting_3000_deep",
        b"config:\n  ziggie-infra:features: " + b"[" * 3000 + b"]" * 3000 + b"\n",
        f"nesting deeper than {MAX_DEPTH} levels",
    ),
    (
        "integer_5000_digits",
        b"config:\n  ziggie-infra:features:\n    size: " + b"9" * 5000 + b"\n",
        "line 3: config.ziggie-infra:features.size: integer 99999999999999999999... does not fit in 64 bits",
    ),
    (
        "integer_past_uint64",
        b"config:\n  ziggie-infra:features:\n    size: 18446744073709551616\n",
        "line 3: config.ziggie-infra:features.size: integer 18446744073709551616... does not fit in 64 bits",
    ),
]


def _preflight(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["--stack", "dev", "--no-policy", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("content", "tail"), [pytest.param(c, t, id=i) for i, c, t in STACK_FILES])
def test_refused_stack_file_exits_2_naming_file_and_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, tail: str
) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(content)
    code, err = _preflight(capsys, "--config-file", str(path))
    assert code == 2
    assert err.startswith(f"preflight: {path}: ")
    assert err.rstrip().endswith(tail), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        pytest.param(_bomb(), "once aliases are expanded", id="alias-bomb"),
        pytest.param("a: " + "[" * 3000 + "]" * 3000 + "\n", "nesting deeper than", id="nesting-3000-deep"),
    ],
)
def test_bomb_and_deep_nesting_are_refused_from_their_nodes_before_anything_is_built(
    monkeypatch: pytest.MonkeyPatch, text: str, cause: str
) -> None:
    # Expanding the bomb's 9**9 values would take minutes and gigabytes, and building 3,000
    # levels would recurse past Python's limit: neither may reach the constructor.
    def constructed(*_: object) -> None:
        raise AssertionError("the document reached the constructor")

    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_document", constructed)
    with pytest.raises(DocumentError, match=cause):
        _load_text(Path(os.devnull), text)


def _load_text(name: Path, text: str) -> object:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name.name
        path.write_text(text, encoding="utf-8")
        return load_yaml(path)


def test_yaml_v3_booleans_and_plain_values_still_load(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(
        "a: &x {n: 1, f: 1.5, t: true, y: yes, s: !!str 12, z: null}\nb: *x\nc: 9223372036854775807\n",
        encoding="utf-8",
    )
    document = load_yaml(path)
    assert document == {
        "a": {"n": 1, "f": 1.5, "t": True, "y": "yes", "s": "12", "z": None},
        "b": {"n": 1, "f": 1.5, "t": True, "y": "yes", "s": "12", "z": None},
        "c": 9223372036854775807,
    }


def _directory(tmp_path: Path) -> Path:
    return tmp_path


def _unreadable(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(DEV, encoding="utf-8")
    path.chmod(0)
    return path


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        pytest.param(_directory, "is a directory, not a file", id="directory"),
        pytest.param(_unreadable, "cannot be read: Permission denied", id="unreadable"),
        # Opens, then fails on read, even for root: the kernel refuses reads of unmapped memory.
        pytest.param(lambda _: Path("/proc/self/mem"), "cannot be read: Input/output error", id="read_fails"),
        pytest.param(lambda tmp: tmp / "Pulumi.nope.yaml", "no such file", id="missing"),
    ],
)
def test_config_file_that_is_not_a_readable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], Path], cause: str
) -> None:
    path = make(tmp_path)
    if cause.endswith("Permission denied") and os.access(path, os.R_OK):
        pytest.skip("running as root: a mode-000 file is still readable")
    code, err = _preflight(capsys, "--config-file", str(path))
    assert (code, err) == (2, f"preflight: {path}: {cause}\n")


POLICY_CONFIGS: list[tuple[str, str, str]] = [
    ("nesting_100k_deep", "[" * 100_000 + "]" * 100_000, f"nesting deeper than {MAX_DEPTH} levels"),
    (
        "nesting_past_the_limit",
        '{"cost-budget": {"usage": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}}",
        f"cost-budget.usage{'[0]' * (MAX_DEPTH - 2)}: nesting deeper than {MAX_DEPTH} levels",
    ),
    ("integer_5000_digits", '{"cost-budget": {"monthlyBudgetUsd": ' + "9" * 5000 + "}}", "does not fit in 64 bits"),
    ("nan", '{"cost-budget": {"monthlyBudgetUsd": NaN}}', "NaN is not JSON"),
    ("duplicate_key", '{"a": 1, "a": 2}', 'duplicate key "a"'),
]


@pytest.mark.parametrize(("text", "tail"), [pytest.param(t, m, id=i) for i, t, m in POLICY_CONFIGS])
@pytest.mark.parametrize("policy", [pytest.param(True, id="pack"), pytest.param(False, id="no_policy")])
def test_refused_policy_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, tail: str, policy: bool
) -> None:
    path = tmp_path / "dev.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        load_json(path)
    assert str(caught.value).endswith(tail)
    args = ["--stack", "dev", "--policy-config", str(path)] + ([] if policy else ["--no-policy"])
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: " in err
    assert err.rstrip().endswith(tail), err


@pytest.mark.parametrize("policy", [pytest.param(True, id="pack"), pytest.param(False, id="no_policy")])
def test_missing_policy_config_given_explicitly_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: bool
) -> None:
    path = tmp_path / "missing.json"
    args = ["--stack", "dev", "--policy-config", str(path)] + ([] if policy else ["--no-policy"])
    assert cli.main(args) == 2
    assert capsys.readouterr().err.rstrip().endswith(f"{path}: no such file")


def test_project_file_goes_through_the_same_reader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.project import ProjectError, load_project

    path = tmp_path / "Pulumi.yaml"
    path.write_text("name: ziggie-infra\nruntime: python\nconfig:\n  when: 2026-11-24\n", encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    assert str(caught.value) == (
        f"could not read {path}: line 4: config.when: is a YAML timestamp; quote it if the text is meant"
    )


def test_unexpected_failure_is_exit_2_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(cli, "run_stack", broken)
    assert cli.main(["--stack", "dev", "--no-policy"]) == 2
    assert capsys.readouterr().err == (
        "preflight: unexpected KeyError: 'surprise' (rerun with --debug for the traceback)\n"
    )
    assert cli.main(["--stack", "dev", "--no-policy", "--debug"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("preflight: unexpected KeyError: 'surprise' (rerun with --debug for the traceback)\n")
