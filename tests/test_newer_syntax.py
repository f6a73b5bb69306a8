"""Code only a newer Python parses is analysed anyway (ruff's parser) or, where no tool
can read it on this host, left visibly unmeasured: never full marks from what is left."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run_grader

from grader.tools.ruff_parsed import function_end

_FUNCTIONS = """\
def short():
    return 1


def long_signature(
    a,
    b,
) -> int:
    if a:
        return b

    # a comment at the body's depth, then a blank line

    return a
x = 1


class K:
    def method(self):
        text = '''
not code'''
        return text

    def other(self):
        pass
"""


@pytest.mark.parametrize(
    ("def_line", "end"),
    [
        (1, 2),  # ends before the blank lines and the next def
        (5, 14),  # a signature's closing bracket at the def's depth is not the end
        (19, 20),  # a triple-quoted line at column 0 inside the body ends it early
        (24, 25),  # the last function runs to the end of the file
    ],
)
def test_a_function_ends_at_the_first_line_back_at_its_depth(def_line: int, end: int) -> None:
    assert function_end(_FUNCTIONS.splitlines(), def_line) == end


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses 3.12 syntax")
def test_a_main_module_only_a_newer_python_parses_is_still_graded(tmp_path: Path) -> None:
    # The main module is Python 3.12 (a PEP 701 f-string) and holds a shell=True call, an
    # eval and a 12-branch function; a small helper module is plain 3.11. bandit, radon
    # and mypy cannot parse the main module: its security findings and complexity come
    # from ruff's parser, and Type safety is not measured (mypy would judge the helper
    # alone), never full marks.
    root = tmp_path / "sub"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "calc"\nversion = "0.1"\nrequires-python = ">=3.12"\n',
        encoding="utf-8",
    )
    branches = "".join(
        f'    elif expression == "{letter}":\n        return {n}\n'
        for n, letter in enumerate("bcdefghijk", start=2)
    )
    (root / "calc.py").write_text(
        "import subprocess\n\nfrom util import double\n\n\n"
        'def run(cmd: str) -> str:\n    label = f"{"cmd"}: {cmd}"\n'
        "    subprocess.call(cmd, shell=True)\n    return label\n\n\n"
        'def evaluate(expression):\n    if expression == "a":\n        return 1\n'
        f"{branches}    return double(eval(expression))\n",
        encoding="utf-8",
    )
    (root / "util.py").write_text("def double(x: int) -> int:\n    return x * 2\n")
    (root / "tests" / "test_util.py").write_text(
        "from util import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    )
    report = run_grader(root, tmp_path / "out").report()
    criteria = {c["id"]: c for c in report["criteria"]}
    security = {(f["rule"], f["path"]) for f in criteria["security"]["findings"]}
    assert {("B602", "calc.py"), ("B307", "calc.py")} <= security
    assert criteria["security"]["score"] <= 40  # capped: shell=True and eval, as bandit would
    complexity = [f for f in criteria["maintainability"]["findings"] if f["rule"] == "complexity"]
    assert [(f["path"], f["line"]) for f in complexity] == [("calc.py", 12)]
    assert "evaluate has cyclomatic complexity 12" in complexity[0]["message"]
    assert criteria["type_safety"]["score"] is None
    assert "calc.py" in criteria["type_safety"]["reason"]
