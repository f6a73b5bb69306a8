"""Reports for two audiences: the reviewer sees everything; the candidate sees what the
hiring team allows of its hidden tests, and no interview points.

The candidate's view is a new ``Report`` built here, before any renderer sees it, so no
output format can leak what the view left out.
"""

from __future__ import annotations

import dataclasses

from grader.assignment.hidden_tests import NAME, failure_finding
from grader.core.models import (
    AssignmentReport,
    Audience,
    CriterionScore,
    HiddenTestCase,
    HiddenTestRun,
    MetricScore,
    Report,
    ToolResult,
    Visibility,
)

UNRUN = "the reference tests could not run"


def _visible(case: HiddenTestCase) -> HiddenTestCase:
    return dataclasses.replace(case, traceback="")


def candidate_tests(run: HiddenTestRun) -> HiddenTestRun:
    """Visible tests with their name and message, count-only tests as one number, hidden
    tests not at all."""
    counted = [c for c in run.cases if c.visibility is Visibility.COUNT]
    return HiddenTestRun(
        cases=tuple(_visible(c) for c in run.cases if c.visibility is Visibility.VISIBLE),
        counted_passed=sum(1 for c in counted if c.outcome == "passed"),
        counted_total=len(counted),
        problem=UNRUN if run.problem else "",
    )


class _Redactor:
    """Replaces what the hidden run said (which may name hidden tests) with a plain line."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def text(self, value: str) -> str:
        return value.replace(self.problem, UNRUN) if self.problem else value

    def metric(self, m: MetricScore) -> MetricScore:
        return dataclasses.replace(m, explanation=self.text(m.explanation))

    def criterion(self, c: CriterionScore, run: HiddenTestRun) -> CriterionScore:
        if c.id != "correctness" and not any(f.tool == NAME for f in c.findings):
            return c
        visible = tuple(f for case in run.cases if (f := failure_finding(case)))
        others = tuple(f for f in c.findings if f.tool != NAME)
        return dataclasses.replace(
            c,
            reason=self.text(c.reason),
            metrics=tuple(self.metric(m) for m in c.metrics),
            findings=others + visible,
        )

    def tool(self, t: ToolResult) -> ToolResult:
        if t.tool != NAME:
            return t
        return ToolResult(
            tool=t.tool, version=t.version, status=t.status, reason=self.text(t.reason)
        )


def for_candidate(report: Report) -> Report:
    """The report as the candidate may read it."""
    assignment = report.assignment or AssignmentReport(name="assignment")
    hidden = assignment.hidden_tests
    shown = candidate_tests(hidden) if hidden else None
    redact = _Redactor(hidden.problem if hidden else "")
    empty = HiddenTestRun(())
    submission = dataclasses.replace(
        report.submission, warnings=tuple(redact.text(w) for w in report.submission.warnings)
    )
    return dataclasses.replace(
        report,
        submission=submission,
        criteria=tuple(redact.criterion(c, shown or empty) for c in report.criteria),
        tools=tuple(redact.tool(t) for t in report.tools),
        assignment=dataclasses.replace(
            assignment, audience=Audience.CANDIDATE, hidden_tests=shown, discussion=()
        ),
    )


def view(report: Report, audience: Audience) -> Report:
    """The report for ``audience``."""
    return for_candidate(report) if audience is Audience.CANDIDATE else report
