"""Parsers of tool output, on outputs recorded from the real tools (tests/fixtures/outputs)."""

from __future__ import annotations

from pathlib import Path

from grader.models import Severity
from grader.tools.mypy import _parse
from grader.tools.pytest_cov import parse_junit

OUTPUTS = Path(__file__).parent / "fixtures" / "outputs"


def test_mypy_json_lines() -> None:
    findings = _parse((OUTPUTS / "mypy.jsonl").read_text(encoding="utf-8"), "")
    assert [(f.rule_id, f.location.path, f.location.line) for f in findings] == [
        ("return-value", "m.py", 2),
        ("attr-defined", "m.py", 5),
    ]
    assert all(f.severity is Severity.MEDIUM for f in findings)


def test_mypy_text_fallback() -> None:
    findings = _parse("", (OUTPUTS / "mypy-text.txt").read_text(encoding="utf-8"))
    assert [(f.location.path, f.location.line, f.message) for f in findings] == [
        ("m.py", 3, "invalid syntax  [syntax]")
    ]


def test_mypy_fatal_duplicate_module_is_recognised() -> None:
    output = (OUTPUTS / "mypy-duplicate.txt").read_text(encoding="utf-8")
    assert "Duplicate module named" in output  # what Mypy.run looks for to retry


def test_junit_outcomes_timings_and_failures() -> None:
    summary = parse_junit(OUTPUTS / "junit.xml")
    assert (summary.passed, summary.failed, summary.errors, summary.skipped) == (1, 1, 1, 1)
    assert summary.total == 4
    assert [name for name, _ in summary.failures] == [
        "tests.test_j::test_bad",
        "tests.test_j::test_err",
    ]
    assert summary.failures[0][1] == "assert 1 == 2"
    assert len(summary.slowest) == 4
