"""Command line: ``grader grade SOURCE ...``; the one top-level error handler lives here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from grader import __version__, audience, calibrate, calibration
from grader import assignment as assignment_module
from grader.assignment import Assignment
from grader.environment import EnvironmentCache, default_cache_dir
from grader.errors import ExitCode, GraderError, InterruptedByUserError, UsageError
from grader.models import Audience
from grader.pipeline import GradeOptions, grade, load_rubric
from grader.render import DEFAULT_FORMATS, Format, prepare_output, status_line, write_reports
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


def _audience(value: str) -> Audience:
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
        default=Audience.REVIEWER,
        help="reviewer (everything) or candidate (hidden tests as the assignment allows, "
        "no interview points)",
    )


def _add_calibrate(commands: Any) -> None:
    c = commands.add_parser(
        "calibrate",
        help="grade an assignment's starter (floor) and reference solution (ceiling)",
    )
    c.add_argument("--assignment", type=Path, required=True, help="assignment.toml")
    c.add_argument("--rubric", default=None, help="override the assignment's rubric")
    c.add_argument("--allow-unsandboxed", action="store_true", help="as for grade")
    c.add_argument("--cache-dir", type=Path, default=None, help="as for grade")


def _calibrate(args: argparse.Namespace) -> ExitCode:
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
    loaded = assignment_module.load(args.assignment) if args.assignment else Assignment()
    return assignment_module.override(
        loaded,
        hidden_tests=args.hidden_tests,
        starter=args.starter,
        base=args.base,
        deadline=args.deadline,
        rubric=args.rubric,
    )


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
        "--rubric",
        default=None,
        help="built-in rubric name or path to a TOML file (default: the assignment's, "
        "else 'default')",
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
    _add_calibrate(commands)
    return parser


def _grade(args: argparse.Namespace) -> ExitCode:
    assignment = load_assignment(args)
    rubric = assignment.rubric or "default"
    load_rubric(rubric)  # a bad rubric is reported before anything is cloned
    prepare_output(args.out)
    limits = Limits(
        wall_s=args.test_timeout,
        per_test_s=args.per_test_timeout,
        memory_mb=int(args.memory_mb),
        processes=int(args.max_processes),
    )
    report = grade(
        GradeOptions(
            source=args.source,
            ref=args.ref,
            rubric=rubric,
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
            assignment=assignment,
        )
    )
    report = audience.view(report, args.audience)
    written = write_reports(report, args.out, args.format)
    sys.stderr.write("".join(f"{line}\n" for line in status_line.lines(report)))
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
        return int(_calibrate(args) if args.command == "calibrate" else _grade(args))
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
