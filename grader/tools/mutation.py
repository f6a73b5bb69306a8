"""Mutation testing: would the candidate's tests notice if their code were wrong?

After the pytest stage, on the same scratch area, with the same interpreter, environment
and sandbox: a seeded sample of mutants of the measured (non-test, non-excluded) files is
made on the host (see mutants), and for each one the mutated file replaces the original
in a fresh scratch copy (see _plant) and pytest runs once more in the sandbox, stopping at the first
failure, with a timeout derived from the measured test run. A failing or timed-out run
kills the mutant; a passing one means no test noticed, and is a finding with the change
in words. The mutation tool is grader's: the operators run on the host, pytest (already
one of grader's runners in the test environment) runs the tests; nothing is added to
the candidate's environment.

Per-test coverage is not recorded by the pytest stage, so every mutant runs the whole
suite (with ``-x``); the time budget (``MutationBudget``) ends the sample early on a slow
suite, which the evidence then says. A suite that did not pass before mutation makes the
score "not applicable", with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from grader.acquire.workspace import Workspace, remove_tree
from grader.core.models import Finding, Location, Metric, Severity, TestSummary
from grader.tools.base import ToolContext, percent
from grader.tools.mutants import Mutant, sample, sites
from grader.tools.pytest_run import RunFolders

METRIC = "tests.mutation_score"
MIN_TIMEOUT_S = 10.0


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


def _plant(ctx: ToolContext, paths: RunFolders, mutant: Mutant) -> bool:
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


def _argv(paths: RunFolders, ws: Workspace, run: SuiteRun, per_test_s: float) -> list[str]:
    timeout_plugin = [] if run.own_env else ["-p", "pytest_timeout"]
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
        str(paths.scratch),
    ]


def _killed(ctx: ToolContext, paths: RunFolders, run: SuiteRun, mutant: Mutant) -> bool:
    """Run the suite against one mutant; True when a test failed or the run timed out."""
    timeout_s = max(MIN_TIMEOUT_S, 3 * run.duration_s)
    limits = dataclasses.replace(
        ctx.limits, wall_s=timeout_s, per_test_s=min(ctx.limits.per_test_s, timeout_s)
    )
    result = ctx.sandbox.run(
        _argv(paths, ctx.workspace, run, limits.per_test_s),
        cwd=paths.scratch,
        writable=list(paths.writable()),
        readable=list(run.readable),
        env=run.env,
        limits=limits,
        tmp=paths.tmp if run.tmp else None,
        hosts=run.hosts,
    )
    return result.timed_out or result.exit_code != 0


def _survivor(mutant: Mutant) -> Finding:
    return Finding(
        "pytest",
        "mutant-survived",
        f"{mutant.change} and every test still passed",
        Severity.MEDIUM,
        Location(mutant.site.path, mutant.site.line, mutant.site.column + 1),
    )


def measure(ctx: ToolContext, paths: RunFolders, run: SuiteRun, coverage_json: Path) -> Outcome:
    """Run a seeded sample of mutants within the budget; the score is the share killed."""
    budget = ctx.mutation
    if budget.max_mutants <= 0:
        return not_applicable("turned off")
    covered = covered_lines(coverage_json)
    sources = _sources(ctx.workspace, covered)
    mutants = sample(sources, sites(sources, covered), budget.max_mutants)
    if not mutants:
        return not_applicable("no code the tests run could be mutated")
    deadline = time.monotonic() + max(budget.floor_s, budget.time_factor * run.duration_s)
    killed = 0
    survivors: list[Finding] = []
    ran = 0
    for mutant in mutants:
        if time.monotonic() >= deadline:
            break
        if not _plant(ctx, paths, mutant):
            continue
        ran += 1
        if _killed(ctx, paths, run, mutant):
            killed += 1
        else:
            survivors.append(_survivor(mutant))
    if not ran:
        return not_applicable("the time budget ended before any mutant ran")
    cut = (
        f"; the time budget stopped it after {ran} of {len(mutants)}" if ran < len(mutants) else ""
    )
    evidence = f"{killed} of n={ran} sampled mutants killed{cut}"
    return Outcome(
        Metric(METRIC, percent(killed, ran), "%", "pytest", evidence),
        tuple(survivors),
        ran,
        f"mutation testing: {evidence}",
    )
