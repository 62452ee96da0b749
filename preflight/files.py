"""The files a plan uploads into containers: by host and container, with their sizes.

Read from the recorded `uploads` input of each container, so it is what would reach Docker.
A file whose content is a Pulumi secret shows as `[secret]`, never its size or its content;
content is shown only when asked (`--show-files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from preflight.records import UNKNOWN_VALUE, RecordedResource, is_secret

CONTAINER = "docker:index/container:Container"
SECRET = "[secret]"  # noqa: S105 - the placeholder shown instead of a secret
UNKNOWN = "[unknown until apply]"


@dataclass(frozen=True)
class UploadedFile:
    """One file uploaded into one container."""

    host: str
    container: str
    path: str
    secret: bool
    content: str | None
    """The text, or None when it is a secret or not known during preview."""

    @property
    def size(self) -> int | None:
        """Bytes of content; None when the content is a secret or unknown."""
        return None if self.content is None else len(self.content.encode())


def _host(resource: RecordedResource) -> str:
    # A container's parent is its DockerHost component, named after the host.
    return resource.parent.rsplit("::", 1)[-1] if resource.parent else ""


def uploaded_files(resources: Sequence[RecordedResource]) -> list[UploadedFile]:
    """Every uploaded file of every container, by host, container and path."""
    files: list[UploadedFile] = []
    for r in resources:
        if r.type != CONTAINER:
            continue
        for upload in r.inputs.get("uploads") or []:
            if not isinstance(upload, dict):
                continue
            content: Any = upload.get("content")
            secret = is_secret(content)
            text = content if isinstance(content, str) and content != UNKNOWN_VALUE else None
            files.append(
                UploadedFile(
                    host=_host(r),
                    container=str(r.inputs.get("name", r.name)),
                    path=str(upload.get("file", "")),
                    secret=secret,
                    content=None if secret else text,
                )
            )
    return sorted(files, key=lambda f: (f.host, f.container, f.path))


def size_text(f: UploadedFile) -> str:
    """The size column: bytes, "[secret]" or unknown until apply."""
    if f.secret:
        return SECRET
    return UNKNOWN if f.size is None else f"{f.size} B"


def render_files(files: Sequence[UploadedFile], show_content: bool = False) -> str:
    """The text section: one line per file, its content below it when asked."""
    lines = ["uploaded files"]
    if not files:
        return "\n".join([*lines, "  none"])
    for f in files:
        lines.append(f"  {f.host}/{f.container}  {f.path}  {size_text(f)}")
        if show_content and f.content is not None:
            lines += [f"    | {line}" for line in f.content.splitlines()]
    return "\n".join(lines)


def files_json(files: Sequence[UploadedFile], show_content: bool = False) -> list[dict[str, Any]]:
    """The JSON form: secrets as "[secret]" in place of size and content."""
    document: list[dict[str, Any]] = []
    for f in files:
        entry: dict[str, Any] = {
            "host": f.host,
            "container": f.container,
            "path": f.path,
            "size": SECRET if f.secret else f.size,
        }
        if show_content:
            entry["content"] = SECRET if f.secret else f.content
        document.append(entry)
    return document
