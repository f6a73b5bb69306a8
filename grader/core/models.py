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
    NOTHING_TESTED = "nothing_tested"
    """The test run worked and tested nothing: no test collected, or every one skipped.
    Never "ok"; charged, and, being the submission's doing, kept by the results cache."""


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
    cell: int | None = None
    """In a notebook: the cell (1-based, counting every cell); ``line`` is then the line
    within that cell."""

    def __str__(self) -> str:
        if self.cell is not None:
            where = f"{self.path}, cell {self.cell}"
            return f"{where}, line {self.line}" if self.line else where
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
    """Identity that survives moved lines (grader.scoring.fingerprints); None until the
    pipeline sets it."""


@dataclass(frozen=True)
class Metric:
    """One measured number. ``value`` is None when it could not be measured."""

    name: str
    value: float | None
    unit: str
    source: str
    reason: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """A metric a tool can produce; rubrics may only reference declared metrics."""

    name: str
    unit: str
    description: str


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
    hidden_tests: HiddenTestRun | None = None
    """Per-test outcomes of the hiring team's own tests (only their adapter sets this)."""


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


class SubmissionKind(StrEnum):
    """What a submission is, which decides what a reviewer expects of it."""

    SERVICE = "service"
    """A web API or application: it is deployed and run, so logs and a container matter."""
    PIPELINE = "pipeline"
    """A data pipeline or analysis: run on data, neither a server nor a package."""
    CLI = "cli"
    """A command-line tool: installed and run by its users."""
    LIBRARY = "library"
    """A package other code imports: no server to deploy, no logs of its own to watch."""


@dataclass(frozen=True)
class Applicability:
    """What kind of submission was graded, why, and what the rubric left out for it."""

    kind: SubmissionKind
    evidence: tuple[str, ...]
    """Why this kind: the facts read from the repository, or the assignment's word."""
    from_assignment: bool = False
    not_applicable: tuple[str, ...] = ()
    """Criteria and metrics that do not apply to this kind, each named as the report shows it."""

    def summary(self) -> str:
        """One sentence for a report's header."""
        why = "; ".join(self.evidence)
        text = f"Graded as a {self.kind.value} ({why})."
        if self.not_applicable:
            text += f" Not scored for a {self.kind.value}: {', '.join(self.not_applicable)}."
        return text


class Decision(StrEnum):
    """What a hiring team does with a grade."""

    ADVANCE = "advance"
    DISCUSS = "discuss"
    REJECT = "reject"


@dataclass(frozen=True)
class Band:
    """The decision a score falls into, the scores that make its letter, and why the
    rubric draws the line there."""

    decision: Decision
    floor: float
    ceiling: float | None
    """The next letter's floor; None for the top letter."""
    basis: str = ""
    """How the rubric's floors were set (the calibration it cites)."""

    def summary(self, letter: str) -> str:
        """One sentence for a report's header."""
        upto = f" up to {self.ceiling:g}" if self.ceiling is not None else " and above"
        text = f"{letter} means {self.decision.value}: scores from {self.floor:g}{upto}."
        return f"{text} {self.basis}" if self.basis else text


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
    assignment: AssignmentReport | None = None
    """What the assignment adds (hidden tests, starter, history, interview); None without one."""
    applicability: Applicability | None = None
    """The kind of submission and what does not apply to it; None in reports made before."""
    band: Band | None = None
    """The decision the grade stands for; None when not scored or in reports made before."""


class Visibility(StrEnum):
    """What the candidate's report may say about one hidden test."""

    VISIBLE = "visible"
    """Its name and its message."""
    COUNT = "count"
    """Only how many of the tests at this level passed."""
    HIDDEN = "hidden"
    """Nothing at all."""


class Audience(StrEnum):
    """Who a report is written for."""

    REVIEWER = "reviewer"
    CANDIDATE = "candidate"


@dataclass(frozen=True)
class HiddenTestCase:
    """The outcome of one of the hiring team's own tests."""

    __test__ = False

    name: str
    """``file.py::test_name`` relative to the hidden tests folder."""
    outcome: str
    """passed, failed, error or skipped."""
    message: str
    visibility: Visibility
    traceback: str = ""
    """Reviewer only: pytest's report of the failure, shortened."""
    location: Location = field(default_factory=lambda: Location("."))
    """The deepest frame of the candidate's code in the failure's traceback."""


@dataclass(frozen=True)
class HiddenTestRun:
    """The hiring team's tests run against the submission, as this report's audience may see
    them: every case for the reviewer; for the candidate only visible cases, plus a count."""

    __test__ = False

    cases: tuple[HiddenTestCase, ...]
    counted_passed: int = 0
    counted_total: int = 0
    """Tests the candidate may only count (visibility ``count``), shown as one number."""
    problem: str = ""
    """Why the tests did not run, when they did not."""

    @property
    def passed(self) -> int:
        """Passed tests this view shows, counted ones included."""
        return self.counted_passed + sum(1 for c in self.cases if c.outcome == "passed")

    @property
    def total(self) -> int:
        """Tests this view shows, counted ones included."""
        return self.counted_total + len(self.cases)


@dataclass(frozen=True)
class Authorship:
    """What the candidate changed relative to the starter code."""

    base: str
    """The starter it was compared with (``URL@ref`` or ``--base REF``)."""
    files_added: int = 0
    files_changed: int = 0
    files_deleted: int = 0
    lines_added: int = 0
    lines_changed: int = 0
    lines_deleted: int = 0
    candidate_sloc: int = 0
    """Python source lines the candidate wrote or changed (size-normalised metrics use these)."""
    starter_findings: tuple[Finding, ...] = ()
    """Findings on lines the candidate did not touch: listed, never scored."""

    @property
    def identical(self) -> bool:
        """True when the submission is the starter, unchanged."""
        return not (self.files_added or self.files_changed or self.files_deleted)


@dataclass(frozen=True)
class Commit:
    """One commit of the candidate's history (dates as the candidate's git wrote them)."""

    sha: str
    date: str
    subject: str
    files: tuple[str, ...] = ()
    lines: int = 0
    """Lines added plus lines deleted."""


@dataclass(frozen=True)
class History:
    """The candidate's commits after the starter, up to the graded one."""

    commits: tuple[Commit, ...]
    after_deadline: tuple[Commit, ...] = ()
    deadline: str | None = None
    flags: tuple[str, ...] = ()
    """Dates that go backwards, lie in the future or are all identical."""
    message_problems: tuple[str, ...] = ()
    tests_with_code: bool | None = None
    """Whether tests arrived in the same commits as the code they test (None: no tests)."""


@dataclass(frozen=True)
class DiscussionPoint:
    """An open question for the follow-up interview, grounded in the candidate's code."""

    question: str
    location: Location
    topic: str
    cost: float
    """Score points the evidence behind it cost; points are ranked by this."""


@dataclass(frozen=True)
class Calibration:
    """Where the bare starter (floor) and the reference solution (ceiling) scored."""

    floor: float | None
    ceiling: float | None
    ceiling_grade: str
    position: float | None = None
    """The candidate's place between them, 0 (floor) to 100 (ceiling); may exceed either."""
    warning: str = ""


@dataclass(frozen=True)
class AssignmentReport:
    """Everything the assignment adds to a report, for one audience."""

    name: str
    audience: Audience = Audience.REVIEWER
    hidden_tests: HiddenTestRun | None = None
    authorship: Authorship | None = None
    history: History | None = None
    discussion: tuple[DiscussionPoint, ...] = ()
    calibration: Calibration | None = None
    no_work: bool = False
    """The submission is the starter, unchanged: nothing of the candidate's to grade."""
