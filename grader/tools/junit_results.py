"""pytest's results, read from the JUnit XML file grader asked for.

The file is written by the candidate's pytest inside the sandbox, so it is untrusted
input: it is parsed with defusedxml, and a summary is accepted only when it agrees with
pytest's exit code (code run after pytest could rewrite the file, not the exit code).
When there is no file, the last error pytest printed says why.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from grader.core import proc
from grader.core.models import TestSummary

MAX_FAILURE_MESSAGE = 600
MAX_JUNIT_BYTES = 64 * 1024 * 1024
SLOWEST = 5


@dataclass(frozen=True)
class JunitCase:
    """One ``testcase`` of a JUnit XML file."""

    classname: str
    name: str
    outcome: str
    """passed, failed, error or skipped."""
    message: str
    text: str
    duration_s: float


def junit_cases(path: Path) -> list[JunitCase]:
    """Every test case of a JUnit XML file; the file is untrusted input."""
    # defusedxml refuses entity expansion and external references in hostile XML.
    root = SafeET.parse(path).getroot()
    cases = []
    for case in root.iter("testcase"):
        outcome = next(
            (child for child in case if child.tag in {"failure", "error", "skipped"}), None
        )
        tag = "passed" if outcome is None else outcome.tag.replace("failure", "failed")
        cases.append(
            JunitCase(
                classname=case.get("classname", ""),
                name=case.get("name", ""),
                outcome=tag,
                message="" if outcome is None else outcome.get("message") or "",
                text="" if outcome is None else outcome.text or "",
                duration_s=float(case.get("time") or 0.0),
            )
        )
    return cases


def parse_junit(path: Path) -> TestSummary:
    """Count outcomes from a JUnit XML file; the file is untrusted input."""
    cases = junit_cases(path)
    counts = Counter(case.outcome for case in cases)
    timings: list[tuple[str, float]] = []
    failures: list[tuple[str, str]] = []
    for case in cases:
        name = f"{case.classname}::{case.name}".strip(":")
        timings.append((name, case.duration_s))
        if case.outcome in {"failed", "error"}:
            message = _failure_message(case.message, case.text)
            failures.append((name, message[:MAX_FAILURE_MESSAGE]))
    timings.sort(key=lambda item: (-item[1], item[0]))
    return TestSummary(
        passed=counts["passed"],
        failed=counts["failed"],
        errors=counts["error"],
        skipped=counts["skipped"],
        slowest=tuple(timings[:SLOWEST]),
        failures=tuple(failures),
    )


_ERROR_LINE = re.compile(
    r"^(?:E\s+)?(?:[\w.]+(?:Error|error|Exception|Configured)|[a-z_]\w*(?:\.\w+)+(?=:)"
    r"|ERROR|INTERNALERROR)\b.*"
)


def _last_error(output: str, scratch: Path) -> str:
    """The last line of pytest's output that names an error (a conftest that cannot be
    imported, a plugin that cannot load), shortened; pytest's own ``E`` lines first."""
    lines = output.replace(f"{scratch}/", "").splitlines()
    found = [m.group(0).strip() for m in map(_ERROR_LINE.match, lines) if m]
    explained = [line for line in found if line.startswith("E ")]
    chosen = explained or found
    return chosen[-1].removeprefix("E").strip()[:300] if chosen else ""


def _failure_message(message: str, text: str) -> str:
    """pytest's one-line message, plus the error a collection failure hides (the module
    that is missing, or else the exception pytest reports last)."""
    message = message.strip() or text.strip()
    lines = text.splitlines()
    missing = next((line for line in lines if "No module named" in line), "")
    raised = [line for line in lines if line.startswith("E ") and line[1:].strip()]
    cause = missing or (raised[0] if message == "collection failure" and raised else "")
    if cause and cause.strip() not in message:
        message = f"{message} ({cause.strip()[:200]})"
    return message


def read_junit(
    junit: Path | None, result: proc.ProcResult, scratch: Path
) -> tuple[TestSummary | None, str]:
    """The summary of ``junit`` (None when pytest wrote none), or None and why it cannot
    be trusted; ``result`` is pytest's run, ``scratch`` the folder it ran in."""
    if junit is None:
        said = _last_error(result.stdout + "\n" + result.stderr, scratch)
        return None, (
            f"pytest ended without writing results (exit code {result.exit_code}): "
            + (f"it said {said!r}" if said else "the suite crashed or a test ended the process")
        )
    try:
        summary = parse_junit(junit)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        return None, f"pytest's results could not be read: {exc}"
    return _consistent(summary, result.exit_code)


# pytest's own exit codes: 0 all passed, 1 some tests failed.
PYTEST_OK, PYTEST_FAILED = 0, 1


def _consistent(summary: TestSummary, exit_code: int | None) -> tuple[TestSummary | None, str]:
    """The results file must agree with pytest's exit code, which code run after pytest
    (an atexit handler rewriting the file) cannot change without also being seen."""
    failing = summary.failed + summary.errors
    if (exit_code == PYTEST_OK and failing) or (exit_code == PYTEST_FAILED and not failing):
        return None, (
            f"pytest exited with {exit_code} but its results file reports {failing} failing "
            "tests: the results were changed after pytest wrote them"
        )
    return summary, ""
