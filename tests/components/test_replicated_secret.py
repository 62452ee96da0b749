"""ReplicatedSecret under Pulumi mocks: the replica's region and key, the value that stays a
secret in every registration, and the replica ARN derived from the primary's."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from aws_mocks import install, install_mocks, plain_values, run
from pulumi.runtime import MockResourceArgs

from components.replicated_secret import ReplicatedSecret, ReplicatedSecretArgs, replica_arn
from preflight.mocks import ACCOUNT_ID, PreflightMocks, RecordingMonitor
from preflight.records import RecordedResource, is_secret

PRIMARY, DR = "eu-north-1", "eu-west-1"
NAME = "ziggie/prod/postgres-password"
SECRET_VALUE = "pg-pa55word-never-plain"
DR_KEY = f"arn:aws:kms:{DR}:{ACCOUNT_ID}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def secret_args(**overrides: Any) -> ReplicatedSecretArgs:
    values: dict[str, Any] = {
        "secret_name": NAME,
        "value": pulumi.Output.secret(SECRET_VALUE),
        "primary_region": PRIMARY,
        "dr_region": DR,
        "dr_kms_key_id": None,
        "recovery_window_days": 14,
        "protect": True,
        "tags": {"project": "ziggie-infra", "stack": "prod"},
    }
    values.update(overrides)
    return ReplicatedSecretArgs(**values)


def build(mocks: RecordingMonitor, **overrides: Any) -> dict[str, RecordedResource]:
    return run(mocks, lambda: ReplicatedSecret("postgres", secret_args(**overrides)))


@pytest.mark.parametrize(
    ("dr_kms_key_id", "replicas"),
    [(None, [{"region": DR}]), (DR_KEY, [{"region": DR, "kmsKeyId": DR_KEY}])],
    ids=["default_key_in_dr", "own_key_in_dr"],
)
def test_secret_lives_in_primary_and_replicates_to_dr(
    mocks: RecordingMonitor, dr_kms_key_id: str | None, replicas: list[dict[str, str]]
) -> None:
    records = build(mocks, dr_kms_key_id=dr_kms_key_id)
    secret = records["postgres-secret"]
    assert secret.type == "aws:secretsmanager/secret:Secret", secret.urn
    assert secret.inputs["region"] == PRIMARY, secret.urn
    assert secret.inputs["name"] == NAME, secret.urn
    assert secret.inputs["replicas"] == replicas, secret.urn
    assert secret.inputs["recoveryWindowInDays"] == 14, secret.urn
    version = records["postgres-value"]
    assert version.type == "aws:secretsmanager/secretVersion:SecretVersion", version.urn
    assert version.inputs["region"] == PRIMARY, version.urn
    assert version.inputs["secretId"] == secret.id, version.urn
    # Exactly the component, the secret and its version: no resource of its own in the DR region.
    assert {r.type for r in records.values() if r.type.startswith("aws:")} == {
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
    }


@pytest.mark.parametrize("marked", [True, False], ids=["config_secret_stays_secret", "unmarked_output_is_made_secret"])
def test_value_is_secret_in_every_registration(mocks: RecordingMonitor, marked: bool) -> None:
    value = pulumi.Output.secret(SECRET_VALUE) if marked else pulumi.Output.from_input(SECRET_VALUE)
    records = build(mocks, value=value)
    version = records["postgres-value"]
    wrapped = version.inputs["secretString"]
    assert is_secret(wrapped), f"{version.urn}: secretString is not wrapped as a secret"
    assert wrapped["value"] == SECRET_VALUE, version.urn
    for record in records.values():
        for where, values in (("inputs", record.inputs), ("outputs", record.outputs)):
            plain = json.dumps(list(plain_values(values)))
            assert SECRET_VALUE not in plain, f"{record.urn}: the value appears in plain {where}"


@pytest.mark.parametrize("protect", [True, False], ids=["prod_protects_the_secret", "dev_can_delete_it"])
def test_secret_protected_exactly_when_asked(mocks: RecordingMonitor, protect: bool) -> None:
    records = build(mocks, protect=protect)
    assert records["postgres-secret"].protect is protect, records["postgres-secret"].urn
    # The version is not what holds the secret's life: deleting the secret is what loses it.
    assert records["postgres-value"].protect is False, records["postgres-value"].urn


def test_outputs_give_primary_and_replica_arn_and_name(mocks: RecordingMonitor) -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        secret = ReplicatedSecret("postgres", secret_args())
        secret.arn.apply(lambda v: seen.__setitem__("arn", v))
        secret.replica_arn.apply(lambda v: seen.__setitem__("replica_arn", v))
        secret.name.apply(lambda v: seen.__setitem__("name", v))

    records = run(mocks, program)
    primary = records["postgres-secret"].outputs["arn"]
    prefix = f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT_ID}:secret:{NAME}-"
    assert primary.startswith(prefix), primary
    suffix = primary.removeprefix(prefix)
    assert seen == {
        "arn": primary,
        "replica_arn": f"arn:aws:secretsmanager:{DR}:{ACCOUNT_ID}:secret:{NAME}-{suffix}",
        "name": NAME,
    }


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT_ID}:secret:{NAME}-AbCdEf",
            f"arn:aws:secretsmanager:{DR}:{ACCOUNT_ID}:secret:{NAME}-AbCdEf",
        ),
        (
            f"arn:aws-us-gov:secretsmanager:{PRIMARY}:{ACCOUNT_ID}:secret:a:b-AbCdEf",
            f"arn:aws-us-gov:secretsmanager:{DR}:{ACCOUNT_ID}:secret:a:b-AbCdEf",
        ),
    ],
    ids=["only_the_region_changes_name_and_suffix_kept", "colons_in_the_name_and_other_partitions_survive"],
)
def test_replica_arn_swaps_the_region_segment(arn: str, expected: str) -> None:
    assert replica_arn(arn, PRIMARY, DR) == expected


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:secretsmanager:{DR}:{ACCOUNT_ID}:secret:{NAME}-AbCdEf",
        "arn:aws:s3:::ziggie-prod-assets",
        f"arn:aws:kms:{PRIMARY}:{ACCOUNT_ID}:key/abc",
        f"{NAME}-AbCdEf",
    ],
    ids=["already_in_another_region", "s3_arn", "kms_arn", "not_an_arn"],
)
def test_replica_arn_refuses_what_is_not_a_primary_secret_arn(arn: str) -> None:
    with pytest.raises(ValueError, match="is not a Secrets Manager ARN in eu-north-1"):
        replica_arn(arn, PRIMARY, DR)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"dr_region": PRIMARY}, ValueError, "dr_region must differ from primary_region 'eu-north-1'"),
        ({"recovery_window_days": 6}, ValueError, "recovery_window_days must be 7 to 30, not 6"),
        ({"recovery_window_days": 31}, ValueError, "recovery_window_days must be 7 to 30, not 31"),
        ({"secret_name": "ziggie/prod/pg password"}, ValueError, "must be 1-512 of the characters"),
        ({"secret_name": "ziggie/prod/pg-AbCdEf"}, ValueError, "reads as the random suffix"),
        ({"dr_region": "west-europe"}, ValueError, "dr_region 'west-europe' is not an AWS region name"),
        (
            {"dr_kms_key_id": f"arn:aws:kms:{PRIMARY}:{ACCOUNT_ID}:key/abc"},
            ValueError,
            "is not in dr_region eu-west-1",
        ),
        ({"value": SECRET_VALUE}, TypeError, "value must be a Pulumi secret Output"),
    ],
    ids=[
        "same_region_survives_no_outage",
        "recovery_window_below_7_days",
        "recovery_window_above_30_days",
        "space_not_allowed_in_name",
        "name_ending_like_an_arn_suffix",
        "region_not_a_region",
        "replica_key_in_the_primary_region",
        "plain_string_would_land_in_state",
    ],
)
def test_invalid_args_are_refused(overrides: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        secret_args(**overrides)


@pytest.mark.parametrize("days", [7, 30], ids=["shortest_window", "longest_window"])
def test_recovery_window_bounds_are_accepted(days: int) -> None:
    assert secret_args(recovery_window_days=days).recovery_window_days == days


class ReplicaStatusMocks(PreflightMocks):
    """preflight's mocks, but Secrets Manager reports the DR replica with the given status."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(lambda name: {})
        self.status, self.message = status, message

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == "aws:secretsmanager/secret:Secret":
            state["replicas"] = [{**r, "status": self.status, "statusMessage": self.message} for r in state["replicas"]]
        return resource_id, state


def replica_arn_under(status: str, message: str) -> tuple[str | None, str | None]:
    """Build the secret where the replica has `status`; the exported ARN, or the run's error."""
    monitor = install_mocks(ReplicaStatusMocks(status, message))
    seen: dict[str, str] = {}

    def program() -> None:
        ReplicatedSecret("postgres", secret_args()).replica_arn.apply(lambda arn: seen.__setitem__("arn", arn))

    try:
        run(monitor, program)
    except pulumi.RunError as error:
        return None, str(error)
    return seen.get("arn"), None


def test_in_sync_replica_exports_its_arn() -> None:
    arn, error = replica_arn_under("InSync", "Replication succeeded")
    assert error is None
    assert arn is not None and arn.startswith(f"arn:aws:secretsmanager:{DR}:{ACCOUNT_ID}:secret:{NAME}-")


def test_failed_replica_stops_the_run_instead_of_exporting_a_stale_arn() -> None:
    arn, error = replica_arn_under("Failed", "Replication failed: Secret with the same name already exists")
    assert arn is None
    assert error == (
        f"secret {NAME}: the replica in {DR} is Failed, not InSync (Replication failed: Secret with the same name "
        f"already exists); dr would read a stale value. If a secret named {NAME} already exists in {DR} (left from "
        "an earlier failover), copy any newer value into this stack's config, delete that secret in "
        f"{DR}, and run again"
    )


def test_secret_never_overwrites_a_same_named_dr_secret(mocks: RecordingMonitor) -> None:
    secret = build(mocks)["postgres-secret"]
    assert secret.inputs["forceOverwriteReplicaSecret"] is False, secret.urn
