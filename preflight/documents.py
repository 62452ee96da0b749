"""The one reader every config document goes through: stack files, Pulumi.yaml, policy config.

YAML and JSON can say things config cannot mean: a list as a key, a timestamp, `!!binary`,
`!!set`, a custom tag, an integer no 64-bit field holds, an alias that contains itself, a
billion-laughs alias bomb, nesting thousands deep. Each is refused here, with the file, the
line and the key path, before anything is built from the document: a YAML document is
composed into nodes (aliases stay shared, nothing is expanded), the nodes are checked and
counted, and only then constructed. A refused document costs time and memory in proportion
to its size on disk, which is itself capped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
"""A stack file of every service and host is ~20 KB; a megabyte is config no one reviews."""
MAX_DEPTH = 64
"""The deepest config (a service's healthcheck test list) is 6 levels below `config:`."""
MAX_NODES = 400_000
"""Nodes of a YAML document with every alias expanded: what the program would be handed.

A stack of 2,100 services (a hundredfold catalog) is ~110,000; 400,000 is where yaml.v3 stops
allowing a flat 99 % of aliases (below), so the ratio rule here is the CLI's whole rule."""
# yaml.v3's own alias-bomb rule (gopkg.in/yaml.v3 decode.go, `decoder.unmarshal` and
# `allowedAliasRatio`): once more than 100 of a document's decoded nodes come through aliases
# and it has more than 1,000 in all, at most 99 % may come through aliases (the share falls
# from 400,000 nodes on, beyond MAX_NODES). Mirrored so preflight refuses what the CLI refuses.
ALIAS_MIN_NODES, ALIAS_MIN_ALIASED, ALIAS_MAX_RATIO = 1000, 100, 0.99
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
"""yaml.v3 (resolve.go) reads an integer as int64, else uint64; beyond that it is no integer."""

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
_WHAT_TAG_IS = {
    f"{_TAG}timestamp": "is a YAML timestamp; quote it if the text is meant",
    f"{_TAG}binary": "is !!binary data, which config cannot hold",
    f"{_TAG}set": "is a !!set; write a list",
    f"{_TAG}omap": "is a !!omap; write a mapping",
    f"{_TAG}pairs": "is !!pairs; write a mapping",
    f"{_TAG}merge": "is a merge key (<<); write the keys out",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-32LE's BOM starts with UTF-16LE's


class DocumentError(Exception):
    """A config document cannot be read or means nothing config can hold; names file, line, key path."""

    def __init__(
        self, path: Path, cause: str, *, line: int | None = None, column: int | None = None, key: str = ""
    ) -> None:
        self.path = path
        self.cause = cause
        self.key = key
        where = f"line {line}" if line is not None else ""
        where += f" column {column}" if column is not None else ""
        where += ": " if where else ""
        where += f"{key}: " if key else ""
        super().__init__(f"{path}: {where}{cause}")


def read_text(path: Path) -> str:
    """The file's text as UTF-8 (a UTF-8 BOM is allowed, as yaml.v3 allows it); DocumentError otherwise."""
    if path.is_dir():
        raise DocumentError(path, "is a directory, not a file")
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise DocumentError(path, "no such file") from None
    except OSError as exc:
        raise DocumentError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise DocumentError(path, f"is larger than {MAX_BYTES // 1024} KiB")
    if data.startswith(_UTF16_32_BOMS) or (len(data) >= 2 and (data[0] == 0 or data[1] == 0)):
        raise DocumentError(path, "is UTF-16 or UTF-32 encoded; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocumentError(path, f"is not UTF-8 (byte 0x{data[exc.start]:02x})", line=line) from None


class _Refused(Exception):
    def __init__(self, node_or_mark: yaml.Node | yaml.Mark, cause: str, key: str = "") -> None:
        super().__init__(cause)
        mark = node_or_mark.start_mark if isinstance(node_or_mark, yaml.Node) else node_or_mark
        self.line = mark.line + 1
        self.cause = cause
        self.key = key


# libyaml (PyYAML's C extension, in every wheel requirements.lock pins) scans and parses; the
# composer stays PyYAML's Python one, so the depth guard below runs per level (the C composer
# recurses on the C stack, unguarded). yaml.v3 is a port of libyaml, so syntax errors read in
# the words the CLI uses.
class _ConfigLoader(yaml.composer.Composer, yaml.CSafeLoader):
    """libyaml's parser with PyYAML's composer, which refuses deep nesting as it goes; an alias stays one node."""

    def __init__(self, stream: str) -> None:
        yaml.CSafeLoader.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # The composer recurses once per level; refusing here keeps 3,000 levels off the stack.
        self.depth += 1
        try:
            event = self.peek_event() if self.depth > MAX_DEPTH else None
            if event is not None:
                raise _Refused(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _YamlV3Loader(_ConfigLoader):
    """Reads booleans as the Pulumi CLI's gopkg.in/yaml.v3 does (resolve.go)."""


# yaml.v3 resolves only true/false in three spellings as booleans; PyYAML's YAML 1.1 also turns
# yes/no/on/off into booleans, which would let a `type: boolean` key set to `yes` pass here
# and fail `pulumi preview`.
_BOOL_TAG = f"{_TAG}bool"
_YamlV3Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_YamlV3Loader.add_implicit_resolver(  # type: ignore[no-untyped-call]
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


class _Census:
    """Walks composed nodes once each: refuses what config cannot mean, sizes the expansion."""

    def __init__(self, loader: _ConfigLoader) -> None:
        self.loader = loader
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)
        self.open: set[int] = set()
        self.aliased = 0  # expanded nodes that come through aliases

    def walk(self, node: yaml.Node, path: str) -> tuple[int, int]:
        known = self.sizes.get(id(node))
        if known is not None:
            self.aliased += known[0]  # an alias of a node already judged: only its size counts again
            return known
        if id(node) in self.open:
            raise _Refused(node, "an alias refers to a node that contains it", path)
        self.open.add(id(node))
        size, height = 1, 0
        if isinstance(node, yaml.ScalarNode):
            self._scalar(node, path)
        elif isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            self._collection_tag(node, path)
            children: list[tuple[yaml.Node, str]]
            if isinstance(node, yaml.SequenceNode):
                children = [(item, _join(path, i)) for i, item in enumerate(node.value)]
            else:
                children = []
                seen: set[str] = set()
                for key_node, value_node in node.value:
                    key = self._key(key_node, path)
                    if key in seen:
                        raise _Refused(key_node, f"key {key!r} is given twice")
                    seen.add(key)
                    size += 1
                    children.append((value_node, _join(path, key)))
            for child, child_path in children:
                child_size, child_height = self.walk(child, child_path)
                size += child_size
                height = max(height, child_height + 1)
                if size > MAX_NODES:
                    raise _Refused(child, f"more than {MAX_NODES} values once aliases are expanded", child_path)
                if height > MAX_DEPTH:
                    raise _Refused(child, f"nesting deeper than {MAX_DEPTH} levels once aliases are expanded", path)
        self.open.discard(id(node))
        self.sizes[id(node)] = (size, height)
        return size, height

    def _key(self, node: yaml.Node, path: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
            raise _Refused(node, f"a {kind} cannot be a key", path)
        if node.tag == f"{_TAG}str":
            return str(node.value)
        cause = _WHAT_TAG_IS.get(node.tag) or f"key {node.value!r} is not a string; quote it"
        raise _Refused(node, cause, path)

    def _collection_tag(self, node: yaml.Node, path: str) -> None:
        if node.tag not in (f"{_TAG}seq", f"{_TAG}map"):
            raise _Refused(node, _WHAT_TAG_IS.get(node.tag) or f"tag {node.tag} is not config", path)

    def _scalar(self, node: yaml.ScalarNode, path: str) -> None:
        if node.tag not in _SCALAR_TAGS:
            raise _Refused(node, _WHAT_TAG_IS.get(node.tag) or f"tag {node.tag} is not config", path)
        if node.tag == f"{_TAG}str" and _SURROGATE.search(node.value):
            # A "\uD800" escape decodes to half a UTF-16 pair, which no UTF-8 output can carry.
            raise _Refused(node, "holds a lone surrogate escape, which is not a character", path)
        if node.tag == f"{_TAG}int":
            digits = str(node.value).lstrip("+-")
            # Checked before conversion: Python refuses to convert more than 4,300 digits.
            big = len(digits) > 30
            if not big:
                value = self.loader.construct_object(node)  # type: ignore[no-untyped-call]
                big = not INT_MIN <= value <= INT_MAX
            if big:
                raise _Refused(node, f"integer {str(node.value)[:20]}... does not fit in 64 bits", path)


def load_yaml(path: Path) -> Any:
    """The YAML document in `path` as plain data (dict, list, str, int, float, bool, None).

    Scalars resolve as the Pulumi CLI's yaml.v3 resolves them where PyYAML differs (booleans).
    Raises DocumentError on anything listed in the module docstring.
    """
    text = read_text(path)
    loader = _YamlV3Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        census = _Census(loader)
        total, _ = census.walk(node, "")
        if census.aliased > ALIAS_MIN_ALIASED and total > ALIAS_MIN_NODES and census.aliased / total > ALIAS_MAX_RATIO:
            share = f"{census.aliased} of its {total} values"
            raise _Refused(node, f"aliases make up {share}, more than {ALIAS_MAX_RATIO:.0%} (yaml.v3 refuses it)")
        return loader.construct_document(node)  # type: ignore[no-untyped-call]
    except _Refused as exc:
        raise DocumentError(path, exc.cause, line=exc.line, key=exc.key) from None
    except yaml.MarkedYAMLError as exc:
        # One line, at the problem's position: `line 3 column 7: while scanning ...: found ...`.
        mark = exc.problem_mark or exc.context_mark
        cause = "; ".join(part for part in (exc.context, exc.problem) if part) or "is not YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise DocumentError(path, cause, line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise DocumentError(path, " ".join(str(exc).split())) from None
    finally:
        loader.dispose()


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f'duplicate key "{key}"')
        seen[key] = value
    return seen


def _int(text: str) -> int:
    value = int(text) if len(text) <= 30 else None
    if value is None or not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"integer {text[:20]}... does not fit in 64 bits")
    return value


def _no_constant(text: str) -> float:
    # Go's encoding/json, which reads the CLI's policy config, has no NaN or Infinity.
    raise ValueError(f"{text} is not JSON")


def _depth_problem(document: Any) -> str | None:
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth >= MAX_DEPTH:  # the document itself is the first level, as in a YAML one
            return path
        children: Iterable[tuple[str | int, Any]] = ()
        if isinstance(value, dict):
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        stack.extend((child, _join(path, key), depth + 1) for key, child in children)
    return None


def load_json(path: Path) -> Any:
    """The JSON document in `path`, with duplicate keys, NaN and out-of-range integers refused."""
    text = read_text(path)
    try:
        document = json.loads(text, object_pairs_hook=_unique, parse_int=_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(path, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        # The decoder's own refusal, raised long before memory grows.
        raise DocumentError(path, f"nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise DocumentError(path, str(exc)) from None
    deep = _depth_problem(document)
    if deep is not None:
        raise DocumentError(path, f"nesting deeper than {MAX_DEPTH} levels", key=deep)
    return document
