"""The command line's arguments: every option, its check, and its one-line help.

Imports only the standard library and grader's errors at import time; an option's check
imports what it needs when it runs, so ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from grader import __version__
from grader.core.errors import UsageError

if TYPE_CHECKING:
    from grader.core.models import Audience
    from grader.render import Format


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


def _non_negative_int(value: str) -> int:
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 0 or more")
    return int(value)


def _audience(value: str) -> Audience:
    from grader.core.models import Audience  # noqa: PLC0415

    try:
        return Audience(value)
    except ValueError:
        choices = " or ".join(a.value for a in Audience)
        raise argparse.ArgumentTypeError(f"{value!r} is not an audience ({choices})") from None


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


def _grading_options(g: argparse.ArgumentParser, out_default: str, out_help: str = "") -> None:
    """Options shared by ``grade`` and ``preview``: both grade with the same analysis."""
    g.add_argument(
        "--rubric",
        default=None,
        help="built-in rubric name or path to a TOML file (default: the assignment's, "
        "else 'default')",
    )
    g.add_argument(
        "--out",
        type=Path,
        default=Path(out_default),
        help=f"output folder (default {out_help or out_default})",
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
        "--mutants",
        type=_non_negative_int,
        default=None,
        help="mutants sampled for mutation testing; 0 turns it off "
        "(12, or $GRADER_MUTANTS when set)",
    )
    g.add_argument(
        "--mutation-time-factor",
        type=_positive,
        default=2.0,
        help="no new mutant starts after this many times the test run, or 40 s (2)",
    )
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
    _grading_options(
        p, "grader-report", ".git/grader-report, or the user cache outside a git work tree"
    )
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
