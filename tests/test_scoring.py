"""Scoring is pure: table-driven tests with hand-built metrics and findings, no I/O."""

from __future__ import annotations

import pytest

from grader.core.models import Finding, Location, Metric, Severity
from grader.pipeline import load_rubric
from grader.scoring import normalize
from grader.scoring.rubric import Cap, Criterion, Curve, MetricRule
from grader.scoring.score import matches, score_all, score_criterion

DECREASING = Curve(((5.0, 100.0), (20.0, 70.0), (60.0, 0.0)))
INCREASING = Curve(((0.0, 0.0), (50.0, 45.0), (90.0, 100.0)))


@pytest.mark.parametrize(
    ("curve", "value", "expected"),
    [
        (DECREASING, 0, 100),
        (DECREASING, 5, 100),
        (DECREASING, 12.5, 85),
        (DECREASING, 20, 70),
        (DECREASING, 40, 35),
        (DECREASING, 1000, 0),
        (INCREASING, -1, 0),
        (INCREASING, 25, 22.5),
        (INCREASING, 70, 72.5),
        (INCREASING, 95, 100),
    ],
)
def test_curve_is_piecewise_linear_and_flat_beyond_its_ends(
    curve: Curve, value: float, expected: float
) -> None:
    assert curve(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("curve", "direction", "threshold"),
    [(DECREASING, "<=", 5.0), (INCREASING, ">=", 90.0)],
)
def test_full_marks_threshold(curve: Curve, direction: str, threshold: float) -> None:
    assert curve.full_marks_at == (direction, threshold)


def _criterion(
    *rules: MetricRule, caps: tuple[Cap, ...] = (), findings: tuple[str, ...] = ()
) -> Criterion:
    return Criterion("c", "Criterion", 10, "why", rules, caps, findings)


def _metric(name: str, value: float | None, reason: str = "") -> Metric:
    return Metric(name, value, "u", "test", reason)


LINT = MetricRule("lint", 3, DECREASING, "r")
COVER = MetricRule("cover", 1, INCREASING, "r")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"lint": 0, "cover": 95}, 100.0),
        ({"lint": 20, "cover": 95}, 77.5),  # (70*3 + 100*1) / 4
        ({"lint": 60, "cover": 0}, 0.0),
        ({"lint": 5, "cover": None}, 100.0),  # unmeasured metric left out
        ({"lint": None, "cover": 50}, 45.0),
    ],
)
def test_criterion_is_weighted_mean_of_measured_metrics(
    values: dict[str, float | None], expected: float
) -> None:
    metrics = {k: _metric(k, v) for k, v in values.items()}
    assert score_criterion(_criterion(LINT, COVER), metrics, []).score == expected


LEFTOVERS = MetricRule("left", 1, Curve(((0, 100), (1, 50), (3, 0))), "r", deduction=True)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"lint": 20, "cover": 95, "left": 0}, 77.5),  # at full marks: no dilution
        ({"lint": 20, "cover": 95, "left": 1}, 67.5),  # 77.5 - 50 * 1 / 5
        ({"lint": 20, "cover": 95, "left": 3}, 57.5),  # 77.5 - 100 * 1 / 5
        ({"lint": 20, "cover": 95, "left": None}, 77.5),  # not measured: nothing taken
        ({"lint": 60, "cover": 0, "left": 3}, 0.0),  # never below zero
        ({"lint": None, "cover": None, "left": 1}, None),  # a deduction alone measures nothing
    ],
)
def test_a_deduction_only_subtracts(
    values: dict[str, float | None], expected: float | None
) -> None:
    metrics = {k: _metric(k, v) for k, v in values.items()}
    criterion = _criterion(LINT, COVER, LEFTOVERS)
    assert score_criterion(criterion, metrics, []).score == expected


@pytest.mark.parametrize("left", [0, 1, 2, 3, 5])
def test_a_deduction_never_scores_above_the_mean_it_would_have_joined(left: int) -> None:
    """A deduction never raises a score: it scores at most the mean of the other
    metrics, and at most what the same metric scores as a member of the mean."""
    metrics = {
        "lint": _metric("lint", 20),
        "cover": _metric("cover", 95),
        "left": _metric("left", left),
    }
    deducted = score_criterion(_criterion(LINT, COVER, LEFTOVERS), metrics, []).score
    averaged = score_criterion(
        _criterion(LINT, COVER, MetricRule("left", 1, LEFTOVERS.curve, "r")), metrics, []
    ).score
    assert deducted is not None and averaged is not None
    assert deducted <= 77.5
    assert deducted <= averaged or left == 0


def test_a_deductions_cost_is_named_like_any_other() -> None:
    metrics = {k: _metric(k, v) for k, v in {"lint": 20, "cover": 95, "left": 1}.items()}
    reason = score_criterion(_criterion(LINT, COVER, LEFTOVERS), metrics, []).reason
    assert "left cost 10 points (1 u: 50/100, full marks need <= 0)" in reason
    assert "lint cost 22.5 points" in reason


def test_criterion_without_any_measured_metric_is_not_measured_with_reasons() -> None:
    metrics = {
        "lint": _metric("lint", None, "ruff crashed"),
        "cover": _metric("cover", None, "no deps"),
    }
    result = score_criterion(_criterion(LINT, COVER), metrics, [])
    assert result.score is None
    assert "ruff crashed" in result.reason and "no deps" in result.reason


def test_reason_names_metric_value_and_threshold_that_cost_points() -> None:
    result = score_criterion(
        _criterion(LINT, COVER), {"lint": _metric("lint", 20), "cover": _metric("cover", 95)}, []
    )
    assert result.reason.startswith("lint cost 22.5 points")
    assert "20 u" in result.reason and "<= 5" in result.reason


@pytest.mark.parametrize(("worst", "capped"), [(0, False), (1, True)])
def test_cap_applies_only_above_its_threshold_and_is_explained(worst: int, capped: bool) -> None:
    cap = Cap("worst", 0, 40, "a high-severity finding")
    metrics = {"lint": _metric("lint", 0), "worst": _metric("worst", worst)}
    result = score_criterion(_criterion(LINT, caps=(cap,)), metrics, [])
    assert result.score == (40 if capped else 100)
    assert bool(result.caps_applied) is capped
    assert ("capped at 40" in result.reason) is capped


def _finding(tool: str, rule: str, severity: Severity = Severity.LOW, line: int = 1) -> Finding:
    return Finding(tool, rule, "m", severity, Location("a.py", line))


@pytest.mark.parametrize(
    ("selector", "finding", "expected"),
    [
        ("ruff", _finding("ruff", "E501"), True),
        ("ruff", _finding("bandit", "B101"), False),
        ("facts:print", _finding("facts", "print-call"), True),
        ("facts:print", _finding("facts", "suppression-noqa"), False),
    ],
)
def test_finding_selectors(selector: str, finding: Finding, expected: bool) -> None:
    assert matches(selector, finding) is expected


def test_findings_are_attached_worst_first() -> None:
    findings = [
        _finding("ruff", "E1", Severity.LOW, 3),
        _finding("ruff", "F1", Severity.HIGH, 9),
        _finding("mypy", "x"),
    ]
    result = score_criterion(
        _criterion(LINT, findings=("ruff",)), {"lint": _metric("lint", 0)}, findings
    )
    assert [f.rule_id for f in result.findings] == ["F1", "E1"]


def test_a_required_metric_that_is_not_measured_makes_the_criterion_not_measured() -> None:
    required = MetricRule("cover", 1, INCREASING, "r", required=True)
    metrics = {"lint": _metric("lint", 0), "cover": _metric("cover", None, "no wheel for x")}
    result = score_criterion(_criterion(LINT, required), metrics, [])
    assert result.score is None
    assert result.reason == "not measured: no wheel for x (cover)"


def _metrics(pass_rate: float | None, line: float | None) -> dict[str, Metric]:
    return {
        "tests.pass_rate": Metric("tests.pass_rate", pass_rate, "%", "pytest"),
        "coverage.line": Metric("coverage.line", line, "%", "pytest"),
        "coverage.branch": Metric("coverage.branch", line, "%", "pytest"),
    }


@pytest.mark.parametrize(
    ("pass_rate", "line", "credited"),
    [
        (0.0, 44.0, 0.0),  # every test errored: the imports ran, nothing was tested
        (0.0, 0.0, 0.0),
        (5.0, 44.0, 44.0),  # one test passed: what the suite ran counts
        (100.0, 90.0, 90.0),
        (None, None, None),  # not measured stays not measured
        (None, 30.0, 30.0),  # no pass rate to judge by: coverage is left as measured
    ],
)
def test_coverage_is_credited_only_from_a_suite_with_a_passing_test(
    pass_rate: float | None, line: float | None, credited: float | None
) -> None:
    derived = normalize.derive(_metrics(pass_rate, line))
    assert derived["coverage.line"].value == credited
    assert derived["coverage.branch"].value == credited
    if line and credited == 0.0:
        assert "no test passed" in derived["coverage.line"].reason


@pytest.mark.parametrize("rubric_name", ["default", "data-science"])
@pytest.mark.parametrize(
    ("criterion", "kept", "missing"),
    [
        ("type_safety", "types.annotation_coverage", "types.errors_per_kloc"),  # mypy crashed
        ("security", "security.hardcoded_secrets", "security.weighted_per_kloc"),  # bandit
        ("maintainability", "maintainability.mi_mean", "lint.issues_per_kloc"),  # ruff
    ],
)
def test_a_criterion_whose_tool_failed_is_not_measured_never_full_marks(
    rubric_name: str, criterion: str, kept: str, missing: str
) -> None:
    rubric = load_rubric(rubric_name)
    metrics = {
        kept: Metric(kept, 100.0 if "coverage" in kept or "mi" in kept else 0.0, "", "t"),
        missing: Metric(missing, None, "", "t", "the tool crashed"),
    }
    criteria, *_ = score_all(rubric, metrics, [])
    scored = {c.id: c for c in criteria}[criterion]
    assert scored.score is None
    assert "the tool crashed" in scored.reason
