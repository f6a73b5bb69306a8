"""Renderers: report.html, report.json, report.md, report.sarif, and a batch's
index.html, results.csv and results.json, written all-or-nothing; the terminal summary.

Every format lives here and reads only the report model.

May import: grader.core, grader.scoring (gains and rubric explanations); never the pipeline.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import assert_never

from grader.core.batch_models import BatchResult
from grader.core.errors import OutputError
from grader.core.models import Report
from grader.render import highlight, html, json_report, leaderboard, markdown, results, sarif
from grader.render.highlight import SourceText


class Format(StrEnum):
    """Report formats users can ask for with --format."""

    HTML = "html"
    JSON = "json"
    MD = "md"
    SARIF = "sarif"


DEFAULT_FORMATS = (Format.HTML, Format.JSON, Format.MD)
"""What --format gives when not set; SARIF is for code scanning and asked for by name."""


def renderer(fmt: Format, sources: SourceText | None = None) -> tuple[str, Callable[[Report], str]]:
    """File name and render function of a format (``sources``: see ``html.view``)."""
    match fmt:
        case Format.HTML:
            return "report.html", functools.partial(html.render, sources=sources)
        case Format.JSON:
            return "report.json", json_report.render
        case Format.MD:
            return "report.md", markdown.render
        case Format.SARIF:
            return "report.sarif", sarif.render
        case _:
            assert_never(fmt)


def warm_up() -> None:
    """Load what writing the reports and the summary needs (jinja2, pygments and rich, the
    page's compiled template, the Python lexer's compiled rules): about 0.2 s that a grade
    spends on a core its test run leaves idle rather than after it."""
    from grader.render import terminal  # noqa: F401, PLC0415 (imported to be loaded)

    html.environment().get_template(html.TEMPLATE)
    highlight.token_lines(["x = 1"])  # Pygments compiles a lexer's rules on first use


def prepare_output(out_dir: Path) -> None:
    """Fail early (before grading) when the output folder cannot be written."""
    try:
        not_a_folder = out_dir.exists() and not out_dir.is_dir()
    except OSError as exc:  # a folder on the way this user cannot enter
        raise OutputError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    if not_a_folder:
        raise OutputError(f"output path {out_dir} exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {out_dir} is not writable")


def write_files(out_dir: Path, files: Sequence[tuple[str, str]]) -> list[Path]:
    """Write each (name, text) to a temp name in ``out_dir``, then rename them all."""
    prepare_output(out_dir)
    written: list[Path] = []
    temps: list[Path] = []
    try:
        for name, text in files:
            handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", dir=out_dir)
            temps.append(Path(temp_name))
            # A name the candidate chose may hold bytes that are not UTF-8: escape them.
            with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as stream:
                stream.write(text)
        for (name, _), temp in zip(files, temps, strict=True):
            temp.replace(out_dir / name)
            written.append(out_dir / name)
    except OSError as exc:
        raise OutputError(f"cannot write report to {out_dir}: {exc.strerror}") from None
    finally:
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    return written


def write_reports(
    report: Report,
    out_dir: Path,
    formats: Sequence[Format],
    sources: SourceText | None = None,
) -> list[Path]:
    """Render every format in memory, then write each file to a temp name and rename it.

    ``sources`` gives the full text of the graded files, so report.html highlights each
    snippet as part of its file (default: the submission's folder, when it is local).
    """
    rendered = [renderer(fmt, sources) for fmt in formats]
    return write_files(out_dir, [(name, render(report)) for name, render in rendered])


def write_batch(result: BatchResult, out_dir: Path) -> list[Path]:
    """index.html (the leaderboard), results.csv and results.json of a batch."""
    return write_files(
        out_dir,
        [
            ("results.csv", results.render_csv(result)),
            ("results.json", results.render_json(result)),
            ("index.html", leaderboard.render(result)),
        ],
    )
