# Everything installs itself on first use (pipenv, locked Python packages in .venv/, the pinned
# cdktf CLI and Node.js in node_modules/); a second run installs nothing. Offline by design.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
ENV ?= dev
# KEEP=1: make deploy-local leaves the emulator running at the end (it prints how to stop it).
KEEP ?=
# Extra cdktf CLI flags, e.g. CDKTF_ARGS=--auto-approve in a CI deploy job.
CDKTF_ARGS ?=

export CHECKPOINT_DISABLE := 1
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
# jsii and the cdktf CLI run on the repo's pinned Node (npm package "node"), not the machine's.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.tools/bin:$(PATH)
# jsii's bundled runtime trips a Node 22 deprecation notice (util.isArray) that is noise to users;
# the heap size is the cdktf CLI's own default, which it stops applying once NODE_OPTIONS is set.
export NODE_OPTIONS := --max-old-space-size=4096 --disable-warning=DEP0044
# A TF_CLI_CONFIG_FILE that points nowhere makes every terraform call print a warning.
ifneq ($(TF_CLI_CONFIG_FILE),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
unexport TF_CLI_CONFIG_FILE
endif
endif

PIPENV := .tools/bin/pipenv
VENV_STAMP := .venv/.synced-$(shell sha256sum Pipfile.lock 2>/dev/null | cut -c1-12)
NPM_STAMP := node_modules/.installed-$(shell sha256sum package-lock.json 2>/dev/null | cut -c1-12)
CDKTF := node_modules/.bin/cdktf

.PHONY: help install synth test check bench diff deploy-bootstrap deploy destroy deploy-local clean

help:
	@echo "make synth                 synthesize every stack into cdktf.out/ (no AWS account needed)"
	@echo "make test                  run the whole test suite, then make check"
	@echo "make check                 checkov policy scan of every stack, then actionlint + zizmor on the workflows"
	@echo "make bench                 time synth, provider import and tests (stock vs lazy import)"
	@echo "make diff ENV=dev          cdktf diff for one environment (needs AWS credentials)"
	@echo "make deploy-bootstrap      create the state bucket and lock table (once per account)"
	@echo "make deploy ENV=dev        deploy one environment"
	@echo "make destroy ENV=dev       destroy one environment"
	@echo "make deploy-local ENV=dev  apply, re-plan, destroy and redeploy ENV on a local AWS emulator (KEEP=1 leaves it running)"

$(PIPENV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)

$(VENV_STAMP): Pipfile.lock | $(PIPENV)
	$(PIPENV) sync --dev
	rm -f .venv/.synced-*
	touch $@

$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $@

install: $(VENV_STAMP) $(NPM_STAMP)

synth: install
	$(CDKTF) synth --output cdktf.out

test: install
	.venv/bin/python -m pytest
	@$(MAKE) --no-print-directory check

check: install
	.venv/bin/python scripts/policy_scan.py
	.venv/bin/python scripts/lint_workflows.py

bench: install
	.venv/bin/python scripts/bench.py $(BENCH_ARGS)

diff: install
	$(CDKTF) diff $(ENV) $(CDKTF_ARGS)

deploy-bootstrap: install
	$(CDKTF) deploy bootstrap $(CDKTF_ARGS)

deploy: install
	@if grep -qs '000000000000' environments/$(ENV).toml; then \
	  echo "environments/$(ENV).toml still holds an all-zero placeholder (account id / certificate ARN): replace it before deploying" >&2; exit 1; fi
	$(CDKTF) deploy $(ENV) $(CDKTF_ARGS)

destroy: install
	$(CDKTF) destroy $(ENV) $(CDKTF_ARGS)

# No AWS account: a patched moto server on 127.0.0.1, the real terraform and aws provider.
deploy-local: install
	.venv/bin/python -m tools.deploy_local --env $(ENV) $(if $(filter 1 true yes,$(KEEP)),--keep,)

clean:
	rm -rf cdktf.out .pytest_cache
