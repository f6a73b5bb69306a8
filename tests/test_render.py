"""Renderers: escaping of candidate-controlled text, atomic writes, generated assets in sync."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from grader.core.errors import OutputError
from grader.core.models import (
    CriterionScore,
    Finding,
    Location,
    MetricScore,
    Report,
    RubricInfo,
    Severity,
    Submission,
    ToolResult,
    ToolStatus,
)
from grader.render import Format, html, json_report, markdown, write_reports
from grader.render.highlight import Highlighter, token_lines

ROOT = Path(__file__).resolve().parent.parent
EVIL = '<script>alert("pwned")</script>'


def _report(message: str = EVIL, path: str = f"{EVIL}.py") -> Report:
    finding = Finding(
        "ruff",
        "E1",
        message,
        Severity.HIGH,
        Location(path, 3, snippet=f"x = '{EVIL}'", snippet_start=3),
    )
    metric = MetricScore("lint.issues_per_kloc", 12.0, "per kloc", 80.0, 1, 5, "12 per kloc", "r")
    criterion = CriterionScore(
        "maintainability", "Maintainability", 20, 80.0, "lint cost 20 points", "why",
        (metric,), (finding,),
    )  # fmt: skip
    return Report(
        grader_version="0.1.0",
        submission=Submission(source=f"/tmp/{EVIL}", commit="a" * 40, ref=None, root_label=EVIL),
        rubric=RubricInfo("default", "Default", "hiring team", "b" * 64),
        score=80.0,
        grade="B",
        score_reason="weighted mean of 1 criteria",
        criteria=(criterion,),
        tools=(ToolResult("ruff", "0.17.6", ToolStatus.OK, duration_s=0.1),),
        generated_at="2026-11-27T00:00:00+00:00",
        tests_isolated=True,
    )


def test_html_escapes_everything_the_candidate_controls() -> None:
    page = html.render(_report())
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page or "&#34;pwned&#34;" in page
    assert page.count("<script>") == 1  # grader's own sorting script only


def test_html_is_self_contained() -> None:
    page = html.render(_report())
    for needle in ('src="http', 'href="http', "@import", "url("):
        assert needle not in page


def test_markdown_escapes_table_breakers_and_markup() -> None:
    text = markdown.render(_report(message="a | b <img src=x onerror=alert(1)>"))
    assert "<img" not in text and "<script>" not in text
    assert "a \\| b" in text


def test_json_keeps_the_text_verbatim() -> None:
    data = json.loads(json_report.render(_report()))
    assert data["criteria"][0]["findings"][0]["message"] == EVIL


def test_highlight_stylesheet_matches_pygments() -> None:
    shipped = (ROOT / "grader" / "render" / "templates" / "highlight.css").read_text(
        encoding="utf-8"
    )
    assert HtmlFormatter().get_style_defs(".hl") in shipped


def test_reports_are_written_whole_or_not_at_all(tmp_path: Path) -> None:
    written = write_reports(_report(), tmp_path / "out", list(Format))
    assert sorted(p.name for p in written) == [
        "report.html",
        "report.json",
        "report.md",
        "report.sarif",
    ]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_unwritable_output_raises_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(OutputError):
        write_reports(_report(), blocker, [Format.JSON])


def test_markdown_has_no_live_links_or_images_from_the_submission() -> None:
    text = markdown.render(
        _report(message="see ![x](https://evil.example/p.png) [y](javascript:z)")
    )
    assert "](" not in text.replace("\\](", "")
    assert "\\!\\[x\\]\\(https://evil\\.example/p\\.png\\)" in text


def _why_cell(reason: str) -> str:
    """The Why cell of the one criterion row of report.md, for a criterion with this reason."""
    base = _report(message="m")
    criterion = base.criteria[0]
    crit = CriterionScore(
        criterion.id, criterion.name, criterion.weight, criterion.score, reason,
        criterion.rationale, criterion.metrics, criterion.findings,
    )  # fmt: skip
    report = Report(**{**base.__dict__, "criteria": (crit,)})
    row = next(
        line for line in markdown.render(report).splitlines() if "| Maintainability |" in line
    )
    assert row.endswith(" |")
    return row.removeprefix("| Maintainability | 20 | 80 | ").removesuffix(" |")


_PAD = "costs " * 47  # 282 characters of short words
_WHY_CASES = {
    # Short reasons are kept whole, with <= and >= written as text.
    "short": ("lint.issues_per_kloc: 40/100, full marks need <= 5", None),
    "at-least": ("coverage >= 80 %", None),
    # The cut used to fall inside an escape, leaving "\\ |" before the closing pipe.
    "dotted-name": (_PAD + "lint.issues_per_kloc is 40", _PAD.rstrip() + "…"),
    "parenthesis": (
        "costs " * 46 + "(no test files found). Next thing",
        "costs " * 46 + "(no test files found).…",
    ),
    # ... and inside a number: ">= 100" became ">= 10".
    "number-kept": (
        _PAD[:-6] + "full marks need >= 100 per kloc",
        _PAD[:-6] + "full marks need >= 100…",
    ),
    "number-dropped": (
        _PAD[:-2] + "full marks need >= 100 per kloc",
        _PAD[:-2] + "full marks need >=…",
    ),
    # One word longer than the cell is cut, with the ellipsis.
    "one-word": ("x" * 400, "x" * 299 + "…"),
    "one-word-number": ("x" * 290 + "=123456789012", "x" * 290 + "=…"),
}


@pytest.mark.parametrize(("reason", "expected"), _WHY_CASES.values(), ids=_WHY_CASES.keys())
def test_markdown_why_cell_is_cut_before_escaping_at_a_word(
    reason: str, expected: str | None
) -> None:
    cell = _why_cell(reason)
    assert not cell.endswith("\\")
    assert "&lt;" not in cell and "&gt;" not in cell
    assert re.sub(r"\\(.)", r"\1", cell) == (reason if expected is None else expected)
    assert len(expected or "") <= 300


_DOCSTRINGS = '''\
def f() -> None:
    """Disable the log.

    :meth:`do_GET` logs instead.
    """


def g(format: str) -> None:
    """Route :mod:`http.server` here."""
    password = "hunter22"
    print(format, password)
'''


def _docstring_report(source: str, *locations: Location) -> Report:
    base = _report(message="m")
    findings = tuple(
        Finding("ruff", f"E{i}", "m", Severity.LOW, location)
        for i, location in enumerate(locations)
    )
    crit = dataclasses.replace(base.criteria[0], findings=findings)
    submission = dataclasses.replace(base.submission, source=source, root_label="sub")
    return dataclasses.replace(base, criteria=(crit,), submission=submission)


def _window(first: int, last: int) -> str:
    return "\n".join(_DOCSTRINGS.splitlines()[first - 1 : last])


def test_snippet_inside_a_docstring_is_highlighted_as_part_of_its_file(tmp_path: Path) -> None:
    """Lines 3-7 start inside f's docstring: alone, the backticks lex as errors."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "api.py").write_text(_DOCSTRINGS, encoding="utf-8")
    location = Location("pkg/api.py", 5, snippet=_window(3, 7), snippet_start=3)
    alone = highlight(_window(3, 7), PythonLexer(), HtmlFormatter())
    assert 'class="err"' in alone  # what the report showed
    page = html.render(_docstring_report(str(tmp_path), location))
    assert 'class="err"' not in page
    assert ":meth:`do_GET` logs instead." in page.replace("&#96;", "`")
    assert '<span class="linenos">3</span>' in page and '<span class="linenos">7</span>' in page


def test_snippet_of_a_source_that_is_gone_uses_the_given_sources(tmp_path: Path) -> None:
    location = Location("pkg/api.py", 5, snippet=_window(3, 7), snippet_start=3)
    report = _docstring_report("https://example.invalid/candidate.git", location)
    texts = {"pkg/api.py": _DOCSTRINGS}
    page = html.render(report, sources=texts.get)
    assert 'class="err"' not in page


def test_each_statement_is_lexed_once_and_a_changed_window_shows_the_report_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "api.py").write_text(_DOCSTRINGS, encoding="utf-8")
    lexed: list[str] = []
    real = PythonLexer.get_tokens

    def counting(self: PythonLexer, text: str, unfiltered: bool = False) -> Any:
        lexed.append(text)
        return real(self, text, unfiltered)

    monkeypatch.setattr(PythonLexer, "get_tokens", counting)
    redacted = _window(9, 12).replace("hunter22", "«redacted»")
    report = _docstring_report(
        str(tmp_path),
        Location("api.py", 5, snippet=_window(3, 7), snippet_start=3),
        Location("api.py", 8, snippet=_window(6, 9), snippet_start=6),
        Location("api.py", 11, snippet=redacted, snippet_start=9),
    )
    page = html.render(report)
    assert 'class="err"' not in page
    assert "hunter22" not in page and "«redacted»" in page  # the report's window, not the file
    of_file = [text for text in lexed if "«redacted»" not in text]
    # Parts of the file, each a whole top-level statement, each once, never the whole file.
    assert of_file and len(set(of_file)) == len(of_file)
    assert all(text in _DOCSTRINGS and text != _DOCSTRINGS for text in of_file)


_STATEMENTS = '''\
"""Module docstring
with `backticks` and a def inside: def nope():
"""
import os

QUERY = """
SELECT 1 -- ) unbalanced
"""


@decorator(
    "arg",
)
class Service:
    """Serve.

    :meth:`run` runs.
    """

    def run(self, items=(1,
                         2)):
        text = f"""{os.sep}
        still a string: class X:
        """
        return [
            i for i in items
        ]


def broken_later(): return '''


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "not-valid-python"])
def test_a_window_lexed_from_its_statement_matches_the_whole_file_lexed(valid: bool) -> None:
    source = _STATEMENTS + ("'done'\n" if valid else "(\n")
    lines = source.splitlines()
    whole = token_lines(lines)
    highlighter = Highlighter({"m.py": source}.get)
    for start in range(1, len(lines) + 1):
        for stop in range(start, min(start + 6, len(lines)) + 1):
            snippet = "\n".join(lines[start - 1 : stop])
            expected = [token for row in whole[start - 1 : stop] for token in row]
            assert highlighter._window("m.py", snippet, start) == expected, (start, stop)
