"""The ziggie-guardrails CrossGuard pack: builds the PolicyPack from an explicit list, nothing else.

Constructing a PolicyPack starts its gRPC server and serves until the process is stopped, so
this module is only ever run as the pack (``python -m pulumi.policy <engine> .``).
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from ziggie_policies import (
    container_limits,
    healthcheck_required,
    host_allocation,
    no_privileged,
    pinned_images,
    secrets_not_plaintext,
)

PolicyPack(
    name="ziggie-guardrails",
    # Every policy states its own level; this default only catches one that forgot.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        pinned_images.policy,  # mandatory
        host_allocation.policy,  # mandatory
        container_limits.policy,  # mandatory
        healthcheck_required.policy,  # mandatory; advisory in dev through config/dev.json
        no_privileged.policy,  # mandatory
        secrets_not_plaintext.policy,  # remediate: reported as mandatory, see its module
    ],
)
