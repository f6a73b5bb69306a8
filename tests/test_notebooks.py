"""Jupyter notebooks are sources: inventoried, analysed cell by cell, graded on their own."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.acquire import notebooks
from grader.acquire.notebooks import NotebookScript
from grader.acquire.workspace import Workspace, inventory, screen
from grader.core.models import Finding, Location, Severity, ToolResult, ToolStatus
from grader.pipeline import GradeOptions, load_rubric, rubric_for
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools import notebook_run
from grader.tools import notebooks as nb_tool
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


def test_a_link_where_the_scripts_go_is_removed_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "sub"
    _notebook(root / "analysis.ipynb", "x = 1")
    (root / notebooks.SCRIPTS_DIR).symlink_to(outside, target_is_directory=True)
    ws = notebooks.with_scripts(screen(inventory(root)))
    assert list(outside.iterdir()) == []
    assert (root / ws.notebooks[0].script).is_file()
    assert not (root / notebooks.SCRIPTS_DIR).is_symlink()


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


def test_messages_name_the_notebook_cell_not_the_script(tmp_path: Path) -> None:
    _notebook(tmp_path / "a.ipynb", "import os", "import pandas\nx = 1")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    script = ws.notebooks[0].script
    said = notebooks.named(f"pandas imported in {script}:2; see {script}", ws.notebooks)
    assert said == "pandas imported in a.ipynb, cell 3, line 1; see a.ipynb"


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


@pytest.mark.sandbox  # a notebook is run in the sandbox
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


# Reproducibility facts (grader.tools.notebooks), read from hand-built notebooks.


def _script(tmp_path: Path, cells: list[Any]) -> tuple[Workspace, NotebookScript]:
    nbformat.write(new_notebook(cells=cells), tmp_path / "a.ipynb")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    return ws, ws.notebooks[0]


@pytest.mark.parametrize(
    ("counts", "rule", "cell"),
    [
        ([1, 2, 3], None, None),
        ([None, None], None, None),
        ([1, 3, 2], "execution-order", 3),
        ([1, 2, 2], "execution-order", 3),
        ([1, 2, 5], "execution-gaps", 1),
        ([4, 5, 6], "execution-gaps", 1),
        ([1, None, 2], None, None),
    ],
)
def test_stored_execution_counts_in_order(
    tmp_path: Path, counts: list[int | None], rule: str | None, cell: int | None
) -> None:
    cells = [new_code_cell(f"x{i} = {i}", execution_count=n) for i, n in enumerate(counts)]
    _, script = _script(tmp_path, cells)
    found = list(nb_tool.execution_order(script))
    assert [(f.rule_id, f.location.cell) for f in found] == ([(rule, cell)] if rule else [])


def test_stored_errors_oversized_outputs_and_credentials_are_found_at_their_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "hf_" + "aB3" * 12  # a Hugging Face token's shape, built so no scanner sees one
    error = new_output("error", ename="KeyError", evalue="'label'", traceback=["KeyError"])
    cells = [
        new_code_cell("x = 1", execution_count=1),
        new_code_cell("y = x['label']", execution_count=2, outputs=[error]),
        new_code_cell("print(key)", execution_count=3, outputs=[
            new_output("stream", name="stdout", text=f"{token}\n" + "z" * 2000)
        ]),
    ]  # fmt: skip
    monkeypatch.setattr(nb_tool, "MAX_OUTPUT_BYTES", 1000)
    _, script = _script(tmp_path, cells)
    found = {(f.rule_id, f.location.cell) for f in nb_tool.stored_outputs(script)}
    assert found == {("error-output", 2), ("oversized-output", 3), ("secret-output", 3)}


@pytest.mark.parametrize(
    ("source", "unseeded"),
    [
        ("from sklearn.model_selection import train_test_split\na, b = train_test_split(X)", 2),
        ("import numpy as np\nnp.random.seed(0)\nmodel.fit(X, y)", None),
        ("model = RandomForestClassifier(random_state=0).fit(X, y)", None),
        ("model = RandomForestClassifier(random_state=None)\nmodel.fit(X, y)", 2),
        ("import torch\ntorch.manual_seed(1)\ntrainer.train()", None),
        ("rng = np.random.default_rng(7)\nmodel.fit(X, y)", None),
        ("model.fit(X, y)\nrandom.seed(3)", 1),  # a seed after training is too late
        ("total = sum(values)", None),
    ],
)
def test_training_without_a_seed_set_before_it(
    tmp_path: Path, source: str, unseeded: int | None
) -> None:
    ws, script = _script(tmp_path, [new_code_cell("import random"), new_code_cell(source)])
    tree = ast.parse(ws.path(script.script).read_bytes())
    found = [f for f in nb_tool.code_facts(script, tree) if f.rule_id == "unseeded-training"]
    assert [(f.location.cell, f.location.line) for f in found] == (
        [(2, unseeded)] if unseeded else []
    )


@pytest.mark.parametrize(
    ("path", "machine"),
    [
        ("/Users/alice/data.csv", True),
        ("/home/bob/project/train.parquet", True),
        ("C:\\\\Users\\\\carol\\\\data.csv", True),
        ("/content/drive/MyDrive/x.csv", True),
        ("data/train.csv", False),
        ("../data/train.csv", False),
        ("/tmp/cache", False),
    ],
)
def test_paths_to_the_authors_machine(tmp_path: Path, path: str, machine: bool) -> None:
    ws, script = _script(
        tmp_path, [new_code_cell(f"import pandas\ndf = pandas.read_csv({path!r})")]
    )
    tree = ast.parse(ws.path(script.script).read_bytes())
    found = [f for f in nb_tool.code_facts(script, tree) if f.rule_id == "absolute-path"]
    assert [(f.location.cell, f.location.line) for f in found] == ([(1, 2)] if machine else [])


@pytest.mark.parametrize(
    ("line", "install"),
    [
        ("!pip install pandas", True),
        ("%pip install -q scikit-learn==1.9.1", True),
        ("!conda install -y numpy", True),
        ("out = !python -m pip install x", True),
        ("!ls data", False),
        ("# pip install pandas", False),
    ],
)
def test_packages_installed_from_a_cell(tmp_path: Path, line: str, install: bool) -> None:
    _, script = _script(tmp_path, [new_code_cell(f"x = 1\n{line}")])
    found = [(f.location.cell, f.location.line) for f in nb_tool.shell_installs(script)]
    assert found == ([(1, 2)] if install else [])


def test_logic_only_in_notebooks_is_a_fact_and_a_module_with_tests_is_not(tmp_path: Path) -> None:
    ws, _ = _script(tmp_path, [new_code_cell("x = 1")])
    assert nb_tool.analyse(ws)[1]["notebooks.logic_only"] == 1
    (tmp_path / "lib.py").write_text("def f() -> int:\n    return 1\n", encoding="utf-8")
    (tmp_path / "test_lib.py").write_text("from lib import f\n\n\ndef test_f():\n    assert f()\n")
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    assert nb_tool.analyse(ws)[1]["notebooks.logic_only"] == 0


def test_without_notebooks_the_tool_measures_nothing(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    ws = notebooks.with_scripts(screen(inventory(tmp_path)))
    result = nb_tool.Notebooks().run(ToolContext(ws, tmp_path / "work", NotNeeded(), Limits()))
    assert result.status is ToolStatus.OK  # nothing wrong, nothing measured
    assert {m.value for m in result.metrics} == {None}
    assert {m.reason for m in result.metrics} == {"no notebooks"}


# Which rubric, and what it makes of the two samples.


@pytest.mark.parametrize(
    ("sample", "by_content", "expected", "reproducibility"),
    [
        ("notebook_messy", True, "data-science", True),
        ("notebook_messy", False, "default", False),  # --rubric default was named
        ("notebook_tidy", True, "default", False),  # the code is mostly in its package
        ("average", True, "default", False),
    ],
)
def test_the_rubric_is_chosen_by_how_much_code_is_in_notebooks(
    tmp_path: Path, sample: str, by_content: bool, expected: str, reproducibility: bool
) -> None:
    shutil.copytree(SAMPLES / sample, tmp_path / sample)
    ws = notebooks.with_scripts(screen(inventory(tmp_path / sample)))
    options = GradeOptions(source=str(tmp_path), rubric_by_content=by_content)
    rubric, said = rubric_for(load_rubric("default"), ws, options)
    assert rubric.info.name == expected
    assert bool(said) == (expected != "default")
    ds, _ = rubric_for(load_rubric("data-science"), ws, GradeOptions(source=str(tmp_path)))
    # Reproducibility is scored only when there is a notebook to measure it on
    assert ("reproducibility" in {c.id for c in ds.criteria}) == bool(ws.notebook_files)
    assert ("reproducibility" in {c.id for c in rubric.criteria}) == reproducibility


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_tidy_sample_outscores_the_messy_one_and_the_report_says_why(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    messy = _grade(grade_cli, tmp_path, "notebook_messy").report()
    tidy = _grade(grade_cli, tmp_path, "notebook_tidy", "--rubric", "data-science").report()
    assert messy["rubric"]["name"] == "data-science"
    assert any("data-science rubric" in w for w in messy["submission"]["warnings"])
    assert tidy["score"] - messy["score"] >= 25, (tidy["score"], messy["score"])
    named = {(f["rule"], f.get("cell")) for f in _findings(messy) if f["tool"] == "notebooks"}
    assert {
        ("execution-order", 4), ("unseeded-training", 5), ("absolute-path", 4),
        ("error-output", 4), ("shell-install", 2),
    } <= named  # fmt: skip
    scores = {c["id"]: c["score"] for c in tidy["criteria"]}
    assert scores["reproducibility"] == 100
    assert scores["testability"] > 90


# Running each notebook top to bottom in the sandbox (grader.tools.notebook_run).


@pytest.mark.parametrize(
    ("lines", "timed_out", "expected"),
    [
        ('{"started": 2}\n{"outcome": "ran", "cell": 2, "error": ""}\n', False, ("ran", 2, "")),
        ('{"started": 3}\n{"outcome": "failed", "cell": 3, "error": "E: x"}\n', False,
         ("failed", 3, "E: x")),
        ('{"started": 2}\n{"started": 5}\n', True,
         ("timeout", 5, "the notebook exceeded its time limit")),
        ('{"started": 2}\nnot json\n', False, ("failed", 2, "the runner stopped without a result")),
        ("", False, ("failed", 0, "the runner stopped without a result")),
    ],
)  # fmt: skip
def test_the_outcome_of_a_run_is_read_from_the_runners_lines(
    lines: str, timed_out: bool, expected: tuple[str, int, str]
) -> None:
    assert notebook_run.outcome(lines, timed_out) == expected


@pytest.mark.slow
@pytest.mark.sandbox
def test_each_notebook_runs_in_a_fresh_kernel_and_is_clean_failed_or_timed_out(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    root = tmp_path / "sub"
    _notebook(root / "clean.ipynb", "from helper import double", "assert double(2) == 4")
    _notebook(root / "fails.ipynb", "x = 1", "y = x / 0", "z = 3")
    _notebook(root / "slow.ipynb", "import time", "time.sleep(60)")
    # bounded: an endless loop stops at the cell's time, a 10 GB allocation at the
    # sandbox's memory limit, and no kernel outlives the grade
    _notebook(root / "loop.ipynb", "n = 0", "while True:\n    n += 1")
    _notebook(root / "hog.ipynb", "x = 1", "hog = bytearray(10 * 1024**3)")
    (root / "helper.py").write_text("def double(x):\n    return 2 * x\n", encoding="utf-8")
    run = grade_cli(root, "--format", "json", "--no-cache", "--per-test-timeout", "5")
    assert run.exit_code == 0, run.stderr
    report = run.report()
    [tool] = [t for t in report["tools"] if t["name"] == "notebook-run"]
    assert tool["status"] == "ok", tool["reason"]
    assert tool["metrics"]["notebooks.ran_clean"] == pytest.approx(20.0)
    said = {(f["path"], f["rule"], f.get("cell")) for f in _findings(report)}
    assert ("fails.ipynb", "notebook-failed", 3) in said
    assert ("slow.ipynb", "notebook-timeout", 3) in said
    assert ("loop.ipynb", "notebook-timeout", 3) in said
    assert ("hog.ipynb", "notebook-failed", 3) in said
    left = subprocess.run(["pgrep", "-f", "ipykernel"], capture_output=True, check=False)
    assert left.returncode == 1, left.stdout
    assert not any(path == "clean.ipynb" for path, rule, _ in said if rule.startswith("notebook-"))
