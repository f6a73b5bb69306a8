"""A suite that keeps its opt-in tests out of the default run with a marker expression
runs as its author's own pytest runs it; the tests it leaves out count as turned off."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_files

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, NotNeeded, choose
from grader.tools.base import ToolContext
from grader.tools.facts import Facts
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
    (tmp_path / "work2").mkdir()
    ctx = ToolContext(inventory(root), tmp_path / "work", choose(allow_unisolated=False), Limits())
    result = PytestCoverage().run(ctx)
    assert result.tests is not None
    assert (result.tests.passed, result.tests.failed, result.tests.errors) == (1, 0, 0)
    facts = Facts().run(ToolContext(inventory(root), tmp_path / "work2", NotNeeded(), Limits()))
    # A deselected test is a test turned off, as a skipped one is: hiding a failing test
    # behind a marker the defaults leave out never scores higher than letting it fail.
    assert {m.name: m.value for m in facts.metrics}["tests.disabled_share"] == 50.0
    (disabled,) = [f for f in facts.findings if f.rule_id == "test-disabled"]
    assert disabled.message.startswith(
        "test_the_live_service_answers is marked webtest, which the author's addopts deselects"
    )
