"""Stage 3, analyse: one adapter per tool, and the registry that lists them in report order.

Each adapter runs one real tool (ruff, mypy, pytest with coverage, bandit, radon) or
reads one kind of fact from the repository (notebooks: what a notebook's stored state
says about reproducibility), and turns its machine-readable output into findings and
metrics; base holds the contract they satisfy and what they share. Beside an adapter sit
the readers only it uses: pytest_run, junit_results, coverage_data, coverage_halves (with
its probe), run_outcomes, stale_rerun, scratch_dotenv, mutation, mutants and
test_selection (pytest_cov's);
code_facts, assertions, readme and repository_files (facts'); suspicious (credential and
tampering rules), mypy_cache, newer_syntax and ruff_parsed (what ruff's parser reads for
the tools that cannot parse newer syntax); import_graph (with its probe), module_state,
layer_leaks and duplication (design's); sql_strings (bandit's); notebook_runner
(notebook_run's script, run inside the sandbox).

May import: grader.core, grader.acquire, grader.sandbox, grader.environment.
"""

from __future__ import annotations

from grader.core.models import MetricSpec
from grader.tools.bandit import Bandit
from grader.tools.base import Tool
from grader.tools.deps import Deps
from grader.tools.design import Design
from grader.tools.facts import Facts
from grader.tools.mypy import Mypy
from grader.tools.notebook_run import NotebookRun
from grader.tools.notebooks import Notebooks
from grader.tools.pytest_cov import PytestCoverage
from grader.tools.radon import Radon
from grader.tools.ruff import Ruff

ALL_TOOLS: tuple[Tool, ...] = (
    *(Ruff(), Mypy(), PytestCoverage(), Bandit(), Radon(), Facts(), Deps(), Design()),
    *(Notebooks(), NotebookRun()),
)


def declared_metrics() -> dict[str, MetricSpec]:
    """Every metric any tool declares, by name."""
    return {spec.name: spec for tool in ALL_TOOLS for spec in tool.metrics}
