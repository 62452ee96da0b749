"""Mutated stack files through preflight's entry point: exit 0 or 1, or exit 2 naming the file; never a crash.

Each example starts from the committed Pulumi.dev.yaml and deletes, duplicates or retypes keys,
then may splice in a line of odd YAML or damage the encoding. `make test` runs 200 examples;
`ZIGGIE_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/preflight/test_fuzz_stack_files.py`
runs more.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from preflight import cli
from preflight.documents import load_yaml
from preflight.runner import PROJECT_DIR

EXAMPLES = int(os.environ.get("ZIGGIE_FUZZ_EXAMPLES", "200"))
BASE: dict[str, Any] = load_yaml(PROJECT_DIR / "Pulumi.dev.yaml")

ODD_LINES = [
    "odd: !!binary aGVsbG8=",
    "odd: 2026-11-24",
    "odd: 2026-11-24T10:00:00Z",
    "odd: !!set {a, b}",
    "odd: !!omap [{a: 1}]",
    "odd: !custom value",
    "? [a, b]\n: c",
    "? {a: 1}\n: c",
    "1: one",
    "true: yes",
    "null: ~",
    "odd: &loop [*loop]",
    "odd: *nowhere",
    "<<: {a: 1}",
    "odd: " + "[" * 300 + "]" * 300,
    "odd: " + "{a: " * 100 + "1" + "}" * 100,
    "odd: 1" + "0" * 5000,
    "odd: 18446744073709551616",
    "odd: -0x8000000000000001",
    "odd: .nan",
    "odd: -.inf",
    "odd: 1_000",
    "odd: 0o17",
    'odd: "\\0 nul"',
    'odd: "\\uD800"',
    "odd: {a: 1, a: 2}",
    "\todd: tab",
    "odd: [unclosed",
    "odd: 'unclosed",
    "---\nsecond: document",
    "%YAML 1.1\n---",
    "odd: |\n  block",
]
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["0", "-1", "6M", "5M", "1ns", "0.0001", "16G", "ssh://x", "/", "latest", "${x}"]),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.dictionaries(st.sampled_from(["secure", "memory", "x", ""]), st.integers(0, 3), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def stack_files(draw: st.DrawFn) -> bytes:
    document = yaml.safe_load(yaml.safe_dump(BASE))  # a deep copy
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(document, path)
        action = draw(st.sampled_from(["delete", "duplicate", "retype"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(parent[path[-1]])
        elif action == "duplicate":
            # The same value under a second, similar key (a sibling or a near-typo of the key).
            parent[f"{path[-1]}{draw(st.sampled_from(['', '2', '_', 'S']))}"] = parent[path[-1]]
        else:
            parent[path[-1]] = draw(ODD_VALUES)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    lines = text.splitlines()
    if draw(st.booleans()):
        # A line of odd YAML at the indentation of the line it goes before.
        at = draw(st.integers(min_value=0, max_value=len(lines)))
        indent = len(lines[at]) - len(lines[at].lstrip()) if at < len(lines) else 0
        odd = draw(st.sampled_from(ODD_LINES))
        lines[at:at] = [" " * indent + line for line in odd.splitlines()]
    if draw(st.booleans()) and lines:
        # A key given twice, as a careless copy-paste leaves it.
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        lines.insert(at, lines[at])
    data = ("\n".join(lines) + "\n").encode("utf-8")
    damage = draw(st.sampled_from(["none", "none", "none", "latin1", "utf16", "truncate"]))
    if damage == "latin1":
        data = data.replace(b"dev", b"d\xe9v", 1)
    elif damage == "utf16":
        data = data.decode("utf-8").encode("utf-16")
    elif damage == "truncate":
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    return data


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(content=stack_files())
def test_mutated_stack_file_never_crashes_preflight(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--stack", "dev", "--no-policy", "--config-file", str(path)])
    message = err.getvalue()
    event(f"exit {code}")  # the spread shows with --hypothesis-show-statistics
    assert code in (0, 1, 2), message
    if code == 2:
        assert "Traceback" not in message
        # The entry point's guard catches what nothing else refused: for a stack file, a defect.
        assert "preflight: unexpected " not in message, message
        assert "Pulumi.dev.yaml" in message or "ziggie-infra:" in message, message
