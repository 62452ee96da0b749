"""What preflight records of a program run: one entry per RegisterResource request.

The records are the single exchange format between the mocked program run, the printed
report, the ``--json`` output and the policy analyzer client, so each of them reads the
same facts the Pulumi engine would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The wire signature Pulumi uses to mark a secret value inside a serialized property map.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
# The wire value of an input that is unknown during preview.
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True, kw_only=True)
class RecordedResource:
    """One resource registration, whole, as the engine received it.

    Everything past the identity defaults to what the engine assumes when a program leaves
    it out, so a fixture or benchmark names only what it sets.
    """

    urn: str
    type: str
    name: str
    custom: bool = True
    id: str | None = None
    parent: str | None = None
    provider: str | None = None
    """Provider reference as the engine sees it: ``"<provider urn>::<provider id>"``."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    """Input paths the engine ignores when diffing against state (`ignore_changes`)."""
    additional_secret_outputs: tuple[str, ...] = ()
    """Outputs the engine stores as secrets although the provider returns them plain."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """Inputs in wire form: secrets stay wrapped in the secret signature object."""
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def provider_urn(self) -> str | None:
        """The URN part of the provider reference, or None for a default provider."""
        if not self.provider:
            return None
        return self.provider.rsplit("::", 1)[0]


def is_secret(value: Any) -> bool:
    """True when ``value`` is a wire-form secret wrapper."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def redact(value: Any) -> Any:
    """Replace every wire-form secret inside ``value`` by the string ``"[secret]"``."""
    if is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
