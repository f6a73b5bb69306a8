"""report.json: the documented, versioned machine-readable report.

SCHEMA_VERSION history:
  1.0  first version: submission, rubric, score, grade, criteria, tools, files, tests.
  1.1  ``assignment`` (hidden tests as the audience may see them, starter authorship,
       history, discussion points, calibration); absent when graded without one.
  1.2  a tool's status may be ``nothing_tested`` (a test run that collected no test or
       skipped every one); ``applicability``: the kind of submission graded (service,
       pipeline, cli, library), why, and the criteria and metrics left out for it.
  1.3  ``band``: the decision the grade stands for (advance, discuss, reject), its
       letter's range of scores and how the rubric's floors were set; a finding's
       optional ``cell``: the notebook cell it points at.
The JSON Schema lives in grader/schema/report.schema.json and tests validate against it.
"""

from __future__ import annotations

import json
from typing import Any

from grader.core.models import (
    AssignmentReport,
    Commit,
    CriterionScore,
    Finding,
    HiddenTestRun,
    Report,
    ToolResult,
)

SCHEMA_VERSION = "1.3"
FINDINGS_PER_CRITERION = 50
"""report.json lists a criterion's worst findings only; report.sarif carries them all."""


def _finding(f: Finding, criterion: str) -> dict[str, Any]:
    cell = {} if f.location.cell is None else {"cell": f.location.cell}  # notebooks only
    return {
        "tool": f.tool,
        "rule": f.rule_id,
        "severity": f.severity.value,
        "confidence": f.confidence.value if f.confidence else None,
        "path": f.location.path,
        "line": f.location.line,
        **cell,
        "message": f.message,
        "criterion": criterion,
        "help_url": f.help_url,
    }


def _criterion(c: CriterionScore) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "weight": c.weight,
        "score": c.score,
        "reason": c.reason,
        "rationale": c.rationale,
        "caps_applied": list(c.caps_applied),
        "metrics": [
            {
                "name": m.name,
                "value": m.value,
                "unit": m.unit,
                "source": m.source,
                "points": m.points,
                "weight": m.weight,
                "threshold": m.threshold,
                "explanation": m.explanation,
            }
            for m in c.metrics
        ],
        "findings": [_finding(f, c.id) for f in c.findings[:FINDINGS_PER_CRITERION]],
    }


def _tool(t: ToolResult) -> dict[str, Any]:
    tests = None
    if t.tests is not None:
        tests = {
            "passed": t.tests.passed,
            "failed": t.tests.failed,
            "errors": t.tests.errors,
            "skipped": t.tests.skipped,
            "slowest": [{"name": n, "duration_s": round(d, 3)} for n, d in t.tests.slowest],
            "failures": [{"name": n, "message": m} for n, m in t.tests.failures],
        }
    return {
        "name": t.tool,
        "version": t.version,
        "status": t.status.value,
        "reason": t.reason,
        "duration_s": round(t.duration_s, 3),
        "exit_code": t.exit_code,
        "findings": len(t.findings),
        "metrics": {m.name: m.value for m in t.metrics},
        "notes": list(t.notes),
        "tests": tests,
    }


def _hidden(run: HiddenTestRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "passed": run.passed,
        "total": run.total,
        "counted": {"passed": run.counted_passed, "total": run.counted_total},
        "problem": run.problem,
        "tests": [
            {
                "name": c.name,
                "outcome": c.outcome,
                "visibility": c.visibility.value,
                "message": c.message,
                "path": c.location.path,
                "line": c.location.line,
                **({"traceback": c.traceback} if c.traceback else {}),
            }
            for c in run.cases
        ],
    }


def _commit(c: Commit) -> dict[str, Any]:
    return {"sha": c.sha, "date": c.date, "subject": c.subject, "lines": c.lines}


def assignment_dict(a: AssignmentReport) -> dict[str, Any]:
    """The assignment section as plain data (report.json and report.sarif's properties)."""
    authorship = a.authorship
    history = a.history
    calibration = a.calibration
    return {
        "name": a.name,
        "audience": a.audience.value,
        "no_work": a.no_work,
        "hidden_tests": _hidden(a.hidden_tests),
        "authorship": None
        if authorship is None
        else {
            "base": authorship.base,
            "files_added": authorship.files_added,
            "files_changed": authorship.files_changed,
            "files_deleted": authorship.files_deleted,
            "lines_added": authorship.lines_added,
            "lines_changed": authorship.lines_changed,
            "lines_deleted": authorship.lines_deleted,
            "candidate_sloc": authorship.candidate_sloc,
            "starter_findings": [_finding(f, "") for f in authorship.starter_findings],
        },
        "history": None
        if history is None
        else {
            "deadline": history.deadline,
            "commits": [_commit(c) for c in history.commits],
            "after_deadline": [_commit(c) for c in history.after_deadline],
            "flags": list(history.flags),
            "message_problems": list(history.message_problems),
            "tests_with_code": history.tests_with_code,
        },
        "discussion": [
            {
                "question": d.question,
                "topic": d.topic,
                "path": d.location.path,
                "line": d.location.line,
                "cost": round(d.cost, 2),
            }
            for d in a.discussion
        ],
        "calibration": None
        if calibration is None
        else {
            "floor": calibration.floor,
            "ceiling": calibration.ceiling,
            "ceiling_grade": calibration.ceiling_grade,
            "position": calibration.position,
            "warning": calibration.warning,
        },
    }


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    extra: dict[str, Any] = (
        {"assignment": assignment_dict(report.assignment)} if report.assignment else {}
    )
    if report.applicability is not None:
        applicability = report.applicability
        extra["applicability"] = {
            "kind": applicability.kind.value,
            "evidence": list(applicability.evidence),
            "from_assignment": applicability.from_assignment,
            "not_applicable": list(applicability.not_applicable),
        }
    if report.band is not None:
        extra["band"] = {
            "decision": report.band.decision.value,
            "floor": report.band.floor,
            "ceiling": report.band.ceiling,
            "basis": report.band.basis,
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "grader_version": report.grader_version,
        "generated_at": report.generated_at,
        "submission": {
            "source": report.submission.source,
            "commit": report.submission.commit,
            "commit_date": report.submission.commit_date,
            "ref": report.submission.ref,
            "candidate_configs": list(report.submission.candidate_configs),
            "warnings": list(report.submission.warnings),
            "tests_isolated": report.tests_isolated,
        },
        "rubric": {
            "name": report.rubric.name,
            "title": report.rubric.title,
            "audience": report.rubric.audience,
            "sha256": report.rubric.sha256,
        },
        "score": report.score,
        "grade": report.grade,
        "score_reason": report.score_reason,
        "criteria": [_criterion(c) for c in report.criteria],
        "tools": [_tool(t) for t in report.tools],
        "files": [
            {
                "path": f.path,
                "sloc": f.sloc,
                "max_complexity": f.max_complexity,
                "maintainability": None
                if f.maintainability is None
                else round(f.maintainability, 2),
                "line_coverage": f.line_coverage,
            }
            for f in report.per_file
        ],
        **extra,
    }


def render(report: Report) -> str:
    """Serialise the report; keys keep their documented order."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
