"""What one run of the candidate's tests amounts to: the metrics and findings its
results give, and how two runs of the same suite compare (see pytest_cov).

Pure: a summary comes in, metrics and findings go out.
"""

from __future__ import annotations

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Metric, Severity, TestSummary, ToolResult
from grader.tools.base import percent


def file_of_test(classname: str, ws: Workspace) -> str:
    """tests.test_api::TestX -> tests/test_api.py, when that file exists."""
    parts = classname.split("::", maxsplit=1)[0].split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if candidate in ws.test_files:
            return candidate
    return "."


def failure_findings(summary: TestSummary, ws: Workspace) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            tool="pytest",
            rule_id="test-failed",
            message=f"{name.split('::')[-1]} failed: {message[:300]}",
            severity=Severity.MEDIUM,
            location=Location(file_of_test(name, ws)),
        )
        for name, message in summary.failures
    )


def count_and_pass_rate(summary: TestSummary, excused: int, fault: str) -> tuple[Metric, ...]:
    """Count and pass rate; ``excused`` failures came from a requirement the host could not
    install, and a candidate ``fault`` in their requirements means a fresh checkout cannot
    run the tests at all."""
    ran = summary.passed + summary.failed + summary.errors - excused
    count = Metric("tests.count", summary.total, "tests", "pytest")
    if fault:
        return count, Metric("tests.pass_rate", 0.0, "%", "pytest", fault)
    if not ran and excused:
        reason = "every test that ran failed for want of what this host could not provide"
        return count, Metric("tests.pass_rate", None, "%", "pytest", reason)
    rate = percent(summary.passed, ran) if ran else 0.0
    return count, Metric("tests.pass_rate", rate, "%", "pytest", "" if ran else "no test ran")


MAX_PIN_ROUNDS = 6
"""Runs again with raised pins, at most: each raises the pins one crash ended in."""


def exercised(result: ToolResult) -> int:
    """Tests that got to pass or fail (an error at setup exercised nothing)."""
    return result.tests.passed + result.tests.failed if result.tests else 0


def progress(result: ToolResult) -> tuple[int, int]:
    """Orders runs: more tests exercised, then more collected (a suite that errored at
    setup got further than one that crashed before collecting anything)."""
    return exercised(result), result.tests.total if result.tests else 0


def blocked(result: ToolResult) -> bool:
    """Some tests never got to run: none did, or some errored (at collection or setup)."""
    return not exercised(result) or bool(result.tests and result.tests.errors)


def why_nothing_ran(summary: TestSummary, exit_code: int | None) -> str:
    """Why a run that executed no test tested nothing, or '' when a test ran."""
    if summary.passed + summary.failed + summary.errors:
        return ""
    if summary.total:
        return f"no test ran: pytest collected {summary.total} and skipped every one"
    return f"no test ran: pytest collected none (exit code {exit_code})"
