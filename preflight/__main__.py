"""`python -m preflight --stack STACK [--format text|json|markdown] [--show-files]`: a credential-free preview.

The command itself is `preflight.cli`. When a warm server (`python -m preflight.warm`) serves this
checkout, the run happens there, with pulumi and the providers already imported, and this process
only passes its arguments and standard streams along and exits with the run's code
(`preflight/warm.py`); otherwise it runs here. `PREFLIGHT_WARM=0` always runs it here.
"""

from __future__ import annotations

import sys

from preflight.warm import delegate


def main(argv: list[str] | None = None) -> int:
    """Run preflight in this process; returns the exit code."""
    from preflight.cli import main as run

    return run(argv)


if __name__ == "__main__":
    served = delegate(sys.argv[1:])
    sys.exit(main() if served is None else served)
