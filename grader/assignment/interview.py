"""Discussion points for the follow-up interview, generated from the evidence.

Each is an open question pointing at file:line of the candidate's own code (findings on
starter lines were already set apart), ranked by how many points the evidence behind it
cost the score. Pure: a scored report in, questions out. Only the reviewer sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from grader.core.models import CriterionScore, DiscussionPoint, Finding, Location, Report

MAX_POINTS = 10
WELL_TESTED = 90.0
"""Line coverage (%) above which a module needs no question about its tests."""
Authored = Callable[[str, int | None], bool]

# (finding selector, topic, question template); {where} and {message} are filled in.
QUESTIONS = (
    (
        "radon:complexity",
        "complexity",
        "Walk me through the function at {where} ({message}). What would you split out, "
        "and how would you test each part?",
    ),
    (
        "bandit",
        "security",
        "At {where} bandit reports: {message}. What could go wrong here in production, "
        "and how would you close it?",
    ),
    (
        "facts:hardcoded-secret",
        "security",
        "There is a credential at {where}. How should secrets reach this service instead?",
    ),
    (
        "facts:suppression",
        "suppression",
        "At {where} a check is suppressed ({message}). Why, and what would fixing it take?",
    ),
    (
        "hidden-tests",
        "correctness",
        "One of our tests failed in your code at {where} ({message}). How would you track "
        "down the cause, and what test of yours would have caught it?",
    ),
    (
        "deps",
        "dependencies",
        "{message} ({where}). How do you choose and pin a dependency?",
    ),
    (
        "mypy",
        "types",
        "mypy reports at {where}: {message}. What contract did you mean this code to have?",
    ),
    (
        "ruff",
        "maintainability",
        "At {where} ruff reports: {message}. What happens on this line when things go wrong, "
        "and what would you change?",
    ),
    (
        "radon:function-length",
        "design",
        "The function at {where} is long ({message}). Which responsibilities does it mix?",
    ),
)


def _cost(c: CriterionScore, total_weight: float) -> float:
    """Overall score points this criterion lost."""
    if c.score is None or not total_weight:
        return 0.0
    return (100 - c.score) * c.weight / total_weight


def _selected(selector: str, f: Finding) -> bool:
    tool, _, prefix = selector.partition(":")
    return f.tool == tool and f.rule_id.startswith(prefix)


def _weight(f: Finding) -> tuple[int, int]:
    """Severity, then the largest number in the message (a complexity, a length)."""
    numbers = [int(n) for n in re.findall(r"\d+", f.message)]
    return f.severity.rank, max(numbers, default=0)


def _least_tested(report: Report, authored: Authored, cost: float) -> list[DiscussionPoint]:
    measured = [
        s
        for s in report.per_file
        if s.line_coverage is not None and s.sloc and authored(s.path, None)
    ]
    if not measured:
        return []
    worst = min(measured, key=lambda s: (s.line_coverage or 0.0, s.path))
    if (worst.line_coverage or 0.0) >= WELL_TESTED:
        return []
    return [
        DiscussionPoint(
            f"{worst.path} is the least tested module ({worst.line_coverage:.0f}% of its lines "
            "run in your tests). Which of its behaviours matter most, and how would you test them?",
            Location(worst.path, 1),
            "testing",
            cost,
        )
    ]


def points(report: Report, authored: Authored | None = None) -> tuple[DiscussionPoint, ...]:
    """5-10 open questions, the most costly evidence first, one per finding at most."""
    mine = authored or (lambda _path, _line: True)
    measured = [c for c in report.criteria if c.score is not None]
    total = sum(c.weight for c in measured)
    found: list[DiscussionPoint] = []
    seen: set[tuple[str, int | None]] = set()
    for selector, topic, template in QUESTIONS:
        for c in report.criteria:
            candidates = [
                f
                for f in c.findings
                if _selected(selector, f)
                and f.location.path not in {"", "."}
                and mine(f.location.path, f.location.line)
            ]
            # One question per kind of evidence: the interview covers several topics.
            for f in sorted(candidates, key=_weight, reverse=True)[:1]:
                key = (f.location.path, f.location.line)
                if key in seen:
                    continue
                seen.add(key)
                question = template.format(where=str(f.location), message=f.message[:160])
                weight = 1.0 + f.severity.rank
                found.append(
                    DiscussionPoint(question, f.location, topic, _cost(c, total) * weight / 4)
                )
    testability = next((c for c in report.criteria if c.id == "testability"), None)
    found += _least_tested(report, mine, _cost(testability, total) if testability else 0.0)
    found.sort(key=lambda d: (-d.cost, d.location.path, d.location.line or 0))
    return tuple(found[:MAX_POINTS])
