# grader's developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REPORT := grader-report
SETUP_LOG := .venv-setup.log

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

system-deps: ## install system packages grader needs (bubblewrap, PostgreSQL, Redis, python venv) when missing
	@./scripts/system-deps.sh

browser-deps: ## install Chromium for the browser tests and screenshots when missing
	@./scripts/system-deps.sh --browser

# pip and venv chatter goes to a log, shown only when setup fails: a first `make run` prints
# grader's own lines and nothing else.
$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@echo "setup: installing grader and its pinned tools into $(VENV) (log: $(SETUP_LOG))"
	@{ $(PYTHON) -m venv $(VENV) \
		&& $(PY) -m pip install --upgrade pip \
		&& $(PY) -m pip install -e '.[dev]'; } >$(SETUP_LOG) 2>&1 \
		|| { cat $(SETUP_LOG); echo "setup: failed (log: $(SETUP_LOG))" >&2; exit 1; }
	@touch $(STAMP)

setup: $(STAMP) ## create .venv with grader and its pinned tools

run: setup ## grade the bundled exemplary submission; prints the report's path
	@$(PY) -m grader grade sample_submissions/exemplary --out $(REPORT)

test: setup browser-deps ## run the whole test suite (slow integration and browser tests included)
	$(PY) -m pytest

test-fast: setup ## run the tests that do not grade whole submissions
	$(PY) -m pytest -m "not slow"

test-unprivileged: setup ## run the fast tests as a normal user (as root: as user grader-test; see the script)
	@PY=$(PY) ./scripts/test-unprivileged.sh

lint: setup ## mypy --strict and ruff on grader/ and scripts/, ruff on tests/
	$(PY) -m mypy
	$(PY) -m ruff check grader tests scripts
	$(PY) -m ruff format --check grader tests scripts

screenshots: setup browser-deps ## write screenshots of the sample reports and of preview to docs/screenshots
	@for s in exemplary poor; do $(PY) -m grader grade sample_submissions/$$s --out $(REPORT)-shots/$$s >/dev/null; done
	$(PY) scripts/screenshots.py docs/screenshots $(REPORT)-shots/exemplary/report.html $(REPORT)-shots/poor/report.html
	$(PY) scripts/terminal_screenshot.py docs/screenshots

readme-examples: setup ## regenerate the example output in README.md from real runs (grades the average sample)
	$(PY) scripts/readme_examples.py

bench: setup ## grades against the tools by hand and prospector, caches, start-up, environment builds and batch throughput
	env -u PYTHONDONTWRITEBYTECODE $(PY) scripts/bench_grade.py --repeats 3
	$(PY) scripts/bench.py 3
	$(PY) scripts/bench_batch.py

# grader's own suite takes minutes: mutation testing, which reruns it per mutant, is off.
self-grade: setup ## grade grader itself with the default rubric (mutation testing off)
	$(PY) -m grader grade . --out $(REPORT)-self --test-timeout 900 --mutants 0 \
		--exclude sample_submissions --exclude tests/hostile --exclude tests/fixtures

corpus: setup ## grade the development corpus (corpus/repos.toml; needs network or GRADER_CORPUS_MIRRORS)
	$(PY) scripts/corpus.py --work grader-corpus --out grader-corpus/table.md
	@echo "table: grader-corpus/table.md (reports in grader-corpus/reports/)"

clean: ## remove the virtual environment and reports
	rm -rf $(VENV) $(SETUP_LOG) $(REPORT) $(REPORT)-self *.egg-info grader-bench

.PHONY: help system-deps browser-deps setup run test test-fast test-unprivileged lint screenshots readme-examples bench self-grade corpus clean
