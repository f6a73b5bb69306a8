"""Coverage as grader measures it: the options that complete grader's coveragerc, and the
report read back from the data file against the pristine sources.

``--rcfile`` points coverage at grader's own rc file (so the candidate's ``omit`` cannot
hide code); test files and excluded paths are omitted by exact path. When mutation testing
will follow, the rc file is a copy that also records which test function ran each line
(``dynamic_context = test_function``; see test_selection). The report steps run on the
host, so they read only files under the scratch copy, within memory and time limits.
"""

from __future__ import annotations

import configparser
import glob
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.core.models import FileStats
from grader.tools.base import config_path, percent, python_module
from grader.tools.repository_files import tooling_files

MAX_COVERAGE_BYTES = 256 * 1024 * 1024
MAX_CONTEXTS_BYTES = 64 * 1024 * 1024
"""A larger report of the contexts of the mutated files is not read (the whole suite runs)."""


def unmeasured_code(ws: Workspace) -> tuple[str, ...]:
    """Code files coverage leaves out besides the tests and excluded paths: tool
    configuration (tooling_files), migrations (a tool wrote them) and the notebooks'
    scripts (grader's copies of their cells, which no test imports)."""
    scripts = tuple(n.script for n in ws.notebooks)
    return (*tooling_files(ws.source_files), *ws.migrations, *scripts)


def measured_files(ws: Workspace) -> tuple[str, ...]:
    """The code files coverage reports on, each at 0 % when no test ran it."""
    left_out = set(unmeasured_code(ws))
    return tuple(f for f in ws.source_files if f not in left_out)


def _omit_pattern(scratch: Path, relative: str) -> str:
    pattern = glob.escape(str(scratch / relative))
    # An excluded folder is omitted with everything in it.
    return pattern if relative.endswith(".py") else pattern + "/*"


def contexts_rcfile(folder: Path) -> Path:
    """grader's coveragerc, written to ``folder`` with the test function that runs each
    line recorded as its dynamic context."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(config_path("coveragerc").read_text(encoding="utf-8"))
    parser["run"]["dynamic_context"] = "test_function"
    target = folder / "coveragerc"
    with target.open("w", encoding="utf-8") as stream:
        parser.write(stream)
    return target


def coverage_options(
    scratch: Path, data_file: Path, omitted: tuple[str, ...], rcfile: Path | None = None
) -> list[str]:
    """Options that complete grader's coveragerc (or ``rcfile``) for one submission.

    Test files are omitted by exact path (fnmatch-escaped), so what counts as a test is the
    same here as everywhere else in grader.
    """
    omit = ",".join(_omit_pattern(scratch, f) for f in omitted if "," not in f)
    return [
        f"--rcfile={rcfile or config_path('coveragerc')}",
        f"--data-file={data_file}",
        f"--source={scratch}",
        *([f"--omit={omit}"] if omit else []),
    ]


def _inside(scratch: Path, path: str) -> str | None:
    """A measured path relative to the scratch copy, or None when it lies elsewhere."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return candidate.as_posix()
    try:
        return candidate.relative_to(scratch).as_posix()
    except ValueError:
        return None


def _json_argv(
    data_file: Path, report: Path, memory_mb: int, *options: str, files: tuple[str, ...] = ()
) -> list[str]:
    return [
        "prlimit",
        f"--as={memory_mb * 1024 * 1024}",
        "--",
        *python_module(
            "coverage",
            "json",
            f"--rcfile={config_path('coveragerc')}",
            f"--data-file={data_file}",
            *options,
            "-o",
            str(report),
            "--ignore-errors",
            *(["--", *files] if files else []),
        ),
    ]


MIN_FILES_PER_PART = 8
"""Fewer files than this per part are reported in one process: starting another costs
more than it saves."""


def report_parts(scratch: Path, files: tuple[str, ...], parts: int) -> list[tuple[str, ...]]:
    """``files`` (relative to ``scratch``) as absolute paths, split into at most ``parts``
    groups of about equal size, largest files first; one group when splitting does not
    pay."""
    parts = max(1, min(parts, len(files) // MIN_FILES_PER_PART))
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(parts)]
    for size, relative in sorted(((_size(scratch / f), f) for f in files), reverse=True):
        lightest = min(range(parts), key=lambda i: groups[i][0])
        total, members = groups[lightest]
        groups[lightest] = (total + size, [*members, str(scratch / relative)])
    return [tuple(members) for _, members in groups if members]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def coverage_report(
    data_file: Path,
    scratch: Path,
    report: Path,
    *,
    memory_mb: int,
    timeout_s: float,
    files: tuple[str, ...] = (),
    parts: int = 1,
    counted: dict[str, Any] | None = None,
) -> tuple[float | None, float | None, tuple[FileStats, ...], str]:
    """Line and branch coverage and per-file figures from ``data_file``, measured against
    the files now in ``scratch`` (``coverage json`` into ``report``, memory-limited);
    a note instead when no report came out.

    ``files`` (relative to ``scratch``) are the code to report on, each named to coverage:
    one that no test ran is reported at 0 % wherever it sits (coverage itself would only
    find those in folders with an ``__init__.py``, so a ``scripts/`` folder nothing imports
    would be left out, as if covered). Without ``files``, whatever under ``scratch`` was
    measured. Reading each file's statements and branches is most of a report's time on
    a large submission: with ``parts`` > 1, that many processes each report on a share
    of the files, side by side, and the shares are added up. ``counted`` is coverage
    json's ``files`` worked out already (see coverage_halves), when it is.
    """
    if counted is not None:
        return _figures(scratch, counted)
    groups = report_parts(scratch, files, parts) or [()]
    outputs = [
        report if len(groups) == 1 else report.with_name(f"{report.stem}-{i}{report.suffix}")
        for i in range(len(groups))
    ]
    everything = f"--include={glob.escape(str(scratch))}/*"

    def one(group: tuple[str, ...], output: Path) -> proc.ProcResult:
        options = () if group else (everything,)
        argv = _json_argv(data_file, output, memory_mb, *options, files=group)
        # From the scratch folder, coverage names files relative to the submission root.
        return proc.run(argv, cwd=scratch, timeout_s=timeout_s)

    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        results = list(pool.map(one, groups, outputs))
    measured: dict[str, Any] = {}  # coverage's JSON
    for result, output in zip(results, outputs, strict=True):
        if not output.is_file():
            return None, None, (), "no coverage data was recorded: " + proc.tail(result.stdout, 1)
        measured.update(json.loads(output.read_text(encoding="utf-8"))["files"])
    if len(groups) > 1:  # mutation testing reads the executed lines from the one report
        report.write_text(json.dumps({"files": measured}), encoding="utf-8")
    return _figures(scratch, measured)


def _figures(
    scratch: Path, measured: dict[str, Any]
) -> tuple[float | None, float | None, tuple[FileStats, ...], str]:
    """Totals and per-file figures from coverage json's ``files``."""
    summaries = [info["summary"] for info in measured.values()]
    total = {
        key: sum(int(s.get(key, 0)) for s in summaries)
        for key in ("covered_lines", "num_statements", "covered_branches", "num_branches")
    }
    line = percent(total["covered_lines"], total["num_statements"])
    branch = percent(total["covered_branches"], total["num_branches"])
    per_file = tuple(
        FileStats(
            path=relative,
            line_coverage=percent(s["covered_lines"], s["num_statements"]),
            statements=s["num_statements"],
            missing_lines=tuple(info.get("missing_lines", ())),
            branches=s.get("num_branches"),
            covered_branches=s.get("covered_branches"),
        )
        for path, info in sorted(measured.items())
        if (relative := _inside(scratch, path)) is not None
        for s in [info["summary"]]
    )
    return line, branch if branch is not None else line, per_file, ""


LineContexts = dict[str, dict[int, tuple[str, ...]]]


def line_contexts(
    data_file: Path,
    scratch: Path,
    files: tuple[str, ...],
    report: Path,
    *,
    memory_mb: int,
    timeout_s: float,
) -> LineContexts | None:
    """The contexts that ran each line of ``files`` (paths relative to ``scratch``, which
    must hold their pristine copies), from ``coverage json --show-contexts``; a line run
    with no context recorded has ``""``. None when there is no such report."""
    include = ",".join(glob.escape(str(scratch / f)) for f in files if "," not in f)
    if not include:
        return None
    argv = _json_argv(data_file, report, memory_mb, "--show-contexts", f"--include={include}")
    proc.run(argv, cwd=scratch, timeout_s=timeout_s)
    try:
        if report.stat().st_size > MAX_CONTEXTS_BYTES:
            return None
        measured = json.loads(report.read_text(encoding="utf-8"))["files"]
        return {
            path: {int(n): tuple(str(c) for c in names) for n, names in contexts.items()}
            for path, info in measured.items()
            if isinstance(contexts := info.get("contexts"), dict)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
