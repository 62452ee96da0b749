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

.PHONY: preflight test lint benchmark reference

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

preflight: $(VENV)/.installed
	$(PY) -m preflight --stack $(STACK)

test: $(VENV)/.installed
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/yamllint -s .github Pulumi.yaml Pulumi.dev.yaml Pulumi.prod.yaml Pulumi.dr.yaml
	$(VENV)/bin/zizmor --offline .github/workflows
	# actionlint reads the workflows from the git work tree it runs in.
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then $(VENV)/bin/actionlint; fi
	$(PY) -m config.reference --check README.md

benchmark: $(VENV)/.installed
	$(PY) benchmarks/preflight_scale.py
	$(PY) benchmarks/analyzer_throughput.py

reference: $(VENV)/.installed
	$(PY) -m config.reference --write README.md
