"""secrets-not-plaintext: secret-looking env entries must arrive as Pulumi secrets.

Secrecy is visible to a Python policy only in the remediation pass (see the policy module), so
both runners go through Remediate and then Analyze, as the engine does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import (
    UNKNOWN,
    container,
    on_host,
    remote_image,
    run_direct,
    secret,
)
from ziggie_policies import secrets_not_plaintext

from preflight.analyzer import PolicyPackSession
from preflight.records import RecordedResource


def _envs(*envs: Any) -> list[RecordedResource]:
    return on_host("vps1", container("vps1", "postgres", envs=list(envs)))


def _plain(name: str) -> str:
    return f"container postgres: envs entry {name} is plain text; pass it as a Pulumi secret"


CASES = [
    pytest.param(_envs("POSTGRES_USER=ziggie", secret("POSTGRES_PASSWORD=xxx")), {}, [], id="secret_element_passes"),
    pytest.param(
        on_host("vps1", container("vps1", "postgres", envs=secret(["POSTGRES_PASSWORD=xxx"]))),
        {},
        [],
        id="whole_list_secret_passes",
    ),
    pytest.param(
        _envs("POSTGRES_USER=ziggie", "POSTGRES_PASSWORD=xxx"), {}, [_plain("POSTGRES_PASSWORD")], id="plain_password"
    ),
    pytest.param(
        _envs("N8N_ENCRYPTION_KEY=k", "ACCESS_TOKEN=t", "OPENAI_APIKEY=a", "DB_PASS=p", "AWS_SECRET=s"),
        {},
        [
            _plain("N8N_ENCRYPTION_KEY"),
            _plain("ACCESS_TOKEN"),
            _plain("OPENAI_APIKEY"),
            _plain("DB_PASS"),
            _plain("AWS_SECRET"),
        ],
        id="each_default_token",
    ),
    pytest.param(_envs("POSTGRES_PASSWORD_FILE=/run/secrets/pg"), {}, [], id="file_suffix_pointing_to_a_file_passes"),
    pytest.param(
        _envs("POSTGRES_PASSWORD_FILE=hunter2"),
        {},
        [_plain("POSTGRES_PASSWORD_FILE")],
        id="file_suffix_with_a_value_is_a_secret",
    ),
    pytest.param(
        _envs("KEYCLOAK_URL=http://k", "PASSTHROUGH=1", "OLLAMA_KEEP_ALIVE=5m"),
        {},
        [],
        id="tokens_match_whole_words_only",
    ),
    pytest.param(_envs("POSTGRES_PASSWORD"), {}, [], id="name_without_value_passes_the_daemon_env"),
    pytest.param(
        _envs("SESSION_COOKIE=abc"), {"secretTokens": ["COOKIE"]}, [_plain("SESSION_COOKIE")], id="configured_tokens"
    ),
    pytest.param(_envs(UNKNOWN, secret(UNKNOWN)), {}, [], id="unknown_during_preview_is_skipped"),
    pytest.param(on_host("vps1", remote_image("vps1", "app", "app:1")), {}, [], id="not_applicable_to_images"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_secrets_not_plaintext(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(secrets_not_plaintext.policy, resources, config) == sorted(expected)


UNCHECKED = (
    "container postgres: envs entry POSTGRES_PASSWORD could not be checked: secret markers reach this "
    'policy only in the remediation pass (enforcement level "remediate")'
)


def test_analyze_alone_sees_secrets_unwrapped_and_fails_closed() -> None:
    """Without the remediation pass a secret is indistinguishable from a literal: report, never pass."""
    resources = _envs(secret("POSTGRES_PASSWORD=xxx"))
    assert run_direct(secrets_not_plaintext.policy, resources, {}, remediate=False) == [UNCHECKED]


def test_mandatory_level_in_config_skips_remediation_and_fails_closed(
    pack_session: PolicyPackSession, tmp_path: Path
) -> None:
    """At level mandatory the SDK never calls the remediation, so the markers are never seen."""
    config = tmp_path / "config.json"
    config.write_text('{"secrets-not-plaintext": "mandatory"}', encoding="utf-8")
    pack_session.configure(config)
    violations = pack_session.run(_envs(secret("POSTGRES_PASSWORD=xxx")))
    assert [(v.policy, v.enforcement, v.message) for v in violations] == [
        ("secrets-not-plaintext", "mandatory", UNCHECKED)
    ]


def test_remediate_level_reports_as_mandatory(pack_session: PolicyPackSession, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}", encoding="utf-8")
    pack_session.configure(config)
    violations = pack_session.run(_envs("POSTGRES_PASSWORD=xxx"))
    assert [(v.policy, v.enforcement, v.urn) for v in violations] == [
        ("secrets-not-plaintext", "mandatory", container("vps1", "postgres").urn)
    ]
