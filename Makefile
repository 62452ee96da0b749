# The two everyday commands, each installing what it needs into .venv first:
#   make preflight STACK=dev   credential-free preview of a stack (program + policy pack)
#   make test                  the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# preflight and the tests run the policy pack with .venv's python, which has policies/requirements.txt.
# Unset, preflight picks the pack's own virtualenv (policies/venv, made by `pulumi install` in
# policies/) as the Pulumi CLI does, and fails as the CLI would when it is missing.
export PREFLIGHT_POLICY_PYTHON ?= $(CURDIR)/$(PY)
# Every dependency, transitive ones included, pinned with its hashes; `make lock` writes both.
LOCK := requirements.lock
POLICY_LOCK := policies/requirements.lock
# The lock is resolved for the interpreter and platform CI and the hosts use, whatever machine
# runs `make lock`, from what PyPI served up to LOCK_CUTOFF: rerunning it resolves the same
# versions. Move the cutoff forward to take newer releases (a new pin newer than it fails loudly).
LOCK_CUTOFF := 2026-11-24T00:00:00Z
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --exclude-newer $(LOCK_CUTOFF) \
	--custom-compile-command "make lock"

.PHONY: preflight warm test lint lock benchmark reference mutation

$(VENV)/.installed: $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $@

preflight: $(VENV)/.installed
	$(PY) -m preflight --stack $(STACK)

# Keeps pulumi and the providers imported and serves `python -m preflight` runs of this checkout
# (preflight/warm.py); leaves after 30 idle minutes.
warm: $(VENV)/.installed
	$(PY) -m preflight.warm

test: $(VENV)/.installed
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/yamllint -s .github Pulumi.yaml Pulumi.dev.yaml Pulumi.prod.yaml Pulumi.dr.yaml
	$(VENV)/bin/zizmor --offline --persona pedantic .github
	# actionlint reads the workflows from the git work tree it runs in, and checks their scripts
	# with shellcheck.
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then $(VENV)/bin/actionlint -shellcheck=$(VENV)/bin/shellcheck; fi
	$(PY) -m config.reference --check README.md

# One command regenerates both locks from the requirements files; the policy pack's own lock
# (the environment the CLI starts the pack in) is held to the versions of the whole one.
lock: $(VENV)/.installed
	$(UV_COMPILE) --output-file $(LOCK) requirements.txt policies/requirements.txt requirements-dev.txt
	$(UV_COMPILE) --constraint $(LOCK) --output-file $(POLICY_LOCK) policies/requirements.txt

benchmark: $(VENV)/.installed
	$(PY) benchmarks/preflight_scale.py
	$(PY) benchmarks/analyzer_throughput.py

reference: $(VENV)/.installed
	$(PY) -m config.reference --write README.md

# Mutation testing of policies/ziggie_policies/ and config/ (slow: CI runs it weekly), then the
# pack's survivors against the tests that start the pack (mutmut's selection cannot see them),
# then the score per module. MUTANTS narrows the run, e.g. MUTANTS='ziggie_policies.no_privileged.*'.
# pipeline/mutation.py says why mutmut runs in its own staging directory.
MUTATION_DIR := .mutation
MUTANTS ?=
mutation: $(VENV)/.installed
	$(PY) -m pipeline.mutation stage $(MUTATION_DIR)
	cd $(MUTATION_DIR) && $(CURDIR)/$(VENV)/bin/mutmut run $(MUTANTS)
	$(PY) -m pipeline.mutation recheck $(MUTATION_DIR) $(MUTANTS)
	$(PY) -m pipeline.mutation score $(MUTATION_DIR)
