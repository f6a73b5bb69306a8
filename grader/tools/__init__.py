"""The registry of tool adapters: the one place that lists them, in report order."""

from __future__ import annotations

from grader.core.models import MetricSpec
from grader.tools.bandit import Bandit
from grader.tools.base import Tool
from grader.tools.deps import Deps
from grader.tools.facts import Facts
from grader.tools.mypy import Mypy
from grader.tools.pytest_cov import PytestCoverage
from grader.tools.radon import Radon
from grader.tools.ruff import Ruff

ALL_TOOLS: tuple[Tool, ...] = (Ruff(), Mypy(), PytestCoverage(), Bandit(), Radon(), Facts(), Deps())


def declared_metrics() -> dict[str, MetricSpec]:
    """Every metric any tool declares, by name."""
    return {spec.name: spec for tool in ALL_TOOLS for spec in tool.metrics}
