"""Normalise raw counts by size, so a big submission is not punished for being big.

Counts become rates per thousand source lines (as pylint and Code Climate do) once every
tool has finished, because the size comes from one tool and the counts from others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.core.models import Metric, MetricSpec, ToolResult


@dataclass(frozen=True)
class Derived:
    """A metric computed from a numerator metric and a size metric."""

    name: str
    numerator: str
    denominator: str
    unit: str
    description: str
    scale: float = 1000.0


DERIVED = (
    Derived(
        "lint.issues_per_kloc",
        "lint.issues",
        "code.total_sloc",
        "per kloc",
        "Lint violations per 1000 lines.",
    ),
    Derived(
        "lint.serious_per_kloc",
        "lint.serious_issues",
        "code.total_sloc",
        "per kloc",
        "Likely bugs per 1000 lines.",
    ),
    Derived(
        "types.errors_per_kloc",
        "types.errors",
        "code.total_sloc",
        "per kloc",
        "Type errors per 1000 lines.",
    ),
    Derived(
        "security.weighted_per_kloc",
        "security.weighted",
        "code.sloc",
        "per kloc",
        "Severity-weighted security findings per 1000 lines.",
    ),
    Derived(
        "observability.prints_per_kloc",
        "observability.prints",
        "code.sloc",
        "per kloc",
        "print() calls per 1000 lines of code.",
    ),
    Derived(
        "suppressions.per_kloc",
        "suppressions.count",
        "code.total_sloc",
        "per kloc",
        "Suppression comments per 1000 lines.",
    ),
    Derived(
        "tests.sloc_ratio",
        "code.test_sloc",
        "code.sloc",
        "ratio",
        "Lines of test code per line of code.",
        1.0,
    ),
)


def derived_specs() -> dict[str, MetricSpec]:
    """Specs of the derived metrics, for rubric validation."""
    return {d.name: MetricSpec(d.name, d.unit, d.description) for d in DERIVED}


def _compute(d: Derived, values: dict[str, Metric]) -> Metric:
    top, size = values.get(d.numerator), values.get(d.denominator)
    if top is None or top.value is None:
        return Metric(
            d.name, None, d.unit, "derived", top.reason if top else f"{d.numerator} missing"
        )
    if size is None or size.value is None:
        return Metric(
            d.name, None, d.unit, "derived", size.reason if size else f"{d.denominator} missing"
        )
    if size.value == 0:
        return Metric(d.name, None, d.unit, "derived", "no lines of code to normalise by")
    return Metric(d.name, round(top.value * d.scale / size.value, 3), d.unit, "derived")


def all_metrics(results: Iterable[ToolResult]) -> dict[str, Metric]:
    """Every metric from every tool, plus the derived rates."""
    return derive({m.name: m for result in results for m in result.metrics})


COVERAGE_METRICS = ("coverage.line", "coverage.branch")
NO_PASSING_TEST = "no test passed, so the lines the suite ran are not credited as tested"


def _credited_coverage(values: dict[str, Metric]) -> dict[str, Metric]:
    """Coverage counts only from a suite with a passing test.

    A suite whose every test fails or errors still runs the imports and module bodies it
    touches (a third of a small project, often): those lines were executed, not tested.
    """
    passed = values.get("tests.pass_rate")
    if passed is None or passed.value is None or passed.value > 0:
        return values
    credited = dict(values)
    for name in COVERAGE_METRICS:
        metric = values.get(name)
        if metric is not None and metric.value:
            reason = f"{NO_PASSING_TEST} ({metric.value:g}% ran)"
            credited[name] = Metric(name, 0.0, metric.unit, metric.source, reason)
    return credited


def derive(values: dict[str, Metric]) -> dict[str, Metric]:
    """``values`` with the derived rates (re)computed from them, and coverage credited
    only when a test passed."""
    values = _credited_coverage(values)
    for d in DERIVED:
        values[d.name] = _compute(d, values)
    return values
