"""Command line: ``grader grade|preview|explain|rubrics|batch|aggregate``; the one
top-level error handler.

Start-up must stay fast (``--version`` and ``--help`` in well under 0.3 s), so this module
imports only the standard library and grader's errors at import time; each command imports
what it needs (the pipeline, rich, the renderers) when it runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from grader import __version__
from grader.core.errors import ExitCode, GraderError, InterruptedByUserError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from grader.assignment.spec import Assignment
    from grader.core.models import Audience, BatchResult, Report
    from grader.core.progress import OnEvent
    from grader.pipeline import GradeOptions
    from grader.render import Format
    from grader.sandbox.bubblewrap import Limits

log = logging.getLogger("grader")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _formats(value: str) -> list[Format]:
    from grader.render import Format  # noqa: PLC0415 - the renderers load only to grade

    try:
        return [Format(part.strip()) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown format in {value!r} (choose from {', '.join(f.value for f in Format)})"
        ) from None


def _score(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 100")
    return number


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return number


def _audience(value: str) -> Audience:
    from grader.core.models import Audience  # noqa: PLC0415

    # "hiring-team" is the GitHub Action's name for the reviewer.
    try:
        return Audience.REVIEWER if value == "hiring-team" else Audience(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an audience (reviewer or candidate)"
        ) from None


def _add_assignment_arguments(g: argparse.ArgumentParser) -> None:
    """--assignment and the parts of it the command line can override."""
    g.add_argument(
        "--assignment", type=Path, help="assignment.toml: rubric, hidden tests, starter, deadline"
    )
    g.add_argument(
        "--hidden-tests", type=Path, metavar="DIR", help="the hiring team's own tests to run"
    )
    g.add_argument(
        "--starter",
        metavar="URL_OR_PATH[@REF]",
        help="the starter code the candidate began with; its untouched lines are not scored",
    )
    g.add_argument("--base", metavar="REF", help="a commit of the submission holding the starter")
    g.add_argument(
        "--deadline",
        metavar="ISO-8601-TIMESTAMP",
        help="grade the last commit made before this (e.g. 2024-05-01T18:00:00+02:00)",
    )
    g.add_argument(
        "--audience",
        type=_audience,
        default=None,
        help="reviewer (everything) or candidate (hidden tests as the assignment allows, "
        "no interview points)",
    )


def _add_calibrate(commands: argparse._SubParsersAction[_Parser]) -> None:
    c = commands.add_parser(
        "calibrate",
        help="grade an assignment's starter (floor) and reference solution (ceiling)",
    )
    c.add_argument("--assignment", type=Path, required=True, help="assignment.toml")
    c.add_argument("--rubric", default=None, help="override the assignment's rubric")
    c.add_argument("--allow-unsandboxed", action="store_true", help="as for grade")
    c.add_argument("--cache-dir", type=Path, default=None, help="as for grade")


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


def _output_options() -> _Parser:
    """-v, --quiet and --no-color, accepted before or after the command.

    SUPPRESS as default keeps a subcommand from resetting what was given before it.
    """
    shared = _Parser(add_help=False)
    shared.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log each stage with its duration to stderr",
    )
    shared.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print only the score line",
    )
    shared.add_argument(
        "--no-color",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no colour (also when NO_COLOR is set, or when output is not a terminal)",
    )
    return shared


def _grading_options(g: argparse.ArgumentParser, out_default: str) -> None:
    """Options shared by ``grade`` and ``preview``: both grade with the same analysis."""
    g.add_argument(
        "--rubric",
        default=None,
        help="built-in rubric name or path to a TOML file (default: the assignment's, "
        "else 'default')",
    )
    g.add_argument(
        "--out", type=Path, default=Path(out_default), help=f"output folder (default {out_default})"
    )
    g.add_argument(
        "--format",
        type=_formats,
        default=None,
        help="comma-separated: html,json,md,sarif (default html,json,md)",
    )
    g.add_argument("--fail-under", type=_score, help="exit 1 when the score is below this")
    _submission_options(g)


def _submission_options(g: argparse.ArgumentParser) -> None:
    """How each submission is analysed: shared by grade, preview and every row of a batch."""
    g.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="run the candidate's tests without bubblewrap isolation (the report says so)",
    )
    g.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out matching paths (e.g. starter code); repeatable",
    )
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where test environments are cached (default: $GRADER_CACHE_DIR or ~/.cache/grader)",
    )
    g.add_argument(
        "--cache-size-gb", type=_positive, default=10.0, help="evict old environments beyond this"
    )
    g.add_argument(
        "--offline", action="store_true", help="install dependencies from the cache only"
    )
    g.add_argument(
        "--allow-source-builds",
        action="store_true",
        help="also install dependencies that have no wheel, running their build scripts "
        "on this host outside the sandbox (default: wheels only)",
    )
    g.add_argument(
        "--python-downloads",
        action="store_true",
        help="let uv download the Python a submission asks for when this host has none "
        "(default: use installed interpreters only)",
    )
    _add_assignment_arguments(g)
    g.add_argument(
        "--test-timeout", type=_positive, default=None, help="seconds for the whole test run (300)"
    )
    g.add_argument("--per-test-timeout", type=_positive, default=None, help="seconds per test (60)")
    g.add_argument(
        "--memory-mb", type=_positive, default=None, help="address space limit for tests (2048)"
    )
    g.add_argument(
        "--max-processes", type=_positive, default=None, help="process limit for tests (256)"
    )
    g.add_argument(
        "--disk-mb",
        type=_positive,
        default=None,
        help="disk space for everything the tests write: scratch copy, home, /tmp (1024)",
    )


def _jobs(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return number


def _share(value: str) -> float:
    number = _positive(value)
    if number > 1:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return number


def _shard(value: str) -> tuple[int, int]:
    from grader.batch.submissions import parse_shard  # noqa: PLC0415

    return parse_shard(value)


def _leaderboard_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fail-under", type=_score, help="exit 1 when a graded candidate is below this")
    p.add_argument(
        "--similarity-threshold",
        type=_share,
        default=None,
        help="flag two candidates when this share (0-1] of one's code is in the other's (0.5)",
    )


def _batch_commands(commands: argparse._SubParsersAction[_Parser], shared: _Parser) -> None:
    b = commands.add_parser(
        "batch", help="grade many submissions into one leaderboard", parents=[shared]
    )
    b.add_argument(
        "submissions",
        type=Path,
        help="CSV with a header candidate,source[,ref] (other columns are carried to the "
        "results), or a folder whose entries (folders, git repositories, archives) are "
        "submissions",
    )
    b.add_argument("--out", type=Path, required=True, help="output folder")
    b.add_argument(
        "--rubric",
        default=None,
        help="built-in rubric name or path to a TOML file (default: the assignment's, "
        "else 'default')",
    )
    b.add_argument(
        "--jobs",
        type=_jobs,
        help="submissions graded at once (default: the cores, fewer when memory is short)",
    )
    b.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="grade only shard I (0-based) of N: a stable hash of the candidate id",
    )
    b.add_argument(
        "--force", action="store_true", help="regrade rows already graded at the same commit"
    )
    _leaderboard_options(b)
    _submission_options(b)
    a = commands.add_parser(
        "aggregate",
        help="build the leaderboard from reports graded elsewhere (shards)",
        parents=[shared],
    )
    a.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="REPORT_JSON_OR_DIR",
        help="batch output folders, candidate folders, grade output folders or report.json files",
    )
    a.add_argument("--out", type=Path, required=True, help="output folder")
    _leaderboard_options(a)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, exposed for documentation and tests."""
    shared = _output_options()
    parser = _Parser(
        prog="grader", description="Grade a Python take-home submission.", parents=[shared]
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = commands.add_parser(
        "grade", help="grade one submission and write its report", parents=[shared]
    )
    g.add_argument(
        "source", help="git URL (https, ssh, file://), owner/repo, folder, .zip or .tar.gz"
    )
    g.add_argument("--ref", help="branch, tag or commit to grade (git sources only)")
    g.add_argument(
        "--no-cache",
        action="store_true",
        help="grade again even when this commit was graded with the same rubric, grader, "
        "tools and options (the earlier report is otherwise reused)",
    )
    _grading_options(g, "grader-report")
    p = commands.add_parser(
        "preview",
        help="grade your work tree as it is now, uncommitted files included",
        description="Grade the work tree at PATH as it is now: tracked and untracked files, "
        "committed or not, ignored files left out; the same analysis and rubric as grade.",
        parents=[shared],
    )
    p.add_argument("path", nargs="?", default=".", type=Path, help="work tree (default .)")
    _grading_options(p, "grader-report")
    e = commands.add_parser(
        "explain",
        help="how the rubric scores a criterion or a metric",
        description="Print how the rubric scores a criterion or a metric: weights, the "
        "points curve as thresholds, caps and rationale. Without a name, list them.",
        parents=[shared],
    )
    e.add_argument("name", nargs="?", help="criterion id or name, or metric name")
    e.add_argument(
        "--rubric", default="default", help="built-in rubric name or path to a TOML file"
    )
    commands.add_parser("rubrics", help="list the built-in rubrics", parents=[shared])
    _batch_commands(commands, shared)
    _add_calibrate(commands)
    return parser


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

    return GradeOptions(
        source=source,
        rubric=args.rubric,
        limits=_limits(args),
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


def _flag(args: argparse.Namespace, name: str) -> bool:
    return bool(getattr(args, name, False))


def _console(args: argparse.Namespace) -> Console:
    from grader.render import terminal  # noqa: PLC0415

    return terminal.console(no_color=_flag(args, "no_color"))


@contextmanager
def _progress(args: argparse.Namespace, err: Console) -> Iterator[OnEvent | None]:
    """A spinner per running stage on a terminal; nothing when quiet, logging or piped."""
    if _flag(args, "quiet") or _flag(args, "verbose") or not err.is_terminal:
        yield None
        return
    from grader.render.terminal import StageProgress  # noqa: PLC0415

    with StageProgress(err) as progress:
        yield progress


def _graded(args: argparse.Namespace, report: Report, err: Console) -> ExitCode:
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
    if _flag(args, "quiet"):
        sys.stdout.write(terminal.score_line(report) + "\n")
    else:
        worth = gains.gains(load_rubric(args.rubric), report)
        terminal.summary(err, report, worth, None)
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
    from grader.render import prepare_output  # noqa: PLC0415
    from grader.workflows.results_cache import grade_cached  # noqa: PLC0415

    assignment = load_assignment(args)
    args.rubric = assignment.rubric or "default"
    load_rubric(args.rubric)  # a bad rubric is reported before anything is cloned
    prepare_output(args.out)
    options = dataclasses.replace(_options(args, args.source), ref=args.ref, assignment=assignment)
    err = _console(args)
    # The results cache keys on what grade() is given; an assignment brings files it does
    # not hash (hidden tests, a starter), so those grades always run.
    use_cache = not args.no_cache and not assignment.active
    with _progress(args, err) as on_event:
        report, cached = grade_cached(
            dataclasses.replace(options, on_event=on_event), use_cache=use_cache
        )
    report = audience.view(report, args.audience or Audience.REVIEWER)
    if cached and not _flag(args, "quiet"):
        sys.stderr.write(
            f"grader: reused the report graded at {report.generated_at} "
            "(same commit, rubric, grader, tools and options; --no-cache grades again)\n"
        )
    return _graded(args, report, err)


def _preview(args: argparse.Namespace) -> ExitCode:
    from grader.pipeline import load_rubric  # noqa: PLC0415
    from grader.render import prepare_output  # noqa: PLC0415
    from grader.workflows.preview import preview  # noqa: PLC0415

    args.rubric = args.rubric or "default"
    load_rubric(args.rubric)
    if not args.path.is_dir():
        raise UsageError(f"{args.path} is not a folder")
    prepare_output(args.out)
    err = _console(args)
    with _progress(args, err) as on_event:
        options = dataclasses.replace(_options(args, str(args.path)), on_event=on_event)
        report = preview(args.path, options, skip=(args.out,))
    return _graded(args, report, err)


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


_COMMANDS = {
    "calibrate": _calibrate,
    "grade": _grade,
    "preview": _preview,
    "explain": _explain,
    "rubrics": _rubrics,
    "batch": _batch,
    "aggregate": _aggregate,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every error becomes one line on stderr and a documented exit code."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if _flag(args, "verbose") else logging.WARNING,
            format="grader: %(relativeCreated)6.0f ms %(message)s",
        )
        return int(_COMMANDS[args.command](args))
    except KeyboardInterrupt:
        sys.stderr.write("grader: error: interrupted; no report was written\n")
        return int(InterruptedByUserError.exit_code)
    except GraderError as exc:
        sys.stderr.write(f"grader: error: {exc}\n")
        return int(exc.exit_code)
    except Exception as exc:
        log.debug("internal error", exc_info=True)
        sys.stderr.write(
            f"grader: internal error: {type(exc).__name__}: {exc} (rerun with -v for details)\n"
        )
        return int(ExitCode.INTERNAL)
