"""The typed model every stage shares: frozen dataclasses, no I/O.

Tools produce ``ToolResult`` values (findings + metrics), scoring turns them into
``CriterionScore`` values, and renderers read a ``Report``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is, on one scale for every tool."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Order for sorting: higher is worse."""
        return list(Severity).index(self)


class ToolStatus(StrEnum):
    """Whether a tool produced usable results; anything but OK comes with a reason."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    NOT_APPLICABLE = "not_applicable"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Location:
    """A place in the submission, relative to its root."""

    path: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    snippet: str | None = None
    snippet_start: int | None = None
    """Line number of the snippet's first line."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Finding:
    """One problem a tool or a fact reader reported."""

    tool: str
    rule_id: str
    message: str
    severity: Severity
    location: Location
    confidence: Severity | None = None
    help_url: str | None = None
    fingerprint: str | None = None
    """Identity that survives moved lines (grader.fingerprints); None until the pipeline sets it."""


@dataclass(frozen=True)
class Metric:
    """One measured number. ``value`` is None when it could not be measured."""

    name: str
    value: float | None
    unit: str
    source: str
    reason: str = ""


@dataclass(frozen=True)
class TestSummary:
    """What the candidate's own test run reported (from JUnit XML)."""

    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    slowest: tuple[tuple[str, float], ...] = ()
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def total(self) -> int:
        """Number of tests that ran or were skipped."""
        return self.passed + self.failed + self.errors + self.skipped


@dataclass(frozen=True)
class ToolResult:
    """The outcome of running one tool adapter on a submission."""

    tool: str
    version: str
    status: ToolStatus
    findings: tuple[Finding, ...] = ()
    metrics: tuple[Metric, ...] = ()
    reason: str = ""
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    duration_s: float = 0.0
    stderr_tail: str = ""
    notes: tuple[str, ...] = ()
    tests: TestSummary | None = None
    per_file: tuple[FileStats, ...] = ()
    warnings: tuple[str, ...] = ()
    """What a reader must know before trusting this tool's results (shown in the header)."""


@dataclass(frozen=True)
class FileStats:
    """Per-file facts merged from several tools for the per-file view."""

    path: str
    sloc: int | None = None
    max_complexity: float | None = None
    maintainability: float | None = None
    line_coverage: float | None = None
    statements: int | None = None
    """Statements coverage measured in this file (the denominator of line_coverage)."""
    missing_lines: tuple[int, ...] | None = None
    """Lines of statements the tests never ran."""
    branches: int | None = None
    covered_branches: int | None = None


@dataclass(frozen=True)
class Submission:
    """What was graded: where it came from and which commit."""

    source: str
    commit: str | None
    ref: str | None
    root_label: str
    candidate_configs: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    commit_date: str | None = None


@dataclass(frozen=True)
class MetricScore:
    """How one metric contributed to a criterion score."""

    name: str
    value: float | None
    unit: str
    points: float | None
    weight: float
    threshold: float | None
    explanation: str
    rationale: str
    source: str = ""
    """The tool (or 'derived') that measured the value."""


@dataclass(frozen=True)
class CriterionScore:
    """A criterion's 0-100 score, or None with the reason it was not measured."""

    id: str
    name: str
    weight: float
    score: float | None
    reason: str
    rationale: str
    metrics: tuple[MetricScore, ...]
    findings: tuple[Finding, ...]
    caps_applied: tuple[str, ...] = ()


@dataclass(frozen=True)
class RubricInfo:
    """Identity of the rubric a report was scored with."""

    name: str
    title: str
    audience: str
    sha256: str


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs."""

    grader_version: str
    submission: Submission
    rubric: RubricInfo
    score: float | None
    grade: str
    score_reason: str
    criteria: tuple[CriterionScore, ...]
    tools: tuple[ToolResult, ...]
    generated_at: str
    tests_isolated: bool
    per_file: tuple[FileStats, ...] = field(default=())


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
