"""HostBootstrap: the commands a fresh host gets, run for real against stand-in tools to show
they are idempotent, and the resource graph under Pulumi mocks (secrets, order, logging)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from aws_mocks import install, run

from components.host_bootstrap import (
    HostBootstrap,
    HostBootstrapArgs,
    directories_command,
    swap_check_command,
    swarm_init_command,
    swarm_join_command,
)
from config.models import Host
from preflight.mocks import RecordingMonitor
from preflight.records import is_secret, redact

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnever-in-plain-text\n-----END OPENSSH PRIVATE KEY-----\n"
TOKEN = "SWMTKN-1-never-in-plain-text"


def host(address: str, role: str) -> Host:
    return Host.model_validate(
        {
            "dockerHost": f"ssh://deploy@{address}",
            "hostKey": HOST_KEY,
            "swarm": role,
            "memory": "16G",
            "cpus": "4",
            "osReserveMemory": "2G",
            "osReserveCpus": "0.5",
            "monthlyPriceUsd": "12",
        }
    )


# --- the commands themselves, run by /bin/sh against stand-ins for sudo and docker ----------


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def shell(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs a command with `sudo` (drops -n, runs the rest) and `docker` (a swarm in a state file)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "sudo", '[ "$1" = -n ] && shift\nexec "$@"\n')
    state = tmp_path / "swarm-state"
    state.write_text("inactive")
    calls = tmp_path / "docker-calls"
    _tool(
        bin_dir,
        "docker",
        f'echo "$*" >> {calls}\n'
        f'case "$*" in\n'
        f"  *LocalNodeState*) cat {state} ;;\n"
        f"  *SwapLimit*) echo true ;;\n"
        f"  swarm\\ init*|swarm\\ join*) echo active > {state}; echo 'To add a worker: docker swarm join --token SECRET' ;;\n"
        f"esac\n",
    )

    def run(command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        return subprocess.run(
            ["/bin/sh", "-c", command], input=stdin, capture_output=True, text=True, env=env, check=False
        )

    run.calls = calls  # type: ignore[attr-defined]
    return run


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mode, p.stat().st_uid, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_directories_are_created_once_with_their_owner_and_left_alone_after(
    shell: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    me = f"{os.getuid()}:{os.getgid()}"
    data = tmp_path / "data"
    wanted = [(str(data / "postgres"), me), (str(data / "loki" / "chunks"), me)]
    first = shell(directories_command(wanted))
    assert first.returncode == 0, first.stderr
    for path, _ in wanted:
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o750, path
        assert Path(path).stat().st_uid == os.getuid(), path
    # An image tightens its own directory (postgres chmods its data directory to 0700).
    (data / "postgres").chmod(0o700)
    before = _snapshot(data)
    second = shell(directories_command(wanted))
    assert second.returncode == 0, second.stderr
    assert _snapshot(data) == before, "a second run on a prepared host changed it"


def test_directories_command_lists_each_path_once_with_its_owner() -> None:
    command = directories_command([("/mnt/nvme/ziggie/postgres", "70:70"), ("/mnt/nvme/ziggie/postgres", "70:70")])
    assert command.splitlines() == [
        "set -eu",
        "[ -d /mnt/nvme/ziggie/postgres ] || sudo -n install -d -o 70 -g 70 -m 0750 /mnt/nvme/ziggie/postgres",
    ]


def test_swarm_init_then_join_run_once_and_keep_the_token_out_of_output_and_arguments(
    shell: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    init = shell(swarm_init_command("203.0.113.10"))
    assert init.returncode == 0 and init.stdout == "", "swarm init prints a join token: it must be discarded"
    again = shell(swarm_init_command("203.0.113.10"))
    assert again.returncode == 0
    calls = Path(shell.calls).read_text().splitlines()  # type: ignore[attr-defined]
    assert [c for c in calls if c.startswith("swarm")] == ["swarm init --advertise-addr 203.0.113.10"]


def test_worker_joins_with_the_token_from_stdin_once(shell: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    command = swarm_join_command("203.0.113.10")
    assert TOKEN not in command
    first = shell(command, stdin=TOKEN + "\n")
    assert first.returncode == 0 and first.stdout == "", first.stderr
    second = shell(command, stdin=TOKEN + "\n")
    assert second.returncode == 0
    calls = Path(shell.calls).read_text().splitlines()  # type: ignore[attr-defined]
    assert [c for c in calls if c.startswith("swarm")] == [f"swarm join --token {TOKEN} 203.0.113.10:2377"]


def test_swap_check_refuses_a_host_without_swap_accounting(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "docker", "echo false\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["/bin/sh", "-c", swap_check_command()], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 1
    assert "no swap limit support" in result.stderr


# --- the resource graph ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def _cluster() -> None:
    manager = HostBootstrap(
        "vps1-bootstrap",
        HostBootstrapArgs(
            host=host("203.0.113.10", "manager"),
            private_key=pulumi.Output.secret(KEY),
            directories=[("/mnt/nvme/ziggie/postgres", "70:70")],
            swarm="manager",
        ),
    )
    HostBootstrap(
        "vps2-bootstrap",
        HostBootstrapArgs(
            host=host("203.0.113.11", "worker"),
            private_key=pulumi.Output.secret(KEY),
            swarm="worker",
            manager_address="203.0.113.10",
            join_token=manager.join_token,
        ),
    )


def test_the_key_and_the_token_never_appear_in_plain_inputs(mocks: RecordingMonitor) -> None:
    records = run(mocks, _cluster)
    for record in records.values():
        plain = json.dumps(redact(record.inputs))
        assert "never-in-plain-text" not in plain, record.urn
        if record.type == "command:remote:Command":
            assert is_secret(record.inputs["connection"]), record.urn
    assert is_secret(records["vps2-bootstrap-swarm-join"].inputs["stdin"])


def test_connection_pins_the_host_key(mocks: RecordingMonitor) -> None:
    records = run(mocks, _cluster)
    connection = records["vps1-bootstrap-checks"].inputs["connection"]["value"]
    assert connection["hostKey"] == HOST_KEY
    assert (connection["host"], connection["user"], connection["port"]) == ("203.0.113.10", "deploy", 22)


def test_join_token_is_a_secret_output_and_no_swarm_command_logs(mocks: RecordingMonitor) -> None:
    records = run(mocks, _cluster)
    token = records["vps1-bootstrap-swarm-join-token"]
    assert set(token.additional_secret_outputs) >= {"stdout", "stderr"}, token.urn
    for name in ("vps1-bootstrap-swarm-init", "vps1-bootstrap-swarm-join-token", "vps2-bootstrap-swarm-join"):
        assert records[name].inputs["logging"] == "none", name


def test_swarm_commands_run_after_the_checks_and_the_worker_after_the_manager(mocks: RecordingMonitor) -> None:
    records = run(mocks, _cluster)
    assert records["vps1-bootstrap-checks"].urn in records["vps1-bootstrap-swarm-init"].dependencies
    assert records["vps1-bootstrap-swarm-init"].urn in records["vps1-bootstrap-swarm-join-token"].dependencies
    assert records["vps1-bootstrap-swarm-join-token"].urn in records["vps2-bootstrap-swarm-join"].dependencies


def test_a_worker_without_its_manager_is_refused() -> None:
    with pytest.raises(ValueError, match="needs its manager's address and join token"):
        HostBootstrap(
            "vps2-bootstrap",
            HostBootstrapArgs(host=host("203.0.113.11", "worker"), private_key="k", swarm="worker"),
        )
