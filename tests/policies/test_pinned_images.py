"""pinned-images: Docker/distribution reference grammar and pinning, direct and through the protocol."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_fixtures import DIGEST, UNKNOWN, container, on_host, remote_image
from ziggie_policies import pinned_images

from preflight.records import RecordedResource


@pytest.fixture(autouse=True)
def _fresh_parse_cache() -> None:
    # Each case parses for itself: under mutation testing a parse kept from another run would
    # hide a mutant of _parse.
    pinned_images.parse.cache_clear()


def _image(reference: Any) -> list[RecordedResource]:
    return on_host("vps1", container("vps1", "app", image=reference))


def _msg(reference: str, problem: str) -> str:
    return f'container app: image "{reference}" {problem}'


UNPINNED = "has no tag or digest; pin a version tag or a digest"
IMAGE_ID = "sha256:" + "ab" * 32
TRACKED = {"requireDigest": True, "trackedTags": ["myoung34/github-runner"]}


def _tracked(reference: str, triggers: list[Any]) -> RecordedResource:
    image = remote_image("vps1", "app", reference)
    return dataclasses.replace(image, inputs={**image.inputs, "pullTriggers": triggers})


INVALID = "is not a valid reference: "
BARE_MAJOR = 'uses tag "{}", a bare major version that moves with every release; pin a full version or a digest'
LOOKALIKE = 'uses tag "{}", which imitates a digest; a tag can be moved, pin by digest (@sha256:...)'

CASES = [
    pytest.param(_image("ghcr.io/ziggie-ai/ziggie-api:1.4.2"), {}, [], id="version_tag_passes"),
    pytest.param(_image(f"docker.io/library/postgres:16.10-alpine@{DIGEST}"), {}, [], id="tag_and_digest_pass"),
    pytest.param(_image(f"nginx:latest@{DIGEST}"), {}, [], id="digest_pins_even_a_floating_tag"),
    pytest.param(_image("localhost:5000/app:1.2"), {}, [], id="registry_port_and_tag_pass"),
    pytest.param(_image("[::1]:5000/app:1.2"), {}, [], id="ipv6_registry_with_tag_passes"),
    pytest.param(
        _image("localhost:5000/app"), {}, [_msg("localhost:5000/app", UNPINNED)], id="tag_is_port_not_version"
    ),
    pytest.param(
        _image("registry:5000/x"), {}, [_msg("registry:5000/x", UNPINNED)], id="port_of_dotless_registry_is_not_a_tag"
    ),
    pytest.param(_image("postgres"), {}, [_msg("postgres", UNPINNED)], id="no_tag_no_digest"),
    pytest.param(
        _image("postgres:latest"),
        {},
        [_msg("postgres:latest", 'uses floating tag "latest"; pin a version tag or a digest')],
        id="floating_latest",
    ),
    pytest.param(
        _image("nginx:LATEST"),
        {},
        [_msg("nginx:LATEST", 'uses floating tag "LATEST"; pin a version tag or a digest')],
        id="floating_tag_matched_case_insensitively",
    ),
    pytest.param(
        _image("Postgres:16"),
        {},
        [_msg("Postgres:16", INVALID + "repository name must be lowercase")],
        id="uppercase_repository_is_invalid",
    ),
    pytest.param(
        _image("postgres:16 alpine"),
        {},
        [_msg("postgres:16 alpine", INVALID + "invalid reference format (whitespace or control character)")],
        id="whitespace_is_invalid",
    ),
    pytest.param(
        _image("nginx@sha256:abc"),
        {},
        [_msg("nginx@sha256:abc", INVALID + "invalid reference format")],
        id="digest_too_short_for_grammar",
    ),
    pytest.param(
        _image("nginx@sha256:" + "a" * 63 + "0" * 3),
        {},
        [_msg("nginx@sha256:" + "a" * 63 + "0" * 3, INVALID + "invalid checksum digest length")],
        id="digest_wrong_length_for_sha256",
    ),
    pytest.param(
        _image("nginx@sha257:" + "a" * 64),
        {},
        [_msg("nginx@sha257:" + "a" * 64, INVALID + "unsupported digest algorithm")],
        id="digest_algorithm_unsupported",
    ),
    pytest.param(
        _image("nginx:-1"),
        {},
        [_msg("nginx:-1", INVALID + "invalid reference format")],
        id="tag_may_not_start_with_dash",
    ),
    pytest.param(
        _image("a" * 64),
        {},
        [_msg("a" * 64, INVALID + "a 64-character hexadecimal string is an image ID, not a repository name")],
        id="bare_image_id_is_not_a_name",
    ),
    pytest.param(
        _image("ghcr.io/ziggie-ai/ziggie-api:1.4.2"),
        {"requireDigest": True},
        [
            _msg(
                "ghcr.io/ziggie-ai/ziggie-api:1.4.2",
                "has no digest; requireDigest demands a pin by digest (@sha256:...)",
            )
        ],
        id="require_digest_rejects_a_tag",
    ),
    pytest.param(_image(f"nginx:1.27@{DIGEST}"), {"requireDigest": True}, [], id="require_digest_accepts_a_digest"),
    pytest.param(
        _image(IMAGE_ID), {"requireDigest": True}, [], id="container_running_an_image_id_is_pinned_by_content"
    ),
    pytest.param(
        on_host("vps1", _tracked("myoung34/github-runner:2.334.0", [IMAGE_ID])),
        TRACKED,
        [],
        id="tag_tracked_by_registry_digest_satisfies_require_digest",
    ),
    pytest.param(
        on_host("vps1", _tracked("ghcr.io/ziggie-ai/ziggie-api:1.4.2", [IMAGE_ID])),
        TRACKED,
        [
            'remote image vps1-app-image: image "ghcr.io/ziggie-ai/ziggie-api:1.4.2" has no digest; '
            "requireDigest demands a pin by digest (@sha256:...)"
        ],
        id="tracked_tag_of_a_repository_not_listed_needs_a_digest",
    ),
    pytest.param(
        on_host("vps1", _tracked("myoung34/Github-runner:2.334.0", [IMAGE_ID])),
        TRACKED,
        [
            'remote image vps1-app-image: image "myoung34/Github-runner:2.334.0" is not a valid reference: '
            "repository name must be lowercase"
        ],
        id="invalid_reference_tracks_nothing_and_is_reported",
    ),
    pytest.param(
        on_host("vps1", _tracked("myoung34/github-runner:2.334.0", [UNKNOWN])),
        TRACKED,
        [],
        id="tracked_digest_unknown_during_preview_is_skipped",
    ),
    pytest.param(
        on_host("vps1", _tracked("myoung34/github-runner:2.334.0", ["v2"])),
        TRACKED,
        [
            'remote image vps1-app-image: image "myoung34/github-runner:2.334.0" has no digest; '
            "requireDigest demands a pin by digest (@sha256:...)"
        ],
        id="trigger_that_is_no_digest_does_not_track",
    ),
    pytest.param(
        on_host("vps1", _tracked("myoung34/github-runner:latest", [IMAGE_ID])),
        TRACKED,
        [
            'remote image vps1-app-image: image "myoung34/github-runner:latest" uses floating tag "latest"; '
            "pin a version tag or a digest"
        ],
        id="tracking_does_not_excuse_a_floating_tag",
    ),
    pytest.param(
        _image("app:prod"),
        {"floatingTags": ["prod"]},
        [_msg("app:prod", 'uses floating tag "prod"; pin a version tag or a digest')],
        id="configured_floating_tags_replace_defaults",
    ),
    pytest.param(_image("app:latest"), {"floatingTags": ["prod"]}, [], id="latest_allowed_when_not_listed"),
    pytest.param(
        on_host("vps1", remote_image("vps1", "nginx", "nginx:stable")),
        {},
        [
            'remote image vps1-nginx-image: image "nginx:stable" uses floating tag "stable"; pin a version tag or a digest'
        ],
        id="remote_image_floating",
    ),
    pytest.param(
        on_host("vps1", remote_image("vps1", "nginx", f"nginx:1.27@{DIGEST}")), {}, [], id="remote_image_pinned"
    ),
    pytest.param(
        _image("node:lts"),
        {},
        [_msg("node:lts", 'uses floating tag "lts"; pin a version tag or a digest')],
        id="floating_lts",
    ),
    pytest.param(
        _image("python:current"),
        {},
        [_msg("python:current", 'uses floating tag "current"; pin a version tag or a digest')],
        id="floating_current",
    ),
    pytest.param(
        _image("app:latest-alpine"),
        {},
        [
            _msg(
                "app:latest-alpine",
                'uses floating tag "latest-alpine" (matches "latest-*"); pin a version tag or a digest',
            )
        ],
        id="floating_pattern_latest_variant",
    ),
    pytest.param(
        _image("app:3-LATEST"),
        {},
        [_msg("app:3-LATEST", 'uses floating tag "3-LATEST" (matches "*-latest*"); pin a version tag or a digest')],
        id="floating_pattern_matched_case_insensitively",
    ),
    pytest.param(
        _image("app:nightly-build"),
        {"floatingTagPatterns": ["nightly-*"]},
        [
            _msg(
                "app:nightly-build",
                'uses floating tag "nightly-build" (matches "nightly-*"); pin a version tag or a digest',
            )
        ],
        id="configured_floating_patterns",
    ),
    pytest.param(_image("app:latest-alpine"), {"floatingTagPatterns": []}, [], id="no_patterns_configured_passes"),
    pytest.param(
        _image("app:1"),
        {},
        [_msg("app:1", BARE_MAJOR.format("1"))],
        id="bare_major_floats",
    ),
    pytest.param(
        _image("postgres:16-alpine"),
        {},
        [_msg("postgres:16-alpine", BARE_MAJOR.format("16-alpine"))],
        id="bare_major_with_variant_floats",
    ),
    pytest.param(
        _image("app:v2"),
        {},
        [_msg("app:v2", BARE_MAJOR.format("v2"))],
        id="bare_major_with_v_floats",
    ),
    pytest.param(_image("app:1"), {"allowBareMajor": True}, [], id="bare_major_allowed_by_config"),
    pytest.param(_image("postgres:16.10-alpine"), {}, [], id="major_and_minor_pass"),
    pytest.param(_image("app:1234"), {}, [], id="four_digit_build_number_is_not_a_major"),
    pytest.param(
        _image(f"app:sha256-{'ab' * 32}"),
        {"floatingTags": [], "floatingTagPatterns": []},
        [_msg(f"app:sha256-{'ab' * 32}", LOOKALIKE.format(f"sha256-{'ab' * 32}"))],
        id="tag_imitating_a_digest",
    ),
    pytest.param(
        _image("app:SHA256_0123abcd.sig"),
        {},
        [_msg("app:SHA256_0123abcd.sig", LOOKALIKE.format("SHA256_0123abcd.sig"))],
        id="tag_imitating_a_digest_any_case_or_suffix",
    ),
    pytest.param(
        _image(f"app:{'cd' * 32}"),
        {},
        [_msg(f"app:{'cd' * 32}", LOOKALIKE.format("cd" * 32))],
        id="tag_of_64_hex_imitates_a_digest",
    ),
    pytest.param(_image(f"app:{'cd' * 20}"), {}, [], id="tag_of_a_git_commit_passes"),
    pytest.param(_image(f"app:sha256-{'ab' * 32}@{DIGEST}"), {}, [], id="real_digest_pins_a_lookalike_tag"),
    pytest.param(_image(""), {}, [_msg("", INVALID + "it is empty")], id="empty_reference_is_invalid"),
    pytest.param(_image(f"x/{'a' * 253}:1.0.0"), {}, [], id="name_of_exactly_255_characters_passes"),
    pytest.param(
        _image(f"x/{'a' * 254}:1.0.0"),
        {},
        [_msg(f"x/{'a' * 254}:1.0.0", INVALID + "repository name must not be more than 255 characters")],
        id="name_of_256_characters_is_invalid",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "app", name=None, image="app")),
        {},
        [f'container vps1-app: image "app" {UNPINNED}'],
        id="unnamed_container_is_named_by_its_resource",
    ),
    pytest.param(
        on_host("vps1", remote_image("vps1", "app", None)),
        {},
        ["remote image vps1-app-image: image is not set"],
        id="remote_image_without_a_name",
    ),
    pytest.param(_image(UNKNOWN), {}, [], id="unknown_during_preview_is_skipped"),
    pytest.param(on_host("vps1"), {}, [], id="not_applicable_to_providers_and_components"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_pinned_images(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(pinned_images.policy, resources, config) == sorted(expected)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        pytest.param(
            f"docker.io/library/postgres:16.10-alpine@{DIGEST}",
            pinned_images.Parsed("docker.io/library/postgres", "16.10-alpine", DIGEST),
            id="all_three_parts",
        ),
        pytest.param("localhost:5000/app", pinned_images.Parsed("localhost:5000/app", "", ""), id="port_is_not_a_tag"),
        pytest.param("Nginx:1.27", "repository name must be lowercase", id="refused_with_the_librarys_reason"),
        pytest.param("nginx@sha256:abc", "invalid reference format", id="short_digest_refused"),
    ],
)
def test_parse_gives_the_librarys_parts_or_reason_and_keeps_it(reference: str, expected: object) -> None:
    first = pinned_images.parse(reference)
    assert first == expected
    # Kept: the second call answers from the cache with the same object.
    assert pinned_images.parse(reference) is first
    assert pinned_images.parse.cache_info().hits == 1
