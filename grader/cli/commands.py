"""What each command does: load its inputs, run its workflow, write, choose the exit code.

Each command imports the stages it needs when it runs, never at import time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from grader.core.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from grader.assignment.spec import Assignment
    from grader.core.batch_models import BatchResult
    from grader.core.models import Report
    from grader.core.progress import OnEvent
    from grader.pipeline import GradeOptions
    from grader.sandbox.bubblewrap import Limits


def _calibrate(args: argparse.Namespace) -> ExitCode:
    from grader.assignment import calibration  # noqa: PLC0415
    from grader.assignment import spec as assignment_module  # noqa: PLC0415
    from grader.environment.cache import EnvironmentCache, default_cache_dir  # noqa: PLC0415
    from grader.pipeline import GradeOptions, load_rubric  # noqa: PLC0415
    from grader.workflows import calibrate  # noqa: PLC0415

    loaded = assignment_module.load(args.assignment)
    assignment = assignment_module.override(loaded, rubric=args.rubric)
    rubric = assignment.rubric or "default"
    load_rubric(rubric)
    options = GradeOptions(
        source="",
        rubric=rubric,
        allow_unsandboxed=args.allow_unsandboxed,
        environments=EnvironmentCache(args.cache_dir or default_cache_dir()),
    )
    floor, ceiling, path = calibrate.run(assignment, options)
    sys.stderr.write(
        f"grader: floor (bare starter) {floor.score}, ceiling (reference) {ceiling.score} "
        f"grade {ceiling.grade}\n"
    )
    said = calibration.warning(ceiling.score, load_rubric(rubric))
    if said:
        sys.stderr.write(f"grader: warning: {said}\n")
    sys.stdout.write(f"{path}\n")
    return ExitCode.GRADED


def load_assignment(args: argparse.Namespace) -> Assignment:
    """The assignment file (if any) with the command line's overrides."""
    from grader.assignment import spec as assignment_module  # noqa: PLC0415
    from grader.assignment.spec import Assignment  # noqa: PLC0415

    loaded = assignment_module.load(args.assignment) if args.assignment else Assignment()
    return assignment_module.override(
        loaded,
        hidden_tests=args.hidden_tests,
        starter=args.starter,
        base=args.base,
        deadline=args.deadline,
        rubric=args.rubric,
    )


def _limits(args: argparse.Namespace) -> Limits:
    from grader.sandbox.bubblewrap import Limits  # noqa: PLC0415

    defaults = Limits()
    return Limits(
        wall_s=args.test_timeout or defaults.wall_s,
        per_test_s=args.per_test_timeout or defaults.per_test_s,
        memory_mb=int(args.memory_mb or defaults.memory_mb),
        processes=int(args.max_processes or defaults.processes),
        disk_mb=int(args.disk_mb or defaults.disk_mb),
    )


def _options(args: argparse.Namespace, source: str) -> GradeOptions:
    from grader.environment.cache import EnvironmentCache, default_cache_dir  # noqa: PLC0415
    from grader.pipeline import GradeOptions  # noqa: PLC0415
    from grader.tools.base import MutationBudget, default_mutants  # noqa: PLC0415

    return GradeOptions(
        source=source,
        rubric=args.rubric,
        limits=_limits(args),
        mutation=MutationBudget(
            max_mutants=(
                default_mutants() if getattr(args, "mutants", None) is None else args.mutants
            ),
            time_factor=getattr(args, "mutation_time_factor", 2.0),
        ),
        allow_unsandboxed=args.allow_unsandboxed,
        exclude=tuple(args.exclude),
        environments=EnvironmentCache(
            args.cache_dir or default_cache_dir(),
            offline=args.offline,
            limit_bytes=int(args.cache_size_gb * 1024**3),
            allow_builds=args.allow_source_builds,
            python_downloads=args.python_downloads,
        ),
    )


def _missing_folders(out: Path) -> list[Path]:
    """``out`` and those of its parents that do not exist yet, outermost first."""
    missing = []
    folder = out.absolute()
    while folder != folder.parent:
        try:
            if folder.exists():
                break
        except OSError:  # a folder on the way this user cannot enter: prepare_output says so
            break
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


@contextmanager
def output_folder(out: Path) -> Iterator[None]:
    """Make ``out`` for this run; an error removes every folder this run made, so a
    failed grade (no such path, not an archive, an unknown ref) leaves nothing behind."""
    from grader.render import prepare_output  # noqa: PLC0415

    made = _missing_folders(out)
    prepare_output(out)
    try:
        yield
    except BaseException:
        if made:
            shutil.rmtree(made[0], ignore_errors=True)
        raise


def flag(args: argparse.Namespace, name: str) -> bool:
    return bool(getattr(args, name, False))


def _console(args: argparse.Namespace) -> Console:
    from grader.render import terminal  # noqa: PLC0415

    return terminal.console(no_color=flag(args, "no_color"))


def _load_renderers() -> None:
    from grader.render import warm_up  # noqa: PLC0415

    warm_up()


def _may_be_terminal() -> bool:
    """Whether stderr can be a terminal to rich: a tty, or rich told it is one. Asked
    before building rich's console, which takes 0.1 s to import: a grade piped to a file,
    in CI or an Action, then builds it only after grading, for the summary."""
    return sys.stderr.isatty() or any(name in os.environ for name in _TERMINAL_OVERRIDES)


_TERMINAL_OVERRIDES = ("TTY_COMPATIBLE", "FORCE_COLOR")


@contextmanager
def _progress(args: argparse.Namespace) -> Iterator[OnEvent | None]:
    """A spinner per running stage on a terminal; nothing when quiet, logging or piped."""
    if flag(args, "quiet") or flag(args, "verbose") or not _may_be_terminal():
        yield None
        return
    err = _console(args)
    if not err.is_terminal:
        yield None
        return
    from grader.render.terminal import StageProgress  # noqa: PLC0415

    with StageProgress(err) as progress:
        yield progress


def _graded(args: argparse.Namespace, report: Report) -> ExitCode:
    """Write the reports, tell the person what to do next, and choose the exit code."""
    from grader.core.progress import stage  # noqa: PLC0415
    from grader.pipeline import load_rubric  # noqa: PLC0415
    from grader.render import DEFAULT_FORMATS, status_line, terminal, write_reports  # noqa: PLC0415
    from grader.scoring import gains  # noqa: PLC0415

    with stage("rendering"):
        written = write_reports(report, args.out, args.format or list(DEFAULT_FORMATS))
    main_file = next((p for p in written if p.suffix == ".html"), written[0])
    if report.assignment is not None and report.assignment.no_work:
        sys.stderr.write("".join(f"{line}\n" for line in status_line.lines(report)))
        sys.stdout.write(f"{main_file}\n")
        return ExitCode.GRADED
    if flag(args, "quiet"):
        sys.stdout.write(terminal.score_line(report) + "\n")
    else:
        worth = gains.gains(load_rubric(args.rubric), report)
        terminal.summary(_console(args), report, worth, None)
        if report.assignment is not None:  # hidden tests, starter, calibration, as allowed
            sys.stderr.write("".join(f"{line}\n" for line in status_line.lines(report)[1:]))
        sys.stdout.write(f"{main_file}\n")
    if args.fail_under is not None and (report.score is None or report.score < args.fail_under):
        return ExitCode.BELOW_FAIL_UNDER
    return ExitCode.GRADED


def _grade(args: argparse.Namespace) -> ExitCode:
    from grader.assignment import audience  # noqa: PLC0415
    from grader.core.models import Audience  # noqa: PLC0415
    from grader.pipeline import load_rubric  # noqa: PLC0415
    from grader.workflows.results_cache import grade_cached  # noqa: PLC0415

    assignment = load_assignment(args)
    by_content = assignment.rubric is None  # notebooks choose the data-science rubric
    args.rubric = assignment.rubric or "default"
    load_rubric(args.rubric)  # a bad rubric is reported before anything is cloned
    options = dataclasses.replace(
        _options(args, args.source),
        ref=args.ref,
        assignment=assignment,
        rubric_by_content=by_content,
        while_tests_run=_load_renderers,
    )
    # The results cache keys on what grade() is given; an assignment brings files it does
    # not hash (hidden tests, a starter), so those grades always run.
    use_cache = not args.no_cache and not assignment.active
    with output_folder(args.out):
        with _progress(args) as on_event:
            report, cached = grade_cached(
                dataclasses.replace(options, on_event=on_event), use_cache=use_cache
            )
        report = audience.view(report, args.audience or Audience.REVIEWER)
        if cached and not flag(args, "quiet"):
            sys.stderr.write(
                f"grader: reused the report graded at {report.generated_at} "
                "(same commit, rubric, grader, tools and options; --no-cache grades again)\n"
            )
        return _graded(args, report)


def _preview(args: argparse.Namespace) -> ExitCode:
    from grader.pipeline import load_rubric  # noqa: PLC0415
    from grader.workflows.preview import preview, report_folder  # noqa: PLC0415

    by_content = args.rubric is None  # notebooks choose the data-science rubric
    args.rubric = args.rubric or "default"
    load_rubric(args.rubric)
    if not args.path.is_dir():
        raise UsageError(f"{args.path} is not a folder")
    # By default the report goes where it cannot be committed by mistake.
    args.out = report_folder(args.out, args.path, args.cache_dir)
    with output_folder(args.out):
        with _progress(args) as on_event:
            options = dataclasses.replace(
                _options(args, str(args.path)),
                on_event=on_event,
                rubric_by_content=by_content,
                while_tests_run=_load_renderers,
            )
            report = preview(args.path, options, skip=(args.out,))
        return _graded(args, report)


def _explain(args: argparse.Namespace) -> ExitCode:
    from grader.pipeline import known_metrics, load_rubric  # noqa: PLC0415
    from grader.render import explain  # noqa: PLC0415

    rubric = load_rubric(args.rubric)
    if args.name is None:
        sys.stdout.write(explain.overview(rubric))
        return ExitCode.GRADED
    # Correctness and Process count only in grades with hidden tests or a git history:
    # shares are stated for an ordinary grade unless one of them is asked about.
    assignment_only = ("correctness", "process")
    if args.name not in assignment_only:
        rubric = rubric.without(*assignment_only)
    specs = known_metrics()
    sys.stdout.write(
        explain.explain(
            rubric,
            args.name,
            {name: spec.description for name, spec in specs.items()},
            {name: spec.unit for name, spec in specs.items()},
        )
    )
    return ExitCode.GRADED


def _rubrics(_args: argparse.Namespace) -> ExitCode:
    from grader.pipeline import load_rubric  # noqa: PLC0415
    from grader.render import explain  # noqa: PLC0415
    from grader.scoring.rubric import builtin_names  # noqa: PLC0415

    sys.stdout.write(explain.rubrics((name, load_rubric(name)) for name in builtin_names()))
    return ExitCode.GRADED


def _finish_batch(code: ExitCode, result: BatchResult, out: Path) -> ExitCode:
    graded = sum(1 for row in result.rows if row.status in (0, 1))
    failed = len(result.rows) - graded
    similar = f", {len(result.similar)} similar pairs" if result.similar else ""
    sys.stderr.write(f"grader: {graded} graded, {failed} not graded{similar}\n")
    sys.stdout.write(f"{out / 'index.html'}\n")
    return code


def _threshold(args: argparse.Namespace) -> float:
    from grader.batch.collect import DEFAULT_SIMILARITY_THRESHOLD  # noqa: PLC0415

    value = args.similarity_threshold
    return DEFAULT_SIMILARITY_THRESHOLD if value is None else float(value)


def _batch(args: argparse.Namespace) -> ExitCode:
    from grader.batch.runner import BatchOptions  # noqa: PLC0415
    from grader.batch.runner import run as run_batch  # noqa: PLC0415
    from grader.batch.worker import Settings  # noqa: PLC0415
    from grader.core.models import Audience  # noqa: PLC0415

    # Every row is graded with the assignment, the command line winning as for grade; its
    # paths are absolute once loaded, so the worker processes find them.
    assignment = load_assignment(args)
    settings = Settings(
        rubric=assignment.rubric or "default",
        exclude=tuple(args.exclude),
        limits=_limits(args),
        allow_unsandboxed=args.allow_unsandboxed,
        cache_dir=str(args.cache_dir.resolve()) if args.cache_dir else None,
        cache_size_gb=args.cache_size_gb,
        offline=args.offline,
        allow_source_builds=args.allow_source_builds,
        python_downloads=args.python_downloads,
        assignment=assignment,
        audience=args.audience or Audience.REVIEWER,
    )
    options = BatchOptions(
        submissions=args.submissions,
        out=args.out,
        settings=settings,
        jobs=args.jobs,
        shard=args.shard,
        force=args.force,
        fail_under=args.fail_under,
        similarity_threshold=_threshold(args),
    )
    return _finish_batch(*run_batch(options), args.out)


def _aggregate(args: argparse.Namespace) -> ExitCode:
    from grader.batch.aggregate import aggregate  # noqa: PLC0415

    code, result = aggregate(args.inputs, args.out, args.fail_under, _threshold(args))
    return _finish_batch(code, result, args.out)


COMMANDS = {
    "calibrate": _calibrate,
    "grade": _grade,
    "preview": _preview,
    "explain": _explain,
    "rubrics": _rubrics,
    "batch": _batch,
    "aggregate": _aggregate,
}
