"""The data of a batch: one row per candidate, similar pairs, the whole leaderboard.

Frozen dataclasses, no I/O, like grader.core.models, whose report types they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.core.models import Calibration, RubricInfo


@dataclass(frozen=True)
class BatchRow:
    """One candidate of a batch: graded, or the reason it could not be."""

    candidate: str
    status: int
    """The exit code ``grader grade`` would have given: 0 graded, 1 below --fail-under,
    2 input error (unreachable, hostile, empty), 3 internal error."""
    reason: str
    score: float | None
    grade: str
    criteria: tuple[tuple[str, float | None], ...]
    """(criterion id, score) in rubric order; empty when not graded."""
    commit: str | None
    source: str
    ref: str | None
    report: str | None
    """The candidate's report.html, relative to the batch folder."""
    extra: tuple[tuple[str, str], ...] = ()
    """The submissions CSV's other columns, carried through unchanged."""
    hidden_tests: float | None = None
    """Share (%) of the assignment's hidden tests that passed; None without them."""
    calibration: float | None = None
    """Where the score lands between the assignment's floor (0) and ceiling (100)."""


@dataclass(frozen=True)
class SourceRegion:
    """A stretch of one candidate's code that matches another's."""

    path: str
    first_line: int
    last_line: int
    text: str


@dataclass(frozen=True)
class SimilarPair:
    """Two candidates whose own code overlaps, with the matching regions of each."""

    first: str
    second: str
    first_share: float
    """Fraction (0-1) of the first candidate's code found in the second's."""
    second_share: float
    first_regions: tuple[SourceRegion, ...]
    second_regions: tuple[SourceRegion, ...]

    @property
    def score(self) -> float:
        """The larger share: copying part of a bigger submission still shows."""
        return max(self.first_share, self.second_share)


@dataclass(frozen=True)
class BatchResult:
    """Everything the leaderboard, results.csv and results.json show."""

    grader_version: str
    rubric: RubricInfo | None
    criteria: tuple[tuple[str, str], ...]
    """(criterion id, name) in rubric order."""
    rows: tuple[BatchRow, ...]
    extra_columns: tuple[str, ...]
    fail_under: float | None
    similarity_threshold: float
    similarity_compared: int
    """How many candidates' code was compared (0: too few to compare)."""
    similar: tuple[SimilarPair, ...]
    calibration: Calibration | None = None
    """The assignment's floor and ceiling the rows were placed between (no position)."""

    @property
    def has_hidden_tests(self) -> bool:
        """Whether any row was graded with the assignment's hidden tests."""
        return any(row.hidden_tests is not None for row in self.rows)
