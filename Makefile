# grader's developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REPORT := grader-report

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

system-deps: ## install system packages grader needs (bubblewrap, python venv) when missing
	@./scripts/system-deps.sh

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv with grader and its pinned tools

run: setup ## grade the bundled exemplary submission; prints the report's path
	$(PY) -m grader grade sample_submissions/exemplary --out $(REPORT)

test: setup ## run the whole test suite (slow integration tests included)
	$(PY) -m pytest

test-fast: setup ## run the tests that do not grade whole submissions
	$(PY) -m pytest -m "not slow"

lint: setup ## mypy --strict and ruff on grader/
	$(PY) -m mypy
	$(PY) -m ruff check grader tests
	$(PY) -m ruff format --check grader tests

self-grade: setup ## grade grader itself with the default rubric
	$(PY) -m grader grade . --out $(REPORT)-self --test-timeout 900 \
		--exclude sample_submissions --exclude tests/hostile

clean: ## remove the virtual environment and reports
	rm -rf $(VENV) $(REPORT) $(REPORT)-self *.egg-info

.PHONY: help system-deps setup run test test-fast lint self-grade clean
