"""Docker/OCI image references, parsed by the maintained ``docker_image`` library.

:class:`ImageRef` validates a reference with
``docker_image.reference.Reference.parse`` (package docker-image-py, a port of
github.com/distribution/reference) and keeps its parts as written.  The
grammar is never re-implemented here; only the gaps listed below are closed,
each with the smallest check on top of the library:

1. Trailing newline.  The library matches with Python's ``$``, which also
   matches before a final ``"\\n"``, so ``"ubuntu\\n"`` is accepted.  Go's
   ``$`` does not; a reference containing any whitespace or control
   character is rejected before the library sees it.
2. Name length.  distribution/reference rejects a *name* (domain and path,
   ``matches[1]``) longer than 255 characters; the library only measures the
   path, so ``"a/" * 128 + "a"`` (257 characters, domain ``a``) passes.
   :meth:`ImageRef.parse` measures the whole name.
3. Domain.  ``Reference.domain()`` is the raw grammar capture, which makes the
   first component of any two-component name a domain (``"bitnami/redis"`` has
   domain ``"bitnami"``).  Docker itself (``splitDockerDomain``) treats the
   first component as a registry only when it is ``localhost`` or contains a
   ``.``, a ``:`` or an upper-case letter; :attr:`ImageRef.domain` follows
   Docker, without normalising to ``docker.io``/``library/``.
4. Docker rejects a bare 64-hex name (``ParseNormalizedNamed``: "cannot
   specify 64-byte hexadecimal strings"), as it would be read as an image
   ID; the library only checks that in ``parse_normalized_named``, so
   :meth:`ImageRef.parse` applies the library's own identifier regexp too.

Pure code: no Pulumi imports, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from docker_image import reference as _reference  # type: ignore[import-untyped]
from docker_image.digest import InvalidDigest  # type: ignore[import-untyped]
from pydantic import PlainSerializer, PlainValidator

__all__ = [
    "DEFAULT_FLOATING_TAGS",
    "NAME_TOTAL_LENGTH_MAX",
    "ImageRef",
    "ImageReference",
]

DEFAULT_FLOATING_TAGS: Final[frozenset[str]] = frozenset(
    {"latest", "stable", "edge", "main", "master", "nightly", "dev"}
)
"""Tags that are moved to new images by convention, so they pin nothing."""

NAME_TOTAL_LENGTH_MAX: Final[int] = _reference.NAME_TOTAL_LENGTH_MAX


def _docker_domain(name: str) -> tuple[str | None, str]:
    """Split a name as Docker's ``splitDockerDomain`` does, keeping it as written."""
    first, sep, rest = name.partition("/")
    if sep and (first == "localhost" or "." in first or ":" in first or first.lower() != first):
        return first, rest
    return None, name


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A valid image reference, split into its parts as written.

    ``domain`` is the registry (``"localhost:5000"``, ``"ghcr.io"``), ``None``
    for Docker Hub short names; ``path`` is the repository path
    (``"library/ubuntu"`` only if written so).  Build instances with
    :meth:`parse`.
    """

    original: str
    domain: str | None
    path: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, s: str) -> ImageRef:
        """Parse ``s`` by the distribution/reference grammar.

        Raises:
            ValueError: ``"invalid image reference '<s>': <reason>"``, the
                reason being the library's (e.g. "repository name must be
                lowercase", "unsupported digest algorithm", "invalid checksum
                digest length").
            TypeError: when ``s`` is not a ``str``.
        """
        if not isinstance(s, str):
            raise TypeError(f"invalid image reference {s!r}: expected a string")

        def fail(reason: str) -> ValueError:
            return ValueError(f"invalid image reference {s!r}: {reason}")

        if not s:
            raise fail("must not be empty")
        # Gap 1: Python's "$" also matches before a trailing newline.
        if any(c.isspace() or not c.isprintable() for c in s):
            raise fail("invalid reference format (whitespace or control character)")
        try:
            ref = _reference.Reference.parse(s)
        except (_reference.InvalidReference, InvalidDigest) as exc:
            raise fail(str(exc)) from None
        # The library's anchored grammar requires a name: a parsed reference always has one.
        name: str = ref["name"]
        # Gap 2: the 255-character limit applies to the whole name.
        if len(name) > NAME_TOTAL_LENGTH_MAX:
            raise fail(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
        # Gap 4: a bare 64-hex string is an image ID, not a name.
        if _reference.ImageRegexps.ANCHORED_IDENTIFIER_REGEXP.match(s):
            raise fail("a 64-character hexadecimal string is an image ID, not a repository name")
        # Gap 3: Docker's registry heuristic, not the raw grammar capture.
        domain, path = _docker_domain(name)
        return cls(
            original=s,
            domain=domain,
            path=path,
            tag=ref["tag"] or None,
            digest=ref["digest"] or None,
        )

    @property
    def name(self) -> str:
        """The repository name as written, without tag or digest."""
        return self.path if self.domain is None else f"{self.domain}/{self.path}"

    @property
    def repository(self) -> str:
        """The repository as Docker normalises it: `nginx` and `docker.io/library/nginx` are one.

        distribution/reference `ParseNormalizedNamed`: no domain (or `index.docker.io`) is
        `docker.io`, and a one-part Docker Hub path is under `library/`. Domains compare
        lower-cased; a path is lower-case by the grammar already.
        """
        domain = (self.domain or "docker.io").lower()
        if domain == "index.docker.io":
            domain = "docker.io"
        path = f"library/{self.path}" if domain == "docker.io" and "/" not in self.path else self.path
        return f"{domain}/{path}"

    def is_pinned(self, floating_tags: frozenset[str] = DEFAULT_FLOATING_TAGS) -> bool:
        """Whether the reference names one image for good.

        True with a digest, or with a tag that is not floating.  Floating tags
        are compared case-insensitively (a ``LATEST`` tag is as floating as
        ``latest``), which errs on the side of "not pinned".  No tag at all
        means ``latest``, which is not pinned.
        """
        if self.digest is not None:
            return True
        if self.tag is None:
            return False
        return self.tag.lower() not in {t.lower() for t in floating_tags}

    def __str__(self) -> str:
        return self.original


def _validate_image_ref(value: object) -> ImageRef:
    if isinstance(value, ImageRef):
        return value
    try:
        return ImageRef.parse(value)  # type: ignore[arg-type]
    except TypeError as exc:  # pydantic reports ValueError, not TypeError
        raise ValueError(str(exc)) from None


ImageReference = Annotated[
    ImageRef,
    PlainValidator(_validate_image_ref, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
]
"""An :class:`ImageRef` in pydantic models: validated from a string, serialised as written.

A ``PlainValidator`` (not ``BeforeValidator``) is used so that pydantic does
not also build a dataclass schema for :class:`ImageRef` (which would accept a
dict of fields and publish an object JSON schema); the JSON schema is a string.
"""
