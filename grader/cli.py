"""Command line: ``grader grade``, ``grader batch``, ``grader aggregate``; the one top-level
error handler lives here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from grader import __version__
from grader.batch.aggregate import aggregate
from grader.batch.collect import DEFAULT_SIMILARITY_THRESHOLD
from grader.batch.runner import BatchOptions
from grader.batch.runner import run as run_batch
from grader.batch.submissions import parse_shard
from grader.batch.worker import Settings
from grader.environment import EnvironmentCache, default_cache_dir
from grader.errors import ExitCode, GraderError, InterruptedByUserError, UsageError
from grader.models import BatchResult
from grader.pipeline import GradeOptions, load_rubric
from grader.render import DEFAULT_FORMATS, Format, prepare_output, write_reports
from grader.results_cache import grade_cached
from grader.sandbox import Limits

log = logging.getLogger("grader")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _formats(value: str) -> list[Format]:
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, exposed for documentation and tests."""
    parser = _Parser(prog="grader", description="Grade a Python take-home submission.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = commands.add_parser("grade", help="grade one submission and write its report")
    g.add_argument(
        "source", help="git URL (https, ssh, file://), owner/repo, folder, .zip or .tar.gz"
    )
    g.add_argument("--ref", help="branch, tag or commit to grade (git sources only)")
    g.add_argument(
        "--rubric", default="default", help="built-in rubric name or path to a TOML file"
    )
    g.add_argument("--out", type=Path, default=Path("grader-report"), help="output folder")
    g.add_argument(
        "--format",
        type=_formats,
        default=list(DEFAULT_FORMATS),
        help="comma-separated: html,json,md,sarif (default html,json,md)",
    )
    g.add_argument("--fail-under", type=_score, help="exit 1 when the score is below this")
    g.add_argument(
        "--no-cache",
        action="store_true",
        help="grade again even when this commit was graded with the same rubric, grader, "
        "tools and options (the earlier report is otherwise reused)",
    )
    _add_grading_options(g)
    _add_batch_commands(commands)
    return parser


def _add_grading_options(g: argparse.ArgumentParser) -> None:
    """Options of ``grade`` that apply to every submission of a batch as well."""
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
    defaults = Limits()
    g.add_argument(
        "--test-timeout",
        type=_positive,
        default=defaults.wall_s,
        help="seconds for the whole test run",
    )
    g.add_argument(
        "--per-test-timeout", type=_positive, default=defaults.per_test_s, help="seconds per test"
    )
    g.add_argument(
        "--memory-mb",
        type=_positive,
        default=defaults.memory_mb,
        help="address space limit for tests",
    )
    g.add_argument(
        "--max-processes",
        type=_positive,
        default=defaults.processes,
        help="process limit for tests",
    )
    g.add_argument(
        "--disk-mb",
        type=_positive,
        default=defaults.disk_mb,
        help="disk space for everything the tests write (scratch copy, home, /tmp)",
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


def _add_leaderboard_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fail-under", type=_score, help="exit 1 when a graded candidate is below this")
    p.add_argument(
        "--similarity-threshold",
        type=_share,
        default=DEFAULT_SIMILARITY_THRESHOLD,
        help="flag two candidates when this share (0-1] of one's code is in the other's",
    )


def _add_batch_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    b = commands.add_parser("batch", help="grade many submissions into one leaderboard")
    b.add_argument(
        "submissions",
        type=Path,
        help="CSV with a header candidate,source[,ref] (other columns are carried to the "
        "results), or a folder whose entries (folders, git repositories, archives) are "
        "submissions",
    )
    b.add_argument("--out", type=Path, required=True, help="output folder")
    b.add_argument(
        "--rubric", default="default", help="built-in rubric name or path to a TOML file"
    )
    b.add_argument(
        "--jobs",
        type=_jobs,
        help="submissions graded at once (default: the cores, fewer when memory is short)",
    )
    b.add_argument(
        "--shard",
        type=parse_shard,
        metavar="I/N",
        help="grade only shard I (0-based) of N: a stable hash of the candidate id",
    )
    b.add_argument(
        "--force", action="store_true", help="regrade rows already graded at the same commit"
    )
    _add_leaderboard_options(b)
    _add_grading_options(b)
    a = commands.add_parser(
        "aggregate", help="build the leaderboard from reports graded elsewhere (shards)"
    )
    a.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="REPORT_JSON_OR_DIR",
        help="batch output folders, candidate folders, grade output folders or report.json files",
    )
    a.add_argument("--out", type=Path, required=True, help="output folder")
    _add_leaderboard_options(a)


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        wall_s=args.test_timeout,
        per_test_s=args.per_test_timeout,
        memory_mb=int(args.memory_mb),
        processes=int(args.max_processes),
        disk_mb=int(args.disk_mb),
    )


def _finish_batch(code: ExitCode, result: BatchResult, out: Path) -> ExitCode:
    graded = sum(1 for row in result.rows if row.status in (0, 1))
    failed = len(result.rows) - graded
    similar = f", {len(result.similar)} similar pairs" if result.similar else ""
    sys.stderr.write(f"grader: {graded} graded, {failed} not graded{similar}\n")
    sys.stdout.write(f"{out / 'index.html'}\n")
    return code


def _batch(args: argparse.Namespace) -> ExitCode:
    settings = Settings(
        rubric=args.rubric,
        exclude=tuple(args.exclude),
        limits=_limits(args),
        allow_unsandboxed=args.allow_unsandboxed,
        cache_dir=str(args.cache_dir.resolve()) if args.cache_dir else None,
        cache_size_gb=args.cache_size_gb,
        offline=args.offline,
        allow_source_builds=args.allow_source_builds,
    )
    options = BatchOptions(
        submissions=args.submissions,
        out=args.out,
        settings=settings,
        jobs=args.jobs,
        shard=args.shard,
        force=args.force,
        fail_under=args.fail_under,
        similarity_threshold=args.similarity_threshold,
    )
    return _finish_batch(*run_batch(options), args.out)


def _aggregate(args: argparse.Namespace) -> ExitCode:
    code, result = aggregate(args.inputs, args.out, args.fail_under, args.similarity_threshold)
    return _finish_batch(code, result, args.out)


def _grade(args: argparse.Namespace) -> ExitCode:
    load_rubric(args.rubric)  # a bad rubric is reported before anything is cloned
    prepare_output(args.out)
    limits = _limits(args)
    report, cached = grade_cached(
        GradeOptions(
            source=args.source,
            ref=args.ref,
            rubric=args.rubric,
            limits=limits,
            allow_unsandboxed=args.allow_unsandboxed,
            exclude=tuple(args.exclude),
            environments=EnvironmentCache(
                args.cache_dir or default_cache_dir(),
                offline=args.offline,
                limit_bytes=int(args.cache_size_gb * 1024**3),
                allow_builds=args.allow_source_builds,
                python_downloads=args.python_downloads,
            ),
        ),
        use_cache=not args.no_cache,
    )
    if cached:
        sys.stderr.write(
            f"grader: reused the report graded at {report.generated_at} "
            "(same commit, rubric, grader, tools and options; --no-cache grades again)\n"
        )
    written = write_reports(report, args.out, args.format)
    score = "not measured" if report.score is None else f"{report.score:.1f}"
    sys.stderr.write(f"grader: {score}/100, grade {report.grade}\n")
    main_file = next((p for p in written if p.suffix == ".html"), written[0])
    sys.stdout.write(f"{main_file}\n")
    if args.fail_under is not None and (report.score is None or report.score < args.fail_under):
        return ExitCode.BELOW_FAIL_UNDER
    return ExitCode.GRADED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every error becomes one line on stderr and a documented exit code."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING,
            format="grader: %(message)s",
        )
        command = {"grade": _grade, "batch": _batch, "aggregate": _aggregate}[args.command]
        return int(command(args))
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
