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
# Checks the configuration, the stack name and the backend placeholders in well under a second,
# before the cdktf CLI synthesizes for seconds (and prints a config error twice, with timestamps).
PREFLIGHT := .venv/bin/python main.py --preflight
# cdktf draws a spinner; without a terminal (CI logs, `make synth > log`) each frame would be a
# line. CI=1 is the CLI's switch for plain output.
PLAIN_WITHOUT_TTY := if [ ! -t 1 ]; then export CI=1; fi;

.PHONY: help install synth hcl cost test check bench diff deploy-bootstrap deploy destroy deploy-local clean contract-test

help:
	@echo "make synth                 synthesize every stack into cdktf.out/ (no AWS account needed)"
	@echo "make hcl                   every stack as plain Terraform in hcl/<stack>/ (the exit from cdktf)"
	@echo "make cost                  estimated monthly cost per environment (tools/cost/prices.toml)"
	@echo "make test                  run the whole test suite, then make check"
	@echo "make check                 checkov policy scan of every stack, then actionlint + zizmor on the workflows"
	@echo "make bench                 time synth, provider import and tests (stock vs lazy import)"
	@echo "make diff ENV=dev          cdktf diff for one environment (needs AWS credentials)"
	@echo "make deploy-bootstrap      create the state bucket and lock table (once per account)"
	@echo "make deploy ENV=dev        deploy one environment"
	@echo "make destroy ENV=dev       destroy one environment"
	@echo "make contract-test         the real LiteLLM proxy on the synthesized dev and prod task definitions"
	@echo "make deploy-local ENV=dev  apply, re-plan, destroy and redeploy ENV on a local AWS emulator (KEEP=1 leaves it running)"

$(PIPENV): requirements-pipenv.txt
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: -r requirements-pipenv.txt

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
	@$(PREFLIGHT) synth
	@echo "$(CDKTF) synth --output cdktf.out"; $(PLAIN_WITHOUT_TTY) $(CDKTF) synth --output cdktf.out

hcl: install
	@$(PREFLIGHT) synth
	.venv/bin/python tools/hcl_export.py

cost: install
	@$(PREFLIGHT) synth
	.venv/bin/python tools/cost/estimate.py

test: install
	.venv/bin/python -m pytest
	@$(MAKE) --no-print-directory check

check: install
	.venv/bin/python tools/policy_scan.py
	.venv/bin/python tools/lint_workflows.py

bench: install
	.venv/bin/python tools/bench.py $(BENCH_ARGS)

# One environment's diff/deploy/destroy synthesizes only its own stack (LITELLM_STACKS, read by
# main.py), so it costs the same with 2 or 20 environment files; `make synth` builds them all.
diff: install
	@$(PREFLIGHT) diff $(ENV)
	@echo "LITELLM_STACKS=$(ENV) $(CDKTF) diff $(ENV) $(CDKTF_ARGS)"; $(PLAIN_WITHOUT_TTY) LITELLM_STACKS=$(ENV) $(CDKTF) diff $(ENV) $(CDKTF_ARGS)

deploy-bootstrap: install
	@$(PREFLIGHT) deploy bootstrap
	LITELLM_STACKS=bootstrap $(CDKTF) deploy bootstrap $(CDKTF_ARGS)

deploy: install
	@$(PREFLIGHT) deploy $(ENV)
	LITELLM_STACKS=$(ENV) $(CDKTF) deploy $(ENV) $(CDKTF_ARGS)

destroy: install
	@$(PREFLIGHT) destroy $(ENV)
	LITELLM_STACKS=$(ENV) $(CDKTF) destroy $(ENV) $(CDKTF_ARGS)

# No AWS account: a patched moto server on 127.0.0.1, the real terraform and aws provider.
deploy-local: install
	.venv/bin/python -m pytest -q -p no:cacheprovider -m emulator tests/test_moto_patches.py
	.venv/bin/python -m tools.deploy_local --env $(ENV) $(if $(filter 1 true yes,$(KEEP)),--keep,)

clean:
	rm -rf cdktf.out .pytest_cache

# The real LiteLLM proxy (hash-pinned, its own .contract-venv/) with local TLS Redis, S3 and
# upstream stand-ins; see integration/contract/. Not part of `make test`: it takes minutes.
contract-test: install
	.venv/bin/python -m pytest integration/contract -s -p no:cacheprovider
