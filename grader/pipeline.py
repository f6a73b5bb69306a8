"""grade(): the order of the stages, and the only place they meet.

acquire -> inventory -> (assignment: starter) -> sandbox -> tools, concurrently ->
normalise -> (assignment: candidate's lines, history) -> score -> evidence -> report.
Each stage lives in its own package; this module only calls them in that order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.acquire import encodings, notebooks
from grader.acquire import source as acquire_module
from grader.acquire.source import HistoryRequest, acquire
from grader.acquire.workspace import (
    Workspace,
    inventory,
    remove_outside_symlinks,
    remove_tree,
    screen,
)
from grader.assignment import stage as stage_of_assignment
from grader.assignment.spec import Assignment
from grader.assignment.stage import AssignmentGrade
from grader.core import proc
from grader.core.cores import CoreShare
from grader.core.errors import UsageError
from grader.core.models import (
    CriterionScore,
    FileStats,
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
from grader.scoring import evidence, kind, normalize, score
from grader.scoring import rubric as rubric_module
from grader.scoring.fingerprints import with_fingerprints
from grader.scoring.rubric import Rubric
from grader.tools import ALL_TOOLS, declared_metrics
from grader.tools.base import MutationBudget, Tool, ToolContext

log = logging.getLogger(__name__)
LONGEST_TOOL = "pytest"


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
    mutation: MutationBudget = field(default_factory=MutationBudget)
    """How many mutants, and how much time, mutation testing may use (grader.tools.mutation)."""
    on_event: OnEvent | None = field(default=None, compare=False)
    """Told when each stage (acquire, environment, each tool, scoring) starts and ends."""

    assignment: Assignment = field(default_factory=Assignment)
    """What the hiring team set: hidden tests, starter, deadline (grader.assignment.spec)."""
    rubric_by_content: bool = False
    """No rubric was named: a submission whose code lives mostly in notebooks is graded
    with NOTEBOOK_RUBRIC instead of ``rubric``."""
    while_tests_run: Callable[[], None] | None = field(default=None, compare=False)
    """Work of the caller's for after the grade (loading the renderers), done on a core the
    test run leaves once the analysers have had their turns; its failure is only logged."""


NOTEBOOK_RUBRIC = "data-science"
MOSTLY_NOTEBOOKS = 50.0
"""Share of the non-test code lines in notebooks above which NOTEBOOK_RUBRIC is chosen."""


def rubric_for(
    rubric: Rubric, workspace: Workspace, options: GradeOptions
) -> tuple[Rubric, tuple[str, ...]]:
    """The rubric this submission is graded with, and why when it is not the one given;
    Reproducibility is left out when there is no notebook to measure it on."""
    said: tuple[str, ...] = ()
    share = notebooks.notebook_share(workspace)
    if options.rubric_by_content and share > MOSTLY_NOTEBOOKS:
        rubric = load_rubric(NOTEBOOK_RUBRIC)
        said = (
            f"graded with the {NOTEBOOK_RUBRIC} rubric: {share:g}% of the code is in "
            "notebooks and no rubric was named (--rubric chooses another)",
        )
    if not workspace.notebook_files:
        rubric = rubric.without("reproducibility")
    return rubric, said


def known_metrics() -> dict[str, MetricSpec]:
    """Names a rubric may reference: tool metrics, derived rates, assignment metrics."""
    assignment_specs = {spec.name: spec for spec in stage_of_assignment.METRICS}
    return {**declared_metrics(), **normalize.derived_specs(), **assignment_specs}


def load_rubric(name_or_path: str) -> Rubric:
    """Load and validate a rubric against every metric grader can produce."""
    return rubric_module.load(name_or_path, known_metrics())


# Analysers that work in grader's own process start once the test run is under way: its
# set-up (the cached environment, the disk area, the copy) is Python in this process too,
# and shared the interpreter with them it took twice as long, while the suite itself, in
# the sandbox, uses a core of its own. Never longer than this. All analysers then take
# turns on the cores the suite leaves (grader.core.cores).
IN_PROCESS_ANALYSERS = frozenset({"facts", "design", "deps"})
HEAD_START_MAX_S = 30.0


def _run_one(tool: Tool, ctx: ToolContext) -> ToolResult:
    started = ctx.tests_started if tool.name in IN_PROCESS_ANALYSERS else None
    if started is not None and not started.wait(HEAD_START_MAX_S):
        log.debug("%s: the test run did not start within %ss", tool.name, HEAD_START_MAX_S)
    # The test run keeps a core to itself; the analysers take turns on the others.
    turn = (
        ctx.cores.analyser_turn()
        if ctx.cores is not None and tool.name != LONGEST_TOOL
        else contextlib.nullcontext()
    )
    try:
        with turn, stage(tool.name, ctx.on_event):
            return tool.run(ctx)
    except Exception as exc:
        log.debug("adapter %s failed:\n%s", tool.name, traceback.format_exc())
        return ToolResult(
            tool=tool.name,
            version=tool.version(),
            status=ToolStatus.FAILED,
            reason=f"grader's {tool.name} adapter failed: {type(exc).__name__}: {exc}",
        )
    finally:
        if tool.name == LONGEST_TOOL:
            if ctx.tests_started is not None:
                ctx.tests_started.set()  # an adapter that failed early holds nothing back
            if ctx.cores is not None:
                ctx.cores.suite_ended()


def _spare_work(
    work: Callable[[], None], analysers: list[Future[ToolResult]], cores: CoreShare
) -> None:
    futures.wait(analysers)
    try:
        with cores.analyser_turn():
            work()
    except Exception:  # the caller does it again when it needs it
        log.debug("work while the tests ran failed:\n%s", traceback.format_exc())


def run_tools(
    tools: Sequence[Tool],
    workspace: Workspace,
    workdir: Path,
    sandbox: Sandbox,
    options: GradeOptions,
) -> tuple[ToolResult, ...]:
    """Run every tool concurrently, each in a private folder; results in registry order."""
    contexts = []
    tests_started = threading.Event()
    cores = CoreShare()
    if not any(tool.name == LONGEST_TOOL for tool in tools):
        tests_started.set()
        cores.suite_ended()
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
                mutation=options.mutation,
                tests_started=tests_started,
                cores=cores,
            )
        )
    # The longest tool (the test run) starts first; results stay in registry order.
    order = sorted(range(len(tools)), key=lambda i: tools[i].name != LONGEST_TOOL)
    with ThreadPoolExecutor(max_workers=len(tools) + 1) as pool:
        try:
            started = {i: pool.submit(_run_one, tools[i], contexts[i]) for i in order}
            if options.while_tests_run is not None:
                analysers = [started[i] for i in order if tools[i].name != LONGEST_TOOL]
                pool.submit(_spare_work, options.while_tests_run, analysers, cores)
            return tuple(started[i].result() for i in range(len(tools)))
        except KeyboardInterrupt:
            proc.stop_all()  # the threads cannot be interrupted; their commands can
            raise


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
    machine_made = {path for path, _ in workspace.generated}
    chosen = [path for path in workspace.excluded if path not in machine_made]
    excluded = [f"excluded from grading: {', '.join(chosen[:20])}"] if chosen else []
    excluded += [f"left out as generated: {path} ({why})" for path, why in workspace.generated]
    broken = [
        f"{r.tool} {r.status.value}: {r.reason}"
        for r in results
        if r.status in {ToolStatus.FAILED, ToolStatus.TIMEOUT}
    ]
    broken += [f"{r.tool}: {r.reason}" for r in results if r.status is ToolStatus.NOTHING_TESTED]
    unmeasured = [f"{c.name} not measured" for c in criteria if c.score is None]
    from_tools = [warning for r in results for warning in r.warnings]
    return (
        *unisolated,
        *acquired,
        *excluded,
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


def _gradable(workspace: Workspace, source: str) -> Workspace:
    """The workspace screened for files no tool can parse, its notebooks as scripts;
    UsageError when nothing is left (a notebook, even an unreadable one, is graded)."""
    if not workspace.python_files and not workspace.notebook_files:
        raise UsageError(f"no Python files or notebooks in {source}")
    if not workspace.source_files and not workspace.notebook_files:
        raise UsageError(f"no Python code besides tests in {source}")
    workspace = screen(workspace)
    if not workspace.python_files and not workspace.notebook_files:
        raise UsageError(f"no Python file in {source} can be parsed")
    return notebooks.with_scripts(workspace)


def _grade_in(workdir: Path, rubric: Rubric, options: GradeOptions) -> Report:
    assignment = options.assignment
    request = HistoryRequest(keep=assignment.active, deadline=assignment.deadline)
    root_label = Path(options.source).name or options.source
    sandbox_for_tests = sandbox_module.choose_soon(allow_unisolated=options.allow_unsandboxed)
    with stage("acquire", options.on_event):
        acquired = acquire(options.source, options.ref, workdir, request)
    with stage("inventory", options.on_event):
        workspace = inventory(acquired.root, options.exclude)
        remove_outside_symlinks(workspace)
        workspace = dataclasses.replace(
            workspace, transcoded=encodings.to_utf8(workspace), version=acquired.version
        )
        graded = AssignmentGrade.start(
            assignment, acquired, workspace, workdir, options.keep_starter
        )
        no_work = graded.no_work(rubric, root_label)
        if no_work is not None:
            return no_work
        workspace = _gradable(workspace, options.source)
        rubric, chosen = rubric_for(rubric, workspace, options)
        sandbox: Sandbox = sandbox_module.NotNeeded()
        if workspace.test_files or assignment.hidden_tests or workspace.notebooks:
            sandbox = sandbox_for_tests()
    if options.keep_sources is not None:
        _copy_sources(workspace, options.keep_sources)
    log.info(
        "%d Python files (%d tests), sandbox: %s",
        len(workspace.python_files),
        len(workspace.test_files),
        type(sandbox).__name__,
    )
    tools = graded.tools(tuple(options.tools))
    results = run_tools(tools, workspace, workdir, sandbox, options)
    results = tuple(notebooks.remap(r, workspace.notebooks) for r in results)
    with stage("scoring", options.on_event):
        applicability = kind.chosen(workspace, assignment.kind)
        said = tuple(notebooks.named(e, workspace.notebooks) for e in applicability.evidence)
        applicability = dataclasses.replace(applicability, evidence=said)
        rubric, left_out = rubric.for_kind(applicability.kind)
        applicability = dataclasses.replace(applicability, not_applicable=left_out)
        metrics = normalize.all_metrics(results)
        findings = [f for r in results for f in r.findings]
        inputs = graded.score_inputs(rubric, workspace, metrics, findings)
        criteria, total, letter, reason = score.score_all(
            inputs.rubric, inputs.metrics, inputs.findings
        )
        criteria = with_fingerprints(workspace.root, evidence.with_snippets(workspace, criteria))
    warnings = chosen + _warnings(acquired.warnings, workspace, sandbox, results, criteria)
    submission = Submission(
        source=options.source,
        commit=acquired.commit,
        commit_date=acquired.commit_date,
        ref=acquired.ref,
        root_label=root_label,
        candidate_configs=workspace.candidate_configs,
        warnings=warnings + graded.warnings(inputs),
    )
    report = Report(
        grader_version=__version__,
        submission=submission,
        rubric=inputs.rubric.info,
        score=total,
        grade=letter,
        score_reason=reason,
        criteria=criteria,
        tools=results,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tests_isolated=sandbox.isolated,
        per_file=merge_file_stats(results),
        applicability=applicability,
        band=None if total is None else inputs.rubric.band(total),
    )
    return graded.finish(report, inputs)
