"""Tests turned off (commented out, or skipped whatever the conditions) are counted and
named; a skip with a condition is how a test says where it cannot run, and is not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools import disabled_tests
from grader.tools.base import ToolContext
from grader.tools.facts import Facts


def _skipped(source: str) -> list[str]:
    tree = ast.parse(source)
    tests = [
        node
        for top in tree.body
        for node in (top.body if isinstance(top, ast.ClassDef) else [top])
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
    ]
    return [found.message for found in disabled_tests.skipped(tree, tests)]


@pytest.mark.parametrize(
    ("source", "how"),
    [
        ("@pytest.mark.skip\ndef test_a():\n    assert f()\n", "pytest.mark.skip"),
        ("@pytest.mark.skip(reason='flaky')\ndef test_a():\n    assert f()\n", "pytest.mark.skip"),
        ("@mark.skip()\ndef test_a():\n    assert f()\n", "mark.skip"),
        ("@unittest.skip('later')\ndef test_a():\n    assert f()\n", "unittest.skip"),
        ("@skip('later')\ndef test_a():\n    assert f()\n", "skip"),
        ("@pytest.mark.skipif(True, reason='x')\ndef test_a():\n    assert f()\n", "(True)"),
        ("@unittest.skipUnless(False, 'x')\ndef test_a():\n    assert f()\n", "(False)"),
        ("def test_a():\n    pytest.skip('todo')\n    assert f()\n", "pytest.skip()"),
        ("def test_a():\n    raise unittest.SkipTest('todo')\n", "raise unittest.SkipTest"),
        ("pytestmark = pytest.mark.skip\ndef test_a():\n    assert f()\n", "pytestmark"),
        (
            "pytestmark = [pytest.mark.slow, pytest.mark.skip]\ndef test_a():\n    assert f()\n",
            "pytestmark",
        ),
        (
            "@unittest.skip('x')\nclass TestA:\n    def test_a(self):\n        assert f()\n",
            "on TestA",
        ),
    ],
)
def test_a_skip_without_a_condition_turns_the_test_off(source: str, how: str) -> None:
    (message,) = _skipped(source)
    assert message.startswith("test_a is skipped whatever the conditions")
    assert how in message


@pytest.mark.parametrize(
    "source",
    [
        "@pytest.mark.skipif(sys.platform == 'win32', reason='x')\ndef test_a():\n    assert f()\n",
        "@unittest.skipIf(not HAVE_DB, 'no db')\ndef test_a():\n    assert f()\n",
        "@pytest.mark.skipif(False, reason='x')\ndef test_a():\n    assert f()\n",
        "def test_a():\n    if not HAVE_DB:\n        pytest.skip('no db')\n    assert f()\n",
        "@pytest.mark.slow\ndef test_a():\n    assert f()\n",
        "@pytest.mark.xfail(reason='known bug')\ndef test_a():\n    assert f()\n",
        "pytestmark = pytest.mark.django_db\ndef test_a():\n    assert f()\n",
    ],
)
def test_a_conditional_skip_or_another_mark_leaves_the_test_on(source: str) -> None:
    assert _skipped(source) == []


def test_commented_out_tests_are_found_in_comments_only() -> None:
    comments = [
        (3, 0, "# def test_login(client):"),
        (9, 0, "#    async def test_logout(self) -> None:"),
        (12, 0, "## def test_twice():"),
        (13, 4, "# def test_method(self):"),
        (15, 0, "# the test_login below checks def test_ names"),
        (20, 0, "# def helper():"),
        (22, 0, "#         def test_get_session() -> Generator:"),  # nested in a fixture
        (25, 8, "# def test_inner():"),  # nested in a function
    ]
    found = list(disabled_tests.commented_out(comments))
    assert [(f.line, f.message) for f in found] == [
        (3, "test_login is commented out: it never runs"),
        (9, "test_logout is commented out: it never runs"),
        (12, "test_twice is commented out: it never runs"),
        (13, "test_method is commented out: it never runs"),
    ]
    assert all(f.commented for f in found)


def test_a_test_commented_out_inside_a_function_is_a_nested_helper() -> None:
    source = "def test_outer():\n  # def test_inner():\n  assert 1\n# def test_later():\n"
    tree = ast.parse(source)
    comments = [(2, 2, "# def test_inner():"), (4, 0, "# def test_later():")]
    found = disabled_tests.find("tests/test_a.py", tree, [], comments, ())
    assert [f.line for f in found] == [4]


def test_the_share_counts_commented_out_tests_among_the_tests_written(tmp_path: Path) -> None:
    root = tmp_path / "s"
    (root / "tests").mkdir(parents=True)
    (root / "app.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (root / "tests" / "test_app.py").write_text(
        "import pytest\n\nfrom app import f\n\n\n"
        "def test_one():\n    assert f() == 1\n\n\n"
        "@pytest.mark.skip\ndef test_two():\n    assert f() == 2\n\n\n"
        "# def test_three():\n#     assert f() == 3\n"
        '"""\ndef test_in_a_string():\n"""\n',
        encoding="utf-8",
    )
    (root / "tests" / "conftest.py").write_text(
        "# def test_client():\n#     return None\n",
        encoding="utf-8",
    )
    # a test file's own code, commented out outside tests/, is not read as a test
    (root / "app_notes.py").write_text("# def test_not_a_test_file():\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    result = Facts().run(ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits()))
    metrics = {m.name: m.value for m in result.metrics}
    # test_two skipped and test_three commented out, of three tests written
    assert metrics["tests.disabled_share"] == pytest.approx(200 / 3, abs=0.01)
    lines = sorted(f.location.line for f in result.findings if f.rule_id == "test-disabled")
    assert lines == [11, 15]


def test_no_test_turned_off_scores_zero_and_no_tests_is_not_measured(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    (root / "app.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    assert {m.name: m.value for m in Facts().run(ctx).metrics}["tests.disabled_share"] is None
    (root / "test_app.py").write_text("def test_f():\n    assert 1\n", encoding="utf-8")
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    assert {m.name: m.value for m in Facts().run(ctx).metrics}["tests.disabled_share"] == 0


@pytest.mark.parametrize(
    "source",
    [
        "@pytest.mark.webtest\ndef test_a():\n    assert f()\n",
        "@pytest.mark.webtest\nclass TestA:\n    def test_a(self):\n        assert f()\n",
        "pytestmark = [pytest.mark.webtest]\ndef test_a():\n    assert f()\n",
    ],
)
def test_a_test_the_authors_addopts_deselects_is_turned_off(source: str) -> None:
    tree = ast.parse(source)
    tests = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    (found,) = disabled_tests.skipped(tree, tests, deselected=("webtest",))
    assert found.message.startswith("test_a is marked webtest, which the author's addopts")
    assert list(disabled_tests.skipped(tree, tests, deselected=("slow",))) == []
