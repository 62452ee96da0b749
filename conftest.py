"""Pytest root configuration: its presence puts the project root on sys.path.

Policy packs run with the interpreter running the tests, which has policies/requirements.txt
installed (requirements-dev.txt includes it), unless PREFLIGHT_POLICY_PYTHON already names one;
the tests of the CLI's own interpreter choice (tests/preflight/test_packruntime.py) unset it.
"""

import os
import sys

os.environ.setdefault("PREFLIGHT_POLICY_PYTHON", sys.executable)
