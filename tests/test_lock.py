"""The hashed locks: every dependency pinned with its hashes, and the requirement files' own
pins in them at the same versions, so `make lock` cannot have been forgotten after a pin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
POLICY_LOCK = ROOT / "policies" / "requirements.lock"
SOURCES = [ROOT / "requirements.txt", ROOT / "policies" / "requirements.txt", ROOT / "requirements-dev.txt"]
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def entries(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a lock, continuation lines joined."""
    found: dict[str, tuple[str, list[str]]] = {}
    joined = lock.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        assert version, f"{lock.name}: {requirement} is not pinned with =="
        found[canonicalize_name(name)] = (version, [option for option in options if HASH.fullmatch(option)])
    return found


def pins(source: Path) -> dict[str, str]:
    """name -> version of a requirements file's own lines (not the files it includes)."""
    found = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{source.name}: {line} must pin exactly"
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


@pytest.mark.parametrize("lock", [LOCK, POLICY_LOCK], ids=["requirements.lock", "policies-requirements.lock"])
def test_every_locked_package_is_pinned_with_hashes(lock: Path) -> None:
    locked = entries(lock)
    assert len(locked) > 10
    for name, (version, hashes) in locked.items():
        assert hashes, f"{lock.name}: {name}=={version} has no --hash"
    assert lock.read_text(encoding="utf-8").splitlines()[1].strip() == "#    make lock"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_pin_is_in_the_lock_at_its_version(source: Path) -> None:
    locked = entries(LOCK)
    for name, version in pins(source).items():
        assert name in locked, f"{source.name} pins {name} but requirements.lock lacks it: run `make lock`"
        assert locked[name][0] == version, (
            f"{source.name} pins {name}=={version}, requirements.lock has {locked[name][0]}: run `make lock`"
        )


def test_the_policy_lock_holds_the_pack_at_the_main_locks_versions() -> None:
    locked, pack = entries(LOCK), entries(POLICY_LOCK)
    assert set(pins(ROOT / "policies" / "requirements.txt")) <= set(pack)
    for name, (version, _) in pack.items():
        assert locked.get(name, ("missing",))[0] == version, f"{name}: {version} in the pack's lock only"
