"""Jupyter notebooks are sources: inventoried, analysed cell by cell, graded on their own."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.acquire import notebooks
from grader.acquire.workspace import inventory, screen
from grader.core.models import Finding, Location, Severity, ToolResult, ToolStatus
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.base import ToolContext
from grader.tools.ruff import Ruff
from tests.conftest import ROOT, Run

SAMPLES = ROOT / "sample_submissions"


def _notebook(path: Path, *sources: str) -> Path:
    notebook = new_notebook()
    notebook.cells = [new_markdown_cell("# title")] + [
        new_code_cell(s, execution_count=i) for i, s in enumerate(sources, start=1)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def test_notebooks_are_in_the_inventory_and_their_scripts_among_the_sources(
    tmp_path: Path,
) -> None:
    _notebook(tmp_path / "nb" / "analysis.ipynb", "import os\nprint(os.sep)")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    shutil.copy(tmp_path / "nb" / "analysis.ipynb", tmp_path / ".ipynb_checkpoints" / "a.ipynb")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    assert ws.notebook_files == ("nb/analysis.ipynb",)
    [script] = ws.notebooks
    assert script.script in ws.source_files
    assert (tmp_path / script.script).read_text(encoding="utf-8") == "import os\nprint(os.sep)\n"
    # cell 1 is markdown: the code starts in cell 2, as Jupyter and ruff count
    assert script.lines == ((2, 1), (2, 2))


def test_magics_and_shell_escapes_become_python_that_does_nothing() -> None:
    cells = notebooks.code_cells(
        new_notebook(
            cells=[
                new_code_cell("!pip install pandas\n%matplotlib inline\nimport os"),
                new_code_cell("files = !ls\nos?"),
                new_code_cell("for name in files:\n    !echo {name}"),
                new_code_cell("%%bash\necho hi\nexit 1"),
            ]
        )
    )
    text, lines = notebooks.script_of(cells)
    compile(text, "script", "exec")  # every line is Python now
    assert text.splitlines() == [
        "# !pip install pandas",
        "# %matplotlib inline",
        "import os",
        "files = None  # !ls",
        "# os?",
        "for name in files:",
        "    pass  # !echo {name}",
        "# %%bash",
        "# echo hi",
        "# exit 1",
    ]
    assert lines[3] == (2, 1)
    assert lines[-1] == (4, 3)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": []}), "not nbformat 4"),
        (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": "nope"}), "does not follow"),
        (json.dumps([1, 2]), "not nbformat 4"),
    ],
)
def test_a_malformed_notebook_is_unparsable_with_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    (tmp_path / "broken.ipynb").write_text(text, encoding="utf-8")
    _notebook(tmp_path / "fine.ipynb", "x = 1")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    assert [n.notebook for n in ws.notebooks] == ["fine.ipynb"]
    [(path, said)] = ws.unparsable
    assert path == "broken.ipynb"
    assert reason in said


def test_a_notebook_larger_than_the_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _notebook(tmp_path / "big.ipynb", "x = 1")
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOK_BYTES", 100)
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    assert ws.notebooks == ()
    assert "larger than" in ws.unparsable[0][1]


def test_a_cell_that_is_not_python_is_named(tmp_path: Path) -> None:
    _notebook(tmp_path / "a.ipynb", "x = 1", "def broken(:\n    pass")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    assert "cell 3, line 1" in ws.unparsable[0][1]


def test_findings_in_a_script_move_to_the_notebook_cell(tmp_path: Path) -> None:
    _notebook(tmp_path / "a.ipynb", "import os", "x = 1\ny = eval('2')")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    [script] = ws.notebooks
    finding = Finding(
        "bandit", "B307", f"eval in {script.script}", Severity.MEDIUM,
        Location(script.script, line=3, end_line=3),
    )  # fmt: skip
    kept = Finding("bandit", "B101", "assert", Severity.LOW, Location("lib.py", line=3))
    result = ToolResult("bandit", "1", ToolStatus.OK, findings=(finding, kept))
    moved, same = notebooks.remap(result, ws.notebooks).findings
    assert moved.location == Location("a.ipynb", line=2, end_line=2, cell=3)
    assert str(moved.location) == "a.ipynb, cell 3, line 2"
    assert moved.message == "eval in a.ipynb"
    assert same is kept


def test_ruff_reads_the_notebook_itself_and_names_the_cell(tmp_path: Path) -> None:
    root = tmp_path / "sub"
    _notebook(root / "a.ipynb", "%matplotlib inline\nimport os", "import sys\nprint(sys.argv)")
    ws = notebooks.with_scripts(screen(inventory(root)))
    (tmp_path / "work").mkdir()
    result = Ruff().run(ToolContext(ws, tmp_path / "work", NotNeeded(), Limits()))
    assert str(root / "a.ipynb") in result.argv
    assert not any(notebooks.SCRIPTS_DIR in arg for arg in result.argv)
    [unused] = [f for f in result.findings if f.rule_id == "F401"]
    assert unused.location.path == "a.ipynb"
    assert (unused.location.cell, unused.location.line) == (2, 2)


def _grade(grade_cli: Callable[..., Run], tmp_path: Path, sample: str, *args: str) -> Run:
    folder = tmp_path / sample
    shutil.copytree(SAMPLES / sample, folder)
    return grade_cli(folder, "--format", "json", "--no-cache", *args)


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for c in report["criteria"] for f in c["findings"]]


def test_a_notebook_only_submission_is_graded_with_findings_at_cells(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    run = _grade(grade_cli, tmp_path, "notebook_messy")
    assert run.exit_code == 0, run.stderr
    found = _findings(run.report())
    by_tool = {(f["tool"], f["rule"]): f for f in found}
    # ruff reads the notebook itself; bandit reads its script: both name the cell
    unused = {(f["path"], f["cell"], f["line"]) for f in found if f["rule"] == "F401"}
    assert unused == {("analysis.ipynb", 3, 2), ("analysis.ipynb", 7, 2)}
    assert (
        by_tool[("bandit", "B307")] | {"path": "analysis.ipynb", "cell": 7, "line": 3}
        == (by_tool[("bandit", "B307")])
    )
    assert not any(".grader-notebooks" in json.dumps(f) for f in found)


def test_a_submission_of_one_malformed_notebook_is_graded_and_says_why(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "analysis.ipynb").write_text("{oops", encoding="utf-8")
    run = grade_cli(tmp_path / "sub", "--format", "json", "--no-cache")
    assert run.exit_code == 0, run.stderr
    unparsable = [f for f in _findings(run.report()) if f["rule"] == "unparsable-file"]
    assert unparsable, _findings(run.report())
    assert unparsable[0]["path"] == "analysis.ipynb"
    assert "not valid JSON" in unparsable[0]["message"]
