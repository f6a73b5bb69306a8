"""Run by grader.tools.coverage_halves as ``python -I <this file> <request file>``, in a
memory-limited process of its own: coverage's report in two halves.

Most of a coverage report's time goes to parsing each measured file for its statements and
possible branches, which depends on the code alone, not on the run. This process does that
while the tests still run, from the pristine copies (the scratch copy the tests see may be
changing under it), with coverage's own parser, and touches the request's ``ready`` file.
Then it waits: once the run is over, grader writes ``{"data_file": ..., "out": ...}`` as one
line on its stdin, and it reads the lines and arcs the run recorded and lets coverage's own
``analysis_from_file_reporter`` count them against those parsers. The same figures
``coverage json`` gives, in its shape, go to ``out``.

The request file is JSON: ``{"rcfile", "files": [[relative, measured, pristine], ...],
"ready"}``. A file coverage cannot parse is left out, as ``--ignore-errors`` does.
"""

from __future__ import annotations

import json
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


def parse(request: dict[str, object]) -> list[Parsed]:
    """Parse each pristine file as coverage would parse the measured one."""
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
        except MemoryError:
            raise  # the report then parses the files in parts, each in its own process
        except Exception:  # noqa: S112  # coverage json --ignore-errors skips it too
            continue
        parsed.append((relative, measured, parser, no_branch))
    return parsed


def figures(parsed: list[Parsed], data_file: str) -> dict[str, object]:
    """Count the recorded lines and arcs against the parsed files; coverage json's shape."""
    data = CoverageData(basename=data_file)
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
    return {"files": files}


def main() -> None:
    """Parse, say so, then wait for the run's data file on stdin (none: the run was given
    up) and write the figures."""
    request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    parsed = parse(request)
    Path(str(request["ready"])).touch()
    line = sys.stdin.readline()
    if not line.strip():
        return
    asked = json.loads(line)
    counted = figures(parsed, str(asked["data_file"]))
    Path(str(asked["out"])).write_text(json.dumps(counted), encoding="utf-8")


if __name__ == "__main__":
    main()
