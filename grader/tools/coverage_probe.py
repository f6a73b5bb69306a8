"""Run by grader.tools.coverage_data as ``python -I <this file> parse|figures <request
file>``, in a memory-limited process of its own: coverage's report in two halves.

Most of a coverage report's time goes to parsing each measured file for its statements and
possible branches, which depends on the code alone, not on the run. ``parse`` does that
while the tests still run, from the pristine copies (the scratch copy the tests see may be
changing under it), and pickles coverage's own parsers. ``figures``, once the run is over,
reads the lines and arcs it recorded and lets coverage's own ``analysis_from_file_reporter``
count them against those parsers: the same figures ``coverage json`` gives, in its shape.

The request file is JSON: ``parse`` reads ``{"rcfile", "files": [[relative, measured,
pristine], ...], "out"}``; ``figures`` reads ``{"parsed", "data_file", "out"}``. A file
coverage cannot parse is left out, as ``--ignore-errors`` does.
"""

from __future__ import annotations

import json
import pickle  # grader's own parse, in its own work folder: nothing the run wrote
import sys
from collections.abc import Iterable
from pathlib import Path

import coverage
from coverage.misc import join_regex
from coverage.parser import PythonParser
from coverage.plugin import FileReporter
from coverage.python import get_python_source
from coverage.results import analysis_from_file_reporter
from coverage.sqldata import CoverageData

Parsed = tuple[str, str, PythonParser, set[int]]
"""A measured file: its path relative to the submission, its name in the data file,
coverage's parser of its pristine copy and its lines excluded from branch counting."""


class _ParsedFile(FileReporter):
    """What coverage's analysis asks of a Python file, answered by a finished parse (as
    coverage's own PythonFileReporter answers it)."""

    def __init__(self, filename: str, parser: PythonParser, no_branch: set[int]) -> None:
        super().__init__(filename)
        self.parser = parser
        self.no_branch = no_branch

    def lines(self) -> set[int]:
        return set(self.parser.statements)

    def excluded_lines(self) -> set[int]:
        return set(self.parser.excluded)

    def translate_lines(self, lines: Iterable[int]) -> set[int]:
        return self.parser.translate_lines(lines)

    def translate_arcs(self, arcs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        return self.parser.translate_arcs(arcs)

    def arcs(self) -> set[tuple[int, int]]:
        return self.parser.arcs()

    def exit_counts(self) -> dict[int, int]:
        return self.parser.exit_counts()

    def no_branch_lines(self) -> set[int]:
        return self.no_branch


def parse(request: dict[str, object]) -> None:
    """Parse each pristine file as coverage would parse the measured one; pickle them."""
    settings = coverage.Coverage(config_file=str(request["rcfile"]), data_file=None)
    exclude = join_regex(settings.get_exclude_list("exclude"))
    partial = join_regex(
        settings.get_exclude_list("partial") + settings.get_exclude_list("partial_always")
    )
    parsed: list[Parsed] = []
    files: list[list[str]] = request["files"]  # type: ignore[assignment]
    for relative, measured, pristine in files:
        try:
            source = get_python_source(pristine)
            parser = PythonParser(text=source, filename=measured, exclude=exclude)
            parser.parse_source()
            parser.arcs()
            parser.exit_counts()
            no_branch = parser.lines_matching(partial)
        except Exception:  # noqa: S112  # coverage json --ignore-errors skips it too
            continue
        parsed.append((relative, measured, parser, no_branch))
    Path(str(request["out"])).write_bytes(pickle.dumps(parsed))


def figures(request: dict[str, object]) -> None:
    """Count the recorded lines and arcs against the parsed files; coverage json's shape."""
    parsed: list[Parsed] = pickle.loads(Path(str(request["parsed"])).read_bytes())  # noqa: S301
    data = CoverageData(basename=str(request["data_file"]))
    data.read()
    arcs = data.has_arcs()
    files = {}
    for relative, measured, parser, no_branch in parsed:
        reporter = _ParsedFile(measured, parser, no_branch)
        analysis = analysis_from_file_reporter(data, 2, reporter, measured)
        numbers = analysis.numbers
        summary = {"covered_lines": numbers.n_executed, "num_statements": numbers.n_statements}
        if arcs:
            summary["covered_branches"] = numbers.n_executed_branches
            summary["num_branches"] = numbers.n_branches
        files[relative] = {
            "summary": summary,
            "executed_lines": sorted(analysis.executed),
            "missing_lines": sorted(analysis.missing),
        }
    Path(str(request["out"])).write_text(json.dumps({"files": files}), encoding="utf-8")


def main() -> None:
    step, request_file = sys.argv[1], sys.argv[2]
    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    {"parse": parse, "figures": figures}[step](request)


if __name__ == "__main__":
    main()
