"""The validity figures of a graded corpus: do grader's grades agree with the reviewer's tiers?

Pure functions over (tier, has_tests, report) rows, so the figures are table-tested and
docs/validity.md shows them for each half of the corpus separately:

- tests ran: of the repositories with tests, the share where at least one test passed or
  failed (tests that error at setup or collection did not run);
- pairwise order: of every pair of repositories in different tiers, the share whose
  scores are in the reviewer's order (strictly: a tie is not in order);
- decisions: strong graded A or B ("advance"), weak graded F ("reject");
- per criterion: the spread of its scores (max - min), its own pairwise order, and its
  concordance (a tie counts half, as in an AUC): a criterion that gives every repository
  the same score has concordance 0.50, chance, while its strict order is 0;
- calibrated floors: the grade floors that best separate the tiers on one half, to be
  checked on the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise
from typing import Any

TIER_RANK = {"weak": 0, "average": 1, "strong": 2}
ADVANCE = frozenset({"A", "B"})
REJECT = frozenset({"F"})


@dataclass(frozen=True)
class Row:
    """One graded repository as the figures need it."""

    name: str
    tier: str
    has_tests: bool
    report: dict[str, Any] | None
    """report.json, or None when grading failed."""


@dataclass(frozen=True)
class Share:
    """``hits`` of ``total``, and the names that missed."""

    hits: int
    total: int
    missed: tuple[str, ...] = ()
    ties: int = 0
    """Pairs among ``missed`` whose scores are equal."""

    @property
    def concordance(self) -> float | None:
        """Pairs in order plus half the ties, over all pairs (0.50 is chance)."""
        return (self.hits + self.ties / 2) / self.total if self.total else None

    @property
    def value(self) -> float | None:
        """The share, or None when there is nothing to count."""
        return self.hits / self.total if self.total else None

    def __str__(self) -> str:
        value = self.value
        shown = "n/a" if value is None else f"{value:.2f}"
        return f"{shown} ({self.hits} of {self.total})"


def tests_ran(report: dict[str, Any] | None) -> bool:
    """Whether at least one of the candidate's tests passed or failed."""
    if report is None:
        return False
    pytest: dict[str, Any] = next(
        (t for t in report.get("tools", []) if t.get("name") == "pytest"), {}
    )
    tests = pytest.get("tests") or {}
    return bool(tests.get("passed", 0) + tests.get("failed", 0))


def tests_ran_share(rows: Iterable[Row]) -> Share:
    """Of the repositories with tests, those where a test passed or failed."""
    with_tests = [row for row in rows if row.has_tests]
    missed = tuple(row.name for row in with_tests if not tests_ran(row.report))
    return Share(len(with_tests) - len(missed), len(with_tests), missed)


def _overall(report: dict[str, Any]) -> float | None:
    score = report.get("score")
    return float(score) if isinstance(score, int | float) else None


def criterion_score(criterion: str) -> Callable[[dict[str, Any]], float | None]:
    """A scorer reading one criterion's score from a report."""

    def score(report: dict[str, Any]) -> float | None:
        found: dict[str, Any] = next(
            (c for c in report.get("criteria", []) if c.get("id") == criterion), {}
        )
        value = found.get("score")
        return float(value) if isinstance(value, int | float) else None

    return score


def pairwise_order(
    rows: Sequence[Row], score: Callable[[dict[str, Any]], float | None] = _overall
) -> Share:
    """Pairs in different tiers, both scored, whose scores are in the tiers' order."""
    scored = [
        (row, value)
        for row in rows
        if row.report is not None and (value := score(row.report)) is not None
    ]
    hits = total = ties = 0
    missed = []
    for (a, score_a), (b, score_b) in combinations(scored, 2):
        if TIER_RANK[a.tier] == TIER_RANK[b.tier]:
            continue
        higher, lower = (a, b) if TIER_RANK[a.tier] > TIER_RANK[b.tier] else (b, a)
        high_score, low_score = (score_a, score_b) if higher is a else (score_b, score_a)
        total += 1
        if high_score > low_score:
            hits += 1
        else:
            ties += high_score == low_score
            missed.append(f"{higher.name} ({higher.tier}) <= {lower.name} ({lower.tier})")
    return Share(hits, total, tuple(missed), ties)


def letter(score: float, floors: dict[str, float]) -> str:
    """The letter ``floors`` give ``score``."""
    return max(((floor, name) for name, floor in floors.items() if score >= floor))[1]


def _letter_of(report: dict[str, Any], floors: dict[str, float] | None) -> str:
    score = _overall(report)
    if floors is None or score is None:
        return str(report.get("grade"))
    return letter(score, floors)


def decisions(
    rows: Iterable[Row], tier: str, letters: frozenset[str], floors: dict[str, float] | None = None
) -> Share:
    """Of the graded repositories of ``tier``, those whose letter is in ``letters``: the
    report's own, or the one ``floors`` give its score."""
    graded = [row for row in rows if row.tier == tier and row.report is not None]
    missed = tuple(
        f"{row.name} ({_letter_of(row.report, floors)})"
        for row in graded
        if row.report is not None and _letter_of(row.report, floors) not in letters
    )
    return Share(len(graded) - len(missed), len(graded), missed)


def spread(rows: Iterable[Row], score: Callable[[dict[str, Any]], float | None]) -> float | None:
    """max - min of the scores, or None when fewer than two were measured."""
    values = [v for row in rows if row.report is not None and (v := score(row.report)) is not None]
    return max(values) - min(values) if len(values) >= 2 else None


def summary(rows: Sequence[Row], criteria: Sequence[tuple[str, str]]) -> str:
    """The figures of one half as Markdown."""
    lines = [
        f"- Tests ran (a test passed or failed) in **{tests_ran_share(rows)}** repositories "
        "with tests.",
        f"- Cross-tier pairs in the reviewer's order: **{pairwise_order(rows)}**.",
        f"- Strong graded A or B: **{decisions(rows, 'strong', ADVANCE)}**; "
        f"weak graded F: **{decisions(rows, 'weak', REJECT)}**.",
        "",
        "| Criterion | Spread | Pairs in the tiers' order | Concordance (ties half) |",
        "|---|---|---|---|",
    ]
    for criterion_id, _ in criteria:
        scorer = criterion_score(criterion_id)
        width = spread(rows, scorer)
        shown = "n/a" if width is None else f"{width:.0f}"
        order = pairwise_order(rows, scorer)
        concordance = "n/a" if order.concordance is None else f"{order.concordance:.2f}"
        lines.append(f"| {criterion_id} | {shown} | {order} | {concordance} |")
    missed = tests_ran_share(rows).missed
    if missed:
        lines += ["", "No test ran in: " + ", ".join(missed) + "."]
    return "\n".join(lines) + "\n"


def _cut(below: Sequence[float], above: Sequence[float]) -> float:
    """The threshold that puts most of ``below`` under it and most of ``above`` at or over
    it; among equally good ones, the midpoint of the widest gap, so that it does not sit
    on a score the corpus happened to have."""
    candidates = sorted({0.0, 100.0, *below, *above})
    best: tuple[int, float, float] | None = None
    for low, high in pairwise(candidates):
        threshold = (low + high) / 2
        right = sum(v < threshold for v in below) + sum(v >= threshold for v in above)
        key = (right, high - low, -threshold)
        if best is None or key > best:
            best = key
    return round(best[2] * -1, 1) if best else 50.0


def calibrated_floors(rows: Iterable[Row]) -> dict[str, float]:
    """Grade floors from a tiered half: B where strong submissions part from the rest
    (A/B advance), D where weak ones part from the rest (F rejects); A halfway from B to
    100 and C halfway from D to B."""
    scored = [
        (row.tier, value)
        for row in rows
        if row.report is not None and (value := _overall(row.report)) is not None
    ]
    strong = [v for tier, v in scored if tier == "strong"]
    weak = [v for tier, v in scored if tier == "weak"]
    rest_of_strong = [v for tier, v in scored if tier != "strong"]
    rest_of_weak = [v for tier, v in scored if tier != "weak"]
    b = _cut(rest_of_strong, strong)
    d = min(_cut(weak, rest_of_weak), b - 2)
    return {"A": round((b + 100) / 2, 1), "B": b, "C": round((d + b) / 2, 1), "D": d, "F": 0.0}
