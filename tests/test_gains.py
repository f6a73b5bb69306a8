"""What would gain the most is pure: hand-built rubrics, metrics and findings, no I/O.

Expected gains are worked out by hand from the rubric: criterion weight share x metric
weight share x points missing, then limited by caps.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from grader.core.models import (
    FileStats,
    Finding,
    Location,
    Metric,
    Report,
    RubricInfo,
    Severity,
    Submission,
    ToolResult,
    ToolStatus,
)
from grader.scoring import score as scoring
from grader.scoring.gains import Gain, gains
from grader.scoring.rubric import Cap, Criterion, Curve, MetricRule, Rubric

UP = Curve(((0.0, 0.0), (100.0, 100.0)))
LINT_DOWN = Curve(((0.0, 100.0), (40.0, 0.0)))


def rubric(*criteria: Criterion) -> Rubric:
    return Rubric(RubricInfo("test", "Test", "tests", "0"), "d", criteria, (("A", 90), ("F", 0)))


def criterion(cid: str, weight: float, *rules: MetricRule, caps: tuple[Cap, ...] = ()) -> Criterion:
    return Criterion(cid, cid.title(), weight, "why", rules, caps, ())


def rule(metric: str, curve: Curve = UP, weight: float = 1) -> MetricRule:
    return MetricRule(metric, weight, curve, "why")


def ruff(path: str, line: int) -> Finding:
    return Finding("ruff", "F401", "unused import", Severity.MEDIUM, Location(path, line))


def report(
    chosen: Rubric,
    values: dict[str, float | None],
    findings: Sequence[Finding] = (),
    per_file: tuple[FileStats, ...] = (),
) -> Report:
    metrics = {name: Metric(name, value, "u", "test") for name, value in values.items()}
    criteria, score, letter, reason = scoring.score_all(chosen, metrics, findings)
    tool = ToolResult(
        "test", "1", ToolStatus.OK, tuple(findings), tuple(metrics.values()), per_file=per_file
    )
    return Report(
        grader_version="0",
        submission=Submission("s", None, None, "s"),
        rubric=chosen.info,
        score=score,
        grade=letter,
        score_reason=reason,
        criteria=criteria,
        tools=(tool,),
        generated_at="now",
        tests_isolated=True,
        per_file=per_file,
    )


def points(found: Sequence[Gain]) -> list[tuple[str, float]]:
    return [(g.action, g.points) for g in found]


DOCS_AND_LINT = rubric(
    criterion("docs", 60, rule("docs.docstring_coverage"), rule("types.annotation_coverage")),
    criterion("lint", 40, rule("lint.issues_per_kloc", LINT_DOWN)),
)


def test_a_metric_gains_its_criterion_share_times_its_weight_share_times_points_missing() -> None:
    # docs scores (40 + 100) / 2 = 70, lint 50: overall 62.
    graded = report(
        DOCS_AND_LINT,
        {
            "docs.docstring_coverage": 40,
            "types.annotation_coverage": 100,
            "lint.issues_per_kloc": 0,
        },
    )
    found = gains(DOCS_AND_LINT, graded)
    docstrings = next(g for g in found if "docstrings" in g.action)
    assert docstrings.points == pytest.approx(0.6 * 0.5 * 60)
    assert docstrings.criterion == "Docs"
    assert "docs.docstring_coverage is 40" in docstrings.detail
    assert not any("annotate" in g.action for g in found)  # already at full marks


def test_findings_rates_are_attributed_to_files_and_ranked() -> None:
    # Four ruff findings make 20 per kloc (50 points): a.py holds three of them.
    findings = [ruff("a.py", 9), ruff("a.py", 3), ruff("a.py", 5), ruff("b.py", 1)]
    graded = report(
        DOCS_AND_LINT,
        {
            "docs.docstring_coverage": 40,
            "types.annotation_coverage": 100,
            "lint.issues_per_kloc": 20,
            "lint.issues": 4,
        },
        findings,
    )
    assert graded.score == 62.0
    found = gains(DOCS_AND_LINT, graded)
    assert points(found) == [
        ("add docstrings to public modules, classes, functions", 18.0),
        # a.py fixed: 5 per kloc, 87.5 points, +37.5 x 0.4
        ("fix 3 ruff findings in a.py", 15.0),
        # b.py fixed: 15 per kloc, 62.5 points, +12.5 x 0.4
        ("fix 1 ruff finding in b.py", 5.0),
    ]
    assert found[1].location == "a.py:3"  # where to start: the first finding in the file
    assert found[1].detail == "F401: unused import"
    assert not any("lint.issues_per_kloc" in g.detail for g in found)  # attributed, not repeated
    assert points(gains(DOCS_AND_LINT, graded, limit=1)) == points(found)[:1]


def test_coverage_is_attributed_to_the_files_that_miss_it() -> None:
    tests_only = rubric(criterion("tests", 100, rule("coverage.line")))
    per_file = (
        FileStats("a.py", line_coverage=0.0, statements=20, missing_lines=tuple(range(4, 24))),
        FileStats("b.py", line_coverage=85.7, statements=70, missing_lines=tuple(range(1, 11))),
        FileStats("c.py", line_coverage=100.0, statements=10, missing_lines=()),
    )
    # 70 of 100 statements run: covering a.py's 20 adds 20 points, b.py's 10 adds 10.
    graded = report(tests_only, {"coverage.line": 70.0}, per_file=per_file)
    found = gains(tests_only, graded)
    assert points(found) == [
        ("add tests for a.py (0% covered)", 20.0),
        ("add tests for b.py (85.7% covered)", 10.0),
    ]
    assert found[0].location == "a.py:4"
    assert found[0].detail == "20 of 20 statements never run by the tests"


def test_a_cap_limits_what_a_metric_can_gain_and_lifting_it_is_a_change_of_its_own() -> None:
    capped = rubric(
        criterion(
            "security",
            100,
            rule("docs.docstring_coverage"),
            caps=(Cap("security.reject_on_sight", 0, 40, "eval on input"),),
        )
    )
    graded = report(capped, {"docs.docstring_coverage": 80, "security.reject_on_sight": 1})
    assert graded.score == 40.0
    found = gains(capped, graded)
    # Docstrings at 100 would still be capped at 40: worth nothing, so not listed.
    assert points(found) == [("remove what caps Security at 40", 40.0)]
    assert "eval on input" in found[0].detail


def test_criteria_not_measured_offer_no_gains() -> None:
    graded = report(
        DOCS_AND_LINT,
        {
            "docs.docstring_coverage": None,
            "types.annotation_coverage": None,
            "lint.issues_per_kloc": 20,
        },
    )
    assert [g.criterion for g in gains(DOCS_AND_LINT, graded)] == ["Lint"]
