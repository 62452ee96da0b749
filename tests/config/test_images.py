"""Tests for config.images: image references by the distribution/reference grammar."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel, ValidationError

from config.images import DEFAULT_FLOATING_TAGS, ImageRef, ImageReference

SHA256 = "sha256:" + "f" * 64
SHA512 = "sha512:" + "ab" * 64

# (input, domain, path, tag, digest). Mostly distribution/reference
# reference_test.go TestReferenceParse; the domain column follows Docker's
# splitDockerDomain (see config.images, gap 3), not the raw grammar capture.
VALID = [
    pytest.param("test_com", None, "test_com", None, None, id="dist:underscore-name"),
    pytest.param("test.com:tag", None, "test.com", "tag", None, id="dist:dotted-name-with-tag"),
    pytest.param(
        "test.com:5000",
        None,
        "test.com",
        "5000",
        None,
        id="dist:port-like-suffix-is-a-tag",
    ),
    pytest.param("test.com/repo:tag", "test.com", "repo", "tag", None, id="dist:domain-repo-tag"),
    pytest.param("test:5000/repo", "test:5000", "repo", None, None, id="dist:domain-with-port"),
    pytest.param(
        "test:5000/repo:tag",
        "test:5000",
        "repo",
        "tag",
        None,
        id="dist:domain-port-tag",
    ),
    pytest.param(
        f"test:5000/repo@{SHA256}",
        "test:5000",
        "repo",
        None,
        SHA256,
        id="dist:digest-only",
    ),
    pytest.param(
        f"test:5000/repo:tag@{SHA256}",
        "test:5000",
        "repo",
        "tag",
        SHA256,
        id="dist:tag-and-digest",
    ),
    pytest.param(
        "lowercase:Uppercase",
        None,
        "lowercase",
        "Uppercase",
        None,
        id="dist:tags-may-be-uppercase",
    ),
    pytest.param(
        "sub-dom1.foo.com/bar/baz/quux",
        "sub-dom1.foo.com",
        "bar/baz/quux",
        None,
        None,
        id="dist:deep-path",
    ),
    pytest.param(
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        "sub-dom1.foo.com",
        "bar/baz/quux",
        "some-long-tag",
        None,
        id="dist:deep-path-long-tag",
    ),
    pytest.param(
        "b.gcr.io/test.example.com/my-app:test.example.com",
        "b.gcr.io",
        "test.example.com/my-app",
        "test.example.com",
        None,
        id="dist:dots-in-path-and-tag",
    ),
    pytest.param(
        "xn--n3h.com/myimage:xn--n3h.com",
        "xn--n3h.com",
        "myimage",
        "xn--n3h.com",
        None,
        id="dist:punycode",
    ),
    pytest.param(
        f"xn--7o8h.com/myimage:xn--7o8h.com@{SHA512}",
        "xn--7o8h.com",
        "myimage",
        "xn--7o8h.com",
        SHA512,
        id="dist:sha512-128-hex",
    ),
    pytest.param(
        "foo_bar.com:8080",
        None,
        "foo_bar.com",
        "8080",
        None,
        id="dist:underscore-host-is-a-name",
    ),
    pytest.param(
        "foo/foo_bar.com:8080",
        None,
        "foo/foo_bar.com",
        "8080",
        None,
        id="dist:plain-first-part-not-domain",
    ),
    pytest.param("192.168.1.1", None, "192.168.1.1", None, None, id="dist:ip-alone-is-a-name"),
    pytest.param("192.168.1.1:tag", None, "192.168.1.1", "tag", None, id="dist:ip-name-tag"),
    pytest.param(
        "192.168.1.1:5000",
        None,
        "192.168.1.1",
        "5000",
        None,
        id="dist:ip-name-numeric-tag",
    ),
    pytest.param("192.168.1.1/repo", "192.168.1.1", "repo", None, None, id="dist:ipv4-domain"),
    pytest.param(
        "192.168.1.1:5000/repo",
        "192.168.1.1:5000",
        "repo",
        None,
        None,
        id="dist:ipv4-domain-port",
    ),
    pytest.param("[2001:db8::1]/repo", "[2001:db8::1]", "repo", None, None, id="dist:ipv6-domain"),
    pytest.param(
        "[2001:db8:1:2:3:4:5:6]/repo:tag",
        "[2001:db8:1:2:3:4:5:6]",
        "repo",
        "tag",
        None,
        id="dist:ipv6-full",
    ),
    pytest.param(
        "[2001:db8::1]:5000/repo",
        "[2001:db8::1]:5000",
        "repo",
        None,
        None,
        id="dist:ipv6-port",
    ),
    pytest.param(
        f"[2001:db8::1]:5000/repo:tag@{SHA256}",
        "[2001:db8::1]:5000",
        "repo",
        "tag",
        SHA256,
        id="dist:ipv6-all",
    ),
    pytest.param(
        "[2001:db8::]:5000/repo",
        "[2001:db8::]:5000",
        "repo",
        None,
        None,
        id="dist:ipv6-trailing-colons",
    ),
    pytest.param(
        "[::1]:5000/app:v1",
        "[::1]:5000",
        "app",
        "v1",
        None,
        id="ipv6-loopback-with-tag",
    ),
    pytest.param(
        "localhost:5000/app",
        "localhost:5000",
        "app",
        None,
        None,
        id="port-is-not-a-tag",
    ),
    pytest.param(
        "localhost:5000/app:1.2",
        "localhost:5000",
        "app",
        "1.2",
        None,
        id="tag-after-port",
    ),
    pytest.param("localhost/app", "localhost", "app", None, None, id="localhost-is-a-domain"),
    pytest.param(
        "localhost:5000/foo/bar",
        "localhost:5000",
        "foo/bar",
        None,
        None,
        id="localhost-two-level-path",
    ),
    pytest.param(
        "docker.io/library/ubuntu:latest",
        "docker.io",
        "library/ubuntu",
        "latest",
        None,
        id="canonical-hub-name",
    ),
    pytest.param("ubuntu", None, "ubuntu", None, None, id="hub-short-name-kept-as-written"),
    pytest.param(
        "bitnami/postgresql:16",
        None,
        "bitnami/postgresql",
        "16",
        None,
        id="hub-namespace-is-not-domain",
    ),
    pytest.param(
        "Asdf.com/foo/bar",
        "Asdf.com",
        "foo/bar",
        None,
        None,
        id="dist:uppercase-domain-allowed",
    ),
    pytest.param(
        "do__cker/docker",
        None,
        "do__cker/docker",
        None,
        None,
        id="dist:double-underscore-separator",
    ),
    pytest.param(
        "registry.io/foo/project--id.module--name.ver---sion--name",
        "registry.io",
        "foo/project--id.module--name.ver---sion--name",
        None,
        None,
        id="dist:repeated-dashes",
    ),
    pytest.param(
        "a/" * 127 + "a:tag-puts-this-over-max",
        None,
        "a/" * 127 + "a",
        "tag-puts-this-over-max",
        None,
        id="dist:name-of-255-chars-is-ok",
    ),
    pytest.param("app:" + "t" * 128, None, "app", "t" * 128, None, id="tag-of-128-chars"),
]


@pytest.mark.parametrize(("text", "domain", "path", "tag", "digest"), VALID)
def test_parse_valid(text: str, domain: str | None, path: str, tag: str | None, digest: str | None) -> None:
    ref = ImageRef.parse(text)
    assert ref == ImageRef(original=text, domain=domain, path=path, tag=tag, digest=digest)
    assert str(ref) == text


# (input, reason). Mostly reference_test.go and regexp_test.go error cases.
INVALID = [
    pytest.param("", "must not be empty", id="empty"),
    pytest.param(":justtag", "invalid reference format", id="dist:tag-without-name"),
    pytest.param(f"@{SHA256}", "invalid reference format", id="dist:digest-without-name"),
    pytest.param(
        "repo@sha256:" + "f" * 63,
        "invalid checksum digest length",
        id="dist:sha256-too-short",
    ),
    pytest.param(
        "repo@sha256:" + "f" * 65,
        "invalid checksum digest length",
        id="sha256-too-long",
    ),
    pytest.param(
        "repo@sha512:" + "f" * 64,
        "invalid checksum digest length",
        id="sha512-needs-128-hex",
    ),
    pytest.param("repo@sha256:" + "F" * 64, "invalid digest", id="sha256-must-be-lowercase-hex"),
    pytest.param(
        "validname@invaliddigest:" + "f" * 64,
        "unsupported digest algorithm",
        id="dist:unknown-algorithm",
    ),
    pytest.param("repo@md5:" + "f" * 32, "unsupported digest algorithm", id="md5-unsupported"),
    pytest.param(
        "repo@sha256:" + "f" * 31,
        "invalid reference format",
        id="digest-shorter-than-grammar-minimum",
    ),
    pytest.param("Uppercase:tag", "repository name must be lowercase", id="dist:uppercase-name"),
    pytest.param("Postgres:16", "repository name must be lowercase", id="uppercase-short-name"),
    pytest.param(
        "test:5000/Uppercase/lowercase:tag",
        "repository name must be lowercase",
        id="dist:uppercase-path-after-domain",
    ),
    pytest.param("Foo/FarB", "repository name must be lowercase", id="dist:uppercase-path"),
    pytest.param(
        "a/" * 128 + "a:tag",
        "repository name must not be more than 255 characters",
        id="dist:name-over-255-gap-2",
    ),
    pytest.param("x" * 256, "repository name must not be more than 255 characters", id="path-over-255"),
    pytest.param(
        "example.com/" + "a" * 250,
        "repository name must not be more than 255 characters",
        id="domain-counts-toward-255-gap-2",
    ),
    pytest.param("aa/asdf$$^/aa", "invalid reference format", id="dist:special-chars"),
    pytest.param("[2001:db8::1]", "invalid reference format", id="dist:ipv6-without-path"),
    pytest.param(
        "[2001:db8::1]:5000",
        "invalid reference format",
        id="dist:ipv6-port-without-path",
    ),
    pytest.param("[2001:db8::1]:tag", "invalid reference format", id="dist:ipv6-tag-without-path"),
    pytest.param("[fe80::1%eth0]:5000/repo", "invalid reference format", id="dist:ipv6-zone"),
    pytest.param(
        "[fe80::1%@invalidzone]:5000/repo",
        "invalid reference format",
        id="dist:ipv6-bad-zone",
    ),
    pytest.param(
        "test_com:5000/foo",
        "invalid reference format",
        id="underscore-in-domain-with-port",
    ),
    pytest.param(
        "foo_bar.com:8080/app",
        "invalid reference format",
        id="regexp:underscore-domain",
    ),
    pytest.param("foo.com:http/bar", "invalid reference format", id="regexp:named-port"),
    pytest.param("foo.com/", "invalid reference format", id="regexp:trailing-slash"),
    pytest.param("a//a/a", "invalid reference format", id="regexp:empty-component"),
    pytest.param("-foo/bar", "invalid reference format", id="regexp:leading-dash"),
    pytest.param("foo/bar-", "invalid reference format", id="regexp:trailing-dash"),
    pytest.param("_foo/bar", "invalid reference format", id="regexp:leading-underscore"),
    pytest.param("____/____", "invalid reference format", id="regexp:only-underscores"),
    pytest.param(
        "example.com/__underscore/myimage",
        "invalid reference format",
        id="regexp:leading-double-underscore",
    ),
    pytest.param(
        "example.com/..dots/myimage",
        "invalid reference format",
        id="regexp:leading-dots",
    ),
    pytest.param(
        "example.com/nodouble..dots/myimage",
        "invalid reference format",
        id="regexp:double-dot",
    ),
    pytest.param("do..cker/docker", "invalid reference format", id="regexp:double-dot-first-part"),
    pytest.param(
        "do__cker:8080/docker",
        "invalid reference format",
        id="regexp:underscore-domain-port",
    ),
    pytest.param("ubuntu:", "invalid reference format", id="empty-tag"),
    pytest.param("app:-tag", "invalid reference format", id="tag-starts-with-dash"),
    pytest.param("app:" + "t" * 129, "invalid reference format", id="tag-over-128"),
    pytest.param("ubuntu\n", "invalid reference format (whitespace or control character)", id="trailing-newline-gap-1"),
    pytest.param(
        "ubuntu:22.04\n",
        "invalid reference format (whitespace or control character)",
        id="trailing-newline-after-tag-gap-1",
    ),
    pytest.param(" ubuntu", "invalid reference format (whitespace or control character)", id="leading-space"),
    pytest.param("ubuntu :1", "invalid reference format (whitespace or control character)", id="inner-space"),
    pytest.param(
        "a" * 64,
        "a 64-character hexadecimal string is an image ID, not a repository name",
        id="64-hex-is-an-image-id-gap-4",
    ),
    pytest.param("caf\u00e9", "invalid reference format", id="non-ascii"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_parse_invalid(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        ImageRef.parse(text)
    assert str(info.value) == f"invalid image reference {text!r}: {reason}"


# Published tag@digest pins from ../shared/image-pins.md: all must parse and be pinned.
PUBLISHED_PINS = [
    "docker.io/library/postgres:16.10-alpine@sha256:029660641a0cfc575b14f336ba448fb8a75fd595d42e1fa316b9fb4378742297",
    "redis:7.4.7-alpine@sha256:ee64a64eaab618d88051c3ade8f6352d11531fcf79d9a4818b9b183d8c1d18ba",
    "ghcr.io/open-webui/open-webui:v0.8.10@sha256:ee057955040ce91e3e787e4b7978c9c23e828972c68d01d787ed40f9a307df9f",
    "gcr.io/cadvisor/cadvisor:v0.49.1@sha256:3cde6faf0791ebf7b41d6f8ae7145466fed712ea6f252c935294d2608b1af388",
    "portainer/portainer-ce:2.23.0-alpine@sha256:97342cf8a821d64d59880bdede8f45ea9c869fea702dd56128a67d552dc632ab",
]


@pytest.mark.parametrize(
    "text",
    PUBLISHED_PINS,
    ids=[f"published-pin:{p.split('@')[0]}" for p in PUBLISHED_PINS],
)
def test_published_pins_parse_and_are_pinned(text: str) -> None:
    ref = ImageRef.parse(text)
    assert ref.digest is not None
    assert ref.digest == text.split("@")[1]
    assert ref.tag == text.split("@")[0].rsplit(":", 1)[1]
    assert ref.is_pinned()


def test_error_message_names_input_and_reason() -> None:
    with pytest.raises(ValueError) as info:
        ImageRef.parse("Postgres:16")
    assert str(info.value) == "invalid image reference 'Postgres:16': repository name must be lowercase"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param(5, id="int"),
        pytest.param(b"ubuntu", id="bytes"),
    ],
)
def test_parse_rejects_non_strings(value: object) -> None:
    with pytest.raises(TypeError, match="expected a string"):
        ImageRef.parse(value)  # type: ignore[arg-type]


def test_64_hex_with_tag_is_a_name() -> None:
    # Docker only rejects the bare identifier (anchored match on the whole input).
    assert ImageRef.parse("a" * 64 + ":v1").tag == "v1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("ubuntu", "ubuntu", id="short"),
        pytest.param("localhost:5000/app:1.2", "localhost:5000/app", id="with-domain"),
        pytest.param(f"ghcr.io/o/app:1@{SHA256}", "ghcr.io/o/app", id="tag-and-digest"),
    ],
)
def test_name(text: str, expected: str) -> None:
    assert ImageRef.parse(text).name == expected


@pytest.mark.parametrize(
    ("text", "floating", "pinned"),
    [
        pytest.param(f"postgres@{SHA256}", DEFAULT_FLOATING_TAGS, True, id="digest"),
        pytest.param(
            f"postgres:latest@{SHA256}",
            DEFAULT_FLOATING_TAGS,
            True,
            id="digest-beats-floating-tag",
        ),
        pytest.param("postgres:16.2", DEFAULT_FLOATING_TAGS, True, id="version-tag"),
        pytest.param("postgres", DEFAULT_FLOATING_TAGS, False, id="no-tag-means-latest"),
        pytest.param("localhost:5000/app", DEFAULT_FLOATING_TAGS, False, id="port-is-not-a-tag"),
        pytest.param("postgres:latest", DEFAULT_FLOATING_TAGS, False, id="latest"),
        pytest.param("caddy:stable", DEFAULT_FLOATING_TAGS, False, id="stable"),
        pytest.param("app:nightly", DEFAULT_FLOATING_TAGS, False, id="nightly"),
        pytest.param(
            "app:LATEST",
            DEFAULT_FLOATING_TAGS,
            False,
            id="floating-compare-ignores-case",
        ),
        pytest.param("app:16", frozenset({"16"}), False, id="custom-floating-set"),
        pytest.param("app:latest", frozenset(), True, id="empty-floating-set"),
    ],
)
def test_is_pinned(text: str, floating: frozenset[str], pinned: bool) -> None:
    assert ImageRef.parse(text).is_pinned(floating) is pinned


def test_is_pinned_defaults_to_default_floating_tags() -> None:
    assert ImageRef.parse("app:edge").is_pinned() is False
    assert ImageRef.parse("app:1.0").is_pinned() is True


def test_default_floating_tags() -> None:
    assert frozenset({"latest", "stable", "edge", "main", "master", "nightly", "dev"}) == DEFAULT_FLOATING_TAGS


def test_image_ref_is_frozen_and_hashable() -> None:
    ref = ImageRef.parse("ubuntu:22.04")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "24.04"  # type: ignore[misc]
    assert {ref, ImageRef.parse("ubuntu:22.04")} == {ref}


class _Service(BaseModel):
    image: ImageReference
    mirror: ImageReference | None = None


def test_model_validates_and_serialises_as_written() -> None:
    model = _Service.model_validate({"image": "localhost:5000/app:1.2"})
    assert model.image == ImageRef("localhost:5000/app:1.2", "localhost:5000", "app", "1.2", None)
    assert model.model_dump() == {"image": "localhost:5000/app:1.2", "mirror": None}
    assert model.model_dump_json() == '{"image":"localhost:5000/app:1.2","mirror":null}'
    assert _Service.model_validate_json(model.model_dump_json()) == model


def test_model_accepts_image_ref_instances() -> None:
    ref = ImageRef.parse("ubuntu")
    assert _Service(image=ref).image is ref


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("Postgres:16", "repository name must be lowercase", id="uppercase"),
        pytest.param("app@sha256:abc", "invalid reference format", id="short-digest"),
        pytest.param(42, "expected a string", id="not-a-string"),
        pytest.param(
            {"original": "x", "domain": None, "path": "x", "tag": None, "digest": None},
            "expected a string",
            id="dict-is-not-accepted",
        ),
    ],
)
def test_model_reports_readable_errors(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Service.model_validate({"image": value})
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("image",)]
    assert message in errors[0]["msg"]


def test_model_json_schema_is_a_string() -> None:
    props = _Service.model_json_schema()["properties"]
    assert props["image"] == {"title": "Image", "type": "string"}
