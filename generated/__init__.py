"""Configuration files the program generates for containers (nginx, Prometheus, Loki, ...).

One module per file family, each a pure function from the typed stack config and the catalog
to `GeneratedFile`s: the data is built first and rendered with the format's own library, never
by string concatenation. `components.docker_host` uploads each file into its container with
the docker provider's `upload`, so the plan shows the content (secrets stay Pulumi secrets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml


@dataclass(frozen=True)
class GeneratedFile:
    """One file uploaded into a container at `path`; `content` may be a Pulumi secret."""

    path: str
    """Absolute path inside the container."""
    content: pulumi.Input[str]
    executable: bool = False


def yaml_text(document: Any) -> str:
    """`document` as YAML, keys in the order built: `yaml.safe_dump`'s text, written by libyaml.

    libyaml's emitter (PyYAML's C extension) writes what PyYAML's pure-Python one writes for
    these documents (tests/generated/test_yaml_text.py holds it to that for every stack) at a
    fraction of the cost, which counts once per host at hundreds of hosts.
    """
    return yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False)


def combine(*parts: Mapping[str, Sequence[GeneratedFile]]) -> dict[str, list[GeneratedFile]]:
    """The files of several generators, per service; one path written twice is a program error."""
    files: dict[str, list[GeneratedFile]] = {}
    for part in parts:
        for service, generated in part.items():
            taken = {f.path for f in files.get(service, [])}
            for f in generated:
                if f.path in taken:
                    raise ValueError(f"two generators write {f.path} into {service}")
                taken.add(f.path)
            files.setdefault(service, []).extend(generated)
    return files
