"""A suite that keeps its opt-in tests out of the default run with a marker expression
runs as its author's own pytest runs it, and the report says what was left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_files

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, choose
from grader.tools.base import ToolContext
from grader.tools.pytest_cov import PytestCoverage

PYPROJECT = """\
[tool.pytest.ini_options]
addopts = "-m 'not webtest'"
markers = ["webtest: calls the live service; run with pytest -m webtest"]
"""
SUITE = """\
import urllib.request

import pytest

from app import double


def test_double():
    assert double(2) == 4


@pytest.mark.webtest
def test_the_live_service_answers():
    assert urllib.request.urlopen("https://example.org").status == 200
"""


@pytest.mark.slow
@pytest.mark.sandbox
def test_tests_the_authors_markers_deselect_do_not_run_and_are_named(tmp_path: Path) -> None:
    root = tmp_path / "sub"
    write_files(
        root,
        {
            "app.py": "def double(x):\n    return 2 * x\n",
            "pyproject.toml": PYPROJECT,
            "tests/test_app.py": SUITE,
        },
    )
    (tmp_path / "work").mkdir()
    ctx = ToolContext(inventory(root), tmp_path / "work", choose(allow_unisolated=False), Limits())
    result = PytestCoverage().run(ctx)
    assert result.tests is not None
    assert (result.tests.passed, result.tests.failed, result.tests.errors) == (1, 0, 0)
    assert "1 test(s) deselected by the author's markers" in result.notes
