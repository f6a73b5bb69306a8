"""A module named unlike its distribution, declared in a dependency group the tests do not
need (``bs4`` of beautifulsoup4 in a ``scraping`` group), is declared: read from the
group's wheels, not guessed from names."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_grader, tool_report, write_files

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

PYPROJECT = """\
[project]
name = "report"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["tabulate==0.9.0"]

[dependency-groups]
dev = ["pytest>=8"]
scraping = ["beautifulsoup4>=4.12"]
"""
CODE = {
    "pyproject.toml": PYPROJECT,
    "report.py": (
        "from tabulate import tabulate\n\n\n"
        "def table(rows: list[list[str]]) -> str:\n"
        '    return tabulate(rows, tablefmt="plain")\n'
    ),
    "scrape.py": (
        "from bs4 import BeautifulSoup\n\n\n"
        "def titles(html: str) -> list[str]:\n"
        '    return [h.text for h in BeautifulSoup(html, "html.parser").find_all("h1")]\n'
    ),
    "tests/test_report.py": (
        "from report import table\n\n\n"
        "def test_rows() -> None:\n"
        '    assert table([["a", "b"]]) == "a  b"\n'
    ),
}


def test_a_module_a_dependency_group_provides_is_declared(tmp_path: Path) -> None:
    root = write_files(tmp_path / "submission", CODE)

    run = run_grader(root, tmp_path / "out")

    assert run.exit_code == 0, run.stderr
    report = run.report()
    tests = tool_report(report, "pytest")
    assert tests["tests"]["passed"] == 1, tests
    assert not any("did not install bs4" in note for note in tests["notes"]), tests["notes"]
    deps = tool_report(report, "deps")
    assert deps["metrics"]["packaging.undeclared_imports"] == 0, deps["findings"]
