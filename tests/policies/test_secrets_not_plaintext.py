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
    pytest.param(
        _envs("PGPASSWORD=p", "MYSQL_PWD=p", "DBPASSWORD=p", "GH_PAT=p", "SESSIONSECRET=s", "AWS_CREDENTIAL=c"),
        {},
        [
            _plain("PGPASSWORD"),
            _plain("MYSQL_PWD"),
            _plain("DBPASSWORD"),
            _plain("GH_PAT"),
            _plain("SESSIONSECRET"),
            _plain("AWS_CREDENTIAL"),
        ],
        id="glued_and_short_tokens",
    ),
    pytest.param(
        _envs("NEXT_AUTH=x", "api.key=k", "ssh-key=k"),
        {},
        [_plain("NEXT_AUTH"), _plain("api.key"), _plain("ssh-key")],
        id="names_split_on_underscore_dot_and_dash",
    ),
    pytest.param(
        _envs("MONKEY=1", "BYPASS_CACHE=1", "OAUTHLIB_INSECURE=0", "COMPASS=n", "PATH_PREFIX=/x"),
        {},
        [],
        id="tokens_inside_ordinary_words_pass",
    ),
    pytest.param(
        _envs("POSTGRES_HOST_AUTH_METHOD=scram-sha-256", "AWS_ACCESS_KEY_ID=AKIA1", "TOKEN_URL=https://x/t"),
        {},
        [],
        id="last_part_says_no_secret_passes",
    ),
    pytest.param(
        _envs("REDIS_PASSWORD=", "DB_PASSWORD=$DB_PASSWORD"),
        {},
        [],
        id="empty_value_or_variable_reference_passes",
    ),
    pytest.param(
        _envs("DATABASE_URL=postgres://ziggie:hunter2@postgres:5432/ziggie", "CACHE=redis://:s3cret@redis:6379"),
        {},
        [
            "container postgres: envs entry DATABASE_URL has credentials in a URL; pass it as a Pulumi secret",
            "container postgres: envs entry CACHE has credentials in a URL; pass it as a Pulumi secret",
        ],
        id="credentials_in_a_url",
    ),
    pytest.param(
        _envs(
            "DATABASE_URL=postgres://ziggie@postgres:5432/ziggie",
            "DSN=postgres://ziggie:${DB_PASSWORD}@postgres",
            "UPSTREAM=http://api:8080/v1",
            secret("DATABASE_URL=postgres://ziggie:hunter2@postgres"),
        ),
        {},
        [],
        id="url_without_password_or_with_a_reference_or_secret_passes",
    ),
    pytest.param(
        _envs("UPSTREAM_HEADER=Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30", "PROXY=basic dXNlcjpwYXNz"),
        {},
        [
            "container postgres: envs entry UPSTREAM_HEADER has a Bearer credential; pass it as a Pulumi secret",
            "container postgres: envs entry PROXY has a Basic credential; pass it as a Pulumi secret",
        ],
        id="bearer_and_basic_values",
    ),
    pytest.param(
        _envs(
            "DOC=Bearer authentication",
            "LONG=Bearer authenticationschemes",
            "NOTE=Basic usage",
            "NOCOLON=Basic aGVsbG93b3JsZA==",
            "SHORT=Bearer abc123",
        ),
        {},
        [],
        id="auth_scheme_words_without_a_credential_pass",
    ),
    pytest.param(
        on_host(
            "vps1",
            container(
                "vps1",
                "postgres",
                command=["sh", "-c", "exec redis-server --requirepass hunter2 --appendonly yes", "--token=abc"],
            ),
        ),
        {},
        [
            "container postgres: command element 2 (the value of --requirepass) is plain text; "
            "pass it as a Pulumi secret",
            "container postgres: command element 3 (--token) is plain text; pass it as a Pulumi secret",
        ],
        id="command_flag_values",
    ),
    pytest.param(
        on_host(
            "vps1",
            container(
                "vps1",
                "postgres",
                command=["sh", "-c", "PGPASSWORD=p psql postgres://u:p@db", "--password", secret("x"), "run"],
            ),
        ),
        {},
        [
            "container postgres: command element 2 (PGPASSWORD) is plain text; pass it as a Pulumi secret",
            "container postgres: command element 2 has credentials in a URL; pass it as a Pulumi secret",
        ],
        id="command_env_prefix_and_url_secret_element_passes",
    ),
    pytest.param(
        on_host(
            "vps1",
            container(
                "vps1",
                "postgres",
                command=[
                    "sh",
                    "-c",
                    'exec redis-server --requirepass "$REDIS_PASSWORD" --no-auth-warning ping',
                    "-config.file=/etc/x.yml",
                    "-c",
                    "work_mem=32MB",
                ],
            ),
        ),
        {},
        [],
        id="command_with_references_and_ordinary_flags_passes",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "postgres", command=secret(["--password", "x"]))),
        {},
        [],
        id="whole_command_secret_passes",
    ),
    pytest.param(
        on_host(
            "vps1",
            container(
                "vps1",
                "postgres",
                labels=[
                    {"label": "ziggie.service", "value": "postgres"},
                    {"label": "backup.password", "value": "hunter2"},
                    {"label": "backup.target", "value": "s3://AKIA:wJalr@bucket"},
                    {"label": "api.token", "value": secret("t")},
                ],
            ),
        ),
        {},
        [
            "container postgres: label backup.password is plain text; pass it as a Pulumi secret",
            "container postgres: label backup.target has credentials in a URL; pass it as a Pulumi secret",
        ],
        id="labels",
    ),
    pytest.param(
        _envs(secret("POSTGRES_PASSWORD=xxx"), "DB_PASSWORD=abc==", "API_TOKEN=x=y"),
        {},
        [_plain("DB_PASSWORD"), _plain("API_TOKEN")],
        id="value_containing_equals_after_a_secret_entry",
    ),
    pytest.param(
        _envs('DB_PASSWORD=""', "API_TOKEN=''", "PASSPHRASE_KEY='$PASSPHRASE'"),
        {},
        [],
        id="quoted_empty_value_or_reference_passes",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "postgres", name=None, envs=["POSTGRES_PASSWORD=xxx"])),
        {},
        [
            "container vps1-postgres: envs entry POSTGRES_PASSWORD is plain text; pass it as a Pulumi secret",
        ],
        id="unnamed_container_is_named_by_its_resource",
    ),
    pytest.param(
        _envs("A=Bearer abcdefgh12345678", "B=Bearer abcdefgh1234567", "C=Basic dXNl-cjpwYXNz"),
        {},
        ["container postgres: envs entry A has a Bearer credential; pass it as a Pulumi secret"],
        id="bearer_of_exactly_16_characters_and_basic_that_is_not_base64",
    ),
    pytest.param(
        on_host(
            "vps1",
            container(
                "vps1",
                "postgres",
                command=[
                    "--password",
                    "hunter2",
                    "--verbose",
                    secret("s3cret"),
                    "--db-password=abc==",
                    "sh -c \"mysql '--password=x'\"",
                    "--token",
                    "--insecure",
                    "echo token refreshed",
                    "--api-key",
                    "k",
                ],
            ),
        ),
        {},
        [
            "container postgres: command element 1 (the value of --password) is plain text; pass it as a Pulumi secret",
            "container postgres: command element 4 (--db-password) is plain text; pass it as a Pulumi secret",
            "container postgres: command element 5 (--password) is plain text; pass it as a Pulumi secret",
            "container postgres: command element 10 (the value of --api-key) is plain text; pass it as a Pulumi secret",
        ],
        id="command_flags_values_quotes_and_words_that_are_no_flags",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "postgres", command=["run", "--password"])),
        {},
        [],
        id="secret_flag_as_the_last_word_has_no_value",
    ),
    pytest.param(
        on_host("vps1", container("vps1", "postgres", command=["--password", UNKNOWN, "--token", "t0ken"])),
        {},
        ["container postgres: command element 3 (the value of --token) is plain text; pass it as a Pulumi secret"],
        id="value_unknown_during_preview_is_not_plain_text",
    ),
    pytest.param(
        on_host(
            "vps1",
            container(
                "vps1",
                "postgres",
                labels=[
                    "not-a-label",
                    {"label": "api.token", "value": secret("t")},
                    {"label": "db.password", "value": UNKNOWN},
                    {"label": "backup.password", "value": "hunter2"},
                ],
            ),
        ),
        {},
        ["container postgres: label backup.password is plain text; pass it as a Pulumi secret"],
        id="labels_after_a_malformed_a_secret_and_an_unknown_one",
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
