"""grade(): acquire -> analyse -> normalise -> score. The only place the stages meet."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.acquire import history
from grader.acquire import source as acquire_module
from grader.acquire.source import Acquired, HistoryRequest, acquire
from grader.acquire.workspace import (
    Workspace,
    inventory,
    remove_outside_symlinks,
    remove_tree,
    screen,
    walk_tree,
)
from grader.assignment import authorship, calibration, hidden_tests, interview
from grader.assignment.spec import Assignment
from grader.core import proc
from grader.core.errors import UsageError
from grader.core.models import (
    AssignmentReport,
    Authorship,
    Calibration,
    CriterionScore,
    FileStats,
    Finding,
    History,
    Location,
    Metric,
    MetricSpec,
    Report,
    Severity,
    Submission,
    ToolResult,
    ToolStatus,
)
from grader.core.progress import OnEvent, stage
from grader.environment.cache import EnvironmentCache, default_cache_dir
from grader.sandbox import bubblewrap as sandbox_module
from grader.sandbox import scratch
from grader.sandbox.bubblewrap import Limits, Sandbox
from grader.scoring import normalize
from grader.scoring import rubric as rubric_module
from grader.scoring import score as scoring
from grader.scoring.fingerprints import with_fingerprints
from grader.scoring.rubric import Rubric
from grader.tools import ALL_TOOLS, declared_metrics
from grader.tools.base import Tool, ToolContext

log = logging.getLogger(__name__)
SNIPPET_CONTEXT = 2
LONGEST_TOOL = "pytest"
MAX_SNIPPET_LINE = 300


@dataclass(frozen=True)
class GradeOptions:
    """Everything ``grade`` needs to know besides the submission itself."""

    source: str
    ref: str | None = None
    rubric: str = "default"
    limits: Limits = field(default_factory=Limits)
    allow_unsandboxed: bool = False
    exclude: tuple[str, ...] = ()
    environments: EnvironmentCache | None = field(
        default_factory=lambda: EnvironmentCache(default_cache_dir())
    )
    """Where test environments are built; None runs tests in grader's own interpreter."""
    tools: Sequence[Tool] = ALL_TOOLS
    keep_sources: Path | None = None
    """A folder to copy the analysed source files (tests and excluded paths left out) into,
    for later comparison across submissions (batch similarity)."""
    keep_starter: Path | None = None
    """A folder to copy the assignment starter's Python files into (batch similarity
    leaves code shared through the starter out)."""
    on_event: OnEvent | None = field(default=None, compare=False)
    """Told when each stage (acquire, environment, each tool, scoring) starts and ends."""

    assignment: Assignment = field(default_factory=Assignment)
    """What the hiring team set: hidden tests, starter, deadline (grader.assignment.spec)."""


def known_metrics() -> dict[str, MetricSpec]:
    """Names a rubric may reference: tool metrics, derived rates, assignment metrics."""
    assignment_specs = {spec.name: spec for spec in (*hidden_tests.METRICS, *history.METRICS)}
    return {**declared_metrics(), **normalize.derived_specs(), **assignment_specs}


def load_rubric(name_or_path: str) -> Rubric:
    """Load and validate a rubric against every metric grader can produce."""
    return rubric_module.load(name_or_path, known_metrics())


def _run_one(tool: Tool, ctx: ToolContext) -> ToolResult:
    try:
        with stage(tool.name, ctx.on_event):
            return tool.run(ctx)
    except Exception as exc:
        log.debug("adapter %s failed:\n%s", tool.name, traceback.format_exc())
        return ToolResult(
            tool=tool.name,
            version=tool.version(),
            status=ToolStatus.FAILED,
            reason=f"grader's {tool.name} adapter failed: {type(exc).__name__}: {exc}",
        )


def _tools(options: GradeOptions) -> tuple[Tool, ...]:
    """The registry's tools, plus the hiring team's hidden tests when there are any."""
    assignment = options.assignment
    if assignment.hidden_tests is None:
        return tuple(options.tools)
    hidden = hidden_tests.HiddenTests(assignment.hidden_tests, assignment.visibility_of)
    return (*options.tools, hidden)


def run_tools(
    workspace: Workspace, workdir: Path, sandbox: Sandbox, options: GradeOptions
) -> tuple[ToolResult, ...]:
    """Run every tool concurrently, each in a private folder; results in registry order."""
    tools = _tools(options)
    contexts = []
    for tool in tools:
        tool_dir = workdir / "tools" / tool.name
        tool_dir.mkdir(parents=True)
        contexts.append(
            ToolContext(
                workspace,
                tool_dir,
                sandbox,
                options.limits,
                options.environments,
                on_event=options.on_event,
            )
        )
    # The longest tool (the test run) starts first; results stay in registry order.
    order = sorted(range(len(tools)), key=lambda i: tools[i].name != LONGEST_TOOL)
    with ThreadPoolExecutor(max_workers=len(tools) or 1) as pool:
        try:
            started = {i: pool.submit(_run_one, tools[i], contexts[i]) for i in order}
            return tuple(started[i].result() for i in range(len(tools)))
        except KeyboardInterrupt:
            proc.stop_all()  # the threads cannot be interrupted; their commands can
            raise


# Findings whose line holds a credential: the line never reaches a snippet unredacted.
_CREDENTIAL_RULES = frozenset({"hardcoded-secret", "B105", "B106", "B107"})
_STRING_LITERAL = re.compile(r"""(?P<q>["'])(?:(?!(?P=q)).){4,}(?P=q)""")


def _credential_lines(criteria: Iterable[CriterionScore]) -> set[tuple[str, int]]:
    return {
        (f.location.path, f.location.line)
        for c in criteria
        for f in c.findings
        if f.rule_id in _CREDENTIAL_RULES and f.location.line is not None
    }


def _redacted(line: str) -> str:
    return _STRING_LITERAL.sub(lambda m: f"{m.group('q')}«redacted»{m.group('q')}", line)


def _snippet(
    workspace: Workspace, location: Location, secret: set[tuple[str, int]] | None = None
) -> Location:
    """The location with the source lines around it, when they can be read safely; lines
    that hold a credential have their string literals redacted."""
    if location.line is None:
        return location
    path = workspace.root / location.path
    root = workspace.root.resolve()
    if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
        return location
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return location
    start = max(location.line - 1 - SNIPPET_CONTEXT, 0)
    chosen = lines[start : location.line + SNIPPET_CONTEXT]
    if not chosen:
        return location
    secret = secret or set()
    text = "\n".join(
        (_redacted(line) if (location.path, number) in secret else line)[:MAX_SNIPPET_LINE]
        for number, line in enumerate(chosen, start=start + 1)
    )
    return dataclasses.replace(location, snippet=text, snippet_start=start + 1)


def _with_snippets(
    workspace: Workspace, criteria: Iterable[CriterionScore]
) -> tuple[CriterionScore, ...]:
    criteria = tuple(criteria)
    secret = _credential_lines(criteria)

    def enrich(finding: Finding) -> Finding:
        return dataclasses.replace(finding, location=_snippet(workspace, finding.location, secret))

    return tuple(
        dataclasses.replace(c, findings=tuple(enrich(f) for f in c.findings[:10]) + c.findings[10:])
        for c in criteria
    )


def merge_file_stats(results: Iterable[ToolResult]) -> tuple[FileStats, ...]:
    """One row per file, combining what each tool knows about it."""
    merged: dict[str, FileStats] = {}
    for stats in (s for result in results for s in result.per_file):
        current = merged.get(stats.path)
        if current is None:
            merged[stats.path] = stats
            continue
        known = {k: v for k, v in dataclasses.asdict(stats).items() if v is not None}
        merged[stats.path] = dataclasses.replace(current, **known)
    return tuple(merged[path] for path in sorted(merged))


def _tampering(results: tuple[ToolResult, ...]) -> list[str]:
    return [
        f"the test suite can rewrite its own results ({f.location}: {f.message})"
        for r in results
        for f in r.findings
        if f.rule_id == "test-tampering" and f.severity is Severity.HIGH
    ][:3]


def _warnings(
    acquired: tuple[str, ...],
    workspace: Workspace,
    sandbox: Sandbox,
    results: tuple[ToolResult, ...],
    criteria: tuple[CriterionScore, ...],
) -> tuple[str, ...]:
    """What a reader must know before trusting the score, most important first."""
    unisolated = [] if sandbox.isolated else ["tests ran WITHOUT isolation (--allow-unsandboxed)"]
    excluded = [f"excluded from grading: {', '.join(workspace.excluded[:20])}"]
    broken = [
        f"{r.tool} {r.status.value}: {r.reason}"
        for r in results
        if r.status in {ToolStatus.FAILED, ToolStatus.TIMEOUT}
    ]
    unmeasured = [f"{c.name} not measured" for c in criteria if c.score is None]
    from_tools = [warning for r in results for warning in r.warnings]
    return (
        *unisolated,
        *acquired,
        *(excluded if workspace.excluded else []),
        *_tampering(results),
        *from_tools,
        *broken,
        *unmeasured,
    )


def grade(options: GradeOptions) -> Report:
    """Grade one submission and return the report; raises UsageError for bad input."""
    rubric = load_rubric(options.rubric)
    workdir = Path(tempfile.mkdtemp(prefix="grader-"))
    try:
        return _grade_in(workdir, rubric, options)
    finally:
        # A test run's disk area is unmounted when the run ends; this catches the ones a
        # crash or Ctrl-C left mounted, which would otherwise keep the folder alive.
        scratch.release_all(workdir)
        remove_tree(workdir)


def current_commit(source: str, ref: str | None) -> str | None:
    """The commit a git source points to now, without cloning it; None when unknown.

    Lets a workflow above grade() (batch resume) skip a submission already graded at it.
    """
    return acquire_module.current_commit(source, ref)


def _copy_sources(workspace: Workspace, dest: Path) -> None:
    for relative in workspace.source_files:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workspace.root / relative, target, follow_symlinks=False)


def _copy_python(root: Path, dest: Path) -> None:
    for _, entries in walk_tree(root, lambda entry: entry.name != ".git"):
        for entry in entries:
            if entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):
                target = dest / Path(entry.path).relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(entry.path, target, follow_symlinks=False)


@dataclass(frozen=True)
class _Starter:
    """The candidate's lines relative to the starter, when one was given."""

    summary: Authorship
    lines: authorship.Lines


def _starter(
    options: GradeOptions, acquired: Acquired, workspace: Workspace, workdir: Path
) -> _Starter | None:
    starter = options.assignment.starter
    if starter is None:
        return None
    if starter.base:
        if acquired.git_dir is None:
            raise UsageError(f"--base needs a git repository, and {options.source} is not one")
        root = authorship.export(acquired.git_dir, starter.base, workdir / "base", workdir)
    else:
        folder = workdir / "starter"
        folder.mkdir()
        root = acquire(str(starter.source), starter.ref, folder).root
    if options.keep_starter is not None:
        _copy_python(root, options.keep_starter)
    compared = workdir / "authorship"
    compared.mkdir()
    summary, lines = authorship.compare(root, workspace.root, compared, starter.label)
    return _Starter(summary, lines)


def _no_work(
    acquired: Acquired, rubric: Rubric, options: GradeOptions, summary: Authorship
) -> Report:
    """The report of a submission identical to the starter: nothing to grade."""
    return Report(
        grader_version=__version__,
        submission=Submission(
            source=options.source,
            commit=acquired.commit,
            commit_date=acquired.commit_date,
            ref=acquired.ref,
            root_label=Path(options.source).name or options.source,
            warnings=("no work submitted: the submission is identical to the starter",),
        ),
        rubric=rubric.info,
        score=None,
        grade="n/a",
        score_reason="no work submitted: the submission is identical to the starter "
        f"({summary.base}), so nothing of the candidate's was graded",
        criteria=(),
        tools=(),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tests_isolated=True,
        assignment=AssignmentReport(name=options.assignment.name, authorship=summary, no_work=True),
    )


def _candidate_only(
    starter: _Starter | None,
    workspace: Workspace,
    metrics: dict[str, Metric],
    findings: list[Finding],
) -> tuple[Authorship | None, dict[str, Metric], list[Finding]]:
    """With a starter: findings on the candidate's lines, counts and sizes over them."""
    if starter is None:
        return None, metrics, findings
    kept = tuple(f for f in findings if starter.lines.authored(f.location.path, f.location.line))
    sloc = authorship.candidate_sloc(workspace, starter.lines)
    summary = dataclasses.replace(
        starter.summary,
        candidate_sloc=sum(sloc),
        starter_findings=scoring.sorted_findings(f for f in findings if f not in kept),
    )
    return summary, normalize.derive(authorship.recount(metrics, kept, sloc)), list(kept)


def _history(
    acquired: Acquired,
    assignment: Assignment,
    starter: _Starter | None,
    metrics: dict[str, Metric],
) -> History | None:
    """The candidate's commits after the starter; adds the Process metrics to ``metrics``."""
    if acquired.git_dir is None or acquired.commit is None:
        return None
    past, process = history.read(
        acquired.git_dir,
        acquired.commit,
        since=assignment.starter.base if assignment.starter else None,
        starter_tree=starter.lines.starter_tree if starter else None,
        after_deadline=acquired.after_deadline,
        deadline=assignment.deadline,
    )
    metrics.update({m.name: m for m in process})
    return past


def _gradable(workspace: Workspace, source: str) -> Workspace:
    """The workspace screened for files no tool can parse; UsageError when nothing is left."""
    if not workspace.python_files:
        raise UsageError(f"no Python files in {source}")
    if not workspace.source_files:
        raise UsageError(f"no Python code besides tests in {source}")
    workspace = screen(workspace)
    if not workspace.python_files:
        raise UsageError(f"no Python file in {source} can be parsed")
    return workspace


def _grade_in(workdir: Path, rubric: Rubric, options: GradeOptions) -> Report:
    assignment = options.assignment
    request = HistoryRequest(keep=assignment.active, deadline=assignment.deadline)
    with stage("acquire", options.on_event):
        acquired = acquire(options.source, options.ref, workdir, request)
    with stage("inventory", options.on_event):
        workspace = inventory(acquired.root, options.exclude)
        remove_outside_symlinks(workspace)
        starter = _starter(options, acquired, workspace, workdir)
        if starter is not None and starter.summary.identical:
            return _no_work(acquired, rubric, options, starter.summary)
        workspace = _gradable(workspace, options.source)
        sandbox: Sandbox = sandbox_module.NotNeeded()
        if workspace.test_files or assignment.hidden_tests:
            sandbox = sandbox_module.choose(allow_unisolated=options.allow_unsandboxed)
    if options.keep_sources is not None:
        _copy_sources(workspace, options.keep_sources)
    log.info(
        "%d Python files (%d tests), sandbox: %s",
        len(workspace.python_files),
        len(workspace.test_files),
        type(sandbox).__name__,
    )
    results = run_tools(workspace, workdir, sandbox, options)
    with stage("scoring", options.on_event):
        if assignment.hidden_tests is None:
            rubric = rubric.without("correctness")
        metrics = normalize.all_metrics(results)
        findings = [f for r in results for f in r.findings]
        summary, metrics, findings = _candidate_only(starter, workspace, metrics, findings)
        past = _history(acquired, assignment, starter, metrics)
        if past is None:
            rubric = rubric.without("process")
        criteria, score, letter, reason = scoring.score_all(rubric, metrics, findings)
        criteria = with_fingerprints(workspace.root, _with_snippets(workspace, criteria))
    warnings = _warnings(acquired.warnings, workspace, sandbox, results, criteria)
    if past is not None:
        warnings += tuple(past.flags)
        if past.after_deadline:
            warnings += (f"{len(past.after_deadline)} commits after the deadline were not graded",)
    submission = Submission(
        source=options.source,
        commit=acquired.commit,
        commit_date=acquired.commit_date,
        ref=acquired.ref,
        root_label=Path(options.source).name or options.source,
        candidate_configs=workspace.candidate_configs,
        warnings=warnings,
    )
    hidden = next((r.hidden_tests for r in results if r.hidden_tests is not None), None)
    report = Report(
        grader_version=__version__,
        submission=submission,
        rubric=rubric.info,
        score=score,
        grade=letter,
        score_reason=reason,
        criteria=criteria,
        tools=results,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tests_isolated=sandbox.isolated,
        per_file=merge_file_stats(results),
    )
    if not assignment.active:
        return report
    authored = starter.lines.authored if starter else None
    return dataclasses.replace(
        report,
        assignment=AssignmentReport(
            name=assignment.name,
            hidden_tests=hidden,
            authorship=summary,
            history=past,
            discussion=interview.points(report, authored),
            calibration=_calibration(assignment, rubric, score),
        ),
    )


def _calibration(assignment: Assignment, rubric: Rubric, score: float | None) -> Calibration | None:
    return calibration.place(assignment, rubric, score)
