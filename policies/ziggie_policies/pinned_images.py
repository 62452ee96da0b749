"""pinned-images: every image a container runs or a host pulls is a valid, pinned reference.

References are parsed by ``docker_image.reference.Reference`` (docker-image-py, a port of
github.com/distribution/reference), never split on ':' - in ``localhost:5000/app`` the ``5000``
is a registry port, not a tag. On top of the library, three gaps of its Python port are closed
as Docker closes them: whitespace (Python's ``$`` matches before a final newline), the
255-character limit on the whole name (the port measures only the path) and a bare 64-hex
string (an image ID, which Docker refuses as a repository name).

Two forms pin by content without a digest in the reference: a container that runs an image ID
(``sha256:<64 hex>``, what the program sends for a tag it tracks), and a remote image whose
tag is tracked by the registry digest in its ``pullTriggers`` (pulled again, and its
containers replaced, whenever the tag moves). An image ID satisfies ``requireDigest``; a
tracked tag does only for the repositories ``trackedTags`` lists, since the image it names
changes whenever the registry's tag moves.

A tag pins nothing when it floats by convention: a listed floating tag (``latest``, ``lts``,
``current``), a tag matching a listed glob (``*-latest*``: ``latest-alpine``, ``3-latest``), or a
bare major version (``:1``, ``:16-alpine``: moved by every minor release), unless the config
allows those. A tag that imitates a digest (``sha256-<hex>``, a bare 64-hex tag) is refused
always: it reads as a content pin but, being a tag, it can be pushed over.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from docker_image import reference as _reference  # type: ignore[import-untyped]
from docker_image.digest import InvalidDigest  # type: ignore[import-untyped]
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ziggie_policies._support import (
    CONTAINER,
    REMOTE_IMAGE,
    UNKNOWN,
    container_name,
    elements,
    prop,
    read_config,
)

NAME: Final = "pinned-images"
IMAGE_ID: Final = re.compile(r"^sha256:[0-9a-f]{64}$")
DEFAULT_FLOATING_TAGS: Final = (
    "latest",
    "stable",
    "edge",
    "main",
    "master",
    "nightly",
    "dev",
    "lts",
    "current",
)
DEFAULT_FLOATING_PATTERNS: Final = ("*-latest*", "latest-*", "lts-*", "*-lts", "current-*", "stable-*")
# Up to three digits: a longer number is a date or a build number (20240101, 1234), fixed tags.
_BARE_MAJOR: Final = re.compile(r"^v?[0-9]{1,3}(-[a-z][a-z0-9.]*)?$", re.IGNORECASE)
# A tag spelling a content digest: "sha256-<hex>" (cosign's tag form), "sha256_<hex>", or hex alone.
_DIGEST_LOOKALIKE: Final = re.compile(r"^((sha256|sha384|sha512)[-_.]?[0-9a-f]{8,}.*|[0-9a-f]{64})$", re.IGNORECASE)
_NAME_TOTAL_LENGTH_MAX: Final[int] = _reference.NAME_TOTAL_LENGTH_MAX

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "floatingTags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "default": list(DEFAULT_FLOATING_TAGS),
            "description": "Tags that move to new images by convention, so they pin nothing "
            "(compared case-insensitively).",
        },
        "floatingTagPatterns": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "default": list(DEFAULT_FLOATING_PATTERNS),
            "description": "Shell-style globs (fnmatch: *, ?, [...]) of tags that float, matched against "
            "the lower-cased tag.",
        },
        "allowBareMajor": {
            "type": "boolean",
            "default": False,
            "description": "Accept a tag that is a bare major version (1, v2, 16-alpine), which moves with "
            "every minor release.",
        },
        "trackedTags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "default": [],
            "description": "Repositories (as written, without tag) whose tag may stand in for a digest under "
            "requireDigest when the remote image tracks the registry digest in its pullTriggers.",
        },
        "requireDigest": {
            "type": "boolean",
            "default": False,
            "description": "Demand a digest (@sha256:...) on every reference, not only a fixed tag.",
        },
    }
)


class Floating(NamedTuple):
    """Which tags pin nothing, from the policy config."""

    tags: frozenset[str]
    patterns: tuple[str, ...] = ()
    allow_bare_major: bool = True


def tag_problem(tag: str, floating: Floating) -> str | None:
    """Why a tag pins nothing, or None."""
    if _DIGEST_LOOKALIKE.match(tag):
        return f'uses tag "{tag}", which imitates a digest; a tag can be moved, pin by digest (@sha256:...)'
    lowered = tag.lower()
    if lowered in floating.tags:
        return f'uses floating tag "{tag}"; pin a version tag or a digest'
    for pattern in floating.patterns:
        if fnmatch.fnmatchcase(lowered, pattern.lower()):
            return f'uses floating tag "{tag}" (matches "{pattern}"); pin a version tag or a digest'
    if not floating.allow_bare_major and _BARE_MAJOR.match(tag):
        return f'uses tag "{tag}", a bare major version that moves with every release; pin a full version or a digest'
    return None


class Parsed(NamedTuple):
    """A valid reference's parts as the library parses them; tag and digest are "" when absent."""

    name: str
    tag: str
    digest: str


def _parse(reference: str) -> Parsed | str:
    """``reference`` parsed by the library, or the library's reason for refusing it."""
    try:
        parsed = _reference.Reference.parse(reference)
    except (_reference.InvalidReference, InvalidDigest) as exc:
        return str(exc)
    return Parsed(str(parsed["name"]), parsed["tag"] or "", parsed["digest"] or "")


# Kept per reference string: a stack names a few images many times (every host runs the same
# agents, a remote image and its container name the same reference), and the library's regular
# expressions were half of this policy's time at 2,100 services. What is kept is a tuple or a
# string, so no caller can change what the next one reads. (Wrapped rather than decorated, so
# that mutation testing reaches _parse.)
parse: Final = functools.lru_cache(maxsize=4096)(_parse)


def reference_problem(reference: str, floating: Floating, require_digest: bool) -> str | None:
    """Why ``reference`` is not a valid pinned image reference, or None when it is."""
    if not reference:
        return "is not a valid reference: it is empty"
    if any(c.isspace() or not c.isprintable() for c in reference):
        return "is not a valid reference: invalid reference format (whitespace or control character)"
    parsed = parse(reference)
    if isinstance(parsed, str):
        return f"is not a valid reference: {parsed}"
    name = parsed.name
    if len(name) > _NAME_TOTAL_LENGTH_MAX:
        return f"is not a valid reference: repository name must not be more than {_NAME_TOTAL_LENGTH_MAX} characters"
    if _reference.ImageRegexps.ANCHORED_IDENTIFIER_REGEXP.match(reference):
        return "is not a valid reference: a 64-character hexadecimal string is an image ID, not a repository name"
    if parsed.digest:
        return None
    if require_digest:
        return "has no digest; requireDigest demands a pin by digest (@sha256:...)"
    if not parsed.tag:
        return "has no tag or digest; pin a version tag or a digest"
    return tag_problem(parsed.tag, floating)


def _repository(reference: Any) -> str | None:
    """The repository of a valid reference as written (`myoung34/github-runner`), else None."""
    if not isinstance(reference, str):
        return None
    parsed = parse(reference)
    return None if isinstance(parsed, str) else parsed.name


def _tracks_registry_digest(props: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    """A remote image of a repository ``trackedTags`` lists, pulled again whenever its tag's
    registry digest (in ``pullTriggers``) moves."""
    if _repository(prop(props, "name")) not in config["trackedTags"]:
        return False
    return any(
        t is UNKNOWN or (isinstance(t, str) and IMAGE_ID.match(t)) for t in elements(prop(props, "pullTriggers"))
    )


def image_violations(
    resource_type: str, resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    """The violations of one resource's image reference."""
    if resource_type == CONTAINER:
        reference, who = prop(props, "image"), f"container {container_name(props, resource_name)}"
    else:
        reference, who = prop(props, "name"), f"remote image {resource_name}"
    # An image that is only known once the update runs (a standby's image read from the
    # primary's outputs, a pulled image's ID) is checked where it is produced, not guessed at here.
    if reference is UNKNOWN:
        return []
    if not isinstance(reference, str):
        return [f"{who}: image is not set"]
    if resource_type == CONTAINER and IMAGE_ID.match(reference):
        return []  # an image ID names the content itself
    floating = Floating(
        frozenset(t.lower() for t in config["floatingTags"]),
        tuple(config["floatingTagPatterns"]),
        bool(config["allowBareMajor"]),
    )
    tracked = resource_type == REMOTE_IMAGE and _tracks_registry_digest(props, config)
    problem = reference_problem(reference, floating, bool(config["requireDigest"]) and not tracked)
    return [] if problem is None else [f'{who}: image "{reference}" {problem}']


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (CONTAINER, REMOTE_IMAGE):
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in image_violations(args.resource_type, args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every container image and remote image to be a valid Docker reference "
    "pinned by a fixed tag or a digest.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
