"""report.json: the documented, versioned machine-readable report.

SCHEMA_VERSION history:
  1.0  first version: submission, rubric, score, grade, criteria, tools, files, tests.
The JSON Schema lives in grader/schema/report.schema.json and tests validate against it.
"""

from __future__ import annotations

import json
from typing import Any

from grader.models import CriterionScore, Finding, Report, ToolResult

SCHEMA_VERSION = "1.0"
FINDINGS_PER_CRITERION = 50
"""report.json lists a criterion's worst findings only; report.sarif carries them all."""


def _finding(f: Finding, criterion: str) -> dict[str, Any]:
    return {
        "tool": f.tool,
        "rule": f.rule_id,
        "severity": f.severity.value,
        "confidence": f.confidence.value if f.confidence else None,
        "path": f.location.path,
        "line": f.location.line,
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


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
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
    }


def render(report: Report) -> str:
    """Serialise the report; keys keep their documented order."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
