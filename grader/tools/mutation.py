"""Mutation testing: would the candidate's tests notice if their code were wrong?

After the pytest stage, on the same scratch area, with the same interpreter, environment
and sandbox: a seeded sample of mutants of the measured (non-test, non-excluded) files is
made on the host (see mutants), and for each one the mutated file replaces the original
in a fresh scratch copy (see _plant) and pytest runs once more in the sandbox, stopping at
the first failure, with a timeout derived from the measured test run (see timeout). A
failing or timed-out run kills the mutant; a passing one means no test noticed, and is a
finding with the change in words. The mutation tool is grader's: the operators run on
the host, pytest (already one of grader's runners in the test environment) runs the
tests; nothing is added to the candidate's environment.

Each mutant runs only the tests that ran its line (with ``-x``): when mutation testing
is on, the pytest stage records, per line, the test function that ran it (coverage's
``dynamic_context = test_function``), and test_selection turns those into pytest node
ids. A line also run outside any test function (at import, by a fixture) or by a test
that cannot be named, and any run without that record, runs the whole suite, as does a
choice pytest does not find. A mutant whose line no test ran survives without running.
Recording the contexts made the test run of more-itertools (736 tests) 1.03 times as
long, and its 12 mutants ran a median of 4 tests each instead of 736 (README,
Performance). The time budget (``MutationBudget``) ends the sample early on a slow
suite, which the evidence then says. A suite that did not pass before mutation makes
the score "not applicable", with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from grader.acquire.workspace import Workspace, remove_tree
from grader.core.models import Finding, Location, Metric, Severity, TestSummary
from grader.tools import git_copy, scratch_dotenv
from grader.tools.base import ToolContext, percent
from grader.tools.coverage_data import line_contexts
from grader.tools.junit_results import junit_cases
from grader.tools.mutants import Mutant, sample, sites
from grader.tools.pytest_run import RunFolders, test_targets
from grader.tools.test_selection import Selector, collected

METRIC = "tests.mutation_score"
MIN_TIMEOUT_S = 10.0
# A sample the code could not fill to this many (little code the tests run) gives no
# score; its survivors are still reported. A sample asked to be smaller is scored.
MIN_SCORED_MUTANTS = 5


@dataclass(frozen=True)
class SuiteRun:
    """How the pytest stage ran the suite, to run it again the same way."""

    python: Path
    env: dict[str, str]
    readable: tuple[Path, ...]
    hosts: tuple[str, ...]
    tmp: bool
    own_env: bool
    duration_s: float
    dotenv: dict[str, str] = field(default_factory=dict)
    """The ``.env`` files the run's scratch copy was given (see scratch_dotenv): every
    mutant's copy gets them too, or a suite that reloads its .env would fail on each one
    and count it killed."""


@dataclass(frozen=True)
class Recorded:
    """What the pytest stage left in its private folder: the coverage report, the data
    file (None when there was none) and the JUnit file."""

    work_dir: Path
    data_file: Path | None
    junit: Path | None

    @property
    def coverage_json(self) -> Path:
        """The coverage report of every measured file."""
        return self.work_dir / "coverage.json"


# pytest's exit codes for a command line it cannot use and for no test collected: a
# chosen node id it did not find (the mutant then runs the whole suite).
NOT_FOUND_EXIT_CODES = frozenset({4, 5})


@dataclass(frozen=True)
class Outcome:
    """What mutation testing found."""

    metric: Metric
    findings: tuple[Finding, ...] = ()
    ran: int = 0
    """Mutants run (never more than the budget's sample size)."""
    note: str = ""


def not_applicable(reason: str) -> Outcome:
    """No score: the suite could not be mutation-tested, for ``reason``."""
    return Outcome(
        Metric(METRIC, None, "%", "pytest", f"mutation testing not applicable: {reason}")
    )


def baseline_problem(summary: TestSummary, services: bool) -> str:
    """Why the suite cannot be mutation-tested, or '' (it must pass first)."""
    if services:
        return "the tests need servers, which are started only for the first test run"
    broken = summary.failed + summary.errors
    if broken:
        return f"{broken} test(s) failed or errored before any mutation"
    if not summary.passed:
        return "no test passed before any mutation"
    return ""


def covered_lines(report: Path) -> dict[str, frozenset[int]] | None:
    """Executed lines per measured file from the pytest stage's ``coverage json``."""
    try:
        files = json.loads(report.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {
        path: frozenset(int(n) for n in info.get("executed_lines", ()))
        for path, info in files.items()
        if isinstance(info, dict)
    }


def _sources(ws: Workspace, measured: dict[str, frozenset[int]] | None) -> dict[str, str]:
    names = measured.keys() if measured is not None else ws.source_files
    sources: dict[str, str] = {}
    for relative in sorted(set(names) & set(ws.source_files)):
        try:
            sources[relative] = ws.path(relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return sources


def _plant(ctx: ToolContext, paths: RunFolders, run: SuiteRun, mutant: Mutant) -> bool:
    """A fresh scratch copy with the mutant in place of its file; False when the file is a
    link (the mutant is then not run).

    Every folder the previous run could write to is emptied and the submission copied
    again, so each mutant runs on what the candidate handed in, whatever an earlier run's
    tests wrote, deleted or replaced with a link; the mutated file is written without
    following links, before the copy is handed to the sandbox user.
    """
    for folder in paths.writable():
        remove_tree(folder)
    shutil.copytree(ctx.workspace.root, paths.scratch, symlinks=True)
    git_copy.prepare(ctx.workspace, paths.scratch)  # before the mutant: committed pristine
    scratch_dotenv.write(paths.scratch, run.dotenv)
    target = paths.scratch / mutant.site.path
    inside = target.resolve().is_relative_to(paths.scratch.resolve())
    planted = inside and not target.is_symlink() and target.is_file()
    if planted:
        fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(mutant.source)
    for folder in paths.writable():
        folder.mkdir(exist_ok=True)
        ctx.sandbox.own(folder)
    return planted


def _argv(
    paths: RunFolders, ws: Workspace, run: SuiteRun, per_test_s: float, tests: frozenset[str] | None
) -> list[str]:
    timeout_plugin = [] if run.own_env else ["-p", "pytest_timeout"]
    chosen = [f"{paths.scratch}/{node}" for node in sorted(tests)] if tests else []
    return [
        str(run.python),
        "-I",
        "-m",
        "pytest",
        "-c",
        str(paths.config / "pytest.ini"),
        f"--rootdir={paths.scratch}",
        "-p",
        "no:cacheprovider",
        "-x",
        *timeout_plugin,
        f"--timeout={per_test_s:g}",
        "-q",
        *[f"--ignore={paths.scratch / path}" for path in ws.excluded],
        "--",
        *(chosen or test_targets(paths.scratch, ws)),
    ]


def timeout(run: SuiteRun, selector: Selector | None, tests: frozenset[str] | None) -> float:
    """How long one mutant's run may take: three times the measured test run, or, for a
    choice of tests, three times what they took, what the run spent outside any test
    (starting, collecting) and the slowest test (a fixture shared by several tests is set
    up in whichever runs first, and JUnit counts it in that test's time); never under
    MIN_TIMEOUT_S. The measured run was under coverage, so slower than a mutant's."""
    whole_s = max(MIN_TIMEOUT_S, 3 * run.duration_s)
    if selector is None or tests is None:
        return whole_s
    known = selector.tests
    outside_s = max(0.0, run.duration_s - known.duration_s())
    chosen_s = outside_s + known.duration_s(tests) + known.slowest_s()
    return min(whole_s, max(MIN_TIMEOUT_S, 3 * chosen_s))


def _exit(
    ctx: ToolContext,
    paths: RunFolders,
    run: SuiteRun,
    tests: frozenset[str] | None,
    timeout_s: float,
) -> int | None:
    """Run the suite (or only ``tests``) against the planted mutant, for at most
    ``timeout_s``; its exit code, or None when it timed out."""
    limits = dataclasses.replace(
        ctx.limits, wall_s=timeout_s, per_test_s=min(ctx.limits.per_test_s, timeout_s)
    )
    result = ctx.sandbox.run(
        _argv(paths, ctx.workspace, run, limits.per_test_s, tests),
        cwd=paths.working_folder(ctx.workspace),
        writable=list(paths.writable()),
        readable=list(run.readable),
        env=run.env,
        limits=limits,
        tmp=paths.tmp if run.tmp else None,
        hosts=run.hosts,
    )
    return None if result.timed_out else result.exit_code


def _survivor(mutant: Mutant, *, unrun: bool = False) -> Finding:
    why = "no test ran that line (the mutant was not run)" if unrun else "every test still passed"
    return Finding(
        "pytest",
        "mutant-survived",
        f"{mutant.change} and {why}",
        Severity.MEDIUM,
        Location(mutant.site.path, mutant.site.line, mutant.site.column + 1),
    )


def _selector(
    ctx: ToolContext, paths: RunFolders, recorded: Recorded, mutants: list[Mutant]
) -> Selector | None:
    """Which tests ran the mutated lines, from the pytest stage's record (before any
    mutant is planted: the report reads the pristine sources); None without one."""
    if recorded.data_file is None or recorded.junit is None:
        return None
    try:
        cases = [(c.classname, c.name, c.duration_s) for c in junit_cases(recorded.junit)]
    except (SafeET.ParseError, DefusedXmlException, OSError, ValueError):
        return None
    ws = ctx.workspace
    test_files: dict[str, str] = {}
    for relative in ws.test_files:
        try:
            test_files[relative] = ws.path(relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    tests = collected(cases, test_files)
    if tests is None:
        return None
    contexts = line_contexts(
        recorded.data_file,
        paths.scratch,
        tuple(sorted({m.site.path for m in mutants})),
        recorded.work_dir / "contexts.json",
        memory_mb=ctx.limits.memory_mb,
        timeout_s=ctx.static_timeout_s,
    )
    return Selector(tests, contexts) if contexts is not None else None


def _run_one(
    ctx: ToolContext,
    paths: RunFolders,
    run: SuiteRun,
    mutant: Mutant,
    choice: tuple[Selector | None, frozenset[str] | None],
) -> tuple[bool, frozenset[str] | None] | None:
    """Plant one mutant and run the chosen tests (the whole suite when there are none, or
    when pytest does not find them); whether a test failed or the run timed out, and the
    tests that ran. None when it could not be planted."""
    selector, tests = choice
    if not _plant(ctx, paths, run, mutant):
        return None
    code = _exit(ctx, paths, run, tests, timeout(run, selector, tests))
    if tests and code in NOT_FOUND_EXIT_CODES and _plant(ctx, paths, run, mutant):
        tests, code = None, _exit(ctx, paths, run, None, timeout(run, None, None))
    return code != 0, tests


@dataclass
class _Tally:
    """The mutants run so far."""

    ran: int = 0
    killed: int = 0
    survivors: list[Finding] = dataclasses.field(default_factory=list)
    chosen: list[int] = dataclasses.field(default_factory=list)
    """How many tests each mutant that ran a choice of them ran."""
    unrun: int = 0
    """Mutants on a line no test ran (survivors, not run)."""

    def selection(self, total: int) -> str:
        """Which tests the mutants ran, in words ('' when each ran the whole suite)."""
        notes = []
        if self.chosen:
            everyone = len(self.chosen) == self.ran
            who = "each mutant" if everyone else f"{len(self.chosen)} of {self.ran} mutants"
            median = statistics.median_low(self.chosen)
            notes.append(f"{who} ran only the tests that ran its line (median {median} of {total})")
        if self.unrun:
            notes.append(f"{self.unrun} were on a line no test ran and did not run")
        whole = self.ran - len(self.chosen) - self.unrun
        if notes and whole:
            notes.append(f"{whole} ran the whole suite")
        return "".join(f"; {note}" for note in notes)


def measure(ctx: ToolContext, paths: RunFolders, run: SuiteRun, recorded: Recorded) -> Outcome:
    """Run a seeded sample of mutants within the budget; the score is the share killed."""
    budget = ctx.mutation
    if budget.max_mutants <= 0:
        return not_applicable("turned off")
    covered = covered_lines(recorded.coverage_json)
    sources = _sources(ctx.workspace, covered)
    mutants = sample(sources, sites(sources, covered), budget.max_mutants)
    if not mutants:
        return not_applicable("no code the tests run could be mutated")
    deadline = time.monotonic() + max(budget.floor_s, budget.time_factor * run.duration_s)
    selector = _selector(ctx, paths, recorded, mutants)
    tally = _Tally()
    for mutant in mutants:
        if time.monotonic() >= deadline:
            break
        tests = selector.for_line(mutant.site.path, mutant.site.line) if selector else None
        if selector and tests is not None and not tests:
            tally.ran, tally.unrun = tally.ran + 1, tally.unrun + 1
            tally.survivors.append(_survivor(mutant, unrun=True))
            continue
        outcome = _run_one(ctx, paths, run, mutant, (selector, tests))
        if outcome is None:
            continue
        dead, tests = outcome
        tally.ran += 1
        tally.killed += int(dead)
        tally.survivors += [] if dead else [_survivor(mutant)]
        tally.chosen += [selector.tests.count(tests)] if selector and tests else []
    ran = tally.ran
    if not ran:
        return not_applicable("the time budget ended before any mutant ran")
    cut = (
        f"; the time budget stopped it after {ran} of {len(mutants)}" if ran < len(mutants) else ""
    )
    evidence = f"{tally.killed} of n={ran} sampled mutants killed{cut}"
    evidence += tally.selection(selector.tests.total) if selector else ""
    score = percent(tally.killed, ran)
    if len(mutants) < min(MIN_SCORED_MUTANTS, budget.max_mutants):
        # Too little code under test to sample from: one survivor out of one is no
        # estimate of how well the tests check the code. A slow suite that let the budget
        # run only a few of a full sample is scored: slowness must not pay.
        evidence += f": too few to score (a score needs {MIN_SCORED_MUTANTS})"
        score = None
    return Outcome(
        Metric(METRIC, score, "%", "pytest", evidence),
        tuple(tally.survivors),
        ran,
        f"mutation testing: {evidence}",
    )
