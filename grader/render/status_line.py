"""What ``grader grade`` prints on the terminal: the score line and, with an assignment,
the hidden tests as the report's audience may see them."""

from __future__ import annotations

from grader.core.models import Audience, Report

MAX_LISTED = 10


def lines(report: Report) -> list[str]:
    """Lines for stderr, each starting with ``grader:``."""
    assignment = report.assignment
    if assignment and assignment.no_work:
        return ["grader: no work submitted (identical to the starter), grade n/a"]
    score = "not measured" if report.score is None else f"{report.score:.1f}"
    out = [f"grader: {score}/100, grade {report.grade}"]
    if assignment is None:
        return out
    if assignment.authorship:
        a = assignment.authorship
        out.append(
            f"grader: against the starter: {a.lines_added} lines added, {a.lines_changed} "
            f"changed, {a.lines_deleted} deleted"
        )
    run = assignment.hidden_tests
    if run is not None:
        if run.problem:
            out.append(f"grader: reference tests: {run.problem}")
        else:
            out.append(f"grader: reference tests: {run.passed} of {run.total} passed")
        failing = [c for c in run.cases if c.outcome in {"failed", "error"}]
        out += [f"grader:   {c.outcome}: {c.name}: {c.message}" for c in failing[:MAX_LISTED]]
    calibration = assignment.calibration
    if calibration and calibration.position is not None:
        out.append(
            f"grader: {calibration.position:.0f}% of the way from the starter "
            f"({calibration.floor}) to the reference solution ({calibration.ceiling})"
        )
    if assignment.audience is Audience.REVIEWER and assignment.discussion:
        out.append(f"grader: {len(assignment.discussion)} discussion points in the report")
    return out
