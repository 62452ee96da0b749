"""The ziggie-guardrails CrossGuard pack: builds the PolicyPack from an explicit list, nothing else.

Constructing a PolicyPack starts its gRPC server and serves until the process is stopped, so
this module is only ever run as the pack (``python -m pulumi.policy <engine> .``). The pack is
the SDK's PolicyPack served so that each request converts a resource once for all its policies
(ziggie_policies/_shared_views.py says why and how).
"""

from pulumi_policy import EnforcementLevel
from ziggie_policies import (
    bucket_protection,
    bucket_replication,
    cdn_backend_bucket,
    cloud_budgets,
    container_limits,
    cost_budget,
    failover_health_check,
    failover_probe_target,
    healthcheck_required,
    host_allocation,
    http_redirect_only,
    no_privileged,
    pinned_images,
    secret_replication,
    secrets_not_plaintext,
    service_reachability,
    stack_environment,
)
from ziggie_policies._shared_views import SharedViewPolicyPack

SharedViewPolicyPack(
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
        bucket_protection.policy,  # mandatory
        bucket_replication.policy,  # mandatory; requireReplication false in dev and dr
        secret_replication.policy,  # mandatory; requireReplication false in dev and dr
        failover_health_check.policy,  # mandatory
        failover_probe_target.policy,  # mandatory
        service_reachability.policy,  # mandatory
        cdn_backend_bucket.policy,  # mandatory
        http_redirect_only.policy,  # mandatory
        cloud_budgets.policy,  # mandatory
        cost_budget.policy,  # mandatory; the budget and usage assumptions per stack in config/<stack>.json
        stack_environment.policy,  # mandatory; requireDr true in prod
    ],
)
