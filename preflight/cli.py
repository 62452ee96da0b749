"""`python -m preflight --stack STACK [--format text|json|markdown] [--show-files]`: a credential-free preview.

Applies the Pulumi CLI's project config rules to the stack, runs the program under Pulumi mocks
with the stack's real config files, then runs the CrossGuard pack the way the CLI starts it and
over the analyzer protocol it speaks, and prints the report, verdict first.
Exit 0: clean (advisory findings allowed); 1: a mandatory policy violation and nothing else;
2: config the CLI or the program refuses, a program error, a policy pack that cannot run, or any
failure of preflight itself (one line on stderr; `--debug` adds the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from config.loader import PROJECT
from preflight.documents import DocumentError
from preflight.packruntime import PYTHON_OVERRIDE_ENV
from preflight.report import MARKDOWN_LIMIT, Report, render
from preflight.runner import PROJECT_DIR, PreflightError, run_stack

if TYPE_CHECKING:
    from preflight.analyzer import PolicyPackSession

POLICY_PACK = PROJECT_DIR / "policies"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name: dev, prod or dr")
    parser.add_argument("--config-file", type=Path, help="stack file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--policy-pack", type=Path, default=POLICY_PACK, help="policy pack directory (policies)")
    parser.add_argument("--policy-config", type=Path, help="policy config instead of policies/config/<stack>.json")
    parser.add_argument(
        "--policy-python",
        type=Path,
        help=f"interpreter to run the pack with instead of the CLI's choice (also ${PYTHON_OVERRIDE_ENV})",
    )
    parser.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="report format")
    parser.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    parser.add_argument(
        "--max-chars", type=int, default=MARKDOWN_LIMIT, help=f"Markdown size budget (default {MARKDOWN_LIMIT})"
    )
    parser.add_argument(
        "--show-files", action="store_true", help="print the content of uploaded files (secret ones stay hidden)"
    )
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected failure")
    args = parser.parse_args(argv)
    try:
        return _preflight(args)
    except (PreflightError, DocumentError) as exc:
        print(f"preflight: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("preflight: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the guard exists to catch what nothing else does
        # Exit 1 means a mandatory violation: a failure of preflight itself must not look like one.
        if args.debug:
            traceback.print_exc()
        cause = " ".join(str(exc).split())[:300]
        print(
            f"preflight: unexpected {type(exc).__name__}: {cause} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 2


def _start_pack(args: argparse.Namespace) -> PolicyPackSession:
    """The policy pack, starting in the background so it boots while the program runs."""
    from preflight.analyzer import PolicyPackSession

    # The environment as it is now: the program's run sets the CLI's PULUMI_CONFIG in it.
    session = PolicyPackSession(
        args.policy_pack, stack=args.stack, project=PROJECT, python=args.policy_python, environ=dict(os.environ)
    )
    session.start(wait=False)
    return session


def _preflight(args: argparse.Namespace) -> int:
    # The pack boots in its own process while the program runs; its errors still come after
    # the program's, as they did when it started afterwards.
    starting = None if args.no_policy else _start_pack(args)
    try:
        plan = run_stack(args.stack, args.config_file)
    except BaseException:
        if starting is not None:
            starting.close()
        raise

    # A policy config named on the command line must exist; the stack's own one may be absent.
    policy_config: Path | None = args.policy_config
    if policy_config is None:
        default = args.policy_pack / "config" / f"{args.stack}.json"
        policy_config = default if default.exists() else None
    pack = None
    if starting is not None:
        from preflight.analyzer import AnalyzerError, PolicyConfigError, run_session

        try:
            with starting:
                pack = run_session(starting, policy_config, plan.resources)
        except (AnalyzerError, PolicyConfigError) as exc:
            print(f"preflight: policy pack: {exc}", file=sys.stderr)
            return 2

    from preflight.cost import cost_estimate

    # The estimate the cost-budget policy judges, priced by the pack's own estimator.
    estimate = cost_estimate(plan.resources, policy_config)
    report = Report(plan=plan, pack=pack, cost=estimate, show_files=args.show_files)
    try:
        print(render(report, args.format, args.max_chars))
    except BrokenPipeError:  # `| head`: the reader has what it wanted; nothing more to flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if report.count("mandatory") else 0
