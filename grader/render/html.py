"""report.html: one self-contained page built from view models; the template holds no logic.

Everything candidate-controlled reaches the page through Jinja2 autoescaping or through
Pygments (which escapes), never as raw markup. The page makes no external requests.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from grader.core.models import (
    AssignmentReport,
    CriterionScore,
    FileStats,
    Finding,
    Report,
    ToolResult,
)
from grader.render.highlight import Highlighter, SourceFiles, SourceText

BAR_WIDTH = 320
ROW_HEIGHT = 28


@dataclass(frozen=True)
class FindingView:
    """One finding as shown in a criterion card."""

    severity: str
    rank: int
    where: str
    tool: str
    rule: str
    message: str
    snippet: Markup | None
    help_url: str | None


@dataclass(frozen=True)
class MetricView:
    """One metric row in a criterion card."""

    name: str
    value: str
    points: str
    explanation: str
    rationale: str
    lost: bool


@dataclass(frozen=True)
class CriterionView:
    """A criterion card."""

    id: str
    name: str
    weight: str
    score: str
    band: str
    reason_parts: tuple[str, ...]
    rationale: str
    caps: tuple[str, ...]
    metrics: tuple[MetricView, ...]
    findings: tuple[FindingView, ...]
    more_findings: int


@dataclass(frozen=True)
class BarView:
    """One bar of the criteria chart (SVG coordinates precomputed)."""

    label: str
    score: str
    y: int
    text_y: int
    width: int
    band: str


@dataclass(frozen=True)
class FileView:
    """A row of the per-file table."""

    path: str
    sloc: str
    complexity: str
    maintainability: str
    coverage: str
    coverage_width: int
    findings: int


@dataclass(frozen=True)
class ToolView:
    """A row of the tools footer."""

    name: str
    version: str
    status: str
    duration: str
    reason: str


@dataclass(frozen=True)
class TestsView:
    """The test-results section."""

    __test__ = False

    passed: int
    failed: int
    errors: int
    skipped: int
    slowest: tuple[tuple[str, str], ...]
    failures: tuple[tuple[str, str], ...]
    note: str


@dataclass(frozen=True)
class HiddenTestView:
    """One hidden test as this report's audience may see it."""

    __test__ = False

    name: str
    outcome: str
    message: str
    where: str
    traceback: str


@dataclass(frozen=True)
class AssignmentView:
    """The assignment section: starter, calibration, hidden tests, history, interview."""

    name: str
    audience: str
    no_work: bool
    authorship: str
    starter_findings: tuple[FindingView, ...]
    calibration: str
    calibration_warning: str
    tests_summary: str
    tests: tuple[HiddenTestView, ...]
    counted: str
    history: tuple[str, ...]
    after_deadline: tuple[str, ...]
    history_flags: tuple[str, ...]
    discussion: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PageView:
    """Everything the template shows."""

    title: str
    score: str
    grade: str
    band: str
    score_reason: str
    source: str
    commit: str
    commit_date: str
    generated_at: str
    rubric_title: str
    audience: str
    rubric_hash: str
    grader_version: str
    warnings: tuple[str, ...]
    candidate_configs: tuple[str, ...]
    chart_height: int
    bars: tuple[BarView, ...]
    criteria: tuple[CriterionView, ...]
    files: tuple[FileView, ...]
    tests: TestsView | None
    tools: tuple[ToolView, ...]
    script_hash: str
    assignment: AssignmentView | None = None
    applicability: str = ""
    decision: str = ""
    """The decision the grade stands for, and the scores its letter covers."""


def score_band(score: float | None) -> str:
    if score is None:
        return "none"
    if score >= 80:
        return "good"
    return "fair" if score >= 60 else "poor"


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


TEMPLATES = Path(__file__).resolve().parent / "templates"


def script_hash(*names: str) -> str:
    """CSP hash of the page's only script, so no other inline script can run.

    The script is the named files of templates/ included one after the other on the
    line of the ``<script>`` tag (default: report.js alone).
    """
    # Jinja drops one trailing newline of each included file.
    text = "".join(
        (TEMPLATES / name).read_text(encoding="utf-8").removesuffix("\n")
        for name in names or ("report.js",)
    )
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _finding(f: Finding, highlighter: Highlighter) -> FindingView:
    snippet = highlighter.snippet(f)
    return FindingView(
        f.severity.value,
        f.severity.rank,
        str(f.location),
        f.tool,
        f.rule_id,
        f.message,
        snippet,
        f.help_url,
    )


def _criterion(c: CriterionScore, highlighter: Highlighter) -> CriterionView:
    return CriterionView(
        id=c.id,
        name=c.name,
        weight=f"{c.weight:g}",
        score="not measured" if c.score is None else f"{c.score:.0f}",
        band=score_band(c.score),
        reason_parts=tuple(part for part in c.reason.split("; ") if not part.startswith("capped")),
        rationale=c.rationale.strip(),
        caps=c.caps_applied,
        metrics=tuple(
            MetricView(
                m.name,
                "n/a" if m.value is None else f"{round(m.value, 2):g} {m.unit}",
                "n/a" if m.points is None else f"{m.points:.0f}",
                m.explanation,
                m.rationale,
                m.points is not None and m.points < 100,
            )
            for m in c.metrics
        ),
        findings=tuple(_finding(f, highlighter) for f in c.findings[:10]),
        more_findings=max(len(c.findings) - 10, 0),
    )


def _tests(tools: tuple[ToolResult, ...]) -> TestsView | None:
    result = next((t for t in tools if t.tests is not None), None)
    if result is None or result.tests is None:
        return None
    t = result.tests
    return TestsView(
        t.passed,
        t.failed,
        t.errors,
        t.skipped,
        tuple((name, f"{seconds:.2f}s") for name, seconds in t.slowest),
        t.failures[:20],
        result.reason,
    )


def _bars(criteria: tuple[CriterionScore, ...]) -> tuple[BarView, ...]:
    return tuple(
        BarView(
            c.name,
            "n/a" if c.score is None else f"{c.score:.0f}",
            i * ROW_HEIGHT,
            i * ROW_HEIGHT + 17,
            round(BAR_WIDTH * (c.score or 0) / 100),
            score_band(c.score),
        )
        for i, c in enumerate(criteria)
    )


def _file(stats: FileStats, findings: int) -> FileView:
    coverage = stats.line_coverage
    return FileView(
        stats.path,
        _num(stats.sloc),
        _num(stats.max_complexity),
        _num(stats.maintainability),
        "n/a" if coverage is None else f"{coverage:.0f}%",
        round(coverage or 0),
        findings,
    )


def _authorship(a: AssignmentReport) -> str:
    s = a.authorship
    if s is None:
        return ""
    return (
        f"Against the starter ({s.base}): {s.lines_added} lines added, {s.lines_changed} "
        f"changed, {s.lines_deleted} deleted; {s.files_added} files added, {s.files_changed} "
        f"changed, {s.files_deleted} deleted ({s.candidate_sloc} Python source lines of the "
        "candidate's own)."
    )


def _calibration(a: AssignmentReport) -> str:
    c = a.calibration
    if c is None:
        return ""
    where = "" if c.position is None else f" This submission lands at {c.position:.0f}%."
    return (
        f"The bare starter scores {_num(c.floor, 1)} (the floor) and the reference solution "
        f"{_num(c.ceiling, 1)}, grade {c.ceiling_grade} (the ceiling).{where}"
    )


def _tests_summary(a: AssignmentReport) -> str:
    run = a.hidden_tests
    if run is None:
        return ""
    if run.problem:
        return run.problem
    return f"{run.passed} of {run.total} passed"


def _history(a: AssignmentReport) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    h = a.history
    if h is None:
        return (), (), ()
    commits = tuple(f"{c.sha[:10]} {c.date} ({c.lines} lines) {c.subject}" for c in h.commits)
    after = tuple(f"{c.sha[:10]} {c.date} {c.subject}" for c in h.after_deadline)
    return commits, after, (*h.flags, *h.message_problems)


def _assignment(a: AssignmentReport | None, highlighter: Highlighter) -> AssignmentView | None:
    if a is None:
        return None
    run = a.hidden_tests
    commits, after, flags = _history(a)
    return AssignmentView(
        name=a.name,
        audience=a.audience.value,
        no_work=a.no_work,
        authorship=_authorship(a),
        starter_findings=tuple(
            _finding(f, highlighter)
            for f in (a.authorship.starter_findings if a.authorship else ())
        ),
        calibration=_calibration(a),
        calibration_warning=a.calibration.warning if a.calibration else "",
        tests_summary=_tests_summary(a),
        tests=tuple(
            HiddenTestView(c.name, c.outcome, c.message, str(c.location), c.traceback)
            for c in (run.cases if run else ())
        ),
        counted=f"{run.counted_passed} of {run.counted_total} further tests passed"
        if run and run.counted_total
        else "",
        history=commits,
        after_deadline=after,
        history_flags=flags,
        discussion=tuple((d.question, str(d.location)) for d in a.discussion),
    )


def view(report: Report, sources: SourceText | None = None) -> PageView:
    """Build the page's view model from a report; ``sources`` gives the full text of the
    files the snippets were cut from (default: the submission's folder, when local)."""
    highlighter = Highlighter(sources if sources is not None else SourceFiles.of(report))
    findings_per_file = Counter(
        f.location.path for f in {f for c in report.criteria for f in c.findings}
    )
    bars = _bars(report.criteria)
    return PageView(
        title=f"grader report: {report.submission.root_label}",
        score=_num(report.score, 1),
        grade=report.grade,
        band=score_band(report.score),
        score_reason=report.score_reason,
        source=report.submission.source,
        commit=report.submission.commit or "not a git repository",
        commit_date=report.submission.commit_date or "",
        generated_at=report.generated_at,
        rubric_title=report.rubric.title,
        audience=report.rubric.audience,
        rubric_hash=report.rubric.sha256[:16],
        grader_version=report.grader_version,
        warnings=report.submission.warnings,
        applicability=report.applicability.summary() if report.applicability else "",
        decision=report.band.summary(report.grade) if report.band else "",
        candidate_configs=report.submission.candidate_configs,
        chart_height=len(bars) * ROW_HEIGHT,
        bars=bars,
        criteria=tuple(_criterion(c, highlighter) for c in report.criteria),
        files=tuple(_file(f, findings_per_file[f.path]) for f in report.per_file),
        tests=_tests(report.tools),
        script_hash=script_hash(),
        assignment=_assignment(report.assignment, highlighter),
        tools=tuple(
            ToolView(t.tool, t.version, t.status.value, f"{t.duration_s:.2f}s", t.reason)
            for t in report.tools
        ),
    )


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment, made once per process: it caches each template it
    compiles (the report page takes 30 ms), and rendering from it is thread-safe."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: Report, sources: SourceText | None = None) -> str:
    """The whole page as one string (``sources``: see ``view``)."""
    return environment().get_template(TEMPLATE).render(page=view(report, sources))


TEMPLATE = "report.html.j2"
