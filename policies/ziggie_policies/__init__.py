"""The ziggie-guardrails policies, one per module; ``policies/__main__.py`` builds the pack.

The package is self-contained: it imports nothing from the program it checks, so the pack can
be published and run with ``pulumi preview --policy-pack`` as it is.
"""
