"""The terminal summary: colour only on a terminal, NO_COLOR and --no-color honoured,
plain text when piped, one line with --quiet."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from test_gains import DOCS_AND_LINT, report, ruff

from grader.cli import main
from grader.render import terminal
from grader.scoring.gains import gains

COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m")
"""An SGR sequence that sets a foreground colour."""


def _summary(monkeypatch: pytest.MonkeyPatch, *, env: dict[str, str], no_color: bool) -> str:
    for name in ("FORCE_COLOR", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    graded = report(
        DOCS_AND_LINT,
        {
            "docs.docstring_coverage": 40,
            "types.annotation_coverage": 100,
            "lint.issues_per_kloc": 20,
            "lint.issues": 2,
        },
        [ruff("app.py", 3), ruff("lib.py", 7)],
    )
    stream = io.StringIO()
    terminal.summary(
        terminal.console(stream, no_color=no_color),
        graded,
        gains(DOCS_AND_LINT, graded),
        None,
    )
    return stream.getvalue()


def test_summary_lists_criteria_then_what_would_gain_the_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _summary(monkeypatch, env={}, no_color=False)
    lines = text.splitlines()
    assert lines[0] == "grader: 62.0/100, grade F"
    assert text.index("Docs (60)") < text.index("What would gain the most")
    assert "-30 pts: docs.docstring_coverage 40 u, full marks at 100" in text
    assert "+18.0  add docstrings to public modules, classes, functions" in text
    assert "+10.0  fix 1 ruff finding in app.py" in text  # 20 -> 10 per kloc: +25 x 0.4
    assert "Lint · app.py:3: F401: unused import" in text


def test_colour_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert COLOUR.search(_summary(monkeypatch, env={"FORCE_COLOR": "1"}, no_color=False))
    assert "\x1b" not in _summary(monkeypatch, env={}, no_color=False)  # a StringIO: piped


def test_no_color_environment_and_flag_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    forced = {"FORCE_COLOR": "1"}
    assert not COLOUR.search(_summary(monkeypatch, env={**forced, "NO_COLOR": "1"}, no_color=False))
    assert not COLOUR.search(_summary(monkeypatch, env=forced, no_color=True))


def test_piped_grade_is_plain_text_with_the_report_path_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(SAMPLES / "poor"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert run.stderr.startswith("grader: ")
    assert "What would gain the most" in run.stderr
    assert re.search(r"^\+\d+\.\d  ", run.stderr, re.MULTILINE)
    assert run.stdout == f"{out / 'report.html'}\n"


def test_quiet_prints_only_the_score_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["grade", str(SAMPLES / "poor"), "--out", str(tmp_path), "--format", "json", "--quiet"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    assert re.fullmatch(r"grader: \d+\.\d/100, grade [A-F]\n", captured.out)


def test_names_the_submission_controls_cannot_drive_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    hostile = "app\x1b]0;owned\x07\x1b[2J\u202e.py"
    graded = report(
        DOCS_AND_LINT, {"lint.issues_per_kloc": 10, "lint.issues": 1}, [ruff(hostile, 1)]
    )
    stream = io.StringIO()
    terminal.summary(terminal.console(stream), graded, gains(DOCS_AND_LINT, graded), None)
    text = stream.getvalue()
    assert "fix 1 ruff finding in app\\x1b]0;owned\\x07\\x1b[2J\\u202e.py" in text
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\u202e" not in text


def test_a_grade_shows_its_running_stages_where_rich_is_told_stderr_is_a_terminal(
    tmp_path: Path,
) -> None:
    """FORCE_COLOR makes a pipe a terminal to rich: the spinner runs there too (grader
    decides without building rich's console, so it must know rich's overrides)."""
    run = subprocess.run(
        [
            *(sys.executable, "-m", "grader", "grade", str(SAMPLES / "exemplary")),
            *("--out", str(tmp_path), "--format", "json", "--mutants", "0", "--no-cache"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FORCE_COLOR": "1"},
    )
    assert run.returncode == 0, run.stderr
    assert re.search(r"pytest  \d+s", run.stderr), run.stderr[:2000]
