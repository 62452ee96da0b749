"""`python -m preflight --stack STACK [--config-file PATH] [--json]`: a credential-free preview.

Runs the program under Pulumi mocks with the stack's real config files, then the CrossGuard
pack over the analyzer protocol the Pulumi CLI uses, and prints the plan and the verdicts.
Exit 0: clean (advisory findings allowed); 1: a mandatory policy violation; 2: bad config,
a program error or a policy pack that cannot run (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from preflight.runner import PROJECT_DIR, PreflightError, run_stack

POLICY_PACK = PROJECT_DIR / "policies"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name: dev, prod or dr")
    parser.add_argument("--config-file", type=Path, help="stack file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--policy-config", type=Path, help="policy config instead of policies/config/<stack>.json")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)

    try:
        plan = run_stack(args.stack, args.config_file)
    except PreflightError as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2

    violations = None
    if not args.no_policy:
        from preflight.analyzer import AnalyzerError, PolicyConfigError, analyze

        policy_config = args.policy_config or POLICY_PACK / "config" / f"{args.stack}.json"
        try:
            violations = analyze(POLICY_PACK, policy_config if policy_config.exists() else None, plan.resources)
        except (AnalyzerError, PolicyConfigError) as exc:
            print(f"preflight: policy pack: {exc}", file=sys.stderr)
            return 2

    from preflight.cost import cost_estimate, render_cost
    from preflight.report import render_json, render_text

    estimate = cost_estimate(plan.resources, args.policy_config or POLICY_PACK / "config" / f"{args.stack}.json")
    if args.json:
        document = render_json(plan, violations)
        document["costEstimate"] = estimate
        print(json.dumps(document, indent=2, default=str))
    else:
        print("\n".join([render_text(plan, violations or ()), *render_cost(estimate)]))
    mandatory = [v for v in violations or () if v.enforcement == "mandatory"]
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
