"""Code snippets highlighted as part of their whole file, for report.html.

A snippet is a few lines cut out of a file; lexed alone, a line inside a docstring or a
multi-line string reads as code (backticks become error tokens). Each file is lexed once
per page, as a whole, and the snippet's window is cut from the result.
"""

from __future__ import annotations

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


def _token_lines(lines: list[str]) -> list[Tokens]:
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


class Highlighter:
    """Snippets highlighted as part of their whole file: a line inside a docstring or a
    multi-line string is lexed as string, not as code. Each file is lexed once per page."""

    def __init__(self, sources: SourceText | None) -> None:
        self._sources = sources
        self._files: dict[str, tuple[list[str], list[Tokens]] | None] = {}

    def _file(self, path: str) -> tuple[list[str], list[Tokens]] | None:
        if path not in self._files:
            text = self._sources(path) if self._sources else None
            # Lines as the pipeline numbered them when it cut the snippet.
            lines = text.splitlines() if text is not None else None
            self._files[path] = None if lines is None else (lines, _token_lines(lines))
        return self._files[path]

    def _window(self, path: str, snippet: str, start: int) -> Tokens:
        wanted = snippet.split("\n")  # the pipeline joined the file's lines with "\n"
        known = self._file(path)
        if known is not None:
            lines, tokens = known
            window = slice(start - 1, start - 1 + len(wanted))
            # Only when the file still holds exactly the report's lines (not redacted,
            # not shortened, not edited since): the page shows the report's text, never
            # more of the file than the snippet.
            if lines[window] == wanted and len(tokens) >= window.stop:
                return [token for line in tokens[window] for token in line]
        return [token for line in _token_lines(wanted) for token in line]

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
