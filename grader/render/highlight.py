"""Code snippets highlighted as part of their file, for report.html.

A snippet is a few lines cut out of a file; lexed alone, a line inside a docstring or a
multi-line string reads as code (backticks become error tokens). So a snippet is cut from
its file lexed from the start of the top-level statement it begins in: no string or
bracket is open there, and the lexer's state is the file's own. Each such statement is
lexed at most once per page, and only those that hold a snippet: lexing whole files was
most of the time it took to write a report.
"""

from __future__ import annotations

import ast
import bisect
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from grader.core.models import Finding, Report

SourceText = Callable[[str], str | None]
"""The full text of a submission file by its path in the report, or None when unknown."""
MAX_SOURCE_BYTES = 2_000_000
"""Larger files are not read for highlighting; their snippets are highlighted alone."""


class SourceFiles:
    """Files of the submission as graded, only regular files inside ``root``: what the
    snippets were cut from, so they can be highlighted in context."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    @classmethod
    def of(cls, report: Report) -> SourceFiles | None:
        """The submission's own folder, when its source is one on this machine (a graded
        folder, a previewed work tree); None for a URL or an archive."""
        local = Path(report.submission.source).expanduser()
        return cls(local) if local.is_dir() else None

    def __call__(self, path: str) -> str | None:
        candidate = self._root / path
        try:
            if candidate.is_symlink() or not candidate.is_file():
                return None
            if not candidate.resolve().is_relative_to(self._root):
                return None
            if candidate.stat().st_size > MAX_SOURCE_BYTES:
                return None
            return candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


Tokens = list[tuple[Any, str]]


def token_lines(lines: list[str]) -> list[Tokens]:
    """``lines`` lexed as one Python text, the tokens split back into those lines."""
    split: list[Tokens] = [[]]
    lexer = PythonLexer(stripnl=False, ensurenl=False)
    for kind, value in lexer.get_tokens("\n".join(lines) + "\n"):
        parts = value.split("\n")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part or not last:
                split[-1].append((kind, part if last else part + "\n"))
            if not last:
                split.append([])
    return split[: len(lines)]


def statement_starts(text: str) -> list[int]:
    """Lines (1-based) where a top-level statement begins, decorators and all, with line
    1 first; only line 1 when the text is no valid Python."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [1]
    starts = {1}
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        starts.add(min([node.lineno, *(d.lineno for d in decorators)]))
    return sorted(starts)


class Highlighter:
    """Snippets highlighted as part of their file: a line inside a docstring or a
    multi-line string is lexed as string, not as code."""

    def __init__(self, sources: SourceText | None) -> None:
        self._sources = sources
        self._files: dict[str, tuple[list[str], list[int]] | None] = {}
        self._statements: dict[tuple[str, int], list[Tokens]] = {}

    def _file(self, path: str) -> tuple[list[str], list[int]] | None:
        if path not in self._files:
            text = self._sources(path) if self._sources else None
            # Lines as the pipeline numbered them when it cut the snippet.
            lines = text.splitlines() if text is not None else None
            self._files[path] = (
                None if lines is None or text is None else (lines, statement_starts(text))
            )
        return self._files[path]

    def _lexed(self, path: str, lines: list[str], starts: list[int], line: int) -> list[Tokens]:
        """The tokens of the lines from the start of the top-level statement holding
        ``line`` to the next one's, by line; the first is ``starts[i]``."""
        i = bisect.bisect_right(starts, line) - 1
        key = (path, starts[i])
        if key not in self._statements:
            end = starts[i + 1] - 1 if i + 1 < len(starts) else len(lines)
            self._statements[key] = token_lines(lines[starts[i] - 1 : end])
        return self._statements[key]

    def _window(self, path: str, snippet: str, start: int) -> Tokens:
        wanted = snippet.split("\n")  # the pipeline joined the file's lines with "\n"
        known = self._file(path)
        if known is not None:
            lines, starts = known
            stop = start - 1 + len(wanted)
            # Only when the file still holds exactly the report's lines (not redacted,
            # not shortened, not edited since): the page shows the report's text, never
            # more of the file than the snippet.
            if start >= 1 and lines[start - 1 : stop] == wanted:
                tokens: Tokens = []
                line = start
                while line <= stop:
                    first = starts[bisect.bisect_right(starts, line) - 1]
                    lexed = self._lexed(path, lines, starts, line)
                    for row in lexed[line - first : stop - first + 1]:
                        tokens.extend(row)
                    line = first + len(lexed)
                return tokens
        return [token for line in token_lines(wanted) for token in line]

    def snippet(self, f: Finding) -> Markup | None:
        location = f.location
        if not location.snippet or location.line is None or location.snippet_start is None:
            return None
        start = location.snippet_start
        formatter = HtmlFormatter(
            cssclass="hl",
            linenos="inline",
            linenostart=start,
            hl_lines=[location.line - start + 1],
        )
        out = io.StringIO()
        formatter.format(self._window(location.path, location.snippet, start), out)
        # Pygments escapes the source it formats; the result is markup by construction.
        return Markup(out.getvalue())  # noqa: S704
